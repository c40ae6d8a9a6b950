"""NDJSON read in bulk by Arrow gives exactly what the careful line-by-line reader gives.

Files are generated from a seed: keys of fixed types appearing late, nested objects,
lists, nulls, Unicode, dates, blank lines, CRLF, a BOM, and damage put at known lines
(a bad line, a number with a fraction, a key changing type, two objects on a line, a
``null`` line, an empty object, a control byte, a too-long line...). Each file is read
twice, once with the bulk path off, and everything stored is compared.
"""

from __future__ import annotations

import json
import random

import pytest

from ariane.case import Case
from ariane.read import delimited, jsonfile, jsonrows, load

KINDS = ("str", "int", "bool", "date", "obj", "list_str", "list_int", "deep")
TEXTS = ("Dupont", "Zoé", "Łódź 😀", 'a "q" \\ b', "ligne\nsuivante", "null", "[]", " ", "")
DAMAGE = (
    "bad_line",
    "fraction",
    "type_change",
    "two_objects",
    "null_line",
    "array_line",
    "empty_object",
    "control",
    "dotted_collision",
    "escaped_key",
    "too_long",
    "scalar_line",
    "split_object",
    "split_and_two",
)


def _value(rng: random.Random, kind: str, row: int) -> object:
    if kind == "str":
        return rng.choice(TEXTS) + str(row % 7)
    if kind == "int":
        return rng.choice([0, -3, 42, 10**15, row])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "date":
        return f"20{rng.randint(10, 29)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    if kind == "obj":
        inner = {"ville": rng.choice(TEXTS)}
        if rng.random() < 0.5:
            inner["cp"] = f"{rng.randint(1000, 99999):05d}"
        if rng.random() < 0.2:
            inner["note"] = None
        return inner
    if kind == "list_str":
        return [rng.choice(TEXTS) for _ in range(rng.randint(0, 3))]
    if kind == "list_int":
        return [rng.randint(-5, 5) for _ in range(rng.randint(1, 3))]
    return {"a": {"b": {"c": rng.choice(TEXTS)}}}


def make_ndjson(seed: int) -> tuple[bytes, list[str]]:
    """A file of NDJSON from a seed, and the damage put in it."""
    rng = random.Random(seed)
    keys = {f"k{i}": rng.choice(KINDS) for i in range(rng.randint(1, 9))}
    first = {key: rng.choice([0, 0, 1, rng.randint(0, 300)]) for key in keys}
    nullable = {key for key in keys if rng.random() < 0.3}
    rows = rng.randint(1, 400)
    lines: list[bytes] = []
    for row in range(rows):
        obj: dict[str, object] = {}
        order = list(keys)
        rng.shuffle(order)
        for key in order:
            if row < first[key] or rng.random() < 0.15:
                continue
            obj[key] = (
                None if key in nullable and rng.random() < 0.3 else _value(rng, keys[key], row)
            )
        lines.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode())
    damage = rng.sample(DAMAGE, rng.choice([0, 0, 1, 2]))
    for kind in damage:
        at = rng.randrange(len(lines) + 1)
        lines.insert(at, _damaged(kind, keys, rng))
    for _ in range(rng.choice([0, 0, 1, 3])):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice([b"", b"  ", b"\t"]))
    newline = b"\r\n" if rng.random() < 0.2 else b"\n"
    data = newline.join(lines) + (newline if rng.random() < 0.8 else b"")
    if rng.random() < 0.15:
        data = b"\xef\xbb\xbf" + data
    return data, damage


def _damaged(kind: str, keys: dict[str, str], rng: random.Random) -> bytes:
    key = rng.choice(list(keys))
    lines = {
        "bad_line": b'{"k0": "cut',
        "fraction": json.dumps({key: 1.5}).encode(),
        "type_change": json.dumps({key: {"x": "y"} if keys[key] != "obj" else "flat"}).encode(),
        "two_objects": b'{"k0": "a"} {"k1": "b"}',
        "null_line": b"null",
        "array_line": b'["a", "b"]',
        "empty_object": json.dumps({key: {}} if rng.random() < 0.5 else {}).encode(),
        "control": b'{"k0": "a\x7fb"}',
        "dotted_collision": b'{"k9.x": "a", "k9": {"x": "b"}}',
        "escaped_key": b'{"\\u006b0": "escaped", "new\\u00e9": "n"}',
        "too_long": b'{"k0": "' + b"x" * 5000 + b'"}',
        "scalar_line": b'"just text"',
        # An object over two lines (Arrow reads it as one row)...
        "split_object": b'{"k0": "a", "k1": [\n"y"]}',
        # ... and with two objects on a line, as many rows as lines.
        "split_and_two": b'{"k0": "a", "k1": [\n"y"]}\n{"k0": "b"}  {"k0": "c"}',
    }
    return lines[kind]


