"""Resolve records into distinct persons.

Public entry point: :func:`resolve`. Reads ``read_sources``/``raw_<id>`` and the labels in
``classify_columns``; writes:

``resolve_records``  one row per read record, its normalised person fields and its person
                     (NULL when the record names nobody: no name, NIR, person key, birth
                     date, phone, email, nor a patient number: :mod:`~.persons`)::

                       source_id INTEGER, _record BIGINT, person_id BIGINT,
                       last_name VARCHAR, first_name VARCHAR, sex VARCHAR ('1'|'2'|NULL),
                       birth_date DATE, nir VARCHAR (canonical, key checked, else NULL),
                       phone VARCHAR (E.164), email VARCHAR, postal_code VARCHAR,
                       commune_code VARCHAR, departement VARCHAR

``resolve_persons``  one row per distinct person::

                       person_id BIGINT, records BIGINT, departement VARCHAR

``resolve_estimate`` one row: persons BIGINT, persons_low BIGINT, persons_high BIGINT,
                     drawn_low BIGINT, drawn_high BIGINT (the model's own interval, before
                     the calibration margin: :mod:`~.estimate`), profiles BIGINT

How: every source is projected onto the same person fields (:mod:`~.fields`), normalised
in SQL (:mod:`~.normalise`, :mod:`~.records`; names, phones, communes through distinct
values), folded into profiles and scored by a Splink model trained by EM on the leak itself
(:mod:`~.persons`, :mod:`~.model`); clusters at the chosen threshold give the count, draws
of the scored pairs and a calibrated margin its interval (:mod:`~.estimate`). Working
tables are temporary: only the three above are stored in the case.

:func:`summarise` gives the ``persons`` and ``persons_interval`` of ``summary --json``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Columns of ``resolve_records`` after ``source_id, _record, person_id``.
RECORD_COLUMNS = (
    "last_name", "first_name", "sex", "birth_date", "nir", "phone", "email",
    "postal_code", "commune_code", "departement",
)  # fmt: skip


def resolve(engine: Engine, progress: Progress = SILENT, *, today: date | None = None) -> None:
    """Normalise person fields and cluster records into persons."""
    from ariane.resolve import estimate, persons, records

    with progress.task("Resolving persons", total=4) as task:
        records.build(engine, today or date.today())
        task.advance()
        persons.build_profiles(engine)
        task.advance()
        persons.score(engine, estimate.LOOSE)
        task.advance()
        result = estimate.estimate(engine)
        _write_outputs(engine, result)
        task.advance()


def _write_outputs(engine: Engine, result: Any) -> None:
    columns = ", ".join(f"f.{c}" for c in RECORD_COLUMNS)
    engine.materialise(
        "resolve_records",
        f"""
        SELECT f.source_id, f._record, c.cluster_id AS person_id, {columns}
        FROM resolve_fields f
        LEFT JOIN resolve_profile_of p ON p.unique_id = f.unique_id
        LEFT JOIN resolve_clusters c ON c.unique_id = p.profile_id
        ORDER BY f.source_id, f._record
        """,
    )
    # A person lives where most of their records say (ties: the smallest code).
    engine.materialise(
        "resolve_persons",
        """
        SELECT person_id, count(*) AS records,
               arg_min(departement, (-n, departement)) FILTER (WHERE departement IS NOT NULL)
                   AS departement
        FROM (SELECT person_id, departement,
                     count(*) OVER (PARTITION BY person_id, departement) AS n
              FROM resolve_records WHERE person_id IS NOT NULL)
        GROUP BY person_id
        """,
    )
    engine.execute(
        "CREATE OR REPLACE TABLE resolve_estimate AS SELECT CAST(? AS BIGINT) AS persons, "
        "CAST(? AS BIGINT) AS persons_low, CAST(? AS BIGINT) AS persons_high, "
        "CAST(? AS BIGINT) AS drawn_low, CAST(? AS BIGINT) AS drawn_high, "
        "CAST(? AS BIGINT) AS profiles",
        [
            result.persons,
            result.low,
            result.high,
            result.drawn_low,
            result.drawn_high,
            result.profiles,
        ],  # fmt: skip
    )
    for table in (
        "resolve_clusters", "resolve_profile_of", "resolve_edges", "resolve_fields",
        "resolve_profiles", "resolve_profile_numbers", "resolve_patient_numbers",
        "resolve_profile_same",
    ):  # fmt: skip
        engine.execute(f'DROP TABLE IF EXISTS "{table}"')


def summarise(engine: Engine) -> dict[str, Any]:
    """``persons`` and ``persons_interval`` of the summary."""
    persons, low, high = engine.fetch(
        "SELECT persons, persons_low, persons_high FROM resolve_estimate"
    )[0]
    return {"persons": int(persons), "persons_interval": [int(low), int(high)]}
