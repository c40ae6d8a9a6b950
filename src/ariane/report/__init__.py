"""Write the incident report and each controller's regulator notification draft.

Public entry point: :func:`write_reports`. Reads the tables of every earlier stage and
writes, under the case's ``report/`` folder::

    index.html, index.pdf                          the incident report
    controllers/<controller_id>/notification.{html,pdf,json}

Reports hold counts and categories, never a person's data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ariane.errors import StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine


def write_reports(engine: Engine, out_dir: Path, progress: Progress = SILENT) -> list[Path]:
    """Write every report file; return their paths."""
    raise StageNotBuiltError("the report stage is not built yet")
