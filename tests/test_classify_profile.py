"""Column statistics of classify.profile: the fast form gives the figures of the plain one."""

from __future__ import annotations

import random

import pyarrow as pa

from ariane.case import Case
from ariane.classify import profile

# Unicode space separators DuckDB's trim() removes, a tab it keeps, and empty cells.
_PADDING = ["", " ", "  ", "\u00a0", "\u2003", "\u3000", "\t"]


def _messy_table(columns: int, rows: int) -> dict[str, list[str | None]]:
    draw = random.Random(15)
    table: dict[str, list[str | None]] = {}
    for c in range(columns):
        values: list[str | None] = []
        for _ in range(rows):
            roll = draw.random()
            if roll < 0.1:
                values.append(None)
            elif roll < 0.2:
                values.append(draw.choice(_PADDING))  # blank: a missing value, or a tab
            else:
                core = f"v{draw.randrange(1 + c * 7)}é"
                values.append(draw.choice(_PADDING) + core + draw.choice(_PADDING))
        table[f"col {c}" if c % 3 else f'odd "{c}"'] = values
    return table


def _reference(engine, table: str, names: list[str]) -> tuple[int, dict[str, tuple[int, int]]]:
    """The figures as first computed: every value unpivoted, then grouped by column."""
    plain = ", ".join(profile.quote(n) for n in names)
    rows = engine.fetch(
        f"SELECT name, count(v), approx_count_distinct(v) FROM (SELECT name, "
        f"nullif(trim(value), '') AS v FROM (UNPIVOT (SELECT {plain} FROM {table}) "
        f"ON COLUMNS(*) INTO NAME name VALUE value)) WHERE v IS NOT NULL GROUP BY name"
    )
    stats = {name: (0, 0) for name in names}
    stats.update({name: (int(p), int(d)) for name, p, d in rows})
    total = int(engine.fetch(f"SELECT count(*) FROM {table}")[0][0])
    return total, stats


def test_column_statistics_match_the_unpivoted_figures():
    # More columns than one query measures, so that the chunks meet; one column empty.
    columns = _messy_table(profile.STATS_COLUMNS + 9, 3000)
    columns["empty"] = [None, "", " "] * 1000
    with Case.ephemeral() as case:
        engine = case.engine()
        engine.append("t", pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}))
        names = list(columns)
        total, stats = profile._column_statistics(engine, '"t"', names)
        assert (total, stats) == _reference(engine, '"t"', names)
    assert total == 3000
    assert stats["empty"] == (0, 0)
    # Padding DuckDB trims makes no value of its own; a tab stays part of the value.
    trimmed = [v.strip(" \u00a0\u2003\u3000") for v in columns["col 1"] if v is not None]
    present, distinct = stats["col 1"]
    assert present == sum(1 for v in trimmed if v)
    exact = len({v for v in trimmed if v})
    assert exact < 40 and abs(distinct - exact) <= 2  # HyperLogLog: near, not exact
