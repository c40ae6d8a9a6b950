"""Bounded fuzzing of every reader: mutated real-looking inputs never crash, hang or lose count.

Each example is a valid file of one format (CSV, NDJSON, JSON, SQL dump, zip, gzip) with a
few bytes flipped, inserted or cut. The outcome must be either a one-line InputError naming
the file, or sources whose stored rows and quarantined records match the summary.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ariane.case import Case
from ariane.errors import InputError
from ariane.read import load


def _csv() -> bytes:
    lines = ["nir;nom;commentaire"] + [f'1{i:012d};Nom{i};"note {i}; ok\nsuite"' for i in range(8)]
    return ("\n".join(lines) + "\n").encode()


def _ndjson() -> bytes:
    return b"".join(
        json.dumps({"id": i, "p": {"nom": f"N{i}", "tags": [i]}}).encode() + b"\n" for i in range(8)
    )


def _json() -> bytes:
    return json.dumps([{"id": i, "nom": f"Zoé {i}"} for i in range(8)], indent=1).encode()


def _mysql() -> bytes:
    return (
        b"-- MySQL dump 10.13\n"
        b"CREATE TABLE `t` (\n  `id` int,\n  `nom` text\n);\n"
        b"INSERT INTO `t` VALUES (1,'a\\'b'),(2,'c\\nd'),(3,NULL);\n"
    )


def _pg() -> bytes:
    return (
        b"-- PostgreSQL database dump\n"
        b"CREATE TABLE public.u (\n    a integer,\n    b text\n);\n"
        b"COPY public.u (a, b) FROM stdin;\n1\tx\\ty\n2\t\\N\n\\.\n"
        b"INSERT INTO public.u VALUES (3, 'l''apostrophe\\');\n"
    )


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lab1/a.csv", _csv())
        archive.writestr("lab2/b.ndjson", _ndjson())
    return out.getvalue()


SEEDS = {
    "leak.csv": _csv(),
    "leak.ndjson": _ndjson(),
    "leak.json": _json(),
    "mysql.sql": _mysql(),
    "pg.sql": _pg(),
    "labs.zip": _zip(),
    "leak.csv.gz": gzip.compress(_csv()),
}

mutation = st.tuples(
    st.sampled_from(["flip", "insert", "cut"]),
    st.integers(min_value=0, max_value=10_000),
    st.binary(min_size=1, max_size=4),
)


@pytest.fixture(scope="module")
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def _mutate(data: bytes, mutations: list[tuple[str, int, bytes]]) -> bytes:
    buffer = bytearray(data)
    for kind, position, junk in mutations:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == "flip":
            buffer[at] ^= junk[0] or 1
        elif kind == "insert":
            buffer[at:at] = junk
        else:
            del buffer[at:]
    return bytes(buffer)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(SEEDS)), mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_inputs_fail_cleanly_or_add_up(engine, tmp_path, name, mutations):
    path = tmp_path / name
    path.write_bytes(_mutate(SEEDS[name], mutations))
    try:
        summary = load(engine, [path])
    except InputError as exc:
        message = str(exc)
        assert name in message and "\n" not in message
        return
    for source in summary.sources:
        if source.columns:
            stored = engine.fetch(f"SELECT count(*) FROM {source.data_table}")[0][0]
            assert stored == source.rows
        kept = engine.fetch(
            "SELECT count(*) FROM read_quarantine WHERE source_id = ?", [source.source_id]
        )[0][0]
        assert kept == source.quarantined


def test_unmutated_seeds_read_fully(engine, tmp_path):
    expected = {
        "leak.csv": 8,
        "leak.ndjson": 8,
        "leak.json": 8,
        "mysql.sql": 3,
        "pg.sql": 3,
        "labs.zip": 16,
        "leak.csv.gz": 8,
    }
    for name, data in SEEDS.items():
        path = tmp_path / name
        path.write_bytes(data)
        summary = load(engine, [path])
        assert (summary.rows, summary.quarantined) == (expected[name], 0), name
