"""Read any leaked dump into the case store, losing nothing.

Public entry point: :func:`load`. For every input it writes, through the engine:

``read_sources``  one row per logical table found (a CSV file, one table of a SQL dump,
                  one sheet, one file inside an archive)::

                      source_id INTEGER, path VARCHAR, inner_path VARCHAR,
                      table_name VARCHAR, format VARCHAR, encoding VARCHAR,
                      sha256 VARCHAR, has_header BOOLEAN, columns VARCHAR[],
                      rows BIGINT, quarantined BIGINT, data_table VARCHAR,
                      member_sha256 VARCHAR, member INTEGER, note VARCHAR,
                      linked_to INTEGER, linked BIGINT, unpadded VARCHAR[]

                  ``sha256`` is the digest of the file given; ``member_sha256`` that of
                  the bytes read for this source (they differ inside archives).
                  ``inner_path`` (the path inside archives) may name a person: it stays
                  in the store. Outside it, ``member`` (the file's number among those in
                  the file given) names it: :func:`member_reference`. ``note`` says why a
                  source adds no records (a tar link to a member already read).
                  ``linked_to`` and ``linked`` are set by :mod:`ariane.link` when the
                  source's rows were folded into another source's records (results
                  into their patients): its ``linked`` rows are read but are no records
                  of their own (:func:`record_sources_sql`). ``unpadded``: the columns
                  in which the reader saw no value that ``trim`` would change (classify
                  trims only the others); NULL when values were also written by SQL.

``raw_<source_id>`` the rows: every input column as VARCHAR under its (deduplicated) name,
                  headerless columns ``col_1``, ``col_2``..., plus provenance columns
                  ``_source_id INTEGER, _record BIGINT`` (1-based record number in the source)
                  and ``_line BIGINT`` (first line of the record in text formats, else NULL).
                  JSON keys of nested objects are dotted (``adresse.ville``); a record of
                  a mapping of ids keeps its id in ``_key``; keys met after a source has
                  512 columns are kept together, as one JSON object, in ``_more_keys``.

``read_quarantine`` every record that could not be read as a row::

                      source_id INTEGER, record BIGINT, line BIGINT, byte_offset BIGINT,
                      reason VARCHAR, raw BLOB

``rows + quarantined`` of a source is every record in it. Records are numbered from 1
in each source (a header row is not a record, nor is a blank line); a quarantined record
keeps its number, first line, byte offset and (up to 64 KiB of) its raw bytes.

Formats are sniffed from content, never from names alone: delimited text (``sniff``,
``delimited``), JSON and NDJSON (``jsonfile``), XLSX/XLS (``xlsx``), SQL dumps
(``sqldump``), SQLite databases (``sqlite``), Parquet (``parquet``), archives
(``archive``, with limits against zip bombs); and what lab systems exchange: HL7 v2
message logs (``hl7v2``), HPRIM Santé and HPRIM Net (``hprim``), both read as segments
(``segments``), and FHIR R4 Bundles and NDJSON (``fhir``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine


@dataclass
class SourceSummary:
    """What was read from one logical table (the ``files`` entries of ``scan --json``)."""

    source_id: int
    path: str
    format: str
    encoding: str | None
    rows: int
    quarantined: int
    inner_path: str | None = None  # "member 17": never the member's own name (see module)
    table_name: str | None = None
    columns: list[str] = field(default_factory=list)
    data_table: str = ""
    member: int | None = None
    note: str | None = None
    linked: int = 0  # rows folded into the records of another source (ariane.link)
    linked_to: int | None = None  # that source's position in ``files`` (0-based)

    def as_contract(self) -> dict[str, Any]:
        """The ``files`` entry of CONTRACT.md (plus member reference, table name, note)."""
        out = asdict(self)
        out.pop("data_table")
        out.pop("source_id")
        return out


@dataclass
class ReadSummary:
    """Totals over every input."""

    sources: list[SourceSummary]

    @property
    def rows(self) -> int:
        """Data rows read."""
        return sum(s.rows for s in self.sources)

    @property
    def quarantined(self) -> int:
        """Records kept aside, each with its reason."""
        return sum(s.quarantined for s in self.sources)

    @property
    def linked(self) -> int:
        """Rows read but folded into another table's records (no records of their own)."""
        return sum(s.linked for s in self.sources)

    def refresh(self, engine: Engine) -> None:
        """Take up what linking changed: rows folded, orphans moved to the quarantine."""
        position = {s.source_id: i for i, s in enumerate(self.sources)}
        stored = {
            int(row[0]): row[1:]
            for row in engine.fetch(
                "SELECT source_id, rows, quarantined, coalesce(linked, 0), linked_to, columns "
                "FROM read_sources"
            )
        }
        for source in self.sources:
            if source.source_id not in stored:
                continue
            rows, quarantined, linked, linked_to, columns = stored[source.source_id]
            source.rows, source.quarantined, source.linked = (
                int(rows),
                int(quarantined),
                int(linked),
            )
            source.linked_to = None if linked_to is None else position.get(int(linked_to))
            source.columns = list(columns or [])


