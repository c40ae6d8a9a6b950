"""Open archives (zip, gzip, bzip2, xz, tar, nested) into the files they hold, within limits.

A :class:`Blob` is one file to read: where it came from and how to open it afresh (readers
read twice: once to hash and check, once to parse). Nothing is extracted in clear: a zip
member is read from its archive each time; a tar is read in one streaming pass, each member
held in memory when small or spilled to an encrypted temporary file (``spill``); a zip that
is itself inside a compressed stream or another zip is spilled before it is opened.

A member's path inside the archive is provenance kept in the store only: it may name a
person (``DUPONT_Jean_VIH_positif.csv``). Everywhere else a member is named by its number in
the file given (:func:`ariane.read.member_reference`: "member 17 of leak.zip").

Limits guard against zip bombs and archive loops. Declared sizes and ratios are checked
before anything is inflated (each zip member, and each zip as a whole: zips of zips), and
bytes are counted while inflating streams that declare nothing (gzip, bzip2, xz). What one
input gains by inflating is capped (``max_total``, and ``max_ratio`` times the input's size
beyond ``ratio_floor``), as are nesting depth and the number of files. Crossing one raises
:class:`UnsafeInputError` naming the file given, within seconds.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from ariane.errors import InputError, UnsafeInputError
from ariane.read import member_reference
from ariane.read.sniff import SAMPLE_BYTES, sniff_format
from ariane.read.spill import SpillFolder

Opener = Callable[[], IO[bytes]]

#: Errors that mean "this archive is damaged" rather than a bug.
ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    gzip.BadGzipFile,
    lzma.LZMAError,
    tarfile.TarError,
    EOFError,
    OSError,
    NotImplementedError,  # zip compression methods Python lacks
    RuntimeError,  # encrypted zip members
)

#: Tar members up to this size are held in memory; larger ones are spilled, encrypted.
IN_MEMORY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much an archive may expand before it is refused as hostile."""

    max_ratio: float = 200.0  # expanded / compressed, per member and for the whole input
    ratio_floor: int = 64 * 1024 * 1024  # small inputs may expand more than the ratio
    max_total: int = 16 * 1024**3  # bytes one input file gains by inflating, all members
    max_depth: int = 4  # archives inside archives
    max_members: int = 10_000  # files in one input, at every depth


@dataclass(frozen=True)
class Link:
    """A tar member without content of its own: a link, or a device or pipe."""

    target: int | None  # member number of the file it stands for, when read before it
    reason: str  # why it adds no records (neutral: no names)
    raw: bytes = b""  # the link's target as stored (provenance, kept in the store only)


@dataclass
class Blob:
    """One file to read: its provenance and a way to open it."""

    path: str
    inner_path: str | None  # provenance inside archives: kept in the store, never printed
    open: Opener
    format: str
    sample: bytes = field(repr=False, default=b"")
    member: int | None = None  # its number among the files of the file given
    link: Link | None = None
    size: int | None = None  # its size as its archive declares it, when it does

    @property
    def where(self) -> str:
        """How errors name this file: ``member 3 of leak.zip`` or ``leak.csv``."""
        return member_reference(self.path, self.member)


@dataclass
class _Node:
    """A file met while walking an input, before its format decides what it is."""

    inner: str | None  # path inside archives (None: the file given)
    label: str | None  # prefix of the inner paths of its members
    member: int | None
    open: Opener
    sample: bytes
    size: int  # bytes it takes in its parent (ratio checks)
    seekable: bool  # open() gives a stream cheap to seek in (a file, a spill, bytes)
    declared: int | None = None  # its own size, when its archive says it


