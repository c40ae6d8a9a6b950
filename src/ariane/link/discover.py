"""Find which tables of one input hang off which: keys discovered from the values alone.

A column of table C *links* C to table P when almost every row of C holds, in that column,
a value that identifies one row of P: P's column is filled, unique, of many values, not a
date, and C's values are (almost) all among them. Headers are never read: a results sheet
whose columns are ``Feuille2.A`` or ``検査`` links as well as one whose column says
``patient``.

Guards against links the values only seem to make:

* the parent key must be near-unique (:data:`MIN_UNIQUENESS`), almost always filled
  (:data:`MIN_FILLED`), of at least :data:`MIN_KEYS` values (unless every key is as long
  as a UUID, :data:`CHANCE_FREE_LENGTH`), and not dates — so a sex code, a yes/no flag, a
  small code list or a visit date never makes a parent;
* the child column must cover :data:`MIN_COVERAGE` of the child's rows (empty cells count
  against it), with at least :data:`MIN_SUPPORT` distinct parent keys met (one, keys as
  long as a UUID), and must not be a run of consecutive integers from 0 or 1 each met
  once (the child's own row number: analyses 1..80 are all among patients 1..100 by
  chance);
* a table that names persons itself (names, a NIR, a birth date: :data:`IDENTITY_WEIGHTS`,
  the linking column aside) is a child only when its rows name the persons of the parent
  rows their keys lead to (:func:`_agrees`): results repeating the patient's name fold,
  two labs' exports with overlapping patient numbers stay apart;
* a parent names persons, or is itself the child of one (results -> visits -> patients); a
  lookup table of labs or physicians never absorbs the patients that point to it;
* two tables with the same columns (names and labels) are siblings (two exports of one
  system), never linked.

Each child keeps its best link: the one reaching a person table in the fewest steps, then
the highest coverage, then the most parent keys met.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Share of a parent's rows that hold a key.
MIN_FILLED = 0.9
#: Distinct keys over filled rows: duplicates beyond this make no identifier.
MIN_UNIQUENESS = 0.99
#: Distinct keys a parent needs: fewer is a code list (sex, yes/no, a few labs).
MIN_KEYS = 10
#: Keys this long (a FHIR ``urn:uuid:``, a UUID) never meet by chance: a small table (a
#: Bundle of one patient, nine Conditions) links by them below :data:`MIN_KEYS` and
#: :data:`MIN_SUPPORT`.
CHANCE_FREE_LENGTH = 16
#: Share of a child's rows whose value is a key of the parent.
MIN_COVERAGE = 0.95
#: Distinct parent keys a child must meet.
MIN_SUPPORT = 10
#: Rows looked at first, and the looser bars they must pass before whole tables are read.
SAMPLE_ROWS = 20_000
SAMPLE_UNIQUENESS = 0.9
SAMPLE_COVERAGE = 0.8
#: Share of a column's values that look like dates for it to be a date column.
DATE_SHARE = 0.5
#: Inputs of more tables than this try as children only the tables that name nobody.
MAX_NAMING_CHILDREN = 50
#: Share of a child's rows naming the same person as their parent row, when both name one.
MIN_AGREEMENT = 0.8
#: Share of a child's columns also in the parent that makes them siblings, not a link.
SIBLING_SHARE = 0.8
#: Labels that name a person, and their weight: a table weighing :data:`IDENTITY` or more
#: holds records of its own (one mislabelled column alone does not make it so).
IDENTITY_WEIGHTS = {
    "person.full_name": 2, "id.nir": 2, "person.last_name": 1, "person.first_name": 1,
    "person.birth_date": 1,
}  # fmt: skip
IDENTITY = 2
#: Label family of the columns describing organisations or professionals (a dimension's).
_DESCRIBE_OTHERS = "provider."
#: Share of a parent's rows pointing to a dimension for it to be the parent's dimension.
DIMENSION_FILLED = 0.5
_DATE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?"


@dataclass(frozen=True)
class Table:
    """One read source taking part in linking."""

    source_id: int
    data_table: str
    columns: tuple[str, ...]
    rows: int
    labels: dict[str, str]  # column -> label given by classify
    #: The sources a table stands for when one table is split over several (a bulk
    #: export's ``Patient.000.ndjson``, ``Patient.001.ndjson``); () for a source alone.
    members: tuple[Table, ...] = ()

    @property
    def sources(self) -> tuple[Table, ...]:
        """The sources the table is made of: its members, or itself."""
        return self.members or (self,)

    def names_persons(self, besides: str | None = None) -> bool:
        """Whether the table names persons, its column ``besides`` (a link) aside."""
        held = {label for column, label in self.labels.items() if column != besides}
        return sum(IDENTITY_WEIGHTS.get(label, 0) for label in held) >= IDENTITY


@dataclass(frozen=True)
class ColumnStats:
    """What linking needs to know about one column's values (trimmed, empty = NULL)."""

    filled: int
    shortest: int
    longest: int
    dates: int