def record_sources_sql(engine: Engine) -> str:
    """``SELECT * FROM read_sources`` of the sources whose rows are records.

    A source linked into another (:mod:`ariane.link`) holds rows folded into that source's
    records: the stages after ``link`` count, resolve and attribute the others only.
    """
    known = engine.fetch_arrow("SELECT * FROM read_sources LIMIT 0").column_names
    if "linked_to" in known:
        return "SELECT * FROM read_sources WHERE linked_to IS NULL"
    return "SELECT * FROM read_sources"


def member_reference(path: str, member: int | None) -> str:
    """How a file inside an archive is named outside the store: ``member 17 of leak.zip``."""
    return path if member is None else f"member {member} of {path}"


def source_references(engine: Engine, *, name_only: bool = False) -> dict[int, str]:
    """Each source's name for output: the file given, or ``member 17 of leak.zip``.

    ``name_only`` keeps the file's own name without its folders (reports: a path may name
    the user's machine). Read as Arrow so that stores missing ``member`` still work.
    """
    if not engine.has_table("read_sources"):
        return {}
    references = {}
    for source in engine.fetch_arrow("SELECT * FROM read_sources").to_pylist():
        path = source.get("path") or "?"
        given = PurePath(path).name if name_only else path
        references[source["source_id"]] = member_reference(given, source.get("member"))
    return references


def _neutral(member: int | None) -> str | None:
    return None if member is None else f"member {member}"


def given_files(paths: list[Path]) -> list[Path]:
    """The files to read: a folder's files, a FHIR bulk export manifest's (see ``inputs``)."""
    from ariane.read.inputs import given_files as expand

    return expand([Path(p) for p in paths])


def load(engine: Engine, paths: list[Path], progress: Progress = SILENT) -> ReadSummary:
    """Read every input file into the engine's store; return what was read."""
    from ariane.read.dispatch import read_path
    from ariane.read.store import Store

    paths = given_files(paths)
    store = Store(engine)
    sources: list[SourceSummary] = []
    for path in paths:
        with progress.task(f"Reading {Path(path).name}") as tracker:
            for writer in read_path(Path(path), store):
                sources.append(
                    SourceSummary(
                        source_id=writer.source_id,
                        path=writer.origin.path,
                        format=writer.format,
                        encoding=writer.encoding,
                        rows=writer.rows,
                        quarantined=writer.quarantined,
                        inner_path=_neutral(writer.origin.member),
                        table_name=writer.table_name,
                        columns=list(writer.columns),
                        data_table=writer.data_table,
                        member=writer.origin.member,
                        note=writer.origin.note,
                    )
                )
                tracker.advance(writer.rows + writer.quarantined)
    from ariane.read.fhir import link_bulk_export

    link_bulk_export(engine, sources)  # an export's files point to each other
    return ReadSummary(sources)
