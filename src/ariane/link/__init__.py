"""Fold linked tables into one record per person: results, visits, observations.

Public entry point: :func:`link`, run after ``classify`` and before ``resolve``. Among the
sources of one input (the sheets of a workbook, the tables of a SQL dump or an SQLite
database, the resource types of a FHIR bundle, the files of one archive or of one folder),
:mod:`.discover` finds from the values alone which table's column holds the identifiers
of another's rows.
The FHIR files of a run (a bulk export's NDJSON, a Bundle per patient) are one input, and a
resource type split over several files (``Patient.000.ndjson``, ``Patient.001.ndjson``...)
one table for linking, each file's rows staying its own source's: keys are found over all
its files, and folding writes into each.
A child table is then folded into its parent, deepest first (results -> visits -> patients):

* the parent's raw table gains one column per child column, ``<child>.<column>``, holding
  for each parent row the distinct non-empty values of its child rows joined with
  :data:`JOIN` (in order); ``<child>`` is the child's table or sheet name, else
  ``member<N>`` (a file's own name may name a person);
* each folded column takes the label classify gave the child's column (a result, a test, a
  condition...), so mentions, categories and exposure come to the parent's record; a
  person-field label the parent already holds, and any internal identifier (a sample
  number), becomes ``other``: the parent's own columns say who the person is;
* the child's rows are ``linked``: still read, no longer records. ``read_sources`` of the
  child says ``linked_to`` (the parent's source id) and ``linked`` (its rows folded);
  :func:`ariane.read.record_sources_sql` lists the sources whose rows are records;
* a child row whose key matches no parent row is an orphan: it is quarantined (reason
  ``orphan: ...``, its values kept as JSON) rather than left a record without its person.

``rows + quarantined`` of every source is still every record read; the records the later
stages count are ``rows - linked``. Writes ``link_tables``::

    child_source_id INTEGER, child_column VARCHAR, parent_source_id INTEGER,
    parent_column VARCHAR, coverage DOUBLE, keys BIGINT, depth INTEGER,
    linked BIGINT, orphans BIGINT, folded VARCHAR[]

Interface for readers (FHIR, HL7): emit, from one input file, one source per table with a
column holding the parent's identifiers exactly as the parent's identifier column writes
them (bare ids, no ``Patient/`` prefix), filled on >= 95% of the child's rows; the parent
must be a table classify sees as naming persons (:data:`~.discover.IDENTITY_WEIGHTS`: two
of last name, first name, birth date, or a full name or a NIR) or a child of one. Nothing
else is needed. Sources of files in different folders are never linked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ariane.link.discover import (
    Link,
    Lookup,
    Table,
    child_dimensions,
    dimensions,
    discover,
    key,
    quote,
    value,
)
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

LINKS_TABLE = "link_tables"
#: Between the values of a child column folded into one parent cell.
JOIN = " | "
ORPHAN = "orphan: its key matches no row of the table it links to"
#: Label families that say who a person is: the parent's own columns do.
_PERSON_FAMILIES = ("person.", "contact.", "id.")
_PROVENANCE = ("_source_id", "_record", "_line")
#: The group of a run's FHIR NDJSON files, linked together (no file path looks like it).
BULK_EXPORT = "\0fhir-ndjson"
#: The tables standing for several sources while linking (dropped once done).
FAMILY_TABLE = "link_family_"


@dataclass(frozen=True)
class LinkSummary:
    """One folded child table (the evidence ``scan`` and ``summary`` report)."""

    child_source_id: int
    child_column: str
    parent_source_id: int
    parent_column: str
    coverage: float
    linked: int
    orphans: int


def link(engine: Engine, progress: Progress = SILENT) -> list[LinkSummary]:
    """Discover and fold the linked tables of every input; what was folded."""
    _create_table(engine)
    groups = _tables_by_input(engine)
    done: list[LinkSummary] = []
    with progress.task("Linking tables", total=len(groups)) as task:
        for tables in groups:
            links = discover(engine, tables) if len(tables) > 1 else []
            # Samples pointing to the lab that took them: its FINESS folds with them.
            for lookup in child_dimensions(engine, tables, links) if links else []:
                _look_up(engine, lookup)
            for found in sorted(links, key=lambda x: -x.depth):  # deepest first
                done += _fold(engine, found)
            if len(tables) > 1:
                folded = {found.child.source_id for found in links}
                for lookup in dimensions(engine, tables, folded):
                    _look_up(engine, lookup)
            for table in tables:
                if table.members:
                    engine.execute(f"DROP TABLE IF EXISTS {quote(table.data_table)}")
            task.advance()
    return done


def summarise(engine: Engine) -> dict[str, Any]:
    """``linked`` of ``summary --json``: rows folded into another table's records."""
    total = engine.fetch("SELECT coalesce(sum(linked), 0) FROM read_sources")[0][0]
    return {"linked": int(total)}


