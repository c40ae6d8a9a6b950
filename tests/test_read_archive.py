"""Archives: zip, gz, tar.gz, nested, inner paths kept, and bombs refused."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest

from ariane.case import Case
from ariane.errors import InputError, UnsafeInputError
from ariane.read import load
from ariane.read.archive import Limits, expand


@pytest.fixture()
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def lab_csv(lab: int, rows: int) -> bytes:
    lines = ["nir;nom;ville"] + [f"1{lab:02d}{i:010d};Nom{i};Ville{lab}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("cp1252" if lab % 2 else "utf-8")


def tar_gz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_nested_archives_keep_every_inner_path(engine, tmp_path):
    inner_tgz = tar_gz({"lab03/patients.csv": lab_csv(3, 7), "lab04/patients.csv": lab_csv(4, 2)})
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
    found = {s.inner_path: (s.rows, s.quarantined) for s in summary.sources}
    assert found == {
        "lab01.csv": (5, 0),
        "sub/lab02.csv": (4, 0),
        "more/lab03/patients.csv": (7, 0),
        "more/lab04/patients.csv": (2, 0),
        "README.pdf": (0, 1),
    }
    digests = engine.fetch("SELECT DISTINCT sha256 FROM read_sources")
    assert len(digests) == 1 and len(digests[0][0]) == 64  # the file given, for every member


def test_plain_gzip_file(engine, tmp_path):
    path = tmp_path / "leak.csv.gz"
    path.write_bytes(gzip.compress(lab_csv(1, 9)))
    (source,) = load(engine, [path]).sources
    assert (source.inner_path, source.rows) == ("leak.csv", 9)


def test_zip_bomb_is_refused(engine, tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_of({"zeros.csv": b"0" * (8 * 1024 * 1024)}))
    limits = Limits(max_ratio=50, ratio_floor=1024 * 1024)
    with pytest.raises(UnsafeInputError, match="bomb.zip"):
        list(expand(path, limits))


def test_gzip_bomb_is_stopped_while_reading(engine, tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * (2 * 1024 * 1024)))
    limits = Limits(max_ratio=10, ratio_floor=1024 * 1024)
    (blob,) = list(expand(path, limits))
    with pytest.raises(UnsafeInputError, match="bomb"), blob.open() as stream:
        while stream.read(1 << 20):
            pass


def test_total_size_limit(tmp_path):
    path = tmp_path / "many.zip"
    path.write_bytes(zip_of({f"f{i}.csv": lab_csv(i, 200) for i in range(5)}))
    with pytest.raises(UnsafeInputError, match="many.zip"):
        list(expand(path, Limits(max_total=20_000)))


def test_nesting_depth_limit(tmp_path):
    data = lab_csv(1, 3)
    for level in range(6):
        data = zip_of({f"level{level}.zip" if level else "x.csv": data})
    path = tmp_path / "deep.zip"
    path.write_bytes(data)
    with pytest.raises(UnsafeInputError, match="nested"):
        list(expand(path))


def test_damaged_archive_is_a_one_line_error(engine, tmp_path):
    path = tmp_path / "cut.zip"
    path.write_bytes(zip_of({"a.csv": lab_csv(1, 50)})[:-30])
    with pytest.raises(InputError, match="cut.zip") as info:
        load(engine, [path])
    assert "\n" not in str(info.value)
