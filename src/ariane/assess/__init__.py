"""Assess severity per person (ENISA) and duties per controller (GDPR art. 33/34).

Public entry point: :func:`assess`. Reads ``resolve_records``, ``classify_columns``,
``classify_mentions``, ``read_sources`` and the raw tables, ``attribute_records``,
``attribute_controllers`` and the case facts (``case_facts`` and a TOML facts file, see
:mod:`ariane.assess.facts`); writes:

``assess_persons``     person_id BIGINT, dpc DOUBLE, ei DOUBLE, cb DOUBLE, score DOUBLE,
                       band VARCHAR (low|medium|high|very_high), categories VARCHAR[],
                       explanation VARCHAR (JSON: one French sentence per factor:
                       dpc, ei, cb, se), exposure BIGINT (:class:`enisa.Exposure` bits)

``assess_controllers`` controller_id VARCHAR, severity VARCHAR (NULL: no person),
                       notify_regulator BOOLEAN, notify_persons BOOLEAN,
                       deadline TIMESTAMPTZ (awareness + 72 h when the regulator must be
                       notified), records BIGINT, persons BIGINT, persons_<band> BIGINT,
                       persons_to_notify BIGINT, processor_informs BOOLEAN

``assess_exposure``    source_id, _record, person_id, controller_id, exposure BIGINT
``assess_grades``      exposure BIGINT, dpc, ei, cb, score DOUBLE, band VARCHAR,
                       rank INTEGER, categories VARCHAR[], explanation VARCHAR
``assess_facts``       document VARCHAR (the facts used, as JSON)

:func:`summarise` gives ``special_categories``, ``severity`` and the per-controller
``severity``, ``notify_regulator``, ``notify_persons``, ``deadline`` of ``summary --json``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.assess import enisa
from ariane.assess.duties import build_duties, deadline
from ariane.assess.exposure import build_exposure
from ariane.assess.facts import (
    Facts,
    facts_template,
    load_facts,
    store_facts,
    stored_facts,
    write_facts_template,
)
from ariane.errors import ConfigError, StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

__all__ = [
    "Facts",
    "assess",
    "circumstances_of",
    "deadline",
    "facts_template",
    "load_facts",
    "reference_date",
    "stored_facts",
    "summarise",
    "write_facts_template",
]


def assess(engine: Engine, facts: Path | None = None, progress: Progress = SILENT) -> None:
    """Grade every person and decide every controller's duties."""
    if not engine.has_table("resolve_records"):
        raise StageNotBuiltError("assess needs the persons of the resolve stage: run it first")
    case_facts = load_facts(facts, engine)
    _check_controllers_named(engine, case_facts, facts)
    aware_at = case_facts.aware_at()
    reference = reference_date(case_facts)
    circumstances = circumstances_of(case_facts)
    with progress.task("Assessing severity", total=4) as task:
        build_exposure(engine, reference)
        task.advance()
        _grade_exposures(engine, circumstances)
        task.advance()
        engine.materialise(
            "assess_persons",
            "SELECT p.person_id, g.dpc, g.ei, g.cb, g.score, g.band, g.categories, "
            "g.explanation, p.exposure FROM ("
            "  SELECT person_id, bit_or(exposure) AS exposure FROM assess_exposure"
            "  WHERE person_id IS NOT NULL GROUP BY person_id) p "
            "JOIN assess_grades g USING (exposure)",
        )
        task.advance()
        build_duties(
            engine,
            aware_at=aware_at,
            encrypted=circumstances.encrypted,
            processor=case_facts.organisation.role == "processor",
        )
        store_facts(engine, case_facts)
        task.advance()


def _check_controllers_named(engine: Engine, facts: Facts, path: Path | None) -> None:
    """A ``[controllers.X]`` table of the facts file must name a controller of the registry."""
    if not facts.controllers or not engine.has_table("attribute_controllers"):
        return
    known = {row[0] for row in engine.fetch("SELECT controller_id FROM attribute_controllers")}
    for controller_id in facts.controllers:
        if controller_id not in known:
            raise ConfigError(
                f"{path}: [controllers.{controller_id}] names no controller of the registry"
            )