def _create_table(engine: Engine) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {LINKS_TABLE} (child_source_id INTEGER, "
        "child_column VARCHAR, parent_source_id INTEGER, parent_column VARCHAR, "
        "coverage DOUBLE, keys BIGINT, depth INTEGER, linked BIGINT, orphans BIGINT, "
        "folded VARCHAR[])"
    )


def _tables_by_input(engine: Engine) -> list[list[Table]]:
    labels: dict[int, dict[str, str]] = defaultdict(dict)
    if engine.has_table("classify_columns"):
        for source_id, column, label in engine.fetch(
            "SELECT source_id, column_name, label FROM classify_columns"
        ):
            labels[int(source_id)][str(column)] = str(label)
    stored = set(engine.tables())
    groups: dict[str, list[Table]] = defaultdict(list)
    types: dict[str, list[Table]] = defaultdict(list)
    for source_id, path, fmt, data_table, columns, rows, kind in engine.fetch(
        "SELECT source_id, path, format, data_table, columns, rows, table_name "
        "FROM read_sources WHERE linked_to IS NULL ORDER BY source_id"
    ):
        if data_table in stored and rows:
            table = Table(int(source_id), data_table, tuple(columns), int(rows), labels[source_id])
            if fmt in ("fhir-ndjson", "fhir-json"):
                # A FHIR bulk export is NDJSON files of one resource type each, pointing
                # to each other by ``Patient/<id>``; other servers write a Bundle per
                # patient: a run's FHIR files are one input, and the sources of one
                # resource type (a large type split over files) one table.
                types[str(kind)].append(table)
            else:
                groups[_input_of(str(path))].append(table)
    if types:
        groups[BULK_EXPORT] = [
            _family(engine, members) if len(members) > 1 else members[0]
            for members in types.values()
        ]
    return list(groups.values())


def _input_of(path: str) -> str:
    """The input a file belongs to for linking: the folder it lies in.

    A leak's tables often come as one file each (``patients.csv``, ``analyses.csv``, a
    folder of Parquet files, ``ariane run export/*.csv``): files side by side are one
    export, as the members of one archive are (an archive's sources share its path).
    """
    return str(PurePath(path).parent)


def _family(engine: Engine, members: list[Table]) -> Table:
    """One table standing for several sources of one type: their rows side by side."""
    labels: dict[str, str] = {}
    for member in members:
        for column, label in member.labels.items():
            labels.setdefault(column, label)
    first = members[0]
    family = Table(
        first.source_id,
        f"{FAMILY_TABLE}{first.source_id}",
        tuple(dict.fromkeys(c for m in members for c in m.columns)),
        sum(m.rows for m in members),
        labels,
        tuple(members),
    )
    _gather(engine, family)
    return family


def _gather(engine: Engine, family: Table) -> None:
    """(Re)write a family's table from its sources as they are now (folds add columns)."""
    own = {m.source_id: _columns(engine, m.source_id) for m in family.members}
    columns = list(dict.fromkeys(c for m in family.members for c in own[m.source_id]))
    # One statement a source: a folder of a Bundle per patient makes thousands of them.
    for n, member in enumerate(family.members):
        values = [
            quote(c) if c in own[member.source_id] else f"CAST(NULL AS VARCHAR) AS {quote(c)}"
            for c in columns
        ]
        select = f"SELECT {', '.join([*values, *_PROVENANCE])} FROM {quote(member.data_table)}"
        if n == 0:
            engine.materialise(family.data_table, select)
        else:
            engine.execute(f"INSERT INTO {quote(family.data_table)} {select}")


