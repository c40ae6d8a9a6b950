"""Archives: zip, gz, tar (links too), nested, streamed; inner paths kept in the store only;
bombs refused with the limits as shipped."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

from ariane.case import Case
from ariane.errors import InputError, UnsafeInputError
from ariane.read import load
from ariane.read.archive import Limits, expand
from measure import (
    assert_linear,
    assert_linear_steps,
    in_child,
    linear_sizes,
    loading_seconds,
    reading_steps,
)


@pytest.fixture()
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def lab_csv(lab: int, rows: int) -> bytes:
    lines = ["nir;nom;ville"] + [f"1{lab:02d}{i:010d};Nom{i};Ville{lab}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("cp1252" if lab % 2 else "utf-8")


def tar_of(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def stored(engine) -> dict[str, tuple[int | None, int, int]]:
    """inner path -> (member number, rows, quarantined), as kept in the store."""
    return {
        inner: (member, rows, quarantined)
        for inner, member, rows, quarantined in engine.fetch(
            "SELECT inner_path, member, rows, quarantined FROM read_sources"
        )
    }


def test_nested_archives_keep_inner_paths_in_the_store_only(engine, tmp_path):
    inner_tgz = tar_of({"lab03/patients.csv": lab_csv(3, 7), "lab04/patients.csv": lab_csv(4, 2)})
    outer = zip_of(
        {
            "lab01.csv": lab_csv(1, 5),
            "sub/lab02.csv.gz": gzip.compress(lab_csv(2, 4)),
            "more/labs.tar.gz": inner_tgz,
            "README.pdf": b"%PDF-1.4 not a table",
        }
    )
    path = tmp_path / "leak.zip"
    path.write_bytes(outer)
    summary = load(engine, [path])
    # Numbered in archive order, depth first; a compression layer keeps its file's number.
    assert stored(engine) == {
        "lab01.csv": (1, 5, 0),
        "sub/lab02.csv": (2, 4, 0),
        "more/lab03/patients.csv": (4, 7, 0),
        "more/lab04/patients.csv": (5, 2, 0),
        "README.pdf": (6, 0, 1),
    }
    outside = {(s.inner_path, s.member, s.rows) for s in summary.sources}
    assert outside == {
        ("member 1", 1, 5),
        ("member 2", 2, 4),
        ("member 4", 4, 7),
        ("member 5", 5, 2),
        ("member 6", 6, 0),
    }
    digests = engine.fetch("SELECT DISTINCT sha256 FROM read_sources")
    assert len(digests) == 1 and len(digests[0][0]) == 64  # the file given, for every member


def test_plain_gzip_file(engine, tmp_path):
    path = tmp_path / "leak.csv.gz"
    path.write_bytes(gzip.compress(lab_csv(1, 9)))
    (source,) = load(engine, [path]).sources
    assert (source.inner_path, source.member, source.rows) == (None, None, 9)
    assert stored(engine) == {"leak.csv": (None, 9, 0)}


@pytest.mark.parametrize(
    "outer",
    ["zip in gzip", "zip in zip", "tar in zip", "zip in tar.xz", "tar.bz2 in zip"],
)
def test_archives_inside_archives(engine, tmp_path, outer):
    inner_members = {"a.csv": lab_csv(1, 6), "b.csv": lab_csv(2, 3)}
    if outer == "zip in gzip":
        data = gzip.compress(zip_of(inner_members))
    elif outer == "zip in zip":
        data = zip_of({"x/inner.zip": zip_of(inner_members), "c.csv": lab_csv(3, 4)})
    elif outer == "tar in zip":
        data = zip_of({"x/inner.tar": tar_of(inner_members, "w"), "c.csv": lab_csv(3, 4)})
    elif outer == "zip in tar.xz":
        data = tar_of({"x/inner.zip": zip_of(inner_members), "c.csv": lab_csv(3, 4)}, "w:xz")
    else:
        data = zip_of({"x/inner.tar.bz2": tar_of(inner_members, "w:bz2"), "c.csv": lab_csv(3, 4)})
    path = tmp_path / "leak.bin"
    path.write_bytes(data)
    load(engine, [path])
    rows = {inner.rsplit("/", 1)[-1]: r for inner, (_, r, _) in stored(engine).items()}
    expected = {"a.csv": 6, "b.csv": 3} | ({} if outer == "zip in gzip" else {"c.csv": 4})
    assert rows == expected


def gnu_tar(folder: Path, names: list[str], out: Path, *options: str) -> None:
    subprocess.run(["tar", *options, "-cf", str(out), "-C", str(folder), *names], check=True)


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar not installed")
def test_tar_links_are_sources_never_skipped(engine, tmp_path):
    """GNU tar stores a second name of a file (``ln``) as a hard link to the first."""
    folder = tmp_path / "leak"
    folder.mkdir()
    (folder / "a.csv").write_bytes(lab_csv(2, 5))
    os.link(folder / "a.csv", folder / "b.csv")
    (folder / "c.csv").symlink_to("a.csv")
    (folder / "d.csv").symlink_to("/etc/hostname")
    (folder / "e.csv").symlink_to("../outside.csv")
    path = tmp_path / "leak.tar.gz"
    plain = tmp_path / "leak.tar"
    gnu_tar(folder, ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv"], plain)
    path.write_bytes(gzip.compress(plain.read_bytes()))
    with tarfile.open(plain) as check:  # the archive holds what the test means
        assert check.getmember("b.csv").islnk() and check.getmember("c.csv").issym()
    load(engine, [path])
    assert stored(engine) == {
        "a.csv": (1, 5, 0),  # the records, counted once
        "b.csv": (2, 0, 0),  # the same file again: no new record, noted
        "c.csv": (3, 0, 0),
        "d.csv": (4, 0, 1),  # leads outside: quarantined with its reason
        "e.csv": (5, 0, 1),
    }
    notes = dict(engine.fetch("SELECT inner_path, note FROM read_sources WHERE note IS NOT NULL"))
    assert notes["b.csv"].startswith("hard link to member 1")
    assert notes["c.csv"].startswith("symbolic link to member 1")
    reasons = engine.fetch("SELECT reason FROM read_quarantine ORDER BY source_id")
    assert reasons == [("symbolic link outside the archive",)] * 2


def test_hard_link_to_an_absent_file_and_a_fifo_are_quarantined(engine, tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        link = tarfile.TarInfo("orphan.csv")
        link.type, link.linkname = tarfile.LNKTYPE, "gone.csv"
        archive.addfile(link)
        fifo = tarfile.TarInfo("pipe")
        fifo.type = tarfile.FIFOTYPE
        archive.addfile(fifo)
        data = lab_csv(1, 3)
        info = tarfile.TarInfo("real.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    path = tmp_path / "leak.tar"
    path.write_bytes(out.getvalue())
    load(engine, [path])
    assert stored(engine) == {
        "orphan.csv": (1, 0, 1),
        "pipe": (2, 0, 1),
        "real.csv": (3, 3, 0),
    }
    reasons = {r for (r,) in engine.fetch("SELECT reason FROM read_quarantine")}
    assert reasons == {
        "hard link to a file absent from the archive",
        "a device or pipe, no content",
    }


def _tars(folder, n):
    paths = []
    for size in linear_sizes(n):
        path = folder / f"labs{size}.tar.gz"
        path.write_bytes(tar_of({f"lab{i}/patients.csv": lab_csv(i % 90, 20) for i in range(size)}))
        paths.append(path)
    return paths


def test_tar_gz_time_grows_linearly_with_members(tmp_path):
    """The tar is read in one pass: four times the members, about four times the time."""
    paths = _tars(tmp_path, 200)
    times, _ = loading_seconds(paths)
    assert_linear(times, lambda: loading_seconds(paths)[0])


def test_tar_gz_steps_grow_linearly_with_members(tmp_path):
    paths = _tars(tmp_path, 50)
    steps, summaries = reading_steps(paths)
    assert [len(s.sources) for s in summaries] == list(linear_sizes(50))
    assert_linear_steps(steps)


def _spill_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("ariane-spill-*")}


def test_spilled_members_are_encrypted_and_removed(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    big = b"nir;nom\n" + b"".join(b"1%012d;PLAINTEXTNAME%d\n" % (i, i) for i in range(300_000))
    path = tmp_path / "leak.zip.gz"
    members = {"big.csv": big, "small.csv": lab_csv(1, 3)}
    path.write_bytes(gzip.compress(zip_of(members, zipfile.ZIP_STORED)))
    blobs = expand(path)
    first = next(blobs)
    (folder,) = (tmp_path / "tmp").glob("ariane-spill-*")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    (spill,) = folder.iterdir()
    assert spill.stat().st_size > len(big)  # the stored zip is there, its bytes unreadable
    assert b"PLAINTEXTNAME" not in spill.read_bytes() and b"nir;nom" not in spill.read_bytes()
    with first.open() as stream:
        assert stream.read() == big
    assert [b.inner_path for b in blobs] == ["leak.zip/small.csv"]
    assert not list((tmp_path / "tmp").iterdir())  # gone once the walk ends


def test_spill_folder_is_removed_when_reading_fails(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    inner = bytearray(zip_of({"a.csv": lab_csv(1, 4000)}))
    inner[200:260] = b"\xff" * 60  # the member's deflate stream is damaged
    path = tmp_path / "leak.zip.gz"
    path.write_bytes(gzip.compress(bytes(inner)))
    with pytest.raises(InputError, match="leak.zip.gz") as info:
        load(engine, [path])
    assert "\n" not in str(info.value) and "a.csv" not in str(info.value)
    assert not list((tmp_path / "tmp").iterdir())


MEMORY_PROBE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from ariane.read.archive import expand
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    total = 0
    for blob in expand(Path(sys.argv[1])):
        with blob.open() as stream:
            while block := stream.read(1 << 20):
                total += len(block)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(total, (after - before) // 1024)
    """
)