def _stored(path, bulk: bool, monkeypatch, batch: int = 0) -> dict[str, object]:
    with monkeypatch.context() as patch:
        if batch:  # batches of a few rows, values or characters: several in every file
            patch.setattr(jsonrows, "BATCH_ROWS", batch)
            patch.setattr(jsonrows, "BATCH_CELLS", batch * 4)
            patch.setattr(jsonrows, "BATCH_BYTES", batch * 300)
        patch.setattr(jsonfile, "BLOCK_BYTES", 1500)  # several blocks in every file
        patch.setattr(jsonfile, "MAX_RECORD_BYTES", 4096)
        patch.setattr(delimited, "MAX_RECORD_BYTES", 4096)
        if not bulk:
            patch.setattr(jsonfile, "bulk_rows", lambda *args: None)
        with Case.ephemeral() as case:
            engine = case.engine()
            (source,) = load(engine, [path]).sources
            cols = ", ".join(f'"{c}"' for c in source.columns)
            return {
                "columns": source.columns,
                "rows": engine.fetch(
                    f"SELECT {cols}, _source_id, _record, _line FROM {source.data_table} "
                    "ORDER BY _record"
                ),
                # The table's layout too: a key met after the first write is added past
                # the provenance columns; batches are cut at the same rows.
                "types": engine.fetch(f"DESCRIBE {source.data_table}"),
                "batches": engine.fetch(
                    f"SELECT row_group_id, count(*) FROM pragma_storage_info('{source.data_table}')"
                    " GROUP BY ALL ORDER BY 1"
                ),
                "sources": engine.fetch("SELECT * FROM read_sources"),
                "quarantine": engine.fetch("SELECT * FROM read_quarantine ORDER BY record"),
            }


@pytest.mark.parametrize("seed", range(120))
def test_bulk_and_careful_readers_store_the_same(seed, tmp_path, monkeypatch):
    data, _ = make_ndjson(seed)
    path = tmp_path / "export.ndjson"
    path.write_bytes(data)
    batch = random.Random(seed).choice([0, 7, 40, 150])
    careful = _stored(path, False, monkeypatch, batch)
    bulk = _stored(path, True, monkeypatch, batch)
    assert bulk == careful


