"""Profile one source table through the engine: statistics, samples, then labels.

Whole-column statistics (null rate, approximate distinct count) come from SQL
aggregates over the stored columns; values are checked in Python on a row-aligned
sample (the rows whose record numbers hash lowest: the same rows however the table was
written), so that columns of the same rows can vouch for each other (NIR vs sex and
birth date). Sparse columns (a comment filled on one row in fifty) get a sample of their
own non-null values. Special-category mentions in the sampled values are found by the
engine's regular expressions as the values are fetched.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ariane.classify import columns, keys, lexicon
from ariane.classify.columns import ColumnDecision, ColumnSample

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Rows sampled per source: validators run in Python on these only.
SAMPLE_ROWS = 2000
#: A sparse column gets its own sample when the row sample holds fewer values than this.
MIN_VALUES = 200
_SEED = 20210223
#: Columns measured by one statistics query (see :func:`_column_statistics`).
STATS_COLUMNS = 64
#: The sample's row number, under a name no leak's column takes.
_ROW = '"__ariane_sample_row"'


def quote(name: str) -> str:
    """A column or table name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _present(name: str, trimmed: bool = True) -> str:
    """SQL: the trimmed value, NULL when empty (an empty cell is a missing value).
    ``trimmed=False``: the column holds no value that trimming would change."""
    return f"nullif(trim({quote(name)}), '')" if trimmed else f"nullif({quote(name)}, '')"


def profile_source(
    engine: Engine, data_table: str, names: list[str], unpadded: Collection[str] = ()
) -> list[tuple[ColumnSample, ColumnDecision]]:
    """Sample, measure and label every column of one source table (``unpadded``: the
    columns none of whose values ``trim`` would change, as the reader saw them)."""
    if not names:
        return []
    table = quote(data_table)
    # The sample's queries name the columns plainly and work on them unpivoted: DuckDB
    # plans a list of thousands of per-column expressions slowly.
    plain = ", ".join(quote(n) for n in names)
    # The rows whose record numbers hash lowest: the same rows however the table was
    # stored (a reservoir sample depends on the row groups, and so on how it was written).
    order = f'hash("_record", {_SEED}), "_record"'
    sampled = (
        f"(SELECT row_number() OVER (ORDER BY {order}) AS {_ROW}, {plain} FROM "
        f"(SELECT * FROM {table} ORDER BY {order} LIMIT {SAMPLE_ROWS}))"
    )
    rows = int(engine.fetch(f"SELECT count(*) FROM {table}")[0][0])
    size = min(rows, SAMPLE_ROWS)  # the sample holds all rows, or exactly its size
    aligned: dict[str, list[str | None]] = {n: [None] * size for n in names}
    mentioning: dict[str, set[str]] = {n: set() for n in names}
    for row, name, value, mentions in engine.fetch(
        _mentions(_unpivoted(plain, sampled, _ROW), f"{_ROW}, name, v")
    ):
        aligned[str(name)][int(row) - 1] = value
        if mentions:
            mentioning[str(name)].add(value)
    samples: dict[str, ColumnSample] = {}

    def measured(name: str, values: list[str]) -> ColumnSample:
        sample = ColumnSample(
            name=name,
            values=values,
            null_rate=1.0,
            uniqueness=0.0,
            mentioning=frozenset(mentioning[name]),
        )
        columns.measure(sample)
        return sample

    with engine.beside() as twin, ThreadPoolExecutor(max_workers=1) as beside:
        # The statistics run in the engine, outside the interpreter's lock, while the
        # columns the sample filled (never sparse, whatever the statistics say) are
        # measured here in Python.
        counted = beside.submit(_column_statistics, twin, table, names, set(unpadded))
        for name in names:
            values = [v for v in aligned[name] if v is not None]
            if len(values) >= MIN_VALUES:
                samples[name] = measured(name, values)
        total, stats = counted.result()
    sparse = [
        n
        for n in names
        if n not in samples
        and sum(v is not None for v in aligned[n]) < min(MIN_VALUES, stats.get(n, (0, 0))[0])
    ]
    more = _values_of_sparse_columns(engine, table, sparse, mentioning)
    for name in names:
        if name not in samples:
            values = more[name] if name in more else [v for v in aligned[name] if v is not None]
            samples[name] = measured(name, values)
        present, distinct = stats.get(name, (0, 0))
        samples[name].null_rate = 1.0 - present / total if total else 1.0
        samples[name].uniqueness = min(1.0, distinct / present) if present else 0.0
    return _labelled(engine, data_table, [samples[n] for n in names], aligned)