@pytest.mark.parametrize("layout", ["zip in gzip", "zip in zip"])
def test_nested_zip_is_never_held_whole(tmp_path, layout):
    """A 48 MiB zip inside a gzip or a zip: peak memory grows by a few MiB, not by the zip."""
    rows = os.urandom(18 * 1024 * 1024).hex().encode()  # incompressible enough: 36 MiB
    inner = zip_of({"a.csv": rows, "b.csv": rows[: 12 * 1024 * 1024]}, zipfile.ZIP_STORED)
    path = tmp_path / "leak.bin"
    if layout == "zip in gzip":
        path.write_bytes(gzip.compress(inner, compresslevel=1))
    else:
        path.write_bytes(zip_of({"inner.zip": inner}, zipfile.ZIP_STORED))
    total, grown_mib = map(int, in_child(MEMORY_PROBE, str(path)))
    assert total == len(rows) + 12 * 1024 * 1024
    assert grown_mib < 24, f"peak memory grew by {grown_mib} MiB for a {len(inner) >> 20} MiB zip"


def zeros_bomb() -> bytes:
    """Zips of zips of zeros: each file small enough to pass alone, 15 GiB in all."""
    leaf = zip_of({"NULS_inside.csv": bytes(60 * 1024 * 1024)})
    level = zip_of({f"INNER_Z{i}.zip": leaf for i in range(16)})
    return zip_of({f"INNER_Y{i}.zip": level for i in range(16)})