def circumstances_of(facts: Facts) -> enisa.Circumstances:
    """The ENISA circumstances stated by the facts."""
    breach = facts.breach
    return enisa.Circumstances(
        confidentiality=breach.confidentiality,
        integrity=breach.integrity,
        availability=breach.availability,
        malicious=breach.malicious,
        encrypted=breach.encrypted,
    )


def _grade_exposures(engine: Engine, circumstances: enisa.Circumstances) -> None:
    """Grade each distinct exposure mask once (there are few) into ``assess_grades``."""
    import pyarrow as pa  # here, not at import: PDF workers import this package too

    # Masks per person and per (controller, person) both need a grade.
    masks = [
        int(row[0])
        for row in engine.fetch(
            "SELECT DISTINCT exposure FROM ("
            "  SELECT bit_or(exposure) AS exposure FROM assess_exposure"
            "  WHERE person_id IS NOT NULL GROUP BY person_id"
            "  UNION ALL"
            "  SELECT bit_or(exposure) FROM assess_exposure"
            "  WHERE person_id IS NOT NULL AND controller_id IS NOT NULL"
            "  GROUP BY controller_id, person_id)"
        )
    ]
    grades = [enisa.grade(mask, circumstances) for mask in masks]
    table = pa.table(
        {
            "exposure": pa.array(masks, pa.int64()),
            "dpc": pa.array([g.dpc for g in grades], pa.float64()),
            "ei": pa.array([g.ei for g in grades], pa.float64()),
            "cb": pa.array([g.cb for g in grades], pa.float64()),
            "score": pa.array([g.score for g in grades], pa.float64()),
            "band": pa.array([g.band for g in grades], pa.string()),
            "rank": pa.array([enisa.BANDS.index(g.band) for g in grades], pa.int32()),
            "categories": pa.array([enisa.categories(m) for m in masks], pa.list_(pa.string())),
            "explanation": pa.array([g.explanation_json() for g in grades], pa.string()),
        }
    )
    engine.register("__assess_grades", table)
    try:
        engine.materialise("assess_grades", "SELECT * FROM __assess_grades")
    finally:
        engine.unregister("__assess_grades")


def summarise(engine: Engine) -> dict[str, Any]:
    """Severity and duty fields of the summary."""
    facts = stored_facts(engine)
    due = deadline(facts.aware_at())
    special = dict.fromkeys(enisa.CATEGORY_BITS, 0)
    for category, persons in engine.fetch(
        "SELECT category, count(*) FROM ("
        "  SELECT unnest(categories) AS category FROM assess_persons) GROUP BY category"
    ):
        special[category] = int(persons)
    severity = dict.fromkeys(enisa.BANDS, 0)
    for band, persons in engine.fetch("SELECT band, count(*) FROM assess_persons GROUP BY band"):
        severity[band] = int(persons)
    controllers = [
        {
            "controller_id": controller_id,
            "severity": band,
            "notify_regulator": bool(regulator),
            "notify_persons": bool(persons),
            # Read from the facts, not the TIMESTAMPTZ: it keeps the offset the user gave.
            "deadline": due.isoformat() if due is not None and regulator else None,
        }
        for controller_id, band, regulator, persons in engine.fetch(
            "SELECT controller_id, severity, notify_regulator, notify_persons "
            "FROM assess_controllers ORDER BY controller_id"
        )
    ]
    return {"special_categories": special, "severity": severity, "controllers": controllers}


def reference_date(facts: Facts) -> date:
    """The day the case is judged on: awareness, else today."""
    aware_at = facts.aware_at()
    return aware_at.date() if aware_at else datetime.now(UTC).date()