def _fold(engine: Engine, found: Link) -> list[LinkSummary]:
    """Fold the child's rows into the parent's records; one summary per child source."""
    child, parent = found.child, found.parent
    keys = f"SELECT DISTINCT {key(found.parent_column)} AS k FROM {quote(parent.data_table)}"
    orphans = {c.source_id: _quarantine_orphans(engine, c, found.child_column, keys)
               for c in child.sources}  # fmt: skip
    prefix = _prefix(engine, child.source_id)
    parent_columns = _all_columns(engine, parent)
    child_columns = [c for c in _all_columns(engine, child) if c != found.child_column]
    folded = _names(prefix, child_columns, parent_columns)
    # list() then sort per group: several times faster than an ordered string_agg.
    aggregates = ", ".join(
        f"nullif(array_to_string(list_sort(list_distinct(list({value(c)}))), '{JOIN}'), '') "
        f"AS {quote(name)}"
        for c, name in zip(child_columns, folded, strict=True)
    )
    for target in parent.sources:
        _widen(
            engine, target, folded, (child.data_table, key(found.child_column), aggregates),
            key(found.parent_column, "p."),
        )  # fmt: skip
    if parent.members:
        _gather(engine, parent)  # a deeper fold's columns, for the fold into its parent
    _label_folded(engine, found, dict(zip(child_columns, folded, strict=True)))
    done = []
    for source in child.sources:
        linked = int(engine.fetch(f"SELECT count(*) FROM {quote(source.data_table)}")[0][0])
        engine.execute(
            "UPDATE read_sources SET rows = ?, quarantined = quarantined + ?, linked_to = ?, "
            "linked = ? WHERE source_id = ?",
            [linked, orphans[source.source_id], parent.source_id, linked, source.source_id],
        )
        engine.execute(
            f"INSERT INTO {LINKS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [source.source_id, found.child_column, parent.source_id, found.parent_column,
             round(found.coverage, 4), found.keys, found.depth, linked,
             orphans[source.source_id], folded],
        )  # fmt: skip
        done.append(
            LinkSummary(
                source.source_id,
                found.child_column,
                parent.source_id,
                found.parent_column,
                round(found.coverage, 4),
                linked,
                orphans[source.source_id],
            )  # fmt: skip
        )
    return done


def _all_columns(engine: Engine, table: Table) -> list[str]:
    """The columns of a table's sources, as they are now, in order."""
    return list(dict.fromkeys(c for t in table.sources for c in _columns(engine, t.source_id)))


def _widen(
    engine: Engine,
    target: Table,
    added: list[str],
    grouped: tuple[str, str, str],
    target_key: str,
) -> None:
    """Add the ``added`` columns to ``target``'s rows, its order and provenance kept, and
    record its columns. ``grouped`` is (table, its key's SQL, the added columns' SQL):
    that table's rows grouped by key, joined to the target's rows on ``target_key``."""
    own = _columns(engine, target.source_id)
    if added:
        table, table_key, columns = grouped
        engine.materialise(
            target.data_table,
            f"""
            SELECT {", ".join(f"p.{quote(c)}" for c in own)},
                   {", ".join(f"a.{quote(name)}" for name in added)},
                   {", ".join(f"p.{c}" for c in _PROVENANCE)}
            FROM {quote(target.data_table)} p
            LEFT JOIN (SELECT {table_key} AS __key, {columns}
                       FROM {quote(table)} GROUP BY 1) a
                   ON a.__key = {target_key}
            ORDER BY p._record
            """,
        )
    engine.execute(
        "UPDATE read_sources SET columns = ? WHERE source_id = ?",
        [[*own, *added], target.source_id],
    )


def _look_up(engine: Engine, lookup: Lookup) -> None:
    """Write into each record the FINESS and name of the lab it points to, as
    ``<dimension>.<column>`` with the dimension's labels; the lab's rows stay its own."""
    dimension = lookup.dimension
    added = _names(
        _prefix(engine, dimension.source_id),
        list(lookup.provides),
        _all_columns(engine, lookup.table),
    )
    looked_up = ", ".join(
        f"any_value({value(c)}) AS {quote(name)}"
        for c, name in zip(lookup.provides, added, strict=True)
    )
    for table in lookup.table.sources:
        _widen(
            engine, table, added, (dimension.data_table, key(lookup.key), looked_up),
            key(lookup.column, "p."),
        )  # fmt: skip
    if not engine.has_table("classify_columns"):
        return
    names = dict(zip(lookup.provides, added, strict=True))
    copied = []
    for row in _labelled(engine, dimension):
        if row["column_name"] not in names:
            continue
        evidence = json.loads(row.get("evidence") or "{}")
        evidence["looked_up_from"] = {
            "source_id": dimension.source_id, "column": row["column_name"],
            "through": lookup.column,
        }  # fmt: skip
        copied += [
            {**row, "source_id": table.source_id, "column_name": names[row["column_name"]],
             "evidence": json.dumps(evidence, ensure_ascii=False)}
            for table in lookup.table.sources
        ]  # fmt: skip
    if copied:
        import pyarrow as pa

        schema = engine.fetch_arrow("SELECT * FROM classify_columns LIMIT 0").schema
        engine.append("classify_columns", pa.Table.from_pylist(copied, schema=schema))