def _labelled(
    engine: Engine,
    data_table: str,
    samples: list[ColumnSample],
    aligned: dict[str, list[str | None]],
) -> list[tuple[ColumnSample, ColumnDecision]]:
    """Label the measured columns, then let them and the whole table settle the labels."""
    decisions = [columns.decide(s) for s in samples]
    _cross_check(samples, decisions, aligned)
    # Over the whole table: a sample holds too few rows of one person to tell a key.
    keys.find(engine, data_table, samples, decisions)
    return list(zip(samples, decisions, strict=True))


def _column_statistics(
    engine: Engine, table: str, names: list[str], unpadded: Collection[str] = ()
) -> tuple[int, dict[str, tuple[int, int]]]:
    """The row count, and each column's present values and approximate distinct count.

    One aggregate per column over the table as it is stored, :data:`STATS_COLUMNS` columns
    a query: unpivoting the table first (one row per value) cost three times the CPU, and
    one query of thousands of expressions plans slowly (4,000 columns: 14 s against 0.1 s).
    The figures are the same either way: a count is exact and a HyperLogLog sketch
    depends on the set of values, not on how they were grouped. Columns the reader found
    unpadded are not trimmed (the same values; trimming was two thirds of the query).
    """
    total = 0
    stats: dict[str, tuple[int, int]] = {}
    for start in range(0, len(names), STATS_COLUMNS):
        chunk = names[start : start + STATS_COLUMNS]
        values = ", ".join(f"{_present(n, n not in unpadded)} AS v{i}" for i, n in enumerate(chunk))
        measures = ", ".join(f"count(v{i}), approx_count_distinct(v{i})" for i in range(len(chunk)))
        row = engine.fetch(f"SELECT count(*), {measures} FROM (SELECT {values} FROM {table})")[0]
        total = int(row[0])
        for i, name in enumerate(chunk):
            stats[name] = (int(row[1 + 2 * i]), int(row[2 + 2 * i]))
    return total, stats


def _unpivoted(columns_sql: str, source: str, keep: str = "") -> str:
    """SQL: (name, v) for every present value of the columns, trimmed, empty as missing."""
    kept = f"{keep}, " if keep else ""
    unpivoted = f"COLUMNS(* EXCLUDE ({keep}))" if keep else "COLUMNS(*)"
    return (
        f"(SELECT {kept}name, v FROM (SELECT {kept}name, nullif(trim(value), '') AS v FROM "
        f"(UNPIVOT (SELECT {kept}{columns_sql} FROM {source}) ON {unpivoted} "
        f"INTO NAME name VALUE value)) WHERE v IS NOT NULL)"
    )


def _values_of_sparse_columns(
    engine: Engine, table: str, names: list[str], mentioning: dict[str, set[str]]
) -> dict[str, list]:
    """Up to SAMPLE_ROWS present values of each column the sample nearly missed, in one scan
    of the table for all of them (a query per column made wide, sparse tables quadratic);
    those that mention a special category are added to ``mentioning``."""
    if not names:
        return {}
    plain = ", ".join(quote(n) for n in names)
    found: dict[str, list] = {n: [] for n in names}
    for name, value, mentions in engine.fetch(
        _mentions(
            f"(SELECT name, v FROM {_unpivoted(plain, table)} "
            f"QUALIFY row_number() OVER (PARTITION BY name) <= {SAMPLE_ROWS})",
            "name, v",
        )
    ):
        found[str(name)].append(value)
        if mentions:
            mentioning[str(name)].add(value)
    return found


def _mentions(values: str, columns: str) -> str:
    """SQL: the ``columns`` of ``values`` (a subquery with a column ``v``), and whether
    ``v`` mentions a special category (the engine's regular expressions, outside Python)."""
    return (
        f"SELECT {columns}, {lexicon.mentions_sql('t')} AS mentions FROM "
        f"(SELECT {columns}, {lexicon.folded_sql('v')} AS t FROM {values})"
    )