@dataclass(frozen=True)
class Link:
    """Table ``child``'s column ``child_column`` holds keys of ``parent``'s ``parent_column``."""

    child: Table
    child_column: str
    parent: Table
    parent_column: str
    coverage: float  # share of the child's rows whose key is found
    keys: int  # distinct parent keys met
    depth: int = 1  # steps from the child to a table that names persons


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def value(column: str, alias: str = "") -> str:
    """SQL for a column's value: trimmed text, empty as NULL."""
    return f"nullif(trim(CAST({alias}{quote(column)} AS VARCHAR)), '')"


def key(column: str, alias: str = "") -> str:
    """SQL for a column's value compared as a key: a number without its leading zeros
    (a spreadsheet drops them from one sheet and keeps them in the other)."""
    v = value(column, alias)
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]+') "
        f"THEN regexp_replace({v}, '^0+(.)', '\\1') ELSE {v} END"
    )


def column_stats(engine: Engine, table: Table) -> dict[str, ColumnStats]:
    """One pass over a table: filled cells, shortest and longest value, dates per column."""
    if not table.columns:
        return {}
    parts = []
    for column in table.columns:
        v = key(column)
        parts += [
            f"count({v})",
            f"coalesce(min(length({v})), 0)",
            f"coalesce(max(length({v})), 0)",
            f"count(*) FILTER (WHERE regexp_full_match({v}, '{_DATE}'))",
        ]
    row = engine.fetch(f"SELECT {', '.join(parts)} FROM {quote(table.data_table)}")[0]
    return {
        column: ColumnStats(*(int(x) for x in row[4 * i : 4 * i + 4]))
        for i, column in enumerate(table.columns)
    }


def _key_candidates(engine: Engine, table: Table, stats: dict[str, ColumnStats]) -> list[str]:
    """Columns of ``table`` that identify its rows.

    Distinct values are counted exactly: DuckDB's approximate count undercounts keys that
    differ in their last characters (491,840 patient numbers counted 380,283).
    """
    keys = []
    for column, s in stats.items():
        fewest = 1 if s.shortest >= CHANCE_FREE_LENGTH else MIN_KEYS
        if s.filled < max(MIN_FILLED * table.rows, fewest) or s.dates > DATE_SHARE * s.filled:
            continue
        # The first rows first: a column repeating there is no key, whatever its size.
        head, filled = engine.fetch(
            f"SELECT count(DISTINCT k), count(k) FROM (SELECT {key(column)} AS k "
            f"FROM {quote(table.data_table)} LIMIT {SAMPLE_ROWS})"
        )[0]
        if head < SAMPLE_UNIQUENESS * filled:
            continue
        exact = engine.fetch(
            f"SELECT count(DISTINCT {key(column)}) FROM {quote(table.data_table)}"
        )[0][0]
        if exact >= MIN_UNIQUENESS * s.filled and exact >= fewest:
            keys.append(column)
    return keys


def _siblings(child: Table, parent: Table) -> bool:
    """Most of the child's columns are the parent's, by name and by label."""
    shared = sum(
        1
        for column in child.columns
        if column in parent.labels and parent.labels[column] == child.labels.get(column)
    )
    return shared >= SIBLING_SHARE * max(len(child.columns), 1)


def _may_refer(child: ColumnStats, parent: ColumnStats, rows: int) -> bool:
    """Cheap checks before counting: filled enough, lengths overlap, not dates."""
    return (
        child.filled >= MIN_COVERAGE * rows
        and child.shortest <= parent.longest
        and child.longest >= parent.shortest
        and child.dates <= DATE_SHARE * child.filled
    )


