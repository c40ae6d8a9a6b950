"""Bounded fuzzing of every reader: mutated real-looking inputs never crash, hang or lose count.

Each example is a valid file of one format (CSV, NDJSON, JSON, SQL dump, zip, gzip) with a
few bytes flipped, inserted or cut. The outcome must be either a one-line InputError naming
the file, or sources whose stored rows and quarantined records match the summary and, for
the text formats, what the seed's own layout says: every record wholly before the first
changed byte is a row with its values, and no more records are found than the bytes can
hold: for SQL, the seed's plus one per changed byte (a tuple needs separators of its own);
for line formats, one per non-blank line plus one per changed byte (a quote left open may
rightly split a multi-line record into its lines). A deadline of 5 s per example catches
a reader that hangs.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ariane.case import Case
from ariane.errors import InputError
from ariane.read import load


@dataclass
class Seed:
    """A file and, for text formats, where each record ends and the values it holds."""

    data: bytes = b""
    format: str = ""  # as the sources report it; another format means other records
    records: int = 0
    # (offset of the record, offset just past it, its key column, its values by column)
    spans: list[tuple[int, int, str, dict[str, str | None]]] = field(default_factory=list)

    def add(self, text: bytes, key: str = "", values: dict[str, str | None] | None = None):
        """Append bytes; when ``values`` is given they end one record."""
        start = len(self.data)
        self.data += text
        if values is not None:
            self.records += 1
            self.spans.append((start, len(self.data), key, values))
        return self


def _csv() -> Seed:
    seed = Seed(format="csv").add(b"nir;nom;commentaire\n")
    for i in range(8):
        values = {"nir": f"1{i:012d}", "nom": f"Nom{i}", "commentaire": f"note {i}; ok\nsuite"}
        seed.add(f'1{i:012d};Nom{i};"note {i}; ok\nsuite"\n'.encode(), "nir", values)
    return seed


def _ndjson() -> Seed:
    seed = Seed(format="ndjson")
    for i in range(8):
        line = json.dumps({"id": i, "p": {"nom": f"N{i}", "tags": [i]}}).encode() + b"\n"
        seed.add(line, "id", {"id": str(i), "p.nom": f"N{i}", "p.tags": f"[{i}]"})
    return seed


def _json() -> Seed:
    seed = Seed(format="json").add(b"[\n")
    for i in range(8):
        element = json.dumps({"id": i, "nom": f"Zoé {i}"}, indent=1, ensure_ascii=False)
        seed.add(element.encode(), "id", {"id": str(i), "nom": f"Zoé {i}"})
        seed.add(b",\n" if i < 7 else b"\n]")
    return seed


def _mysql() -> Seed:
    # A tuple is whole once its ")" is read: the ones before a change stay readable.
    return (
        Seed(format="sql")
        .add(b"-- MySQL dump 10.13\n")
        .add(b"CREATE TABLE `t` (\n  `id` int,\n  `nom` text\n);\n")
        .add(b"INSERT INTO `t` VALUES ")
        .add(b"(1,'a\\'b')", "id", {"id": "1", "nom": "a'b"})
        .add(b",")
        .add(b"(2,'c\\nd')", "id", {"id": "2", "nom": "c\nd"})
        .add(b",")
        .add(b"(3,NULL)", "id", {"id": "3", "nom": None})
        .add(b";\n")
    )


def _pg() -> Seed:
    return (
        Seed(format="sql")
        .add(b"-- PostgreSQL database dump\n")
        .add(b"CREATE TABLE public.u (\n    a integer,\n    b text\n);\n")
        .add(b"COPY public.u (a, b) FROM stdin;\n")
        .add(b"1\tx\\ty\n", "a", {"a": "1", "b": "x\ty"})
        .add(b"2\t\\N\n", "a", {"a": "2", "b": None})
        .add(b"\\.\n")
        .add(
            b"INSERT INTO public.u VALUES (3, 'l''apostrophe\\');\n",
            "a",
            {"a": "3", "b": "l'apostrophe\\"},
        )
    )


def _zip() -> Seed:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lab1/a.csv", _csv().data)
        archive.writestr("lab2/b.ndjson", _ndjson().data)
    return Seed(out.getvalue(), records=16)


SEEDS = {
    "leak.csv": _csv(),
    "leak.ndjson": _ndjson(),
    "leak.json": _json(),
    "mysql.sql": _mysql(),
    "pg.sql": _pg(),
    "labs.zip": _zip(),
    "leak.csv.gz": Seed(gzip.compress(_csv().data), records=8),
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


@dataclass
class Mutated:
    """Mutated bytes and, in the seed's offsets, which of its bytes are still its own."""

    data: bytes
    first: int  # first seed byte changed (or the seed's length)
    last: int  # last seed byte changed, or next to an insertion (-1 when none)
    kept: int  # seed bytes from here on were cut away
    added: int  # bytes flipped or inserted


