"""How many distinct persons, and how sure.

Connected components over the scored pairs at the chosen match probability give the
persons. The interval gathers three sources of doubt:

* clustering at a looser and a stricter threshold (the pairs the model hesitates on);
* the model's own expected errors: an accepted pair is wrong with probability 1 - p,
  a rejected one right with probability p (summed over pairs, which over-counts pairs
  inside one cluster: the bound is on the safe side);
* a calibration margin: Splink's probabilities are over-confident on namesakes and
  heavy typos; on FEBRL and synthetic leaks the residual error stays under 0.1%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ariane.resolve.distinct import scratch
from ariane.resolve.persons import quiet_splink

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Match probability at which two profiles are one person.
THRESHOLD = 0.5
#: Looser and stricter thresholds bounding the count.
LOOSE, STRICT = 0.02, 0.95
#: Share of persons added on each side for what the model is wrongly sure of.
CALIBRATION = 0.001


@dataclass(frozen=True)
class Estimate:
    """The number of persons and its interval."""

    persons: int
    low: int
    high: int


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


def estimate(engine: Engine) -> Estimate:
    """Cluster at the chosen threshold (kept as ``resolve_clusters``) and around it."""
    persons = cluster(engine, "resolve_clusters", THRESHOLD)
    low = cluster(engine, "resolve_clusters_loose", LOOSE)
    high = cluster(engine, "resolve_clusters_strict", STRICT)
    for table in ("resolve_clusters_loose", "resolve_clusters_strict"):
        engine.execute(f'DROP TABLE IF EXISTS "{table}"')
    wrong_links, missed_links = engine.fetch(
        f"SELECT coalesce(sum(1 - p) FILTER (p >= {THRESHOLD}), 0), "
        f"coalesce(sum(p) FILTER (p < {THRESHOLD}), 0) "
        "FROM (SELECT match_probability AS p FROM resolve_edges)"
    )[0]
    margin = math.ceil(CALIBRATION * persons)
    profiles = int(engine.fetch("SELECT count(*) FROM resolve_profiles")[0][0])
    # Never fewer than one person when someone is named, never more than the profiles.
    return Estimate(
        persons,
        max(min(persons, 1), min(low, persons - math.ceil(missed_links)) - margin),
        min(profiles, max(high, persons + math.ceil(wrong_links)) + margin),
    )