def _coverage(
    engine: Engine, child: Table, column: str, parent: Table, parent_key: str
) -> tuple[float, int, bool]:
    """Share of the child's rows found among the parent's keys, keys met, and whether
    the child's column is a run of row numbers (unique, consecutive integers)."""
    # The first rows first: most pairs fail there, without joining whole tables.
    head, found = engine.fetch(
        f"""
        SELECT count(c.k), count(p.k)
        FROM (SELECT {key(column)} AS k FROM {quote(child.data_table)} LIMIT {SAMPLE_ROWS}) c
        LEFT JOIN (SELECT DISTINCT {key(parent_key)} AS k FROM {quote(parent.data_table)}) p
               ON p.k = c.k
        """
    )[0]
    if found < SAMPLE_COVERAGE * head:  # looser than the bar: the first rows may be unlike
        return found / max(head, 1), 0, False
    matched, keys, filled, distinct, low, high, whole = engine.fetch(
        f"""
        SELECT count(p.k), count(DISTINCT p.k), count(c.k), count(DISTINCT c.k),
               min(TRY_CAST(c.k AS HUGEINT)), max(TRY_CAST(c.k AS HUGEINT)),
               count(TRY_CAST(c.k AS HUGEINT))
        FROM (SELECT {key(column)} AS k FROM {quote(child.data_table)}) c
        LEFT JOIN (SELECT DISTINCT {key(parent_key)} AS k FROM {quote(parent.data_table)}) p
               ON p.k = c.k
        """
    )[0]
    # A table numbers its own rows from 0 or 1: a run from elsewhere (stays 300001..300120,
    # one sample each) is the parent's numbering, met once per row of a one-to-one table.
    numbered = (
        distinct == filled == whole and high is not None and high - low + 1 == distinct and low <= 1
    )
    return int(matched) / max(child.rows, 1), int(keys), bool(numbered)


def _agrees(engine: Engine, child: Table, column: str, parent: Table, parent_key: str) -> bool:
    """Whether the child's rows name the persons of the parent rows their key leads to.

    Compared on the surest identity both tables hold (NIR, else last name, full name, birth
    date), folded to upper case without accents: :data:`MIN_AGREEMENT` of the rows where
    both are filled must agree. Two labs' exports numbering patients alike disagree.
    """
    for label in ("id.nir", "person.last_name", "person.full_name", "person.birth_date"):
        mine = [c for c, lab in child.labels.items() if lab == label and c != column]
        theirs = [c for c, lab in parent.labels.items() if lab == label and c != parent_key]
        if not mine or not theirs:
            continue
        a, b = _folded(f"c.{quote(mine[0])}"), _folded(f"p.{quote(theirs[0])}")
        compared, same = engine.fetch(
            f"""
            SELECT count(*), count(*) FILTER (WHERE {a} = {b})
            FROM {quote(child.data_table)} c
            JOIN {quote(parent.data_table)} p ON {key(parent_key, "p.")} = {key(column, "c.")}
            WHERE {a} IS NOT NULL AND {b} IS NOT NULL
            """
        )[0]
        return bool(compared) and same >= MIN_AGREEMENT * compared
    return False


def _dimension(
    engine: Engine,
    child: Table,
    column: str,
    parent: Table,
    parent_key: str,
    stats_of: Callable[[Table], dict[str, ColumnStats]],
) -> bool:
    """Whether the would-be child is a reference table whose own ids merely overlap the
    parent's keys: a dimension (labs, controllers, doctors), not results.

    Results hang off patients many-to-one, or one-to-one as a table's column pointing
    elsewhere. A dimension's linking column is its own key (one row each), and either the
    parent points to it (a column of the parent, other than its key, whose values are
    almost all among the child's: patients -> their lab, many-to-one the other way), or
    the key is its first column and the rest describes an organisation or a professional
    and holds nothing about health.
    """
    filled, distinct = engine.fetch(
        f"SELECT count({key(column)}), count(DISTINCT {key(column)}) FROM {quote(child.data_table)}"
    )[0]
    if not filled or distinct < filled:
        return False  # several rows a key: results of a patient, never a dimension
    labels = [label for c, label in child.labels.items() if c != column]
    describes_others = any(label.startswith(_DESCRIBE_OTHERS) for label in labels)
    if (
        column == child.columns[0]  # where a table writes its own id
        and describes_others
        and not any(label.startswith("health.") for label in labels)
    ):
        return True
    key_stats = stats_of(child)[column]
    for pointer, pointer_stats in stats_of(parent).items():
        if pointer == parent_key or not _may_refer(pointer_stats, key_stats, pointer_stats.filled):
            continue
        if pointer_stats.filled < DIMENSION_FILLED * parent.rows:
            continue
        if _copies(engine, parent, pointer, parent_key):
            continue  # the parent's key written twice (id, same_patient_as) points nowhere
        found, values = engine.fetch(
            f"""
            SELECT count(c.k), count(p.k)
            FROM (SELECT {key(pointer)} AS k FROM {quote(parent.data_table)}) p
            LEFT JOIN (SELECT DISTINCT {key(column)} AS k FROM {quote(child.data_table)}) c
                   ON c.k = p.k
            WHERE p.k IS NOT NULL
            """
        )[0]
        if values and found >= MIN_COVERAGE * values:
            return True
    return False