def _labelled(engine: Engine, table: Table) -> list[dict[str, Any]]:
    """The ``classify_columns`` rows of a table's columns (of its first source that has
    each, for a table split over several), by column name."""
    ids = [t.source_id for t in table.sources]
    rows = engine.fetch_arrow(
        f"SELECT * FROM classify_columns WHERE source_id IN ({', '.join('?' * len(ids))}) "
        "ORDER BY column_name",
        ids,
    ).to_pylist()
    rows.sort(key=lambda row: (row["column_name"], ids.index(row["source_id"])))
    first: dict[str, dict[str, Any]] = {}
    for row in rows:
        first.setdefault(row["column_name"], row)
    return list(first.values())


def _quarantine_orphans(engine: Engine, child: Table, column: str, keys: str) -> int:
    """Move the child rows whose key is no parent's into the quarantine; how many."""
    table = quote(child.data_table)
    # A file of a split type may lack the column: none of its rows has a key.
    held = column in _columns(engine, child.source_id)
    child_key = key(column, "c.") if held else "CAST(NULL AS VARCHAR)"
    orphan = (
        f"SELECT c._record FROM {table} c LEFT JOIN ({keys}) p "
        f"ON p.k = {child_key} WHERE p.k IS NULL"
    )
    count = int(engine.fetch(f"SELECT count(*) FROM ({orphan})")[0][0])
    if not count:
        return 0
    engine.execute(
        f"""
        INSERT INTO read_quarantine
        SELECT CAST(? AS INTEGER), t._record, t._line, CAST(NULL AS BIGINT), ?,
               encode(to_json(t)::VARCHAR)
        FROM {table} t WHERE t._record IN ({orphan})
        """,
        [child.source_id, ORPHAN],
    )
    engine.execute(f"DELETE FROM {table} WHERE _record IN ({orphan})")
    return count


def _columns(engine: Engine, source_id: int) -> list[str]:
    return list(
        engine.fetch("SELECT columns FROM read_sources WHERE source_id = ?", [source_id])[0][0]
    )


def _prefix(engine: Engine, source_id: int) -> str:
    """How folded columns name their table: its own name, else its member number."""
    table_name, member = engine.fetch(
        "SELECT table_name, member FROM read_sources WHERE source_id = ?", [source_id]
    )[0]
    if table_name:
        return str(table_name)
    return f"member{member}" if member is not None else f"source{source_id}"


def _names(prefix: str, columns: list[str], taken: list[str]) -> list[str]:
    """``<prefix>.<column>``, made unique beside the parent's columns."""
    seen = {c.lower() for c in taken}
    names = []
    for column in columns:
        name, n = f"{prefix}.{column}", 2
        while name.lower() in seen:
            name, n = f"{prefix}.{column}_{n}", n + 1
        seen.add(name.lower())
        names.append(name)
    return names


def _label_folded(engine: Engine, found: Link, folded: dict[str, str]) -> None:
    """Folded columns take their child column's label; mentions move to the parent."""
    if not engine.has_table("classify_columns") or not folded:
        return
    from ariane.classify import notes

    child = found.child
    rows = _labelled(engine, child)
    added = []
    for parent in found.parent.sources:
        held = {
            str(row[0])
            for row in engine.fetch(
                "SELECT label FROM classify_columns WHERE source_id = ?", [parent.source_id]
            )
        }
        for row in rows:
            name = folded.get(row["column_name"])
            if name is None:
                continue
            label = row["label"]
            evidence = json.loads(row.get("evidence") or "{}")
            evidence["linked_from"] = {"source_id": child.source_id, "column": row["column_name"]}
            if label.startswith(_PERSON_FAMILIES) and (label in held or label == "id.internal"):
                evidence["label_of_child"] = label
                label = "other"
            added.append(
                {**row, "source_id": parent.source_id, "column_name": name, "label": label,
                 "special": bool(row["special"]) and label == row["label"],
                 "evidence": json.dumps(evidence, ensure_ascii=False),
                 "_data_table": parent.data_table}
            )  # fmt: skip
    data_tables = [row.pop("_data_table") for row in added]
    if added:
        import pyarrow as pa

        schema = engine.fetch_arrow("SELECT * FROM classify_columns LIMIT 0").schema
        engine.append("classify_columns", pa.Table.from_pylist(added, schema=schema))
    if engine.has_table(notes.MENTIONS_TABLE):
        for source in child.sources:
            engine.execute(
                f"DELETE FROM {notes.MENTIONS_TABLE} WHERE source_id = ?", [source.source_id]
            )
        for row, data_table in zip(added, data_tables, strict=True):
            sql = notes.mention_sql(row["source_id"], data_table, row["column_name"], row["label"])
            if sql is not None:
                engine.execute(f"INSERT INTO {notes.MENTIONS_TABLE} SELECT DISTINCT * FROM ({sql})")
