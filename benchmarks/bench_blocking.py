"""Pairs each blocking rule gives, and how they grow with the leak (issue 12).

Run: ``PYTHONPATH=src nice -n 19 .venv/bin/python benchmarks/bench_blocking.py ROWS [ROWS ...]``

For each size, a synthetic leak (``ariane synth --rows ROWS --seed 2021``, written once
under ``/tmp/blk-ROWS`` and reused) goes through the real read, classify and the resolve
stage's preparation (records, then the profiles Splink is given); the profiles are kept
beside the leak (``profiles.parquet``, synthetic data) so that another checkout's rules can
be counted on the same table. Then, for every rule of
:func:`ariane.resolve.model.blocking_rules`:

* ``joined``: the pairs the rule's equi-join makes (what the engine evaluates before the
  rule's other conditions filter them), ``sum(n_l * n_r)`` over its join keys, halved for a
  deduplication (only ``l < r`` is kept);
* ``pairs``: the pairs the rule keeps (its whole condition, ``l.unique_id < r.unique_id``);
* ``new``: those no earlier rule kept (what predict scores for it).

and the growth exponent between two sizes, ``log(pairs ratio) / log(rows ratio)``: 1 means
the pairs grow like the leak, 2 like its square. Another checkout's rules: run the script
with ``PYTHONPATH`` on that checkout's ``src``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

SEED = 2021
#: The day the records' ages are taken at (fixed, so that runs compare).
TODAY = date(2026, 11, 30)


def leak_folder(rows: int) -> Path:
    """The synthetic leak of ``rows`` rows, written once."""
    folder = Path(f"/tmp/blk-{rows}")
    if not (folder / "truth.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ariane", "synth", "--rows", str(rows), "--seed", str(SEED), "--out", str(folder),
             "-q"],
            check=True,
        )  # fmt: skip
    return folder


def profiles(folder: Path) -> Path:
    """The profiles Splink blocks on (``resolve_profiles``), as Parquet beside the leak."""
    import pyarrow.parquet as pq

    from ariane.resolve.persons import MODEL_FIELDS

    out = folder / "profiles.parquet"
    # Kept while it has every field this checkout's model reads.
    if out.exists() and set(MODEL_FIELDS) <= set(pq.read_schema(out).names):
        return out
    from ariane import classify, read
    from ariane.case import Case
    from ariane.resolve import persons, records

    started = time.perf_counter()
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [folder / "leak.csv"])
        classify.classify(engine)
        records.build(engine, TODAY)
        persons.build_profiles(engine)
        table = engine.fetch_arrow("SELECT * FROM resolve_profiles")
    pq.write_table(table, out.with_suffix(".tmp"))
    out.with_suffix(".tmp").replace(out)
    print(
        f"  profiles of {folder.name}: {table.num_rows:,} in {time.perf_counter() - started:.0f} s"
    )
    return out


def present_fields(con: Any) -> set[str]:
    """The fields the model compares, as :func:`ariane.resolve.persons.present_fields`."""
    from ariane.resolve.persons import MIN_PRESENT, MODEL_FIELDS

    columns = {row[0] for row in con.execute("DESCRIBE resolve_profiles").fetchall()}
    fields = [f for f in MODEL_FIELDS if f in columns]
    counts = con.execute(
        "SELECT count(*), " + ", ".join(f"count({f})" for f in fields) + " FROM resolve_profiles"
    ).fetchone()
    total = max(int(counts[0]), 1)
    return {f for f, c in zip(fields, counts[1:], strict=True) if c >= max(2, MIN_PRESENT * total)}


def count_rules(parquet: Path) -> tuple[int, list[dict[str, Any]]]:
    """Profiles, and for every blocking rule its joined, kept and new pairs."""
    from ariane.resolve.model import blocking_rules

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"CREATE TABLE resolve_profiles AS SELECT * FROM read_parquet('{parquet}')")
    n = int(con.execute("SELECT count(*) FROM resolve_profiles").fetchone()[0])
    present = present_fields(con)
    out: list[dict[str, Any]] = []
    earlier: list[str] = []
    for creator in blocking_rules(present):
        rule = creator.get_blocking_rule("duckdb")
        sql = rule.blocking_rule_sql
        joined = _joined(con, equi_join_keys(sql))
        started = time.perf_counter()
        pairs = _count(con, sql)
        new = (
            _count(con, f"({sql})" + "".join(f" AND NOT ({e})" for e in earlier))
            if earlier
            else pairs
        )
        out.append(
            {"rule": " ".join(sql.split()), "joined": joined, "pairs": pairs, "new": new,
             "seconds": time.perf_counter() - started}
        )  # fmt: skip
        earlier.append(f"coalesce(({sql}), false)")
    return n, out


def equi_join_keys(sql: str) -> list[tuple[str, str]]:
    """The ``l.x = r.y`` terms of a rule's top-level AND: what the engine hashes on (Splink's
    own list misses some, e.g. a ``nullif(regexp_extract(...))`` key)."""
    import sqlglot
    from sqlglot import expressions as exp

    keys = []

    def terms(node: exp.Expression) -> list[exp.Expression]:
        node = node.unnest()
        if isinstance(node, exp.And):
            return [t for part in node.flatten() for t in terms(part)]
        return [node]

    for term in terms(sqlglot.parse_one(sql, dialect="duckdb")):
        if not isinstance(term, exp.EQ):
            continue
        tables = [{c.table for c in side.find_all(exp.Column)} for side in (term.left, term.right)]
        if tables == [{"l"}, {"r"}]:
            keys.append((term.left.sql("duckdb"), term.right.sql("duckdb")))
        elif tables == [{"r"}, {"l"}]:
            keys.append((term.right.sql("duckdb"), term.left.sql("duckdb")))
    return keys


def _count(con: Any, condition: str) -> int:
    return int(
        con.execute(
            "SELECT count(*) FROM resolve_profiles l JOIN resolve_profiles r "
            f"ON ({condition}) AND l.unique_id < r.unique_id"
        ).fetchone()[0]
    )


def _joined(con: Any, keys: list[tuple[str, str]]) -> int:
    """Pairs the equi-join of ``keys`` makes, ``l < r`` (all pairs when there is none)."""
    if not keys:
        n = int(con.execute("SELECT count(*) FROM resolve_profiles").fetchone()[0])
        return n * (n - 1) // 2
    names = [f"k{i}" for i in range(len(keys))]

    def side(which: int) -> str:
        cols = ", ".join(f"{key[which]} AS {name}" for key, name in zip(keys, names, strict=True))
        # The rule's own aliases (l., r.) name this one table.
        cols = cols.replace("l.", "").replace("r.", "")
        return f"SELECT {cols}, count(*) AS c FROM resolve_profiles GROUP BY ALL"

    symmetric = all(a.replace("l.", "") == b.replace("r.", "") for a, b in keys)
    keys = [(a.replace('"l".', "l."), b.replace('"r".', "r.")) for a, b in keys]
    on = " AND ".join(f"a.{k} = b.{k}" for k in names)
    total = int(
        con.execute(
            f"SELECT coalesce(sum(a.c * b.c), 0) FROM ({side(0)}) a JOIN ({side(1)}) b ON {on}"
        ).fetchone()[0]
    )
    if symmetric:
        same = int(
            con.execute(
                f"SELECT coalesce(sum(c), 0) FROM ({side(0)}) WHERE "
                + " AND ".join(f"{k} IS NOT NULL" for k in names)
            ).fetchone()[0]
        )
        return (total - same) // 2
    return total // 2


def main(sizes: list[int]) -> None:
    counted: dict[int, tuple[int, list[dict[str, Any]]]] = {}
    for rows in sizes:
        parquet = profiles(leak_folder(rows))
        counted[rows] = count_rules(parquet)
        n, rules = counted[rows]
        print(f"\n{rows:,} rows, {n:,} profiles")
        for i, r in enumerate(rules):
            print(
                f"  {i:2d} joined {r['joined']:>14,} pairs {r['pairs']:>12,} new {r['new']:>12,}"
                f"  ({r['seconds']:.0f} s)  {r['rule'][:150]}"
            )
        print(f"  total new (scored by predict): {sum(r['new'] for r in rules):,}")
        print(f"  total joined (evaluated): {sum(r['joined'] for r in rules):,}")
    for small, large in zip(sizes, sizes[1:], strict=False):
        growth(small, counted[small][1], large, counted[large][1], last=large == sizes[-1])


def _exponent(a: int, b: int, grow: float) -> float | None:
    return math.log(b / a) / grow if a > 0 and b > 0 else None


def growth(small: int, before: list[dict[str, Any]], large: int, after: list[dict[str, Any]], *,
           last: bool) -> None:  # fmt: skip
    """Growth exponents between two sizes; at the last, a projection to 20 M rows (each
    rule's new pairs grown at its own exponent: an extrapolation, not a measure)."""
    grow = math.log(large / small)
    print(f"\ngrowth exponent {small:,} -> {large:,} rows (pairs, joined, new)")
    projected = 0.0
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        shown = [_exponent(a[k], b[k], grow) for k in ("pairs", "joined", "new")]
        print(
            f"  {i:2d} " + " ".join("  n/a" if e is None else f"{e:5.2f}" for e in shown)
            + f"  pairs/rows {b['pairs'] / large:8.2f}  joined/rows {b['joined'] / large:8.2f}"
        )  # fmt: skip
        projected += b["new"] * (20_000_000 / large) ** (shown[2] or 1.0)
    total = [sum(r[k] for r in rules) for rules in (before, after) for k in ("new", "joined")]
    for label, a, b in (("new", total[0], total[2]), ("joined", total[1], total[3])):
        print(f"  total {label}: exponent {_exponent(a, b, grow) or 0:.2f}")
    if last:
        print(f"  extrapolated pairs scored at 20 M rows (sum over rules): {projected:,.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200_000, 1_000_000])
