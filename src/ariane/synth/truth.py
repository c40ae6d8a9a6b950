"""The ground truth of a synthetic leak, counted as persons and records are drawn.

Shaped like ``ariane summary --json`` (CONTRACT.md), so a run on the leak can be compared
key by key. Counters only: memory does not grow with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ariane.synth.notes import CATEGORIES
from ariane.synth.people import Record
from ariane.synth.world import Lab

BANDS: tuple[str, ...] = ("low", "medium", "high", "very_high")
_BAND_RANK = {band: rank for rank, band in enumerate(BANDS)}


def person_severity(records: list[Record]) -> tuple[float, str]:
    """ENISA severity ``SE = DPC x EI + CB`` of one person from all their records.

    - DPC (data processing context): 4 when any record mentions a special category
      (HIV, pregnancy, cancer, genetic disease, treatment: an actual condition or result);
      else 3 when a blood group is given (a result, in a lab's patient list); else 1 (the
      list of a lab only says "had general blood tests").
    - EI (ease of identification): 1 when a record holds a NIR (always with a name);
      else 0.75 (name, birth date and address).
    - CB (circumstances): +0.5 published to unknown recipients, +0.5 malicious intent.
    - Bands: low < 2, medium 2 to < 3, high 3 to < 4, very high >= 4.
    """
    if any(record.categories for record in records):
        dpc = 4.0
    elif any(record.has_blood_group for record in records):
        dpc = 3.0
    else:
        dpc = 1.0
    ei = 1.0 if any(record.has_nir for record in records) else 0.75
    score = dpc * ei + 0.5 + 0.5
    band = (
        "very_high" if score >= 4 else "high" if score >= 3 else "medium" if score >= 2 else "low"
    )
    return score, band


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
        _, band = person_severity(records)
        self.bands[band] += 1
        seen: set[str] = set()
        for record in records:
            self.records_of[record.controller_id] = self.records_of.get(record.controller_id, 0) + 1
            seen.update(record.categories)
        for category in seen:
            self.categories[category] += 1
        for controller_id in {record.controller_id for record in records}:
            self.persons_of[controller_id] = self.persons_of.get(controller_id, 0) + 1
            worst = self.worst_band_of.get(controller_id, "low")
            if _BAND_RANK[band] > _BAND_RANK[worst]:
                self.worst_band_of[controller_id] = band

    def summary(self, region_of: dict[str, str]) -> dict[str, object]:
        """The truth in the shape of ``summary --json``.

        A controller's severity is the worst band among its persons; it notifies the
        regulator unless that band is low (art. 33), and the persons when it is high or
        very high (art. 34). No awareness time exists in a synthetic leak: deadline null.
        """
        controllers = []
        for lab in self.labs:
            band = self.worst_band_of.get(lab.controller_id, "low")
            controllers.append(
                {
                    "controller_id": lab.controller_id,
                    "name": lab.name,
                    "records": self.records_of.get(lab.controller_id, 0),
                    "persons": self.persons_of.get(lab.controller_id, 0),
                    "severity": band,
                    "notify_regulator": self.persons_of.get(lab.controller_id, 0) > 0
                    and band != "low",
                    "notify_persons": band in ("high", "very_high"),
                    "deadline": None,
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
