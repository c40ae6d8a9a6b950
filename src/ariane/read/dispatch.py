"""Send each file to the reader of its format (sniffed from content), with clear errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from ariane.errors import InputError
from ariane.read.archive import ARCHIVE_ERRORS, Blob, Limits, expand
from ariane.read.store import Origin, SourceWriter, Store

#: Formats whose readers are written as their own modules, imported only when met.
Reader = Callable[[Blob, Store, Origin], list[SourceWriter]]


def _reader(fmt: str) -> Reader | None:
    if fmt == "delimited":
        from ariane.read.delimited import read_delimited

        return lambda blob, store, origin: [read_delimited(blob, store, origin)]
    if fmt in {"json", "ndjson"}:
        from ariane.read.jsonfile import read_json

        return read_json
    if fmt == "hl7":
        from ariane.read.hl7v2 import read_hl7

        return read_hl7
    if fmt == "hprim":
        from ariane.read.hprim import read_hprim

        return read_hprim
    if fmt in {"fhir-json", "fhir-ndjson"}:
        from ariane.read.fhir import read_fhir

        return read_fhir
    if fmt == "sql":
        from ariane.read.sqldump import read_sql

        return read_sql
    if fmt in {"xlsx", "xls"}:
        from ariane.read.xlsx import read_xlsx

        return read_xlsx
    if fmt == "sqlite":
        from ariane.read.sqlite import read_sqlite

        return read_sqlite
    if fmt == "parquet":
        from ariane.read.parquet import read_parquet

        return read_parquet
    return None


#: Members up to this size are written in shared transactions, this many at a time: a
#: commit per statement made 1,000 small files take ten times one file of the same rows.
SMALL_MEMBER_BYTES = 4 * 1024 * 1024
MEMBERS_PER_COMMIT = 100
#: A transaction holds its rows in memory until it commits: at most this much input.
BYTES_PER_COMMIT = 32 * 1024 * 1024


def read_path(path: Path, store: Store, limits: Limits | None = None) -> Iterator[SourceWriter]:
    """Read one file given by the user (an archive yields each file it holds)."""
    file_digest: str | None = None
    batch = _Batch(store)
    try:
        for blob in expand(path, limits):
            if blob.inner_path is not None and file_digest is None:
                file_digest = _sha256(path)
            origin = Origin(str(path), blob.inner_path, file_digest or "", member=blob.member)
            # A large member commits on its own: one transaction would hold all of it.
            batch.enter(blob.size)
            yield from _read_blob(blob, store, origin)
    except BaseException:
        batch.commit(quiet=True)  # what was read before the error stays, as it always did
        raise
    batch.commit()


class _Batch:
    """Groups the writes of small members into one transaction, committed every so often."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._members = 0
        self._bytes = 0

    def enter(self, size: int | None) -> None:
        """Before reading a member of ``size`` bytes (None: unknown, read on its own)."""
        small = size is not None and size <= SMALL_MEMBER_BYTES
        full = self._members >= MEMBERS_PER_COMMIT or self._bytes + (size or 0) > BYTES_PER_COMMIT
        if self._members and (not small or full):
            self.commit()
        if small:
            if not self._members:
                self._engine.execute("BEGIN TRANSACTION")
                self._store.shared_transaction = True
            self._members += 1
            self._bytes += size or 0

    def commit(self, *, quiet: bool = False) -> None:
        """End the shared transaction, if any (``quiet``: an error is already on its way)."""
        if not self._members:
            return
        self._members = self._bytes = 0
        self._store.shared_transaction = False
        try:
            self._engine.execute("COMMIT")
        except Exception:
            self._engine.execute("ROLLBACK")
            if not quiet:  # an error that already aborted the transaction is the news
                raise


def _read_blob(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    if blob.link is not None:
        return [_contentless(blob, store, origin)]
    reader = _reader(blob.format)
    if reader is None:
        return [_unreadable(blob, store, origin)]
    try:
        writers = reader(blob, store, origin)
    except InputError:
        raise
    except RecursionError:
        raise InputError(f"{blob.where}: nested too deeply to read") from None
    except ARCHIVE_ERRORS as exc:
        raise InputError(f"{blob.where}: damaged file ({type(exc).__name__})") from None
    for writer in writers:
        if not writer.origin.sha256:
            writer.origin.sha256 = writer.origin.member_sha256 or ""
    return writers


def _unreadable(blob: Blob, store: Store, origin: Origin) -> SourceWriter:
    """An empty or non-table file: an error alone, a quarantined record inside an archive."""
    what = "empty file" if blob.format == "empty" else blob.format.removeprefix("binary:")
    if blob.inner_path is None:
        if blob.format == "empty":
            raise InputError(f"{blob.where}: empty file, nothing to read")
        raise InputError(f"{blob.where}: not a table file (looks like {what})")
    origin.member_sha256 = _sha256_blob(blob)
    writer = store.writer(origin, "empty" if blob.format == "empty" else "unreadable", None, [])
    if blob.format != "empty":
        writer.quarantine(1, f"not a table file (looks like {what})", blob.sample[:1024])
    writer.close()
    return writer


def _contentless(blob: Blob, store: Store, origin: Origin) -> SourceWriter:
    """A tar link or device: a source of no rows, noted, or quarantined when it leads nowhere."""
    assert blob.link is not None
    writer = store.writer(origin, blob.format, None, [])
    if blob.link.target is not None:
        origin.note = blob.link.reason  # a duplicate of a member already read: 0 new records
    else:
        writer.quarantine(1, blob.link.reason, blob.link.raw)
    writer.close()
    return writer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _sha256_blob(blob: Blob) -> str:
    digest = hashlib.sha256()
    with blob.open() as stream:
        while block := stream.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
