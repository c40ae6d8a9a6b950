"""The blocking rules stay bounded on a leak of tens of millions of people (issue 12).

A rule that joins on a key of fixed cardinality (a birth date, a NIR's year and month,
a phonetic code, both names) pairs strangers like rows² / cardinality: fine at 5 M rows,
billions of pairs at 20 M. Here a population of distinct people is built in code from
vocabularies of known sizes and skew (no duplicates: every pair is a stranger), the pairs
each rule's equi-join makes (what the engine evaluates before any other condition) are
counted, and projected to 20 M rows by that square law, which holds exactly for pairs of
strangers.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot import expressions as exp

from ariane.resolve.model import blocking_rules

PEOPLE = 60_000
TARGET = 20_000_000
#: Pairs of strangers a rule may make per row at TARGET rows.
PER_ROW = 20
FIELDS = {
    "nir", "last_name", "first_name", "last_name_sdx", "first_name_sdx", "birth_date",
    "nir_birth", "sex", "phone", "email", "street", "street_number", "postal_code", "town",
}  # fmt: skip


def _u(i: int) -> str:
    """A uniform draw in [0, 1) for the person ``p``, stream ``i`` (seeded, reproducible)."""
    return f"(hash(p, {i}) % 1000003) / 1000003.0"


def _name(i: int, size: int) -> str:
    # A name's initial: one of 26 letters, spread over the list; first names and
    # surnames are two lists (stream 1 and 2) that share no name.
    index = f"floor({size} * pow({_u(i)}, 3))::INT"
    return f"chr(65 + {index} % 26) || {index} || '{i}'"


def _code(i: int, size: int) -> str:
    # Ten names a code, all of one initial (as Soundex keeps the first letter).
    index = f"floor({size} * pow({_u(i)}, 3))::INT"
    return f"chr(65 + {index} % 26) || ({index} // 260)"


# Vocabularies: 1,000 first names and 30,000 surnames drawn with a skew (u cubed: the
# first tenth of the list holds ~46% of the people), ten names a phonetic code, one
# hundred years of birth dates, 6,000 postal codes, two a town, street numbers skewed
# to the low ones, 50 street names a place.
POPULATION = f"""
SELECT p AS unique_id,
       'N' || p AS nir, 'M' || p || '@mail.example' AS email, '06' || p AS phone,
       {_name(1, 1000)} AS first_name, {_name(2, 30000)} AS last_name,
       {_code(1, 1000)} AS first_name_sdx, {_code(2, 30000)} AS last_name_sdx,
       DATE '1920-01-01' + floor(36500 * {_u(3)})::INT AS birth_date,
       strftime(DATE '1920-01-01' + floor(36500 * {_u(3)})::INT, '%y%m') AS nir_birth,
       CASE WHEN {_u(4)} < 0.5 THEN '1' ELSE '2' END AS sex,
       'P' || floor(6000 * {_u(5)})::INT AS postal_code,
       'T' || (floor(6000 * {_u(5)})::INT // 2) AS town,
       (1 + floor(300 * pow({_u(6)}, 3))::INT) || 'RUES' || floor(50 * {_u(7)})::INT
           AS street,
       (1 + floor(300 * pow({_u(6)}, 3))::INT)::VARCHAR AS street_number
FROM range({PEOPLE}) t(p)
"""


def _join_keys(sql: str) -> list[tuple[str, str]]:
    """The ``l.x = r.y`` terms of a rule's top-level AND: what a hash join keys on."""

    def terms(node: exp.Expression) -> list[exp.Expression]:
        node = node.unnest()
        if isinstance(node, exp.And):
            return [t for part in node.flatten() for t in terms(part)]
        return [node]

    keys = []
    for term in terms(sqlglot.parse_one(sql, dialect="duckdb")):
        if not isinstance(term, exp.EQ):
            continue
        sides = [{c.table for c in s.find_all(exp.Column)} for s in (term.left, term.right)]
        if sides == [{"l"}, {"r"}]:
            keys.append((term.left, term.right))
        elif sides == [{"r"}, {"l"}]:
            keys.append((term.right, term.left))
    return keys


def _strip(side: exp.Expression) -> str:
    side = side.copy()
    for column in side.find_all(exp.Column):
        column.set("table", None)
    return side.sql("duckdb")


def _joined_pairs(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Ordered pairs of distinct people the rule's equi-join makes."""
    keys = _join_keys(sql)
    assert keys, f"a rule with no equi-join pairs every row with every row: {sql}"
    names = [f"k{i}" for i in range(len(keys))]

    def side(which: int) -> str:
        cols = ", ".join(f"{_strip(k[which])} AS {n}" for k, n in zip(keys, names, strict=True))
        return f"SELECT {cols}, count(*) AS c FROM people GROUP BY ALL"

    on = " AND ".join(f"a.{n} = b.{n}" for n in names)
    self_pairs = " AND ".join(f"{_strip(left)} = {_strip(right)}" for left, right in keys)
    total, same = con.execute(
        f"SELECT (SELECT coalesce(sum(a.c * b.c), 0) FROM ({side(0)}) a JOIN ({side(1)}) b "
        f"ON {on}), (SELECT count(*) FROM people WHERE {self_pairs})"
    ).fetchone()
    return int(total) - int(same)


@pytest.fixture(scope="module")
def people() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE people AS {POPULATION}")
    return con


def _rules() -> list[str]:
    return [rule.get_blocking_rule("duckdb").blocking_rule_sql for rule in blocking_rules(FIELDS)]


def test_the_population_is_as_built(people):
    # Every stranger pair the square law projects comes from these vocabularies.
    distinct = people.execute(
        "SELECT count(DISTINCT nir), count(DISTINCT first_name), count(DISTINCT postal_code), "
        "min(birth_date), max(birth_date) FROM people"
    ).fetchone()
    assert distinct[0] == PEOPLE
    assert 500 < distinct[1] <= 1000
    assert 5900 < distinct[2] <= 6000
    assert str(distinct[3]) >= "1920-01-01" and str(distinct[4]) < "2020-01-01"


@pytest.mark.parametrize("index", range(len(_rules())))
def test_each_rule_pairs_few_strangers_at_twenty_million_rows(people, index):
    sql = _rules()[index]
    ordered = _joined_pairs(people, sql)
    # Pairs of strangers under a key of fixed cardinality grow as the square of the rows.
    projected = ordered / 2 * (TARGET / PEOPLE) ** 2
    assert projected <= PER_ROW * TARGET, (
        f"rule {index} would join ~{projected:,.0f} pairs of strangers at {TARGET:,} rows "
        f"({projected / TARGET:.0f} a row): {' '.join(sql.split())}"
    )


def test_the_names_swapped_at_one_birth_date_are_still_paired(people):
    # Splitting the swapped-names rule by direction must keep both directions.
    rules = [" ".join(r.split()) for r in _rules()]
    assert any("l.first_name_sdx = r.last_name_sdx" in r and "birth_date" in r for r in rules)
    assert any("l.last_name_sdx = r.first_name_sdx" in r and "birth_date" in r for r in rules)
