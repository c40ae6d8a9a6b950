"""Each controller's duties under the GDPR, from the grades of its persons.

- Art. 33: notify the regulator within 72 hours of awareness, unless the breach is unlikely
  to result in a risk (every person of the controller graded low).
- Art. 34: tell the persons when the risk is high (a person of the controller graded high
  or very high), unless the data was unintelligible (encrypted): art. 34(3)(a).
- Art. 33(2): a processor tells each controller without undue delay.

A person is graded per controller on what that controller's records expose, since each
controller answers for its own file.

Writes ``assess_controllers``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ariane.assess.enisa import BANDS

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Art. 33(1): "not later than 72 hours after having become aware of it".
NOTIFICATION_DELAY = timedelta(hours=72)


def deadline(aware_at: datetime | None) -> datetime | None:
    """The regulator's deadline: awareness + 72 h (None when awareness is unknown)."""
    return aware_at + NOTIFICATION_DELAY if aware_at is not None else None


def build_duties(
    engine: Engine, *, aware_at: datetime | None, encrypted: bool, processor: bool
) -> None:
    """Materialise ``assess_controllers`` from ``assess_exposure`` and ``assess_grades``.

    ``assess_grades`` maps every exposure mask to its grade (exposure, score, band, rank).
    """
    band_list = "[" + ", ".join(f"'{b}'" for b in BANDS) + "]"
    counts = ", ".join(f"count(*) FILTER (WHERE g.band = '{b}') AS persons_{b}" for b in BANDS)
    if engine.has_table("attribute_controllers"):
        controllers = "SELECT controller_id FROM attribute_controllers"
    else:
        controllers = (
            "SELECT DISTINCT controller_id FROM assess_exposure WHERE controller_id IS NOT NULL"
        )
    due = deadline(aware_at)
    engine.execute(
        "CREATE OR REPLACE TABLE assess_controllers AS "
        "WITH held AS ("
        "  SELECT controller_id, person_id, bit_or(exposure) AS exposure"
        "  FROM assess_exposure WHERE controller_id IS NOT NULL AND person_id IS NOT NULL"
        "  GROUP BY controller_id, person_id), "
        "graded AS ("
        f"  SELECT controller_id, count(*) AS persons, max(g.rank) AS rank, {counts}"
        "  FROM held JOIN assess_grades g USING (exposure) GROUP BY controller_id), "
        # Every attributed record counts, also one that names nobody (no person).
        "filed AS (SELECT controller_id, count(*) AS records FROM assess_exposure"
        "  WHERE controller_id IS NOT NULL GROUP BY controller_id) "
        "SELECT c.controller_id, "
        f"  CASE WHEN g.rank IS NULL THEN NULL ELSE {band_list}[g.rank + 1] END AS severity, "
        "  coalesce(g.rank >= 1, false) AS notify_regulator, "
        "  coalesce(g.rank >= 2, false) AND NOT ? AS notify_persons, "
        "  CASE WHEN coalesce(g.rank >= 1, false) THEN CAST(? AS TIMESTAMPTZ) END AS deadline, "
        "  coalesce(f.records, 0)::BIGINT AS records, coalesce(g.persons, 0)::BIGINT AS persons, "
        + ", ".join(f"coalesce(g.persons_{b}, 0)::BIGINT AS persons_{b}" for b in BANDS)
        + ", CASE WHEN ? THEN 0 ELSE coalesce(g.persons_high + g.persons_very_high, 0) END"
        "::BIGINT AS persons_to_notify, "
        "  ? AND coalesce(g.persons, 0) > 0 AS processor_informs "
        f"FROM ({controllers}) c LEFT JOIN graded g USING (controller_id) "
        "LEFT JOIN filed f USING (controller_id) "
        "ORDER BY c.controller_id",
        [encrypted, due.isoformat() if due else None, encrypted, processor],
    )