def _copies(engine: Engine, table: Table, column: str, of: str) -> bool:
    """Whether ``column`` holds the same value as ``of`` on (almost) every row where it is
    filled: a copy of the table's own key, not a pointer to another table."""
    filled, same = engine.fetch(
        f"SELECT count({key(column)}), count(*) FILTER (WHERE {key(column)} = {key(of)}) "
        f"FROM {quote(table.data_table)}"
    )[0]
    return bool(filled) and same >= MIN_COVERAGE * filled


def _folded(column: str) -> str:
    return f"nullif(upper(strip_accents(regexp_replace(trim({column}), '\\s+', ' ', 'g'))), '')"


def discover(engine: Engine, tables: list[Table]) -> list[Link]:
    """The links among the tables of one input, each child's best, parents before children.

    Tables are looked at only when a link is possible: an input whose every table names
    persons (a thousand exports of patients), or none does, costs no query.
    """
    if not any(t.names_persons() for t in tables):
        return []
    stats: dict[int, dict[str, ColumnStats]] = {}
    keys: dict[int, list[str]] = {}

    def stats_of(table: Table) -> dict[str, ColumnStats]:
        if table.source_id not in stats:
            stats[table.source_id] = column_stats(engine, table)
        return stats[table.source_id]

    def keys_of(table: Table) -> list[str]:
        if table.source_id not in keys:
            keys[table.source_id] = _key_candidates(engine, table, stats_of(table))
        return keys[table.source_id]

    # Tables naming persons are tried as children in small inputs only: a thousand files
    # of patients would make a million pairs, and each is its own records anyway.
    few = len(tables) <= MAX_NAMING_CHILDREN
    candidates: list[Link] = []
    for child in tables:
        if not child.rows or (not few and child.names_persons()):
            continue
        for parent in tables:
            if parent is child or _siblings(child, parent):
                continue
            for parent_key in keys_of(parent):
                key_stats = stats_of(parent)[parent_key]
                for column in child.columns:
                    if not _may_refer(stats_of(child)[column], key_stats, child.rows):
                        continue
                    coverage, met, numbered = _coverage(engine, child, column, parent, parent_key)
                    # A run 1..n is the child's own row number, found among the parent's
                    # numbers by chance (both tables count from 1).
                    fewest = 1 if key_stats.shortest >= CHANCE_FREE_LENGTH else MIN_SUPPORT
                    if coverage < MIN_COVERAGE or met < fewest or numbered:
                        continue
                    # A child that names persons too must name the same ones.
                    if child.names_persons(besides=column) and not _agrees(
                        engine, child, column, parent, parent_key
                    ):
                        continue
                    # A table of labs numbered 1, 5, 12... meets patients 1, 5, 12.
                    if _dimension(engine, child, column, parent, parent_key, stats_of):
                        continue
                    candidates.append(Link(child, column, parent, parent_key, coverage, met))
    return _choose(candidates)


def _choose(candidates: list[Link]) -> list[Link]:
    """Each child's best link to a person table, directly or through accepted children."""
    chosen: dict[int, Link] = {}
    parents: set[int] = set()  # a table others fold into is never folded itself: no cycle
    depth = 0
    reached = True
    while reached:
        depth += 1
        reached = False
        for link in sorted(candidates, key=lambda c: (-c.coverage, -c.keys, c.parent.source_id)):
            child, parent = link.child.source_id, link.parent.source_id
            if child in chosen or child in parents:
                continue
            if parent in chosen:
                parent_depth = chosen[parent].depth
            else:
                parent_depth = 0 if link.parent.names_persons() else -1
            if parent_depth == depth - 1:
                parents.add(parent)
                chosen[child] = Link(
                    link.child, link.child_column, link.parent, link.parent_column,
                    link.coverage, link.keys, depth,
                )  # fmt: skip
                reached = True
    return sorted(chosen.values(), key=lambda link: link.depth)


@dataclass(frozen=True)
class Lookup:
    """Records of ``table`` point by ``column`` to the rows of ``dimension`` (a table of
    labs or doctors) by its own id ``key``: its ``provides`` columns say who they are."""

    table: Table
    column: str
    dimension: Table
    key: str
    provides: tuple[str, ...]


def _describes_others(table: Table) -> tuple[str, ...]:
    """The columns by which a table describes organisations or professionals, when that
    is all it does (no person named, nothing about health, an id first); else ()."""
    if not table.columns or table.names_persons():
        return ()
    own = [(c, label) for c, label in table.labels.items() if c != table.columns[0]]
    if any(label.startswith("health.") for _, label in own):
        return ()
    return tuple(c for c, label in own if label.startswith(_DESCRIBE_OTHERS))