def _first(decisions: list[ColumnDecision], samples: list[ColumnSample], label: str) -> str | None:
    for sample, decision in zip(samples, decisions, strict=True):
        if decision.label == label:
            return sample.name
    return None


def _cross_check(
    samples: list[ColumnSample],
    decisions: list[ColumnDecision],
    aligned: dict[str, list[str | None]],
) -> None:
    """Let columns of the same rows settle what one column alone cannot."""
    _second_names_are_physicians(samples, decisions)
    dates = [
        (s, d)
        for s, d in zip(samples, decisions, strict=True)
        if d.label in ("person.birth_date", "health.visit_date")
    ]
    nir_column = _first(decisions, samples, "id.nir")
    if nir_column is not None:
        agreements = {
            s.name: columns.birth_agreement(aligned[nir_column], aligned[s.name]) for s, _ in dates
        }
        birth_column = max(agreements, key=lambda n: agreements[n] or 0.0, default=None)
        if birth_column is not None and (agreements[birth_column] or 0.0) >= 0.8:
            for sample, decision in dates:
                decision.evidence["nir_birth_agreement"] = agreements[sample.name]
                wanted = "person.birth_date" if sample.name == birth_column else "health.visit_date"
                if decision.label != wanted:
                    columns.relabel(decision, wanted, sample, "NIR birth year and month")
            dates = []  # settled
        sex_column = _first(decisions, samples, "person.sex")
        birth = _first(decisions, samples, "person.birth_date")
        agreement = columns.nir_agreement(
            aligned[nir_column],
            aligned[sex_column] if sex_column else None,
            aligned[birth] if birth else None,
        )
        for sample, decision in zip(samples, decisions, strict=True):
            if sample.name == nir_column and agreement is not None:
                decision.evidence["nir_agrees_with_sex_and_birth_date"] = round(agreement, 4)
    births = [(s, d) for s, d in dates if d.label == "person.birth_date"]
    if len(births) > 1 and len(births) == len(dates):
        # Several "birth dates" and no visit date: the oldest is the birth date.
        oldest = min(births, key=lambda sd: statistics.median(sd[0].years or [9999]))
        for sample, decision in births:
            if (
                sample is not oldest[0]
                and decision.evidence["header_scores"].get("person.birth_date", 0.0) < 0.8
            ):
                columns.relabel(decision, "health.visit_date", sample, "later than the birth date")
    visits = [(s, d) for s, d in dates if d.label == "health.visit_date"]
    if len(visits) > 1 and len(visits) == len(dates):
        oldest = min(visits, key=lambda sd: statistics.median(sd[0].years or [9999]))
        spread = [statistics.median(s.years or [0]) for s, _ in visits]
        if (
            max(spread) - statistics.median(oldest[0].years or [0]) >= 15
            and oldest[1].evidence["header_scores"].get("health.visit_date", 0.0) < 0.8
        ):
            columns.relabel(oldest[1], "person.birth_date", oldest[0], "decades before visits")


def _second_names_are_physicians(
    samples: list[ColumnSample], decisions: list[ColumnDecision]
) -> None:
    """A whole name beside the patient's name is someone else's: the physician's.

    The patient is named once per record (a last-name column, or the most distinct of the
    whole-name columns); another whole-name column that repeats more, and whose header does
    not say it is the patient's, names the attending or prescribing physician.
    """
    names = [
        (s, d) for s, d in zip(samples, decisions, strict=True) if d.label == "person.full_name"
    ]
    has_last_name = any(d.label == "person.last_name" for d in decisions)
    if not names or (len(names) == 1 and not has_last_name):
        return
    patient = None if has_last_name else max(names, key=lambda sd: sd[0].uniqueness)
    for sample, decision in names:
        if patient is not None and sample is patient[0]:
            continue
        if decision.evidence["header_scores"].get("person.full_name", 0.0) >= 0.8:
            continue
        if patient is not None and sample.uniqueness >= 0.9 * patient[0].uniqueness:
            continue
        columns.relabel(decision, "provider.physician", sample, "a second name column")
