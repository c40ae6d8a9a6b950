"""Scratch folders: where work that keeps no case puts its encrypted store and spill files.

Every scratch folder lives under one parent per user (``<tmp>/ariane-<uid>``, mode 0700) and
is named after the process that owns it (``<pid>-<random>``). A normal exit, an exception,
Ctrl-C or SIGTERM remove it; SIGKILL or a power cut cannot, so each new scratch folder first
sweeps away those whose owner is no longer running.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ariane.errors import CaseError


def scratch_root(base: Path | None = None) -> Path:
    """The parent of this user's scratch folders, created private (0700) if absent."""
    base = Path(base or tempfile.gettempdir())
    root = base / f"ariane-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError as exc:
        raise CaseError(f"{root}: cannot create the scratch folder ({exc.strerror})") from None
    # In a shared /tmp, someone else may have made this name first (or a link to elsewhere).
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise CaseError(f"{root}: not a folder of this user; remove it or set TMPDIR")
    if stat.S_IMODE(info.st_mode) != 0o700:
        root.chmod(0o700)
    return root


@contextmanager
def scratch_folder(base: Path | None = None) -> Iterator[Path]:
    """A new private folder for this process, removed on every exit the process sees."""
    root = scratch_root(base)
    sweep(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(root: Path) -> list[Path]:
    """Remove the scratch folders whose owning process is gone; return them."""
    removed = []
    for folder in root.iterdir():
        owner = folder.name.partition("-")[0]
        if owner.isdigit() and int(owner) > 0 and not _running(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    # A pid reused by an unrelated process keeps its stale folder until that one ends too.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
