"""Archive limits as shipped: bombs refused with the default ``Limits()``, not test-sized ones.

These build inputs that cross the shipped limits themselves (cheaply: a deflate stream of zeros is
made once and copied into as many members as needed) and read them through the public
path. The nested bomb runs ``ariane scan`` in a child process with a 30 s budget, the
bound issue 14 sets for any input under 2 MB: a hang fails instead of stalling the suite.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from ariane.case import Case
from ariane.errors import UnsafeInputError
from ariane.read import load
from ariane.read.archive import Limits

SHIPPED = Limits()
LEAF = 64 * 1024 * 1024  # the shipped per-member floor: one such leaf alone is allowed
SCAN_BUDGET_S = 30


@pytest.fixture()
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def _deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` zero bytes and their CRC-32."""
    block = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = 0
    parts = []
    for _ in range(size // len(block)):
        parts.append(packer.compress(block))
        crc = zlib.crc32(block, crc)
    parts.append(packer.flush())
    return b"".join(parts), crc


def zip_of_copies(names: list[str], deflated: bytes, crc: int, size: int) -> bytes:
    """A zip whose members all hold the same deflated bytes (written by hand: no recompressing)."""
    out = io.BytesIO()
    central = []
    for name in names:
        encoded = name.encode()
        offset = out.tell()
        fields = (20, 0, 8, 0, 0x21, crc, len(deflated), size, len(encoded), 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded + deflated)
        central.append(
            struct.pack("<IH", 0x02014B50, 20)
            + struct.pack("<HHHHHIIIHHHHHII", *fields[:-1], 0, 0, 0, 0, 0, offset)
            + encoded
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    count = len(names)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


def test_the_copied_zip_is_a_valid_zip():
    deflated, crc = _deflated_zeros(1 << 20)
    data = zip_of_copies(["a.bin", "b.bin"], deflated, crc, 1 << 20)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.read("b.bin") == bytes(1 << 20)


def test_zip_bomb_is_refused_with_shipped_limits(engine, tmp_path):
    """One member of 65 MiB of zeros: over the ratio and over the per-member floor."""
    size = LEAF + (1 << 20)
    deflated, crc = _deflated_zeros(size)
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_of_copies(["zeros.csv"], deflated, crc, size))
    assert path.stat().st_size * SHIPPED.max_ratio < size
    with pytest.raises(UnsafeInputError, match="bomb.zip"):
        load(engine, [path])


def test_gzip_bomb_is_stopped_with_shipped_limits(engine, tmp_path):
    """A gzip says its size only at its end: it is stopped while being read."""
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"a,b\n")
        line = b"1,2\n" * (1 << 18)
        for _ in range(LEAF // len(line) + 16):  # just over the floor
            out.write(line)
    assert path.stat().st_size * SHIPPED.max_ratio < LEAF
    with pytest.raises(UnsafeInputError, match="bomb"):
        load(engine, [path])


def test_too_many_members_are_refused_with_shipped_limits(engine, tmp_path):
    """A zip lists its members up front. (A tar, read in one streaming pass, can only be
    refused once its members have been read: too slow to test at the shipped count.)"""
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(SHIPPED.max_members + 1):
            archive.writestr(f"f{i}.csv", b"a\n1\n")
    with pytest.raises(UnsafeInputError, match="many.zip"):
        load(engine, [path])


def test_nested_zip_bomb_is_refused_promptly_with_shipped_limits(tmp_path):
    """32 GiB of zeros in zips inside a zip (under 2 MB): refused, within the 30 s budget."""
    deflated, crc = _deflated_zeros(LEAF)
    inner = zip_of_copies([f"zeros_{i}.bin" for i in range(32)], deflated, crc, LEAF)
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as outer:
        for group in range(16):
            outer.writestr(f"lot_{group}.zip", inner)
    assert path.stat().st_size < 2 * 1024 * 1024
    expanded = 16 * 32 * LEAF
    assert expanded >= 2 * SHIPPED.max_total  # the shipped total, twice over
    command = [sys.executable, "-c", "from ariane.cli import main; main()", "scan", "--json"]
    try:
        done = subprocess.run(
            [*command, str(path)],
            capture_output=True,
            text=True,
            timeout=SCAN_BUDGET_S,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"a {Path(path).stat().st_size:,}-byte bomb not refused in {SCAN_BUDGET_S} s")
    assert done.returncode == 2, done.stderr[-500:]
    message = done.stderr.strip()
    assert "nested.zip" in message and "\n" not in message