def _mutate(data: bytes, mutations: list[tuple[str, int, bytes]]) -> Mutated:
    buffer = bytearray(data)
    origin: list[int | None] = list(range(len(data)))  # seed offset of each byte, None if new
    first, last, kept, added = len(data), -1, len(data), 0
    for kind, position, junk in mutations:
        if not buffer:
            break
        at = position % len(buffer)
        here = next((o for o in origin[at:] if o is not None), len(data))
        before = next((o for o in reversed(origin[:at]) if o is not None), -1)
        if kind == "flip":
            buffer[at] ^= junk[0] or 1
            first, last, added = min(first, here), max(last, here), added + 1
        elif kind == "insert":
            buffer[at:at] = junk
            origin[at:at] = [None] * len(junk)
            # An insertion touches the bytes on both sides of it.
            first, last = min(first, max(before, 0)), max(last, here)
            added += len(junk)
        else:
            del buffer[at:]
            del origin[at:]
            first, kept = min(first, here), min(kept, here)
    return Mutated(bytes(buffer), first, last, kept, added)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@settings(
    max_examples=120,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(SEEDS)), mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_inputs_fail_cleanly_or_add_up(engine, tmp_path, name, mutations):
    seed = SEEDS[name]
    mutated = _mutate(seed.data, mutations)
    path = tmp_path / name
    path.write_bytes(mutated.data)
    try:
        summary = load(engine, [path])
    except InputError as exc:
        message = str(exc)
        assert name in message and "\n" not in message
        return
    rows: dict[str, dict[str, str | None]] = {}
    records = 0
    for source in summary.sources:
        kept = engine.fetch(
            "SELECT count(*) FROM read_quarantine WHERE source_id = ?", [source.source_id]
        )[0][0]
        assert kept == source.quarantined
        records += kept
        if not source.columns:
            continue
        names = source.columns
        stored = engine.fetch(f"SELECT {', '.join(map(_quoted, names))} FROM {source.data_table}")
        assert len(stored) == source.rows
        records += len(stored)
        for values in stored:
            row = dict(zip(names, values, strict=True))
            for key in ("nir", "id", "a"):
                if key in row:
                    rows[f"{key}={row[key]}"] = row
    if not seed.spans or {s.format for s in summary.sources} != {seed.format}:
        return  # an archive (a changed byte may decompress to anything), or another format
    if seed.format == "sql":
        most = seed.records + mutated.added
    else:
        lines = re.split(rb"\r\n|\r|\n", mutated.data)
        most = len([line for line in lines if line.strip()]) + mutated.added
    assert records <= most, "more records than the bytes can hold"
    # Records before the first change are whole; in line formats, so are those starting
    # on a line after the last change (a damaged record never swallows the next ones).
    resync = seed.data.find(b"\n", mutated.last + 1)
    if seed.format == "sql" or mutated.first < seed.spans[0][0]:
        resync = -1  # a string may run to the end; a changed header renames the columns
    for start, end, key, expected in seed.spans:
        before = end <= mutated.first
        after = resync >= 0 and start > resync and end <= mutated.kept
        if not (before or after):
            continue
        row = rows.get(f"{key}={expected[key]}")
        where = "before" if before else "after"
        assert row is not None, (
            f"record {key}={expected[key]}, {where} every change, lost: {mutations}"
        )
        assert {k: row.get(k) for k in expected} == expected


def test_unmutated_seeds_read_fully(engine, tmp_path):
    for name, seed in SEEDS.items():
        path = tmp_path / name
        path.write_bytes(seed.data)
        summary = load(engine, [path])
        assert (summary.rows, summary.quarantined) == (seed.records, 0), name
