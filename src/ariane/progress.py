"""Progress reporting, passed in explicitly so the library never draws on a terminal itself.

The CLI hands a Rich-backed :class:`Progress` to the stages; tests and library users get
:data:`SILENT`. Descriptions name stages and files, never data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Tracker(Protocol):
    """One running task."""

    def advance(self, amount: int = 1) -> None:
        """Mark ``amount`` more units done."""

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        """Change the total or description of the task."""


class Progress(Protocol):
    """A source of trackers."""

    def task(self, description: str, total: int | None = None) -> AbstractContextManager[Tracker]:
        """Context manager yielding a tracker for one task."""


class _NullTracker:
    def advance(self, amount: int = 1) -> None:
        pass

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        pass


class _Silent:
    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Tracker]:
        yield _NullTracker()


SILENT: Progress = _Silent()
