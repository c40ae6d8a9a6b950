"""Open archives (zip, gzip, bzip2, xz, tar, nested) into the files they hold, within limits.

A :class:`Blob` is one file to read: where it came from (the path given and the path inside
archives) and how to open it afresh (readers read twice: once to hash and check, once to
parse). Nothing is extracted to disk: members are streamed from the archive each time.

Limits guard against zip bombs and archive loops: expansion ratio, total expanded size,
nesting depth and member count. Crossing one raises :class:`UnsafeInputError`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from ariane.errors import InputError, UnsafeInputError
from ariane.read.sniff import SAMPLE_BYTES, sniff_format

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


@dataclass(frozen=True)
class Limits:
    """How much an archive may expand before it is refused as hostile."""

    max_ratio: float = 200.0  # expanded / compressed, per member
    ratio_floor: int = 64 * 1024 * 1024  # small members may expand more than the ratio
    max_total: int = 16 * 1024**3  # bytes expanded from one input file, all members
    max_depth: int = 4  # archives inside archives
    max_members: int = 10_000


@dataclass
class Blob:
    """One file to read: its provenance and a way to open it."""

    path: str
    inner_path: str | None
    open: Opener
    format: str
    sample: bytes = field(repr=False, default=b"")

    @property
    def where(self) -> str:
        """How errors name this file: ``leak.zip:lab1/patients.csv`` or ``leak.csv``."""
        return f"{self.path}:{self.inner_path}" if self.inner_path else self.path


class _Budget:
    """Bytes still allowed to expand from one input file."""

    def __init__(self, where: str, limits: Limits) -> None:
        self.where = where
        self.limits = limits
        self.used = 0

    def take(self, amount: int, inner: str) -> None:
        self.used += amount
        if self.used > self.limits.max_total:
            raise UnsafeInputError(
                f"{self.where}:{inner}: archive expands beyond "
                f"{self.limits.max_total // 1024**2} MiB; refused as a possible zip bomb"
            )


class _Capped(io.RawIOBase):
    """A stream that refuses to give more than ``cap`` bytes (a bomb guard while reading)."""

    def __init__(self, inner: IO[bytes], cap: int, where: str) -> None:
        self._inner = inner
        self._cap = cap
        self._seen = 0
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self._seen += len(data)
        if self._seen > self._cap:
            raise UnsafeInputError(
                f"{self._where}: expands more than {self._cap // 1024**2} MiB "
                "(ratio limit); refused as a possible zip bomb"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _capped(opener: Opener, cap: int, where: str) -> Opener:
    def open_capped() -> IO[bytes]:
        return io.BufferedReader(_Capped(opener(), cap, where), buffer_size=1 << 20)

    return open_capped


def _sample(opener: Opener) -> bytes:
    with opener() as stream:
        return stream.read(SAMPLE_BYTES)


def expand(path: Path, limits: Limits | None = None) -> Iterator[Blob]:
    """Every readable file in ``path``: itself, or the members of the archive it is."""
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
    budget = _Budget(where, limits)
    size = path.stat().st_size
    yield from _expand(where, None, None, opener, sample, size, budget, depth=0)


def _join(label: str | None, name: str) -> str:
    return f"{label}/{name}" if label else name


def _expand(
    path: str,
    inner: str | None,
    label: str | None,
    opener: Opener,
    sample: bytes,
    size: int,
    budget: _Budget,
    depth: int,
) -> Iterator[Blob]:
    """Yield leaf blobs below one file; ``label`` prefixes the inner paths of its members."""
    fmt = sniff_format(sample)
    where = f"{path}:{inner}" if inner else path
    if fmt == "zip" and _is_workbook(opener):
        fmt = "xlsx"
    if fmt not in {"zip", "gzip", "bz2", "xz", "tar"}:
        yield Blob(path, inner, opener, fmt, sample)
        return
    if depth >= budget.limits.max_depth:
        raise UnsafeInputError(f"{where}: archives nested deeper than {depth}; refused")
    try:
        if fmt == "zip":
            yield from _zip_members(path, inner, opener, budget, depth)
        elif fmt == "tar":
            yield from _tar_members(path, label, opener, budget, depth)
        else:
            yield from _compressed_member(path, inner, label, fmt, opener, size, budget, depth)
    except (InputError, UnsafeInputError):
        raise
    except ARCHIVE_ERRORS as exc:
        raise InputError(f"{where}: damaged or unsupported archive ({_why(exc)})") from None


def _is_workbook(opener: Opener) -> bool:
    try:
        with opener() as stream, zipfile.ZipFile(_seekable(stream)) as archive:
            names = set(archive.namelist())
    except ARCHIVE_ERRORS:
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:120] if text else type(exc).__name__


def _zip_members(
    path: str, inner: str | None, opener: Opener, budget: _Budget, depth: int
) -> Iterator[Blob]:
    with opener() as stream, zipfile.ZipFile(_seekable(stream)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
    limits = budget.limits
    if len(infos) > limits.max_members:
        raise UnsafeInputError(f"{path}: more than {limits.max_members} files in the archive")
    for info in infos:
        name = _join(inner, info.filename)
        cap = max(int(info.compress_size * limits.max_ratio), limits.ratio_floor)
        if info.file_size > cap:
            raise UnsafeInputError(
                f"{path}:{name}: expands {info.file_size // max(info.compress_size, 1)} "
                f"times; refused as a possible zip bomb"
            )
        budget.take(info.file_size, name)
        member = _capped(_zip_opener(opener, info.filename), cap, f"{path}:{name}")
        yield from _expand(
            path, name, name, member, _sample(member), info.compress_size, budget, depth + 1
        )


def _seekable(stream: IO[bytes]) -> IO[bytes]:
    if stream.seekable():
        return stream
    # zipfile needs to seek; a member of a stream-only parent is held in memory, and the
    # ratio cap of that parent already bounds its size.
    return io.BytesIO(stream.read())


def _zip_opener(parent: Opener, name: str) -> Opener:
    def open_member() -> IO[bytes]:
        stream = parent()
        archive = zipfile.ZipFile(_seekable(stream))
        member = archive.open(name)
        return cast(IO[bytes], _Closing(member, [archive, stream]))

    return open_member


class _Closing(io.RawIOBase):
    """A member stream that also closes the archives it was opened through."""

    def __init__(self, inner: IO[bytes], owners: list[object]) -> None:
        self._inner = inner
        self._owners = owners

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        for owner in self._owners:
            getattr(owner, "close", lambda: None)()
        super().close()


def _tar_members(
    path: str, label: str | None, opener: Opener, budget: _Budget, depth: int
) -> Iterator[Blob]:
    with opener() as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
        members = []
        for member in archive:
            if member.isfile():
                members.append((member.name, member.size))
            if len(members) > budget.limits.max_members:
                raise UnsafeInputError(
                    f"{path}: more than {budget.limits.max_members} files in the archive"
                )
    for name, size in members:
        inner = _join(label, name)
        budget.take(size, inner)
        opened = _tar_opener(opener, name)
        yield from _expand(path, inner, inner, opened, _sample(opened), size, budget, depth + 1)


def _tar_opener(parent: Opener, name: str) -> Opener:
    def open_member() -> IO[bytes]:
        stream = parent()
        # Stream mode: no seeking back through a compressed parent; members are few.
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 (closed by _Closing)
        for member in archive:
            if member.name == name and member.isfile():
                extracted = archive.extractfile(member)
                if extracted is None:
                    break
                return cast(IO[bytes], _Closing(extracted, [archive, stream]))
        archive.close()
        stream.close()
        raise InputError(f"{name}: member vanished from the archive")

    return open_member


_DECOMPRESSORS: dict[str, Callable[[IO[bytes]], Any]] = {
    "gzip": lambda s: gzip.GzipFile(fileobj=s, mode="rb"),  # noqa: SIM115 (closed by _Closing)
    "bz2": lambda s: bz2.BZ2File(s, mode="rb"),  # noqa: SIM115
    "xz": lambda s: lzma.LZMAFile(s, mode="rb"),  # noqa: SIM115
}
_SUFFIXES = {"gzip": (".gz", ".tgz"), "bz2": (".bz2", ".tbz2"), "xz": (".xz", ".txz")}


def _compressed_member(
    path: str,
    inner: str | None,
    label: str | None,
    fmt: str,
    opener: Opener,
    size: int,
    budget: _Budget,
    depth: int,
) -> Iterator[Blob]:
    limits = budget.limits
    outer = PurePosixPath(inner or Path(path).name)
    name = outer.name
    for suffix in _SUFFIXES[fmt]:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        name = f"{name}.out"
    parent_label = str(outer.parent) if inner and str(outer.parent) != "." else None
    child = _join(parent_label, name)
    cap = min(max(int(size * limits.max_ratio), limits.ratio_floor), limits.max_total)
    decompress = _DECOMPRESSORS[fmt]

    def open_child() -> IO[bytes]:
        stream = opener()
        return cast(IO[bytes], _Closing(decompress(stream), [stream]))

    member = _capped(open_child, cap, f"{path}:{child}")
    sample = _sample(member)
    # A compressed tar lists its members as if the compression layer were not there.
    child_label = parent_label if sniff_format(sample) == "tar" else child
    yield from _expand(path, child, child_label, member, sample, size, budget, depth + 1)
