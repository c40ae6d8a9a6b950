"""How many distinct persons, and how sure.

Connected components over the scored pairs at the chosen match probability give the
persons. The interval gathers two sources of doubt:

* the pairs the model hesitates on: :data:`DRAWS` times, every scored pair is kept with
  its match probability (a pair at 0.3 joins its profiles in three draws of ten) and the
  components counted; the central 95% of those counts (and the count itself) make the
  model's own interval;
* what the model is wrongly sure of (profiles it never paired: typos the blocking rules
  miss, whole fields replaced; probabilities over-confident on namesakes): a margin on
  each side that grows with the model's own doubt, :data:`CALIBRATION` times the width
  of the model's interval plus :data:`FLOOR` of the count. A leak the model reads without
  hesitation (a NIR on every record) gets a narrow interval; a leak of heavy typos and no
  person key a wide one. :data:`CALIBRATION` is the split-conformal quantile of the
  margins needed on leaks of known truth, generated in varied shapes and FEBRL's
  (``benchmarks/bench_interval.py``: coverage, coverage of each leak by a calibration
  fitted on the others, and widths in ``benchmarks/RESULTS.md``). A margin in shares of
  the count alone was measured too: as often right, twice as wide on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ariane.resolve.distinct import scratch
from ariane.resolve.persons import quiet_splink

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Match probability at which two profiles are one person.
THRESHOLD = 0.5
#: Pairs scored below this are not kept (nor drawn).
LOOSE = 0.02
#: Draws of the scored pairs, and the share of their counts left out on each side.
DRAWS = 40
TAIL = 0.025
#: Pairs at least this sure are joined in every draw (left out, one in a thousand would be).
SURE = 0.999
SEED = 2021
#: Share of the count the model is never surer than (added to its interval's width).
FLOOR = 0.01
#: Margin on each side, in widths of the model's interval plus FLOOR of the count: the
#: split-conformal 95% quantile of the margins measured on leaks of known truth
#: (bench_interval.py; the largest of them below 39 leaks).
CALIBRATION = 1.36


@dataclass(frozen=True)
class Estimate:
    """The number of persons, its interval, and the model's own interval inside it."""

    persons: int
    low: int
    high: int
    drawn_low: int
    drawn_high: int
    profiles: int


def cluster(engine: Engine, table: str, threshold: float) -> int:
    """Store ``table (unique_id, cluster_id)`` for profiles at ``threshold``; return the
    number of clusters."""
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    db_api = engine.splink_api()
    try:
        with quiet_splink():
            nodes = db_api.register("resolve_profiles", table_name="resolve_nodes")
            edges = db_api.register("resolve_edges", table_name="resolve_scored")
            clusters = cluster_pairwise_predictions_at_threshold(
                nodes, edges, db_api, "unique_id", threshold_match_probability=threshold
            )
            scratch(
                engine,
                table,
                f"SELECT CAST(unique_id AS BIGINT) AS unique_id, "
                f"CAST(cluster_id AS BIGINT) AS cluster_id FROM {clusters.physical_name}",
            )
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    return int(engine.fetch(f'SELECT count(DISTINCT cluster_id) FROM "{table}"')[0][0])


def drawn_counts(engine: Engine, draws: int = DRAWS, seed: int = SEED) -> list[int]:
    """Persons counted in each draw of the scored pairs (each kept with its probability)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    profiles = int(engine.fetch("SELECT count(*) FROM resolve_profiles")[0][0])
    pairs = engine.fetch_arrow(
        "SELECT unique_id_l, unique_id_r, match_probability FROM resolve_edges"
    )
    if pairs.num_rows == 0:
        return [profiles] * draws
    # Only profiles in some pair can merge: the others count one each, every draw.
    ends = np.concatenate([pairs.column(0).to_numpy(), pairs.column(1).to_numpy()])
    ids = np.unique(ends)
    left = np.searchsorted(ids, pairs.column(0).to_numpy())
    right = np.searchsorted(ids, pairs.column(1).to_numpy())
    chance = pairs.column(2).to_numpy()

    def components(size: int, a: Any, b: Any) -> tuple[int, Any]:
        graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(size, size))
        return connected_components(graph, directed=False)

    # Pairs all but certain are joined once, before the draws (a large leak has millions).
    sure = chance >= SURE
    groups, group_of = components(len(ids), left[sure], right[sure])
    doubtful = ~sure & (group_of[left] != group_of[right])
    left, right, chance = group_of[left[doubtful]], group_of[right[doubtful]], chance[doubtful]
    rng = np.random.default_rng(seed)
    counts = []
    for _ in range(draws):
        kept = rng.random(len(chance)) < chance
        found, _ = components(groups, left[kept], right[kept])
        counts.append(profiles - len(ids) + found)
    return counts


def quantiles(drawn: list[int]) -> tuple[int, int]:
    """The central ``1 - 2 * TAIL`` of the drawn counts: the model's own interval."""
    ordered = sorted(drawn)
    cut = int(TAIL * len(ordered))
    return ordered[cut], ordered[len(ordered) - 1 - cut]


def interval(
    persons: int, drawn_low: int, drawn_high: int, profiles: int, calibration: float = CALIBRATION
) -> tuple[int, int]:
    """The persons interval: the model's own, widened by the calibration margin."""
    low, high = min(persons, drawn_low), max(persons, drawn_high)
    margin = math.ceil(calibration * doubt(persons, drawn_low, drawn_high))
    # Never fewer than one person when someone is named, never more than the profiles.
    return max(min(persons, 1), low - margin), min(profiles, high + margin)


def doubt(persons: int, drawn_low: int, drawn_high: int) -> float:
    """The model's own doubt, in persons: the width of its interval plus :data:`FLOOR`
    of the count. The calibration margin is a multiple of it."""
    return max(persons, drawn_high) - min(persons, drawn_low) + FLOOR * persons


def estimate(engine: Engine) -> Estimate:
    """Cluster at the chosen threshold (kept as ``resolve_clusters``) and draw around it."""
    persons = cluster(engine, "resolve_clusters", THRESHOLD)
    profiles = int(engine.fetch("SELECT count(*) FROM resolve_profiles")[0][0])
    drawn_low, drawn_high = quantiles(drawn_counts(engine))
    low, high = interval(persons, drawn_low, drawn_high, profiles)
    return Estimate(persons, low, high, drawn_low, drawn_high, profiles)
