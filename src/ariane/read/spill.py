"""Encrypted temporary files for archive members that cannot be read again from their archive.

A zip inside a gzip or a zip needs seeking, and a large file inside a tar read in one pass
must be read more than once (readers hash, then parse): such members are spilled to a
temporary file rather than held in memory. The file is encrypted with AES-GCM under a
random key that lives only in memory, in chunks, so that a reader can seek in it: what is
left on disk by a killed process reveals nothing. The folder (0700) is removed when the walk
over an input ends, on every exit path the interpreter sees.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import IO

#: Plaintext bytes per encrypted chunk (the unit of seeking).
CHUNK = 1 << 20
_TAG = 16  # AES-GCM authentication tag


class SpillFolder:
    """A private temporary folder, made on first use and removed by :meth:`close`."""

    def __init__(self) -> None:
        self._path: Path | None = None
        self._finalizer: weakref.finalize[..., SpillFolder] | None = None

    def spill(self, stream: IO[bytes]) -> Spill:
        """Copy a stream, encrypted, into a new spill file; the stream is read to its end."""
        if self._path is None:
            self._path = Path(tempfile.mkdtemp(prefix="ariane-spill-"))  # 0700
            # Also at interpreter exit: a generator left unfinished still cleans up.
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._path, True)
        spill = Spill(self._path)
        try:
            while block := stream.read(CHUNK):
                spill.write(block)
            spill.finish()
        except BaseException:
            spill.delete()
            raise
        return spill

    def close(self) -> None:
        """Remove the folder and every spill file in it."""
        if self._finalizer is not None:
            self._finalizer()


class Spill:
    """One encrypted temporary file, written once, then opened as often as needed."""

    def __init__(self, folder: Path) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        handle, name = tempfile.mkstemp(dir=folder)
        self.name = name
        self._file: IO[bytes] | None = os.fdopen(handle, "wb")
        self._pending = bytearray()
        self._chunks = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append plaintext bytes."""
        self._pending += data
        self.size += len(data)
        while len(self._pending) >= CHUNK:
            self._seal(bytes(self._pending[:CHUNK]))
            del self._pending[:CHUNK]

    def finish(self) -> None:
        """Write the last chunk; the spill can now be opened."""
        if self._pending or not self._chunks:
            self._seal(bytes(self._pending))
            self._pending.clear()
        assert self._file is not None
        self._file.close()
        self._file = None

    def _seal(self, chunk: bytes) -> None:
        assert self._file is not None
        # One key per file and one nonce per chunk index: never reused.
        self._file.write(self._cipher.encrypt(_nonce(self._chunks), chunk, None))
        self._chunks += 1

    def open(self) -> IO[bytes]:
        """A seekable stream of the plaintext."""
        return io.BufferedReader(_SpillReader(self), buffer_size=CHUNK)

    def decrypt(self, index: int, sealed: bytes) -> bytes:
        """The plaintext of one chunk (fails if the file was altered)."""
        from cryptography.exceptions import InvalidTag

        try:
            return self._cipher.decrypt(_nonce(index), sealed, None)
        except InvalidTag:
            raise OSError("temporary spill file altered") from None

    def delete(self) -> None:
        """Remove the file (the key goes with this object)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        Path(self.name).unlink(missing_ok=True)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


class _SpillReader(io.RawIOBase):
    """Random access to a spill: decrypts the chunk holding the current position."""

    def __init__(self, spill: Spill) -> None:
        self._spill = spill
        self._file = open(spill.name, "rb")  # noqa: SIM115 (closed with the reader)
        self._pos = 0
        self._index = -1
        self._chunk = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._spill.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._spill.size:
            return 0
        index, start = divmod(self._pos, CHUNK)
        if index != self._index:
            self._file.seek(index * (CHUNK + _TAG))
            self._chunk = self._spill.decrypt(index, self._file.read(CHUNK + _TAG))
            self._index = index
        count = min(len(buffer), len(self._chunk) - start)
        buffer[:count] = self._chunk[start : start + count]
        self._pos += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()
