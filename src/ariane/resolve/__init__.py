"""Resolve records into distinct persons.

Public entry point: :func:`resolve`. Reads ``read_sources``/``raw_<id>`` and the labels in
``classify_columns``; writes:

``resolve_records``  one row per read record, its normalised person fields and its person::

                       source_id INTEGER, _record BIGINT, person_id BIGINT,
                       last_name VARCHAR, first_name VARCHAR, sex VARCHAR ('1'|'2'|NULL),
                       birth_date DATE, nir VARCHAR (canonical, key checked, else NULL),
                       phone VARCHAR (E.164), email VARCHAR, postal_code VARCHAR,
                       commune_code VARCHAR, departement VARCHAR

``resolve_persons``  one row per distinct person::

                       person_id BIGINT, records BIGINT, departement VARCHAR

``resolve_estimate`` one row: persons BIGINT, persons_low BIGINT, persons_high BIGINT

:func:`summarise` gives the ``persons`` and ``persons_interval`` of ``summary --json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ariane.errors import StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine


def resolve(engine: Engine, progress: Progress = SILENT) -> None:
    """Normalise person fields and cluster records into persons."""
    raise StageNotBuiltError("the resolve stage is not built yet")


def summarise(engine: Engine) -> dict[str, Any]:
    """``persons`` and ``persons_interval`` of the summary."""
    persons, low, high = engine.fetch(
        "SELECT persons, persons_low, persons_high FROM resolve_estimate"
    )[0]
    return {"persons": int(persons), "persons_interval": [int(low), int(high)]}