class _Inflated:
    """Counts every byte zlib inflates (zip members and gzip streams alike): how far reading
    went before a refusal, whatever else the machine is doing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        real = zlib.decompressobj
        counter = self

        class Counting:
            def __init__(self, *args: object, **kwargs: object) -> None:
                self._inner = real(*args, **kwargs)  # type: ignore[arg-type]

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = self._inner.decompress(data, max_length)
                counter.bytes += len(out)
                return out

            def flush(self, *args: int) -> bytes:
                out = self._inner.flush(*args)
                counter.bytes += len(out)
                return out

            def __getattr__(self, name: str) -> object:
                return getattr(self._inner, name)

        monkeypatch.setattr(zlib, "decompressobj", Counting)


MIB = 1024 * 1024
#: What a small input may gain by inflating (``Limits.ratio_floor``), and read buffers.
FLOOR, SLACK = Limits().ratio_floor, 4 * MIB


def test_nested_zeros_bomb_is_refused_within_the_shipped_budget(engine, tmp_path, monkeypatch):
    path = tmp_path / "leak.zip"
    path.write_bytes(zeros_bomb())
    inflated = _Inflated(monkeypatch)
    with pytest.raises(UnsafeInputError, match=r"^[^\n]*leak\.zip[^\n]*zip bomb$") as info:
        load(engine, [path])
    assert inflated.bytes <= FLOOR + SLACK, f"{inflated.bytes // MIB} MiB inflated of 15 GiB"
    assert "NULS_inside" not in str(info.value) and "INNER_" not in str(info.value)


def test_one_member_of_zeros_is_refused_before_inflating(engine, tmp_path, monkeypatch):
    path = tmp_path / "leak.zip"
    path.write_bytes(zip_of({"zeros.csv": bytes(200 * MIB)}))
    inflated = _Inflated(monkeypatch)
    with pytest.raises(UnsafeInputError, match="leak.zip: expands .* times its size"):
        load(engine, [path])
    assert inflated.bytes <= SLACK  # at most a format sample, from the declared size alone


def test_gzip_of_zeros_is_stopped_while_inflating(engine, tmp_path, monkeypatch):
    """No declared size to check: the bytes are counted as they come."""
    path = tmp_path / "leak.tar.gz"
    path.write_bytes(tar_of({"zeros.csv": bytes(300 * MIB)}))
    inflated = _Inflated(monkeypatch)
    with pytest.raises(UnsafeInputError, match="leak.tar.gz: expands beyond"):
        load(engine, [path])
    assert inflated.bytes <= FLOOR + SLACK, f"{inflated.bytes // MIB} MiB inflated of 300"


def test_member_count_limit_as_shipped(tmp_path):
    path = tmp_path / "many.zip"
    path.write_bytes(zip_of({f"f{i}.csv": b"" for i in range(10_001)}, zipfile.ZIP_STORED))
    with pytest.raises(UnsafeInputError, match="many.zip: more than 10,000 files"):
        list(expand(path))


def test_nesting_depth_limit_as_shipped(tmp_path):
    data = lab_csv(1, 3)
    for level in range(6):
        data = zip_of({f"level{level}.zip" if level else "x.csv": data})
    path = tmp_path / "deep.zip"
    path.write_bytes(data)
    with pytest.raises(UnsafeInputError, match="deep.zip.*nested"):
        list(expand(path))


def test_damaged_archive_is_a_one_line_error(engine, tmp_path):
    path = tmp_path / "cut.zip"
    path.write_bytes(zip_of({"a.csv": lab_csv(1, 50)})[:-30])
    with pytest.raises(InputError, match="cut.zip") as info:
        load(engine, [path])
    assert "\n" not in str(info.value)


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
def test_zip_symbolic_links_are_sources_never_read_as_text(engine, tmp_path):
    """``zip -y`` stores a link as its target's path: never a one-line table."""
    folder = tmp_path / "leak"
    folder.mkdir()
    (folder / "a.csv").write_bytes(lab_csv(2, 4))
    (folder / "b.csv").symlink_to("a.csv")
    (folder / "c.csv").symlink_to("/etc/hostname")
    path = tmp_path / "leak.zip"
    subprocess.run(
        ["zip", "-q", "-y", str(path), "b.csv", "a.csv", "c.csv"], cwd=folder, check=True
    )
    load(engine, [path])
    assert stored(engine) == {"a.csv": (2, 4, 0), "b.csv": (1, 0, 0), "c.csv": (3, 0, 1)}
    notes = dict(engine.fetch("SELECT inner_path, note FROM read_sources WHERE note IS NOT NULL"))
    assert notes == {"b.csv": "symbolic link to member 2: the same file, its records counted once"}


def test_a_member_refused_by_the_fast_path_loses_no_other_member(engine, tmp_path):
    """Small members share a transaction: one read carefully after the fast path gave up
    (a repeated header row) must not abort the writes of the members before it."""
    repeated_header = b"nir;nom;ville\n1010000000001;A;B\nnir;nom;ville\n1010000000002;C;D\n"
    members = {f"m{i}.csv": lab_csv(2, 3) for i in range(5)} | {"odd.csv": repeated_header}
    members |= {f"n{i}.csv": lab_csv(4, 2) for i in range(5)}
    path = tmp_path / "leak.tar.gz"
    path.write_bytes(tar_of(members))
    load(engine, [path])
    counts = {
        inner: (rows, quarantined) for inner, (_, rows, quarantined) in stored(engine).items()
    }
    assert counts == {f"m{i}.csv": (3, 0) for i in range(5)} | {"odd.csv": (2, 1)} | {
        f"n{i}.csv": (2, 0) for i in range(5)
    }