def dimensions(engine: Engine, tables: list[Table], folded: set[int]) -> list[Lookup]:
    """Where records that name persons point to a table of labs by its id (patients ->
    their lab): the lab's FINESS and name, looked up, attribute the records.

    A table of persons that holds a FINESS of its own needs no lookup. The pointing
    column is filled on at least :data:`DIMENSION_FILLED` of the rows, :data:`MIN_COVERAGE`
    of its values are ids of the dimension, and it is no name, contact, date or result (a
    code read as a condition may be one).
    """
    pointing = [t for t in tables if t.source_id not in folded and t.names_persons()]
    return _lookups(engine, tables, folded, pointing, {})


def child_dimensions(engine: Engine, tables: list[Table], links: list[Link]) -> list[Lookup]:
    """Where the rows about to be folded into persons point to a table of labs (samples ->
    the lab that took them, in a schema whose patients name no lab): looked up before the
    fold, the lab's FINESS and name come to the patient's record with the rest.

    As :func:`dimensions`, and one more guard, since such rows name nobody: the pointing
    column must not number the rows of each parent (visits 1, 2 of each patient, among labs
    1, 2): among the parents with several rows, it takes one value for each row of at
    most half of them (:func:`_numbers_each_parent`).
    """
    folded = {link.child.source_id for link in links}
    pointing = [link.child for link in links if not link.child.names_persons()]
    guards = {link.child.source_id: link.child_column for link in links}
    return _lookups(engine, tables, folded, pointing, guards)


def _lookups(
    engine: Engine,
    tables: list[Table],
    folded: set[int],
    pointing: list[Table],
    per_parent: dict[int, str],
) -> list[Lookup]:
    """The lookups of the ``pointing`` tables into the tables of labs among ``tables``
    (never folded ones); ``per_parent``: a pointing table's link to its parent, whose
    rows of one parent a pointer must not number."""
    references = [
        (t, provides)
        for t in tables
        if t.source_id not in folded and (provides := _describes_others(t))
    ]
    if not references:
        return []
    found: list[Lookup] = []
    for table in pointing:
        if "provider.finess" in table.labels.values():
            continue
        for dimension, provides in references:
            if dimension is table:
                continue
            key_column = dimension.columns[0]
            filled, distinct = engine.fetch(
                f"SELECT count({key(key_column)}), count(DISTINCT {key(key_column)}) "
                f"FROM {quote(dimension.data_table)}"
            )[0]
            if not filled or distinct < filled:
                continue  # not an id: one row each
            for column in table.columns:
                label = table.labels.get(column, "other")
                # Codes of labs ("L01", "L02") read as ICD-10 codes; all among a labs
                # table's ids, they point to it.
                pointer = label == "health.condition" or not label.startswith("health.")
                if label.startswith(("person.", "contact.", "date")) or not pointer:
                    continue
                if column == per_parent.get(table.source_id):
                    continue
                values, met = engine.fetch(
                    f"""
                    SELECT count(p.k), count(d.k)
                    FROM (SELECT {key(column)} AS k FROM {quote(table.data_table)}) p
                    LEFT JOIN (SELECT DISTINCT {key(key_column)} AS k
                               FROM {quote(dimension.data_table)}) d ON d.k = p.k
                    WHERE p.k IS NOT NULL
                    """
                )[0]
                if values < DIMENSION_FILLED * table.rows or met < MIN_COVERAGE * values:
                    continue
                parent_key = per_parent.get(table.source_id)
                if parent_key and _numbers_each_parent(engine, table, column, parent_key):
                    continue
                found.append(Lookup(table, column, dimension, key_column, provides))
                break
            if found and found[-1].table is table:
                break  # one lab per record
    return found


#: Share of parents (of several child rows) whose rows a column tells apart, from which
#: the column numbers each parent's rows rather than points to a lab.
NUMBERING_SHARE = 0.5


def _numbers_each_parent(engine: Engine, child: Table, column: str, parent_key: str) -> bool:
    """Whether ``column`` tells apart the rows of each parent (a visit's rank 1, 2, 3 per
    patient), as a pointer to labs does not (a patient's samples go to one or two labs)."""
    several, told_apart = engine.fetch(
        f"""
        SELECT count(*), count(*) FILTER (WHERE d = n)
        FROM (SELECT count({key(column)}) AS n, count(DISTINCT {key(column)}) AS d
              FROM {quote(child.data_table)} GROUP BY {key(parent_key)}
              HAVING count({key(column)}) >= 2)
        """
    )[0]
    return bool(several) and told_apart > NUMBERING_SHARE * several
