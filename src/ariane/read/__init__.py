"""Read any leaked dump into the case store, losing nothing.

Public entry point: :func:`load`. For every input it writes, through the engine:

``read_sources``  one row per logical table found (a CSV file, one table of a SQL dump,
                  one sheet, one file inside an archive)::

                      source_id INTEGER, path VARCHAR, inner_path VARCHAR,
                      table_name VARCHAR, format VARCHAR, encoding VARCHAR,
                      sha256 VARCHAR, has_header BOOLEAN, columns VARCHAR[],
                      rows BIGINT, quarantined BIGINT, data_table VARCHAR,
                      member_sha256 VARCHAR

                  ``sha256`` is the digest of the file given; ``member_sha256`` that of
                  the bytes read for this source (they differ inside archives).

``raw_<source_id>`` the rows: every input column as VARCHAR under its (deduplicated) name,
                  headerless columns ``col_1``, ``col_2``..., plus provenance columns
                  ``_source_id INTEGER, _record BIGINT`` (1-based record number in the source)
                  and ``_line BIGINT`` (first line of the record in text formats, else NULL).

``read_quarantine`` every record that could not be read as a row::

                      source_id INTEGER, record BIGINT, line BIGINT, byte_offset BIGINT,
                      reason VARCHAR, raw BLOB

``rows + quarantined`` of a source is every record in it. Records are numbered from 1
in each source (a header row is not a record, nor is a blank line); a quarantined record
keeps its number, first line, byte offset and (up to 64 KiB of) its raw bytes.

Formats are sniffed from content, never from names alone: delimited text (``sniff``,
``delimited``), JSON and NDJSON (``jsonfile``), XLSX/XLS (``xlsx``), SQL dumps
(``sqldump``), archives (``archive``, with limits against zip bombs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
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
    inner_path: str | None = None
    table_name: str | None = None
    columns: list[str] = field(default_factory=list)
    data_table: str = ""

    def as_contract(self) -> dict[str, Any]:
        """The ``files`` entry of CONTRACT.md (plus inner path and table name)."""
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


def load(engine: Engine, paths: list[Path], progress: Progress = SILENT) -> ReadSummary:
    """Read every input file into the engine's store; return what was read."""
    from ariane.read.dispatch import read_path
    from ariane.read.store import Store

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
                        inner_path=writer.origin.inner_path,
                        table_name=writer.table_name,
                        columns=list(writer.columns),
                        data_table=writer.data_table,
                    )
                )
                tracker.advance(writer.rows + writer.quarantined)
    return ReadSummary(sources)