def test_clean_files_are_read_in_bulk(tmp_path, monkeypatch):
    """The comparison above is not empty: clean blocks do go through Arrow."""
    taken = []
    real = jsonfile.bulk_rows

    def spy(*args):
        found = real(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(jsonfile, "bulk_rows", spy)
    rows = [{"id": str(i), "nom": "Zoé", "adresse": {"ville": "Évreux"}} for i in range(300)]
    rows[150]["tags"] = ["a", "b"]  # a key appearing late, in a list
    path = tmp_path / "clean.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with Case.ephemeral() as case:
        engine = case.engine()
        (source,) = load(engine, [path]).sources
        assert source.columns == ["id", "nom", "adresse.ville", "tags"]
        stored = engine.fetch(f'SELECT "tags", _line FROM {source.data_table} ORDER BY _record')
    assert taken and all(taken)
    assert stored[150] == ("a b", 151) and stored[0] == (None, 1)  # texts one after the other


def test_a_damaged_line_falls_back_and_keeps_its_place(tmp_path):
    lines = [json.dumps({"id": str(i)}) for i in range(10)]
    lines[4] = '{"id": "cut'
    path = tmp_path / "damaged.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Case.ephemeral() as case:
        engine = case.engine()
        (source,) = load(engine, [path]).sources
        rows = engine.fetch(f"SELECT id, _record, _line FROM {source.data_table} ORDER BY 2")
        quarantined = engine.fetch("SELECT record, line, byte_offset FROM read_quarantine")
    assert source.rows == 9 and source.quarantined == 1
    assert quarantined == [(5, 5, sum(len(line) + 1 for line in lines[:4]))]
    assert rows[4] == ("5", 6, 6)


@pytest.mark.parametrize(
    "damage", ["split_object", "split_and_two", "two_objects", "null_line", "empty_object"]
)
def test_each_damage_alone_between_clean_lines(damage, tmp_path, monkeypatch):
    clean = [json.dumps({"k0": f"v{i}", "k1": [str(i)]}).encode() for i in range(20)]
    lines = [*clean[:10], _damaged(damage, {"k0": "str"}, random.Random(0)), *clean[10:]]
    path = tmp_path / "one.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert _stored(path, True, monkeypatch) == _stored(path, False, monkeypatch)


def _clean_lines(count: int) -> list[bytes]:
    return [
        json.dumps(
            {"nom": f"Dupont {i}", "ville": "Évreux", "n": str(i)}, ensure_ascii=False
        ).encode("utf-8")
        for i in range(count)
    ]


#: NDJSON read early (as UTF-8, while the encoding is chosen on every line) or after: the
#: clean cases keep the early reading; a second encoding past the sniffed start (256 KiB)
#: throws it away, with the lines it had quarantined, and reads again.
_LATIN1_LINE = '{"nom": "Hélène", "ville": "Évreux"}'.encode("latin-1")
_BROKEN = [b"{broken", b"[1, 2]"] * 10
EARLY_NDJSON = {
    "clean UTF-8": b"\n".join(_clean_lines(40)) + b"\n",
    "clean UTF-8, lines quarantined": b"\n".join(_clean_lines(5) + _BROKEN) + b"\n",
    "a Latin-1 line far down, lines quarantined": b"\n".join(
        [*_clean_lines(5), *_BROKEN, *_clean_lines(8000), _LATIN1_LINE, *_clean_lines(5)]
    )
    + b"\n",
    "Latin-1 after a long ASCII start": b"\n".join(
        [b'{"nom": "Martin", "ville": "Paris"}'] * 8000 + [_LATIN1_LINE] * 3000
    )
    + b"\n",
}
_KEPT = ("clean UTF-8", "clean UTF-8, lines quarantined")


def _read_ndjson_file(tmp_path, data: bytes, monkeypatch, early_bytes: int):
    from ariane.read import delimited, store

    monkeypatch.setattr(delimited, "EARLY_BYTES", early_bytes)
    monkeypatch.setattr(store, "BATCH_ROWS", 4)  # quarantined lines written as they come
    path = tmp_path / f"leak-{early_bytes}.ndjson"
    path.write_bytes(data)
    with Case.ephemeral() as case:
        engine = case.engine()
        load(engine, [path])
        (source,) = engine.fetch(
            "SELECT source_id, encoding, sha256, columns, rows, quarantined, data_table "
            "FROM read_sources"
        )
        rows = engine.fetch(f"SELECT * EXCLUDE (_source_id) FROM {source[-1]} ORDER BY _record")
        quarantine = engine.fetch(
            "SELECT source_id, record, line, reason FROM read_quarantine ORDER BY record"
        )
    return source, rows, quarantine


@pytest.mark.parametrize("case", list(EARLY_NDJSON))
def test_ndjson_read_while_its_encoding_is_chosen_keeps_only_what_it_would_read(
    tmp_path, monkeypatch, case
):
    """Read during the choice of encoding or after it: the same source, rows, quarantine
    (none left behind by a reading thrown away) and one source id."""
    from ariane.read import jsonfile

    early_reads = []
    real = jsonfile._ndjson
    monkeypatch.setattr(
        jsonfile, "_ndjson", lambda *args: early_reads.append(args[1:3]) or real(*args)
    )
    data = EARLY_NDJSON[case]
    after = _read_ndjson_file(tmp_path, data, monkeypatch, 1 << 62)
    assert len(early_reads) == 1
    early_reads.clear()
    early = _read_ndjson_file(tmp_path, data, monkeypatch, 0)
    assert early_reads[0] == ("utf-8", None)
    assert len(early_reads) == (1 if case in _KEPT else 2)
    assert early == after
    expected_quarantined = data.count(b"{broken") + data.count(b"[1, 2]")
    assert after[0][5] == len(after[2]) == expected_quarantined
