"""Assess severity per person (ENISA) and duties per controller (GDPR art. 33/34).

Public entry point: :func:`assess`. Reads ``resolve_records``, ``classify_columns``,
``classify_mentions``, ``read_sources`` and the raw tables, ``attribute_records``,
``attribute_controllers`` and the case's facts (its fact log, fed by ``--aware-at``, a TOML
facts file and ``facts set``, see :mod:`ariane.assess.facts`); writes:

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
    ASSUMED,
    Facts,
    facts_template,
    import_facts,
    load_facts,
    parse_instant,
    store_facts,
    stored_facts,
    write_facts_template,
)
from ariane.errors import ConfigError, StageNotBuiltError
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.case.timeline import ControllerClock
    from ariane.engine import Engine

__all__ = [
    "Facts",
    "assess",
    "assumptions",
    "controller_clocks",
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
    from ariane.case import facts as fact_log  # the case package opens DuckDB: not at import

    if facts is not None or not fact_log.current(engine):
        # The file and --aware-at feed the fact log once, at run; later `facts set`
        # changes are kept there and win, since they were given last.
        given = load_facts(facts, engine)
        _check_controllers_named(engine, given, facts)
        import_facts(engine, given, "run")
    case_facts = stored_facts(engine)
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
            encrypted=bool(case_facts.breach.encrypted),
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
    """The ENISA circumstances the facts state, the unknown ones assumed (:data:`ASSUMED`)."""
    breach = facts.breach
    return enisa.Circumstances(
        confidentiality=breach.confidentiality or str(ASSUMED["confidentiality"]),
        integrity=breach.integrity or str(ASSUMED["integrity"]),
        availability=breach.availability or str(ASSUMED["availability"]),
        malicious=bool(ASSUMED["malicious"]) if breach.malicious is None else breach.malicious,
        encrypted=bool(ASSUMED["encrypted"]) if breach.encrypted is None else breach.encrypted,
    )


def assumptions(facts: Facts) -> list[str]:
    """Names of the circumstances grading assumed because the facts do not state them."""
    return [name for name in ASSUMED if getattr(facts.breach, name) in ("", None)]


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


def controller_clocks(
    facts: Facts, regulator_duty: dict[str, bool], now: datetime
) -> dict[str, ControllerClock]:
    """Each controller's clock at ``now`` (its own awareness + 72 h, overdue or not)."""
    from ariane.case import timeline  # the case package opens DuckDB: not at import time

    processor = facts.organisation.role == "processor"
    clocks = {}
    for controller_id, regulator in regulator_duty.items():
        own = facts.controller(controller_id)
        clocks[controller_id] = timeline.controller_clock(
            controller_id,
            processor=processor,
            case_aware_at=facts.aware_at(),
            informed_at=parse_instant(own.informed_at) if own.informed_at else None,
            notified_at=parse_instant(own.notified_at) if own.notified_at else None,
            notify_regulator=regulator,
            now=now,
        )
    return clocks


#: Notices to persons per state; the notify stage will fill them (zeros until then).
NOTICE_STATES = ("planned", "approved", "sent", "delivered", "bounced", "letters")


def summarise(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """Severity and duty fields of the summary; ``now`` judges what is overdue."""
    facts = stored_facts(engine)
    special = dict.fromkeys(enisa.CATEGORY_BITS, 0)
    for category, persons in engine.fetch(
        "SELECT category, count(*) FROM ("
        "  SELECT unnest(categories) AS category FROM assess_persons) GROUP BY category"
    ):
        special[category] = int(persons)
    severity = dict.fromkeys(enisa.BANDS, 0)
    for band, persons in engine.fetch("SELECT band, count(*) FROM assess_persons GROUP BY band"):
        severity[band] = int(persons)
    duties = engine.fetch(
        "SELECT controller_id, severity, notify_regulator, notify_persons "
        "FROM assess_controllers ORDER BY controller_id"
    )
    clocks = controller_clocks(
        facts, {row[0]: bool(row[2]) for row in duties}, now or datetime.now(UTC)
    )
    controllers = [
        {
            "controller_id": controller_id,
            "severity": band,
            "notify_regulator": bool(regulator),
            "notify_persons": bool(persons),
            **clocks[controller_id].as_contract(),
            "notices": dict.fromkeys(NOTICE_STATES, 0),
        }
        for controller_id, band, regulator, persons in duties
    ]
    return {"special_categories": special, "severity": severity, "controllers": controllers}


def reference_date(facts: Facts) -> date:
    """The day the case is judged on: awareness, else today."""
    aware_at = facts.aware_at()
    return aware_at.date() if aware_at else datetime.now(UTC).date()
