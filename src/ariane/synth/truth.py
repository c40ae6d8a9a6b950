"""The ground truth of a synthetic leak, counted as persons and records are drawn.

Shaped like ``ariane summary --json`` (CONTRACT.md), so a run on the leak can be compared
key by key. Counters only: memory does not grow with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from ariane.assess.enisa import CATEGORY_BITS, LABEL_BITS, Circumstances, Exposure, grade
from ariane.synth.notes import CATEGORIES
from ariane.synth.people import AWARE_AT, Record
from ariane.synth.world import Lab
from ariane.synth.writer import COLUMNS

BANDS: tuple[str, ...] = ("low", "medium", "high", "very_high")
#: The columns of Record.fields: every column of the leak but the record id.
DATA_COLUMNS = COLUMNS[1:]
_AWARE_DAY = AWARE_AT.date()
DEADLINE = timedelta(hours=72)
_BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}


# Plain ints: IntFlag arithmetic is slow in a loop over millions of fields.
_FIELD_BITS = tuple(int(LABEL_BITS.get(column.label, 0)) for column in DATA_COLUMNS)
_CATEGORY_BITS = {category: int(bit) for category, bit in CATEGORY_BITS.items()}
_ALWAYS = int(Exposure.INTERNAL_ID | Exposure.PATIENT)
_MINOR = int(Exposure.MINOR)
_ADULT_SINCE = _AWARE_DAY.replace(year=_AWARE_DAY.year - 18)


def record_exposure(record: Record) -> int:
    """What one record shows, as :class:`~ariane.assess.enisa.Exposure` bits.

    Every kind of data a non-empty field holds, the record number (an internal id), the
    special categories its notes mention, being a lab's patient, and being a minor at the
    time of awareness.
    """
    exposure = _ALWAYS
    for bit, value in zip(_FIELD_BITS, record.fields, strict=True):
        if value:
            exposure |= bit
    for category in record.categories:
        exposure |= _CATEGORY_BITS[category]
    if record.birth > _ADULT_SINCE:
        exposure |= _MINOR
    return exposure


def severity_band(exposure: int) -> str:
    """The ENISA band of what a person's records show (OR of their record exposures).

    Graded by the one ENISA implementation (:func:`ariane.assess.enisa.grade`) with the
    default circumstances of a file published online (unknown recipients, malicious): the
    truth is about which data each person exposes; the grading policy is shared.
    """
    return _band(exposure)


@cache
def _band(exposure: int) -> str:
    # Persons share few distinct exposures: grade each one once.
    return grade(exposure, Circumstances()).band


@dataclass
class Tally:
    """Running counts of the truth: per controller, per category, per severity band."""

    labs: list[Lab]
    persons: int = 0
    rows: int = 0
    records_of: dict[str, int] = field(default_factory=dict)
    persons_of: dict[str, int] = field(default_factory=dict)
    worst_band_of: dict[str, str] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BANDS, 0))

    def add_person(self, records: list[Record]) -> None:
        """Count one person and all their records."""
        self.persons += 1
        self.rows += len(records)
        person = 0
        seen: set[str] = set()
        held: dict[str, int] = {}  # controller -> what its own records show of the person
        for record in records:
            exposure = record_exposure(record)
            person |= exposure
            held[record.controller_id] = held.get(record.controller_id, 0) | exposure
            self.records_of[record.controller_id] = self.records_of.get(record.controller_id, 0) + 1
            seen.update(record.categories)
        self.bands[severity_band(person)] += 1
        for category in seen:
            self.categories[category] += 1
        # Each controller judges a person on what its own records show.
        for controller_id, exposure in held.items():
            self.persons_of[controller_id] = self.persons_of.get(controller_id, 0) + 1
            band = severity_band(exposure)
            worst = self.worst_band_of.get(controller_id, "low")
            if _BAND_RANK[band] > _BAND_RANK[worst]:
                self.worst_band_of[controller_id] = band

    def summary(self, region_of: dict[str, str]) -> dict[str, object]:
        """The truth in the shape of ``summary --json``.

        A controller's severity is the worst band among its persons; it notifies the
        regulator unless that band is low (art. 33), by awareness + 72 h, and the persons
        when it is high or very high (art. 34).
        """
        controllers = []
        for lab in self.labs:
            band = self.worst_band_of.get(lab.controller_id, "low")
            notify_regulator = self.persons_of.get(lab.controller_id, 0) > 0 and band != "low"
            controllers.append(
                {
                    "controller_id": lab.controller_id,
                    "name": lab.name,
                    "records": self.records_of.get(lab.controller_id, 0),
                    "persons": self.persons_of.get(lab.controller_id, 0),
                    "severity": band,
                    "notify_regulator": notify_regulator,
                    "notify_persons": band in ("high", "very_high"),
                    "deadline": (AWARE_AT + DEADLINE).isoformat() if notify_regulator else None,
                }
            )
        concerned = sorted(
            {lab.departement for lab in self.labs if self.records_of.get(lab.controller_id)}
        )
        return {
            "rows": self.rows,
            "quarantined": 0,
            "persons": self.persons,
            "persons_interval": [self.persons, self.persons],
            "controllers": controllers,
            "unattributed_records": 0,
            "departements": concerned,
            "regions": sorted({region_of[d] for d in concerned}),
            "special_categories": dict(self.categories),
            "severity": dict(self.bands),
        }
