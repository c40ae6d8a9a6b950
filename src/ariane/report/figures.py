"""The counts a responder needs at a glance, collected once from the case's tables.

Only counts, kinds of data and categories leave the store through here: no value of any
record, so that no report can hold a person's data whatever its template says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ariane import geo
from ariane.assess import enisa
from ariane.assess.duties import deadline
from ariane.assess.facts import Facts, stored_facts

if TYPE_CHECKING:
    from ariane.case.timeline import ControllerClock, ProcessorDuty
    from ariane.engine import Engine


@dataclass
class SourceFigures:
    """One logical table read."""

    name: str
    format: str
    rows: int
    quarantined: int


@dataclass
class ControllerFigures:
    """One controller: who it is, what of its file leaked, what it must do."""

    controller_id: str
    name: str
    finess: str
    siren: str
    address: str
    postal_code: str
    city: str
    dpo_email: str
    departement: str
    departement_name: str
    region: str
    region_name: str
    records: int
    persons: int
    bands: dict[str, int]
    severity: str | None
    notify_regulator: bool
    notify_persons: bool
    persons_to_notify: int
    processor_informs: bool
    categories: dict[str, int]
    data_kinds: list[str]
    severity_explanation: dict[str, str]
    exposure: int = 0  # every kind of data its file exposes (:class:`enisa.Exposure` bits)
    minors: int = 0  # persons under 18 at the reference date
    special_persons: int = 0  # persons with at least one special-category mention
    factors: list[dict[str, Any]] = field(default_factory=list)  # grades, most persons first
    clock: ControllerClock | None = None

    @property
    def data_codes(self) -> list[str]:
        """Codes of the kinds of data exposed (``nir``, ``birth_date``...), for JSON."""
        return [bit.name.lower() for bit in enisa.DATA_NAMES if self.exposure & bit and bit.name]

    @property
    def special_share(self) -> float | None:
        """Share of its persons with a special-category mention (None: no person)."""
        return round(self.special_persons / self.persons, 4) if self.persons else None


@dataclass
class CaseFigures:
    """Every figure of the incident report."""

    generated_at: datetime
    facts: Facts
    deadline: datetime | None
    rows: int
    quarantined: int
    sources: list[SourceFigures]
    records: int
    persons: int
    persons_interval: tuple[int, int]
    persons_to_notify: int  # distinct persons owed a notice by at least one controller
    unattributed_records: int
    unattributed_persons: int
    categories: dict[str, int]
    bands: dict[str, int]
    data_kinds: list[str]
    controllers: list[ControllerFigures]
    persons_by_departement: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None  # the moment deadlines are judged at
    duty: ProcessorDuty | None = None

    @property
    def departements(self) -> list[tuple[str, str]]:
        """(code, name) of the départements where the concerned controllers are."""
        found = {(c.departement, c.departement_name) for c in self.controllers if c.departement}
        return sorted(found)

    @property
    def regions(self) -> list[tuple[str, str]]:
        """(code, name) of the régions where the concerned controllers are."""
        return sorted({(c.region, c.region_name) for c in self.controllers if c.region})


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _text(value: object) -> str:
    return "" if value is None else str(value)


def collect(engine: Engine, now: datetime | None = None) -> CaseFigures:
    """Every count of the reports, from the tables of every stage; ``now`` judges deadlines."""
    from ariane.assess import controller_clocks
    from ariane.case.timeline import processor_duty

    facts = stored_facts(engine)
    now = now or datetime.now(UTC)
    rows, quarantined, sources = _sources(engine)
    records, unattributed = engine.fetch(
        "SELECT count(*), count(*) FILTER (WHERE controller_id IS NULL) FROM assess_exposure"
    )[0]
    unattributed_persons = engine.fetch(
        "SELECT count(*) FROM (SELECT person_id FROM assess_exposure "
        "WHERE person_id IS NOT NULL GROUP BY person_id "
        "HAVING bool_and(controller_id IS NULL))"
    )[0][0]
    persons = _int(engine.fetch("SELECT count(*) FROM assess_persons")[0][0])
    interval = (persons, persons)
    if engine.has_table("resolve_estimate"):
        estimate = engine.fetch("SELECT persons_low, persons_high FROM resolve_estimate")
        if estimate:
            interval = (_int(estimate[0][0]), _int(estimate[0][1]))
    bands = dict.fromkeys(enisa.BANDS, 0)
    for band, count in engine.fetch("SELECT band, count(*) FROM assess_persons GROUP BY band"):
        bands[band] = _int(count)
    all_exposure = _int(engine.fetch("SELECT bit_or(exposure) FROM assess_persons")[0][0])
    # A person at several labs gets one notice per lab but is one person: count them once.
    persons_to_notify = engine.fetch(
        "SELECT count(DISTINCT h.person_id) FROM ("
        "  SELECT controller_id, person_id, bit_or(exposure) AS exposure FROM assess_exposure"
        "  WHERE controller_id IS NOT NULL AND person_id IS NOT NULL GROUP BY ALL) h "
        "JOIN assess_grades g USING (exposure) JOIN assess_controllers c USING (controller_id) "
        "WHERE c.notify_persons AND g.band IN ('high', 'very_high')"
    )[0][0]
    controllers = _controllers(engine)
    clocks = controller_clocks(
        facts, {c.controller_id: c.notify_regulator for c in controllers}, now
    )
    for controller in controllers:
        controller.clock = clocks[controller.controller_id]
    duty = processor_duty(
        facts.aware_at(), [clocks[c.controller_id] for c in controllers if c.persons], now
    )
    return CaseFigures(
        generated_at=now,
        facts=facts,
        deadline=deadline(facts.aware_at()),
        rows=rows,
        quarantined=quarantined,
        sources=sources,
        records=_int(records),
        persons=persons,
        persons_interval=interval,
        persons_to_notify=_int(persons_to_notify),
        unattributed_records=_int(unattributed),
        unattributed_persons=_int(unattributed_persons),
        categories=_category_counts(engine),
        bands=bands,
        data_kinds=enisa.data_names(all_exposure),
        controllers=controllers,
        persons_by_departement=_persons_by_departement(engine),
        now=now,
        duty=duty,
    )


def _sources(engine: Engine) -> tuple[int, int, list[SourceFigures]]:
    if not engine.has_table("read_sources"):
        return 0, 0, []
    from ariane.read import source_references

    # The file's own name, not its folder (a path may name the user's machine), and a
    # member of an archive by its number: its name may name a person.
    references = source_references(engine, name_only=True)
    sources = [
        SourceFigures(references[source_id], _text(fmt), _int(rows), _int(quarantined))
        for source_id, fmt, rows, quarantined in engine.fetch(
            "SELECT source_id, format, rows, quarantined FROM read_sources ORDER BY source_id"
        )
    ]
    return sum(s.rows for s in sources), sum(s.quarantined for s in sources), sources


def _per_category() -> str:
    """SQL counting rows whose ``exposure`` mentions each special category, in order."""
    return ", ".join(
        f"count(*) FILTER (WHERE exposure & {int(bit)} <> 0)"
        for bit in enisa.CATEGORY_BITS.values()
    )


def _category_counts(engine: Engine) -> dict[str, int]:
    """Persons per special category."""
    row = engine.fetch(f"SELECT {_per_category()} FROM assess_persons")[0]
    return {name: _int(count) for name, count in zip(enisa.CATEGORY_BITS, row, strict=True)}


def _controllers(engine: Engine) -> list[ControllerFigures]:
    registry = (
        {
            row[0]: row
            for row in engine.fetch(
                "SELECT controller_id, name, finess, siren, address, postal_code, city, dpo_email, "
                "departement, region FROM attribute_controllers"
            )
        }
        if engine.has_table("attribute_controllers")
        else {}
    )
    # Per controller: what its file exposes, persons per category, and the explanation of
    # its highest grade (the one that sets its duties).
    special = sum(int(bit) for bit in enisa.CATEGORY_BITS.values())
    held = engine.fetch(
        f"SELECT controller_id, bit_or(exposure), arg_max(g.explanation, g.score), "
        # Persons only (a record naming nobody is no person), as assess_controllers counts.
        f"count(person_id) FILTER (WHERE exposure & {int(enisa.Exposure.MINOR)} <> 0), "
        f"count(person_id) FILTER (WHERE exposure & {special} <> 0), "
        f"{_per_category()} "
        "FROM (SELECT controller_id, person_id, bit_or(exposure) AS exposure "
        "FROM assess_exposure WHERE controller_id IS NOT NULL GROUP BY ALL) "
        "JOIN assess_grades g USING (exposure) GROUP BY 1"
    )
    exposure = {row[0]: (_int(row[1]), row[5:]) for row in held}
    minors = {row[0]: (_int(row[3]), _int(row[4])) for row in held}
    factors = _factors(engine)
    worst = {row[0]: json.loads(row[2]) for row in held if row[2]}
    places = geo.referential()
    found = []
    for row in engine.fetch(
        "SELECT controller_id, severity, notify_regulator, notify_persons, records, persons, "
        + ", ".join(f"persons_{b}" for b in enisa.BANDS)
        + ", persons_to_notify, processor_informs FROM assess_controllers ORDER BY controller_id"
    ):
        controller_id, severity, regulator, persons_duty, records, persons = row[:6]
        band_counts = row[6 : 6 + len(enisa.BANDS)]
        to_notify, processor = row[6 + len(enisa.BANDS) :]
        entry = registry.get(controller_id, (controller_id,) + (None,) * 9)
        mask, category_counts = exposure.get(controller_id, (0, (0,) * len(enisa.CATEGORY_BITS)))
        departement, region = _text(entry[8]), _text(entry[9])
        found.append(
            ControllerFigures(
                controller_id=_text(controller_id),
                name=_text(entry[1]) or _text(controller_id),
                finess=_text(entry[2]),
                siren=_text(entry[3]),
                address=_text(entry[4]),
                postal_code=_text(entry[5]),
                city=_text(entry[6]),
                dpo_email=_text(entry[7]),
                departement=departement,
                departement_name=(places.departement_name(departement) or "")
                if departement
                else "",
                region=region,
                region_name=(places.region_name(region) or "") if region else "",
                records=_int(records),
                persons=_int(persons),
                bands={b: _int(c) for b, c in zip(enisa.BANDS, band_counts, strict=True)},
                severity=severity,
                notify_regulator=bool(regulator),
                notify_persons=bool(persons_duty),
                persons_to_notify=_int(to_notify),
                processor_informs=bool(processor),
                categories={
                    name: _int(count)
                    for name, count in zip(enisa.CATEGORY_BITS, category_counts, strict=True)
                },
                data_kinds=enisa.data_names(mask),
                severity_explanation=worst.get(controller_id, {}),
                exposure=mask,
                minors=minors.get(controller_id, (0, 0))[0],
                special_persons=minors.get(controller_id, (0, 0))[1],
                factors=factors.get(controller_id, []),
            )
        )
    return found


def _factors(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Per controller, its persons grouped by grade (DPC, EI, CB, score), most persons first.

    A lab whose 10,000 persons are graded "medium" and one "very high" is not a lab whose
    persons are all "very high": the maximum alone cannot tell them apart.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for controller_id, band, dpc, ei, cb, score, persons in engine.fetch(
        "SELECT controller_id, g.band, g.dpc, g.ei, g.cb, g.score, count(*) AS persons "
        "FROM (SELECT controller_id, person_id, bit_or(exposure) AS exposure "
        "FROM assess_exposure WHERE controller_id IS NOT NULL AND person_id IS NOT NULL "
        "GROUP BY ALL) JOIN assess_grades g USING (exposure) GROUP BY ALL "
        "ORDER BY controller_id, persons DESC, score DESC"
    ):
        found.setdefault(str(controller_id), []).append(
            {
                "band": band,
                "dpc": float(dpc),
                "ei": float(ei),
                "cb": float(cb),
                "score": float(score),
                "persons": int(persons),
            }
        )
    return found


def _persons_by_departement(engine: Engine) -> dict[str, int]:
    """Persons per département of residence (as ``resolve`` placed them)."""
    if not engine.has_table("resolve_persons"):
        return {}
    return {
        str(code): _int(count)
        for code, count in engine.fetch(
            "SELECT departement, count(*) FROM resolve_persons "
            "WHERE departement IS NOT NULL GROUP BY departement"
        )
    }
