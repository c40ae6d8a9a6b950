"""The link step on a leak's scale: patients and their results, folded in the store.

Builds, inside an encrypted case store, the raw tables the read stage would write for one
input (a patients table and a results table keyed by patient number, plus a small lookup
table that must not link) and their labels, then times :func:`ariane.link.link` (discovery
and fold) against the same store's plain ``GROUP BY`` of the results (the least any fold
costs), side by side. Prints figures for benchmarks/RESULTS.md.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_link.py [--patients N] [--results M]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import pyarrow as pa

from ariane import link
from ariane.case import Case
from ariane.read.store import Store


def _build(engine, patients: int, results: int) -> None:
    Store(engine)  # read_sources and read_quarantine, as the read stage makes them
    engine.execute(
        f"""CREATE TABLE raw_1 AS SELECT
            'P' || lpad(CAST(i AS VARCHAR), 8, '0') AS "Nummer",
            'NOM' || CAST(hash(i) % 50000 AS VARCHAR) AS "Nachname",
            'Prenom' || CAST(hash(i + 1) % 3000 AS VARCHAR) AS "Vorname",
            strftime(DATE '1930-01-01' + CAST(hash(i + 2) % 30000 AS INTEGER), '%d/%m/%Y')
                AS "Geburtsdatum",
            CAST(1 + hash(i + 3) % 2 AS VARCHAR) AS "Geschlecht",
            CAST(1 + hash(i + 4) % 12 AS VARCHAR) AS "Labor",
            CAST(1 AS INTEGER) AS _source_id, CAST(i AS BIGINT) AS _record,
            CAST(NULL AS BIGINT) AS _line
        FROM range(1, {patients + 1}) t(i)"""
    )
    tests = "['Sérologie VIH', 'Glycémie', 'NFS', 'Cholestérol', 'TSH', 'Ferritine']"
    engine.execute(
        f"""CREATE TABLE raw_2 AS SELECT
            'P' || lpad(CAST(1 + hash(j) % {patients} AS VARCHAR), 8, '0') AS c1,
            {tests}[CAST(1 + hash(j + 1) % 6 AS BIGINT)] AS c2,
            CAST(round((hash(j + 2) % 900) / 100.0, 2) AS VARCHAR) AS c3,
            strftime(DATE '2021-01-01' + CAST(hash(j + 3) % 300 AS INTEGER), '%Y-%m-%d') AS c4,
            CAST(2 AS INTEGER) AS _source_id, CAST(j AS BIGINT) AS _record,
            CAST(NULL AS BIGINT) AS _line
        FROM range(1, {results + 1}) t(j)"""
    )
    engine.execute(
        """CREATE TABLE raw_3 AS SELECT CAST(i AS VARCHAR) AS k, 'Service ' || i AS v,
            CAST(3 AS INTEGER) AS _source_id, CAST(i AS BIGINT) AS _record,
            CAST(NULL AS BIGINT) AS _line FROM range(1, 13) t(i)"""
    )
    sources = [
        (1, "Blatt1", ["Nummer", "Nachname", "Vorname", "Geburtsdatum", "Geschlecht", "Labor"],
         patients),
        (2, "Blatt2", ["c1", "c2", "c3", "c4"], results),
        (3, "Blatt3", ["k", "v"], 12),
    ]  # fmt: skip
    for source_id, name, columns, rows in sources:
        engine.execute(
            "INSERT INTO read_sources VALUES (?, 'leak.xlsx', NULL, ?, 'xlsx', NULL, '', true, "
            "?, ?, 0, ?, '', NULL, NULL, NULL, 0)",
            [source_id, name, columns, rows, f"raw_{source_id}"],
        )
    labels = [
        (1, "Nummer", "id.internal"), (1, "Nachname", "person.last_name"),
        (1, "Vorname", "person.first_name"), (1, "Geburtsdatum", "person.birth_date"),
        (1, "Geschlecht", "person.sex"), (1, "Labor", "other"), (2, "c1", "id.internal"),
        (2, "c2", "health.test"), (2, "c3", "health.test"), (2, "c4", "health.visit_date"),
        (3, "k", "other"), (3, "v", "other"),
    ]  # fmt: skip
    n = len(labels)
    engine.append(
        "classify_columns",
        pa.table(
            {
                "source_id": pa.array([s for s, _, _ in labels], pa.int32()),
                "column_name": [c for _, c, _ in labels],
                "label": [lab for _, _, lab in labels],
                "confidence": [0.9] * n, "match_rate": [0.9] * n, "null_rate": [0.0] * n,
                "uniqueness": [0.0] * n,
                "special": [lab.startswith("health.") for *_, lab in labels],
                "runners_up": ["[]"] * n, "evidence": ["{}"] * n,
            }
        ),
    )  # fmt: skip
    engine.execute(
        "CREATE TABLE classify_mentions (source_id INTEGER, _record BIGINT, "
        "column_name VARCHAR, category VARCHAR)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=491_840)
    parser.add_argument("--results", type=int, default=2_000_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, CPython {platform.python_version()}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    with Case.ephemeral() as case:
        engine = case.engine()
        started = time.perf_counter()
        _build(engine, args.patients, args.results)
        print(f"build: {time.perf_counter() - started:.1f} s")
        started, cpu = time.perf_counter(), time.process_time()
        engine.execute(
            "CREATE TABLE floor AS SELECT c1, string_agg(DISTINCT c2, ' | '), "
            "string_agg(DISTINCT c3, ' | '), string_agg(DISTINCT c4, ' | ') FROM raw_2 GROUP BY 1"
        )
        floor_wall, floor_cpu = time.perf_counter() - started, time.process_time() - cpu
        engine.execute("DROP TABLE floor")
        started, cpu = time.perf_counter(), time.process_time()
        folded = link.link(engine)
        wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        [result] = folded
        assert (result.child_source_id, result.parent_source_id) == (2, 1)
        assert result.linked == args.results and result.orphans == 0
        records = engine.fetch("SELECT count(*) FROM raw_1")[0][0]
        assert records == args.patients
        print(f"patients {args.patients:,}, results {args.results:,}: linked {result.linked:,}")
        print("| step | wall s | cpu s |")
        print("|---|---|---|")
        print(f"| GROUP BY of the results alone (floor) | {floor_wall:.1f} | {floor_cpu:.1f} |")
        print(f"| link: discover + fold + labels | {wall:.1f} | {cpu_s:.1f} |")
        print(f"ratio link / floor: {wall / floor_wall:.1f}x; peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