class _Walk:
    """What one input may still expand into, its members' numbers and its spill folder."""

    def __init__(self, path: str, size: int, limits: Limits, spills: SpillFolder) -> None:
        self.path = path
        self.limits = limits
        self.spills = spills
        self.members = 0
        self.used = 0
        self.allowed = min(limits.max_total, max(int(size * limits.max_ratio), limits.ratio_floor))

    def number(self) -> int:
        """The next member's number; refuses an input holding too many files."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.too_many()
        return self.members

    def too_many(self) -> UnsafeInputError:
        """The error for an input holding more files than the limit."""
        return UnsafeInputError(
            f"{self.path}: more than {self.limits.max_members:,} files inside; refused"
        )

    def take(self, amount: int) -> None:
        """Count bytes gained by inflating (declared or seen); refuses beyond the budget."""
        self.used += amount
        if self.used > self.allowed:
            raise UnsafeInputError(
                f"{self.path}: expands beyond {self.allowed // 1024**2:,} MiB; "
                "refused as a possible zip bomb"
            )

    def remaining(self) -> int:
        """Bytes still allowed to expand."""
        return max(self.allowed - self.used, 0)


def expand(path: Path, limits: Limits | None = None) -> Iterator[Blob]:
    """Every readable file in ``path``: itself, or the members of the archive it is.

    Blobs are valid until the next one is asked for (spilled members are then removed).
    """
    limits = limits or Limits()
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: file not found")
    if path.is_dir():
        raise InputError(f"{where}: is a folder; give the files inside it")

    def opener() -> IO[bytes]:
        return open(path, "rb")

    try:
        sample = _sample(opener)
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    size = path.stat().st_size
    spills = SpillFolder()
    try:
        walk = _Walk(where, size, limits, spills)
        yield from _expand(walk, _Node(None, None, None, opener, sample, size, True), 0)
    finally:
        spills.close()


def _sample(opener: Opener) -> bytes:
    with opener() as stream:
        return stream.read(SAMPLE_BYTES)


def _join(label: str | None, name: str) -> str:
    return f"{label}/{name}" if label else name


def _expand(walk: _Walk, node: _Node, depth: int) -> Iterator[Blob]:
    """Yield the leaf blobs below one file."""
    fmt = sniff_format(node.sample)
    where = member_reference(walk.path, node.member)
    spilled = None
    try:
        if fmt not in {"zip", "gzip", "bz2", "xz", "tar"}:
            yield Blob(
                walk.path, node.inner, node.open, fmt, node.sample, node.member, size=node.declared
            )
            return
        if depth >= walk.limits.max_depth:
            raise UnsafeInputError(f"{where}: archives nested deeper than {depth}; refused")
        if fmt == "zip" and not node.seekable:
            # zipfile seeks; a stream that cannot is copied (encrypted), never held whole.
            with node.open() as stream:
                spilled = walk.spills.spill(stream)
            node = replace(node, open=spilled.open, seekable=True)
        if fmt == "zip":
            yield from _zip_members(walk, node, depth)
        elif fmt == "tar":
            yield from _tar_members(walk, node, depth)
        else:
            yield from _compressed(walk, node, fmt, depth)
    except (InputError, UnsafeInputError):
        raise
    except ARCHIVE_ERRORS as exc:
        raise InputError(f"{where}: damaged or unsupported archive ({_why(exc)})") from None
    finally:
        if spilled is not None:
            spilled.delete()


def _why(exc: BaseException) -> str:
    """The kind of damage, never the library's message (it may quote a member's name)."""
    if isinstance(exc, NotImplementedError):
        return "compression method not supported"
    if isinstance(exc, RuntimeError):
        return "encrypted member"
    if isinstance(exc, EOFError):
        return "cut short"
    return type(exc).__name__


def _is_workbook(names: set[str]) -> bool:
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _zip_members(walk: _Walk, node: _Node, depth: int) -> Iterator[Blob]:
    limits = walk.limits
    # One ZipFile for the whole walk: reopening it per member re-reads the directory.
    with node.open() as stream, zipfile.ZipFile(stream) as archive:
        if _is_workbook(set(archive.namelist())):
            yield Blob(walk.path, node.inner, node.open, "xlsx", node.sample, node.member)
            return
        infos = [i for i in archive.infolist() if not i.is_dir()]
        # Declared sizes first: a bomb is refused before anything is inflated (zipfile then
        # never inflates a member beyond its declared size).
        if walk.members + len(infos) > limits.max_members:
            raise walk.too_many()
        # Each member, and the archive as a whole (zips of zips), within the ratio.
        declared = sum(i.file_size for i in infos)
        checks = [(i.file_size, i.compress_size) for i in infos] + [(declared, node.size)]
        for size, packed in checks:
            if size > max(int(packed * limits.max_ratio), limits.ratio_floor):
                raise UnsafeInputError(
                    f"{member_reference(walk.path, node.member)}: expands "
                    f"{size // max(packed, 1):,} times its size; refused as a possible zip bomb"
                )
        # What a stored member holds was already there: only what inflating adds counts.
        walk.take(max(declared - sum(i.compress_size for i in infos), 0))
        seen: dict[str, int] = {}  # path in the zip -> member number, for links
        links: list[tuple[int, str, tuple[str, str, bool]]] = []
        for info in infos:
            number = walk.number()
            name = _join(node.inner, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):  # a symbolic link, stored by zip -y
                target = archive.read(info)[:4096].decode("utf-8", "surrogateescape")
                links.append((number, name, (info.filename, target, True)))
                continue
            seen[_tar_path(info.filename)] = number
            member = _zip_opener(archive, info)
            sample = _sample(member)
            child = _Node(name, name, number, member, sample, info.compress_size, False)
            child.declared = info.file_size
            yield from _expand(walk, child, depth + 1)
        for number, name, link in links:
            yield _link(walk, name, number, link, seen)


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    def open_member() -> IO[bytes]:
        return cast(IO[bytes], archive.open(info))

    return open_member


def _tar_members(walk: _Walk, node: _Node, depth: int) -> Iterator[Blob]:
    """One streaming pass: each member is held (memory or spill) while it is read."""
    seen: dict[str, int] = {}  # path in the tar -> member number, for links
    links: list[tuple[int, str, tarfile.TarInfo]] = []
    with node.open() as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
        for info in archive:
            if info.isdir():
                continue
            number = walk.number()
            name = _join(node.label, info.name)
            if info.islnk() or info.issym():
                links.append((number, name, info))  # resolved once every file is known
                continue
            if not info.isfile():
                yield _contentless(walk, name, number, None, "a device or pipe, no content")
                continue
            # A tar holds its members as they are: its compression layer counted the growth.
            seen[_tar_path(info.name)] = number
            extracted = archive.extractfile(info)
            assert extracted is not None  # a regular file always has content
            opener, release = _hold(walk, extracted, info.size)
            try:
                sample = _sample(opener)
                child = _Node(name, name, number, opener, sample, info.size, True, info.size)
                yield from _expand(walk, child, depth + 1)
            finally:
                release()
    for number, name, info in links:
        yield _link(walk, name, number, (info.name, info.linkname, info.issym()), seen)


def _tar_path(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


def _link(
    walk: _Walk, name: str, number: int, link: tuple[str, str, bool], seen: dict[str, int]
) -> Blob:
    """A link is the same file under a second name: its records are counted once.

    ``link`` is (the link's path in its archive, the path it points to, whether symbolic).
    """
    own, target_name, symbolic = link
    kind = "symbolic" if symbolic else "hard"
    raw = target_name.encode("utf-8", "surrogateescape")
    if symbolic:
        if target_name.startswith("/"):
            return _contentless(walk, name, number, None, f"{kind} link outside the archive", raw)
        target_name = posixpath.join(posixpath.dirname(own), target_name)
    target_path = _tar_path(target_name)
    if target_path == ".." or target_path.startswith("../"):
        return _contentless(walk, name, number, None, f"{kind} link outside the archive", raw)
    target = seen.get(target_path)
    if target is None:
        reason = f"{kind} link to a file absent from the archive"
        return _contentless(walk, name, number, None, reason, raw)
    reason = f"{kind} link to member {target}: the same file, its records counted once"
    return _contentless(walk, name, number, target, reason, raw)


def _contentless(
    walk: _Walk, name: str, number: int, target: int | None, reason: str, raw: bytes = b""
) -> Blob:
    def empty() -> IO[bytes]:
        return io.BytesIO(b"")

    kind = "link" if target is not None or "link" in reason else "special"
    return Blob(walk.path, name, empty, kind, b"", number, Link(target, reason, raw), size=0)


def _hold(walk: _Walk, stream: IO[bytes], size: int) -> tuple[Opener, Callable[[], None]]:
    """Keep one member's bytes so it can be opened again: in memory, or spilled encrypted."""
    if size <= IN_MEMORY_BYTES:
        data = stream.read()

        def from_memory() -> IO[bytes]:
            return io.BytesIO(data)

        return from_memory, lambda: None
    spill = walk.spills.spill(stream)
    return spill.open, spill.delete


class _Capped(io.RawIOBase):
    """Inflated bytes, counted: refuses beyond ``cap``, reports the count when closed."""

    def __init__(
        self, inner: IO[bytes], cap: int, where: str, counted: Callable[[int], None]
    ) -> None:
        self._inner = inner
        self._cap = cap
        self._seen = 0
        self._where = where
        self._counted = counted

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self._seen += len(data)
        if self._seen > self._cap:
            raise UnsafeInputError(
                f"{self._where}: expands beyond {self._cap // 1024**2:,} MiB; "
                "refused as a possible zip bomb"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._counted(self._seen)
        super().close()


_DECOMPRESSORS: dict[str, Callable[[IO[bytes]], Any]] = {
    "gzip": lambda s: gzip.GzipFile(fileobj=s, mode="rb"),  # noqa: SIM115 (closed by _Closing)
    "bz2": lambda s: bz2.BZ2File(s, mode="rb"),  # noqa: SIM115
    "xz": lambda s: lzma.LZMAFile(s, mode="rb"),  # noqa: SIM115
}
_SUFFIXES = {"gzip": (".gz", ".tgz"), "bz2": (".bz2", ".tbz2"), "xz": (".xz", ".txz")}


class _Inflater:
    """Opens a compressed stream's content, charging the walk once for what it expands to."""

    def __init__(self, walk: _Walk, node: _Node, fmt: str, where: str) -> None:
        self._walk = walk
        self._node = node
        self._decompress = _DECOMPRESSORS[fmt]
        self._where = where
        self._charged = 0
        limits = walk.limits
        self._ratio_cap = max(int(node.size * limits.max_ratio), limits.ratio_floor)

    def __call__(self) -> IO[bytes]:
        # Readers open the content two or three times; only the first full read is new.
        cap = min(self._ratio_cap, self._node.size + self._walk.remaining() + self._charged)
        stream = self._node.open()
        try:
            inner = self._decompress(stream)
        except BaseException:
            stream.close()
            raise
        capped = _Capped(cast(IO[bytes], _Closing(inner, stream)), cap, self._where, self._count)
        return io.BufferedReader(capped, buffer_size=1 << 20)

    def _count(self, seen: int) -> None:
        growth = seen - self._node.size
        if growth > self._charged:
            self._walk.take(growth - self._charged)
            self._charged = growth


class _Closing(io.RawIOBase):
    """A decompressing stream that also closes the stream it reads from."""

    def __init__(self, inner: IO[bytes], owner: IO[bytes]) -> None:
        self._inner = inner
        self._owner = owner

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
            self._owner.close()
        super().close()


def _compressed(walk: _Walk, node: _Node, fmt: str, depth: int) -> Iterator[Blob]:
    """A gzip, bzip2 or xz stream: one file inside, named after the outer one."""
    outer = PurePosixPath(node.inner or Path(walk.path).name)
    name = outer.name
    for suffix in _SUFFIXES[fmt]:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        name = f"{name}.out"
    parent_label = str(outer.parent) if node.inner and str(outer.parent) != "." else None
    inner = _join(parent_label, name)
    # The compression layer is not a member of its own: its content keeps the number.
    opener = _Inflater(walk, node, fmt, member_reference(walk.path, node.member))
    sample = _sample(opener)
    # A compressed tar lists its members as if the compression layer were not there.
    label = parent_label if sniff_format(sample) == "tar" else inner
    child = _Node(inner, label, node.member, opener, sample, node.size, False)
    yield from _expand(walk, child, depth + 1)
