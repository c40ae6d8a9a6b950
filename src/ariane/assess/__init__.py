"""Assess severity per person (ENISA) and duties per controller (GDPR art. 33/34).

Public entry point: :func:`assess`. Reads ``resolve_records``, ``resolve_persons``,
``classify_columns``, ``classify_mentions``, ``attribute_records``,
``attribute_controllers`` and the case facts; writes:

``assess_persons``     person_id BIGINT, dpc DOUBLE, ei DOUBLE, cb DOUBLE, score DOUBLE,
                       band VARCHAR (low|medium|high|very_high), categories VARCHAR[],
                       explanation VARCHAR (JSON: one sentence per factor)

``assess_controllers`` controller_id VARCHAR, severity VARCHAR, notify_regulator BOOLEAN,
                       notify_persons BOOLEAN, deadline TIMESTAMPTZ

:func:`summarise` gives ``special_categories``, ``severity`` and the per-controller
``severity``, ``notify_regulator``, ``notify_persons``, ``deadline`` of ``summary --json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.errors import StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine


def assess(engine: Engine, facts: Path | None = None, progress: Progress = SILENT) -> None:
    """Grade every person and decide every controller's duties."""
    raise StageNotBuiltError("the assess stage is not built yet")


def summarise(engine: Engine) -> dict[str, Any]:
    """Severity and duty fields of the summary."""
    raise StageNotBuiltError("the assess stage is not built yet")
