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

``attribute_evidence``    every piece of evidence found (source_id, _record, controller_id,
                            confidence, evidence, level: 1 row, 2 file)

``attribute_unattributed`` the records Ariane abstained on, for review (source_id,
                            _record, confidence, evidence)

Evidence, strongest first: a FINESS column matching the registry; an organisation-name
column matched fuzzily, or a FINESS number written in it (:mod:`~.evidence`); a match in
a controller's own patient list (``--controller-patients``, :mod:`~.patients`; with visit
dates, a person in several lists is placed by the record's visit); the file's name (a
FINESS number or a lab's name in it: an archive member's name, then its folders, then the
file given); last, for a record with no evidence of its own, the controller of its
person's other records in the same source (an ADT update in a lab's interface log). Row
evidence outranks file evidence, which outranks a person's; a rival
controller lowers the confidence; below :data:`MIN_CONFIDENCE` the record is unattributed.

Without a registry, Ariane reads the controllers off the leak: one per FINESS value
(``controller_id`` is the FINESS, named after the organisation most often beside it, placed
by the FINESS prefix; an organisation column of FINESS numbers counts as one), else one per
lab name however the leak writes it (``ORG-0001``..., :mod:`~.derived`); with neither,
every record stays unattributed rather than guessed.

:func:`summarise` gives ``controllers`` (id, name, records, persons), ``unattributed_records``,
``departements`` and ``regions`` (INSEE codes of the controllers holding records) of
``summary --json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Below this confidence Ariane abstains: the record is listed for review, not guessed.
MIN_CONFIDENCE = 0.6


def attribute(
    engine: Engine,
    registry: Path | None,
    controller_patients: dict[str, Path] | None = None,
    progress: Progress = SILENT,
) -> None:
    """Attribute each record to a controller, or abstain.

    Without a registry, controllers are derived from the leak's own FINESS values
    (controller_id = the FINESS) and, failing those, from its organisation names; with
    neither, every record is left unattributed.
    """
    from ariane.attribute import patients, records
    from ariane.attribute import registry as registry_module

    with progress.task("Attributing records to controllers", total=3) as task:
        members: dict[str, str] = {}
        if registry is not None:
            controllers = registry_module.load(registry)
        else:
            controllers, members = records.derived_controllers(engine)
        records.store_controllers(engine, controllers)
        task.advance()
        records.gather_evidence(engine, controllers, members)
        if controller_patients:
            known = {c.controller_id for c in controllers}
            patients.gather_evidence(engine, controller_patients, known)
        records.person_evidence(engine, MIN_CONFIDENCE)
        task.advance()
        records.decide(engine, MIN_CONFIDENCE)
        task.advance()


def summarise(engine: Engine) -> dict[str, Any]:
    """``controllers``, ``unattributed_records``, ``departements``, ``regions``."""
    persons = "count(DISTINCT p.person_id)" if engine.has_table("resolve_records") else "NULL"
    join = (
        "LEFT JOIN resolve_records p ON p.source_id = r.source_id AND p._record = r._record"
        if engine.has_table("resolve_records")
        else ""
    )
    rows = engine.fetch(
        f"""
        SELECT c.controller_id, c.name, count(*) AS records, {persons} AS persons,
               c.departement, c.region
        FROM attribute_records r
        JOIN attribute_controllers c ON c.controller_id = r.controller_id
        {join}
        GROUP BY ALL ORDER BY c.controller_id
        """
    )
    unattributed = engine.fetch(
        "SELECT count(*) FROM attribute_records WHERE controller_id IS NULL"
    )[0][0]
    return {
        "controllers": [
            {
                "controller_id": cid,
                "name": name,
                "records": int(count),
                "persons": None if n is None else int(n),
            }
            for cid, name, count, n, _, _ in rows
        ],
        "unattributed_records": int(unattributed),
        "departements": sorted({d for *_, d, _ in rows if d}),
        "regions": sorted({r for *_, r in rows if r}),
    }
