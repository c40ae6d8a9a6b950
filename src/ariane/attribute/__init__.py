"""Attribute every record to a controller of the registry, and place controllers.

Public entry point: :func:`attribute`. Reads the raw tables, ``classify_columns`` and
``resolve_records``; writes:

``attribute_controllers`` the registry as loaded, with places::

                            controller_id VARCHAR, name VARCHAR, finess VARCHAR,
                            siren VARCHAR, address VARCHAR, postal_code VARCHAR,
                            city VARCHAR, dpo_email VARCHAR, departement VARCHAR,
                            region VARCHAR

``attribute_records``     one row per read record::

                            source_id INTEGER, _record BIGINT,
                            controller_id VARCHAR (NULL when Ariane abstains),
                            confidence DOUBLE, evidence VARCHAR (e.g. 'finess column',
                            'organisation name ~0.93', 'file name', 'patient list')

:func:`summarise` gives ``controllers`` (id, name, records, persons), ``unattributed_records``,
``departements`` and ``regions`` of ``summary --json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.errors import StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine


def attribute(
    engine: Engine,
    registry: Path | None,
    controller_patients: dict[str, Path] | None = None,
    progress: Progress = SILENT,
) -> None:
    """Attribute each record to a controller, or abstain."""
    raise StageNotBuiltError("the attribute stage is not built yet")


def summarise(engine: Engine) -> dict[str, Any]:
    """``controllers``, ``unattributed_records``, ``departements``, ``regions``."""
    raise StageNotBuiltError("the attribute stage is not built yet")
