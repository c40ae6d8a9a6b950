"""Records a file says are one person: a FHIR Patient's ``link``, an HL7 v2 MRG segment.

When a hospital finds a patient registered twice it merges the records: FHIR writes a
``link`` on the Patient (``replaced-by``...), HL7 v2 sends an ADT^A40 (A34, A35, A36...)
whose MRG segment names the identifier merged away and whose PID the one it went into.
Either may come before or after the records it names, and merges chain (C into B, then
B into A). :func:`survivors` joins the records linked, directly or through others, and
picks the one standing for them; :func:`write_same_patients` writes its identifier in
:data:`SAME_PATIENT` once every row of the source is written, and resolve joins the
records sharing it outright (``ariane.resolve.fields.SAME_PERSON``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

import pyarrow as pa

from ariane.read.segments import JOIN
from ariane.read.store import TRIMMED, SourceWriter

#: The column naming the record that stands for a record's person.
SAME_PATIENT = "same_patient_as"
#: What SQL's ``trim`` removes around each of a cell's identifiers.
_SPACES = "".join(character.decode() for character in TRIMMED)

Node = TypeVar("Node", bound=Hashable)


def survivors(links: Iterable[tuple[Node, Node, bool]], known: set[Node]) -> dict[Node, Node]:
    """Record -> the record standing for its person, for every record a link names.

    Each link is ``(record, other, replaced)``: the two are one person, and ``replaced``
    says the first was merged away (else the other was). The records linked, directly or
    through others, are one person whatever the order of the links. The one standing for
    them is one no link says was replaced, then one ``known`` (met in the file), then the
    smallest (so a record merged away, or a chain of them, points to the last survivor).
    """
    parent: dict[Node, Node] = {}

    def root(node: Node) -> Node:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    replaced: set[Node] = set()
    for own, other, own_replaced in links:
        if own == other:
            continue
        replaced.add(own if own_replaced else other)
        parent[root(own)] = root(other)
    groups: dict[Node, list[Node]] = {}
    for node in list(parent):
        groups.setdefault(root(node), []).append(node)
    survivor: dict[Node, Node] = {}
    for members in groups.values():
        head = min(members, key=lambda m: (m in replaced, m not in known, m))
        survivor.update((member, head) for member in members)
    return survivor


def write_same_patients(writer: SourceWriter, heads: Mapping[tuple[str, str], str]) -> None:
    """Write in :data:`SAME_PATIENT` the record standing for each row's person: ``heads``
    maps ``(column, value)`` (a row's identifier; several in one cell, joined, count each)
    to it. A row none names is left without one: two records that merely share an
    identifier are not joined so. Runs once every row is written.

    The rows named are found here, from the identifier columns streamed out of the engine
    (merges are few, and a plain ``UPDATE ... FROM`` a table is what every engine runs).
    """
    columns = sorted({column for column, _ in heads} & set(writer.columns))
    if not columns:
        return
    table = _quoted(writer.data_table)
    found: dict[int, str] = {}
    selected = ", ".join(_quoted(c) for c in columns)
    for batch in writer.engine.batches(f"SELECT _record, {selected} FROM {table}"):
        records = batch.column(0).to_pylist()
        for at, column in enumerate(columns, start=1):
            for record, cell in zip(records, batch.column(at).to_pylist(), strict=True):
                for value in cell.split(JOIN) if cell is not None else ():
                    head = heads.get((column, value.strip(_SPACES)))
                    if head is not None and (record not in found or head < found[record]):
                        found[record] = head
    if SAME_PATIENT not in writer.columns:
        writer.add_columns([SAME_PATIENT])
    if writer.padded is not None:
        writer.padded.add(SAME_PATIENT)  # ids written in by SQL, perhaps padded
    if not found:
        return
    view = f"__same_patients_{writer.source_id}"
    writer.engine.register(
        view,
        pa.table(
            {
                "_record": pa.array(list(found), pa.int64()),
                "head": pa.array(list(found.values()), pa.string()),
            }
        ),
    )
    try:
        writer.engine.execute(
            f"UPDATE {table} AS t SET {_quoted(SAME_PATIENT)} = m.head "
            f"FROM {view} AS m WHERE t._record = m._record"
        )
    finally:
        writer.engine.unregister(view)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
