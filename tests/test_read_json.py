"""JSON and NDJSON: flattening, damaged records in every layout, records keyed by id,
tables inside a document, bounded columns and memory, time linear in the input."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from ariane.case import Case
from ariane.errors import InputError
from ariane.read import jsonscan, load
from ariane.read.jsonrows import MAX_COLUMNS, MORE_KEYS
from measure import (
    assert_linear,
    assert_linear_steps,
    linear_sizes,
    loading_seconds,
    reading_steps,
)


@pytest.fixture()
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def rows_of(engine, source):
    cols = ", ".join(f'"{c}"' for c in source.columns)
    return engine.fetch(f"SELECT {cols}, _record FROM {source.data_table} ORDER BY _record")


PATIENTS = [
    {"nir": "1600275123456", "nom": "Dupont", "adresse": {"ville": "Rennes", "cp": "35000"}},
    {"nir": None, "nom": 'Lé "Gall"\n\\', "tags": ["a", 1], "age": 42, "ok": True},
    {"nom": "Zoé", "adresse": {"ville": "Évreux"}, "extra": {"deep": {"x": 1.5}}},
]


def test_json_array_is_flattened_with_every_value(engine, tmp_path):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(PATIENTS, ensure_ascii=False, indent=2), encoding="utf-8")
    (source,) = load(engine, [path]).sources
    assert source.format == "json"
    assert source.columns == [
        "nir",
        "nom",
        "adresse.ville",
        "adresse.cp",
        "tags",
        "age",
        "ok",
        "extra.deep.x",
    ]
    got = [dict(zip(source.columns, r[:-1], strict=True)) for r in rows_of(engine, source)]
    assert got[0]["adresse.cp"] == "35000" and got[0]["tags"] is None
    assert got[1]["nom"] == 'Lé "Gall"\n\\' and got[1]["nir"] is None
    assert got[1]["tags"] == '["a", 1]' and got[1]["age"] == "42" and got[1]["ok"] == "true"
    assert got[2]["extra.deep.x"] == "1.5"


def test_ndjson_quarantines_bad_lines_and_counts_add_up(engine, tmp_path):
    lines = [json.dumps(p, ensure_ascii=False) for p in PATIENTS]
    lines.insert(1, '{"nom": "broken"')
    lines.insert(3, "[1, 2]")
    path = tmp_path / "dump.ndjson"
    # A Latin-1 line in the UTF-8 file is read in its encoding; 0x81 0x8D no encoding reads.
    tail = b'{"nom": "Herv\xe9"}\n{"nom": "\x81\x8d"}\n'
    path.write_bytes(("\n".join(lines) + "\n").encode() + tail)
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (4, 3)
    reasons = engine.fetch("SELECT record, line, reason FROM read_quarantine ORDER BY record")
    assert [(r[0], r[1]) for r in reasons] == [(2, 2), (4, 4), (7, 7)]
    assert reasons[2][2] == "not valid utf-8 or cp1252 text"
    names = [r[source.columns.index("nom")] for r in rows_of(engine, source)]
    assert names[-1] == "Hervé"


def test_damaged_array_element_is_quarantined_and_reading_resumes(engine, tmp_path):
    text = '[\n{"a": "1"},\n{"a": "2" "b"},\n{"a": "3"}\n]\n'
    path = tmp_path / "broken.json"
    path.write_text(text)
    (source,) = load(engine, [path]).sources
    assert [r[0] for r in rows_of(engine, source)] == ["1", "3"]
    assert source.quarantined == 1


def test_object_holding_a_list_of_records(engine, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"meta": {"n": 3}, "patients": PATIENTS}))
    (source,) = load(engine, [path]).sources
    assert source.rows == 3 and source.table_name == "patients"


def test_deep_nesting_is_an_error_or_quarantine_not_a_crash(engine, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]")
    try:
        summary = load(engine, [path])
    except InputError as exc:
        assert "deep.json" in str(exc)
    else:
        assert summary.rows + summary.quarantined == 1


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_ndjson_in_other_encodings(engine, tmp_path, encoding):
    lines = [
        json.dumps({"nom": f"Hélène {i}", "ville": "Orléans"}, ensure_ascii=False)
        for i in range(20)
    ]
    path = tmp_path / "export.ndjson"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (20, 0)
    values = engine.fetch(f"SELECT DISTINCT ville FROM {source.data_table}")
    assert values == [("Orléans",)]


# -- damaged records in every layout, counted from how the file was built ----------------


def patient(i: int) -> dict:
    """A synthetic record: NIR, a name with accents, a nested address."""
    return {
        "nir": f"{1 + i % 2}{i:012d}",
        "nom": f"Hélène-{i}",
        "adresse": {"ville": f"Orléans {i % 7}", "cp": f"{35000 + i}"},
        "suivi": {"medecin": {"nom": f"Dr {i % 5}"}},
    }


def _missing_comma(p):
    return json.dumps(p, ensure_ascii=False).replace(', "nom"', ' "nom"', 1)


def _bad_literal(p):
    return json.dumps(p, ensure_ascii=False).replace('"nir": ', '"nir": tru, "x": ', 1)


def _missing_colon(p):
    return json.dumps(p, ensure_ascii=False).replace('"nom": ', '"nom" ', 1)


def _damaged_inside(p):
    return json.dumps(p, ensure_ascii=False).replace('"cp": ', '"cp": ,', 1)


def _never_closed(p):
    return json.dumps(p, ensure_ascii=False)[:-1]


DAMAGES = [_missing_comma, _bad_literal, _missing_colon, _damaged_inside, _never_closed]
# Inside a mapping of ids, an object never closed takes the next members for its own.
KEYED_DAMAGES = DAMAGES[:-1]
LAYOUTS = [
    "array_minified",
    "array_pretty",
    "ndjson_multi",
    "concatenated",
    "wrapped",
    "keyed",
    "keyed_top",
]


def key_of(i: int) -> str:
    return f"-Mx{i:06d}"


def build(layout: str, n: int, bad: set[int]) -> tuple[bytes, list[tuple[int, int]]]:
    """The file's bytes and, per record, (byte offset, line) where it starts."""
    keyed = layout.startswith("keyed")
    damages = KEYED_DAMAGES if keyed else DAMAGES
    out = bytearray()
    starts = []
    lines = 1
    heads = {
        "array_minified": ("[", ",", "]"),
        "array_pretty": ("[\n  ", ",\n  ", "\n]\n"),
        "concatenated": ("", " ", "\n"),
        "wrapped": (
            '{"meta": {"source": "export", "total": ' + str(n) + '}, "data": [',
            ", ",
            "]}",
        ),
        "keyed": ('{"export": "x", "patients": {', ", ", "}}\n"),
        "keyed_top": ("{\n", ",\n", "\n}\n"),
    }
    for i in range(n):
        if layout == "ndjson_multi":
            out += b"" if i == 0 else (b"\n" if i % 3 == 0 else b" ")
        else:
            head, sep, _ = heads[layout]
            out += (head if i == 0 else sep).encode()
        lines += out.count(b"\n", starts[-1][0] if starts else 0)
        starts.append((len(out), lines))
        if keyed:
            out += f'"{key_of(i)}": '.encode()
        p = patient(i)
        out += (
            damages[i % len(damages)](p) if i in bad else json.dumps(p, ensure_ascii=False)
        ).encode()
    out += b"\n" if layout == "ndjson_multi" else heads[layout][2].encode()
    return bytes(out), starts


def check_read(engine, source, n: int, bad: set[int], starts, layout: str) -> None:
    """Rows are exactly the valid records, each value under its column; the rest quarantined."""
    assert (source.rows, source.quarantined) == (n - len(bad), len(bad))
    key = ', "_key"' if layout.startswith("keyed") else ""
    got = engine.fetch(
        f'SELECT _record, nir, nom, "adresse.ville", "adresse.cp", "suivi.medecin.nom"{key} '
        f"FROM {source.data_table} ORDER BY _record"
    )
    assert [r[0] - 1 for r in got] == [i for i in range(n) if i not in bad]
    for row in got:
        i = row[0] - 1
        p = patient(i)
        assert row[1:6] == (
            p["nir"],
            p["nom"],
            p["adresse"]["ville"],
            p["adresse"]["cp"],
            p["suivi"]["medecin"]["nom"],
        )
        if key:
            assert row[6] == key_of(i)
    quarantined = engine.fetch(
        "SELECT record, byte_offset, line FROM read_quarantine WHERE source_id = ? ORDER BY record",
        [source.source_id],
    )
    assert quarantined == [(i + 1, *starts[i]) for i in sorted(bad)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "bad", [set(), {2}, {0, 5}, {1, 3, 4}], ids=["none", "third", "ends", "three"]
)
def test_every_valid_record_is_a_row_and_every_damaged_one_quarantined(
    engine, tmp_path, layout, bad
):
    n = 6
    data, starts = build(layout, n, bad)
    path = tmp_path / "leak.json"
    path.write_bytes(data)
    (source,) = load(engine, [path]).sources
    check_read(engine, source, n, bad, starts, layout)


@pytest.fixture(params=["window", "tiny window"])
def window(request, monkeypatch):
    """Read with the shipped window, or one of a few characters (every value crosses one)."""
    if request.param == "tiny window":
        monkeypatch.setattr(jsonscan, "WINDOW", 16)
        monkeypatch.setattr(jsonscan, "CHUNK", 7)
        monkeypatch.setattr(jsonscan, "FIRST_LOOK", 2048)  # the first look covers a part only
    return request.param


@pytest.mark.parametrize("layout", LAYOUTS)
def test_many_damaged_records_anywhere(engine, tmp_path, layout, window):
    n = 300
    rng = random.Random(layout)
    bad = set(rng.sample(range(n), 40)) | {0, n - 1}
    data, starts = build(layout, n, bad)
    path = tmp_path / "leak.json"
    path.write_bytes(data)
    (source,) = load(engine, [path]).sources
    check_read(engine, source, n, bad, starts, layout)


@pytest.mark.parametrize("layout", ["array_minified", "array_pretty", "wrapped"])
def test_truncated_array_keeps_what_was_written(engine, tmp_path, layout, window):
    n = 50
    data, starts = build(layout, n, set())
    last = starts[-1][0]
    path = tmp_path / "cut.json"
    path.write_bytes(data[: last + 40])  # inside the last record
    (source,) = load(engine, [path]).sources
    check_read(engine, source, n, {n - 1}, starts, layout)
    path.write_bytes(data[:last])  # between records: the file holds n - 1 of them
    source = load(engine, [path]).sources[0]
    assert (source.rows, source.quarantined) == (n - 1, 0)


def test_keyed_records_are_rows_not_columns(engine, tmp_path):
    n = 1500
    path = tmp_path / "firebase.json"
    path.write_text(json.dumps({"patients": {key_of(i): patient(i) for i in range(n)}}))
    (source,) = load(engine, [path]).sources
    assert source.rows == n and source.table_name == "patients"
    assert source.columns == [
        "_key",
        "nir",
        "nom",
        "adresse.ville",
        "adresse.cp",
        "suivi.medecin.nom",
    ]


def test_every_table_of_a_document_is_a_source(engine, tmp_path, window):
    document = {
        "meta": {"exported": "2024-05-01", "tags": ["a", "b"]},
        "patients": {key_of(i): patient(i) for i in range(40)},
        "labo": {"medecins": [{"nom": f"Dr {i}", "rpps": f"{10**10 + i}"} for i in range(25)]},
        "empty": [],
    }
    path = tmp_path / "firebase.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1))
    sources = load(engine, [path]).sources
    assert [(s.table_name, s.rows, s.quarantined) for s in sources] == [
        ("patients", 40, 0),
        ("labo.medecins", 25, 0),
    ]
    got = engine.fetch(f'SELECT "_key", nir FROM {sources[0].data_table} ORDER BY _record')
    assert got == [(key_of(i), patient(i)["nir"]) for i in range(40)]
    got = engine.fetch(f"SELECT nom, rpps FROM {sources[1].data_table} ORDER BY _record")
    assert got == [(f"Dr {i}", f"{10**10 + i}") for i in range(25)]


@pytest.mark.parametrize("longest", [None, 4096], ids=["decoded whole", "streamed"])
def test_records_after_a_long_preamble_are_found(engine, tmp_path, monkeypatch, longest):
    monkeypatch.setattr(jsonscan, "FIRST_LOOK", 1024)
    if longest:  # the document is longer than a value decoded whole: searched as a stream
        monkeypatch.setattr(jsonscan, "LONGEST", longest)
    document = {
        "meta": {"notes": [f"note {i} " * 8 for i in range(100)]},
        "patients": [patient(i) for i in range(60)],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    assert path.stat().st_size > 3 * 4096
    (source,) = load(engine, [path]).sources
    assert (source.table_name, source.rows, source.quarantined) == ("patients", 60, 0)
    got = engine.fetch(f"SELECT nir FROM {source.data_table} ORDER BY _record")
    assert got == [(patient(i)["nir"],) for i in range(60)]


def test_raw_tabs_and_line_breaks_inside_strings_are_kept(engine, tmp_path):
    text = '[{"note": "ligne 1\nligne 2\tfin"},\n{"note": "ok"}]'
    path = tmp_path / "notes.json"
    path.write_text(text)
    (source,) = load(engine, [path]).sources
    got = engine.fetch(f"SELECT note FROM {source.data_table} ORDER BY _record")
    assert got == [("ligne 1\nligne 2\tfin",), ("ok",)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_json_documents_in_other_encodings(engine, tmp_path, encoding):
    n, bad = 30, {11}
    text = build("array_minified", n, bad)[0].decode()
    data = text.encode(encoding)
    path = tmp_path / "export.json"
    path.write_bytes(data)
    (source,) = load(engine, [path]).sources
    assert source.encoding == encoding and (source.rows, source.quarantined) == (29, 1)
    got = engine.fetch(f"SELECT nom FROM {source.data_table} WHERE _record = 3")
    assert got == [(patient(2)["nom"],)]
    # The offset is in the file's bytes: where the damaged record's text begins.
    codec = {"utf-16": "utf-16-le", "utf-8-sig": "utf-8"}.get(encoding, encoding)
    head = text[: text.index(DAMAGES[11 % len(DAMAGES)](patient(11)))]
    bom = len(data) - len(text.encode(codec))
    (offset,) = engine.fetch("SELECT byte_offset FROM read_quarantine")[0]
    assert offset == bom + len(head.encode(codec))
    (digest,) = engine.fetch("SELECT sha256 FROM read_sources")[0]
    assert digest == hashlib.sha256(data).hexdigest()


def test_an_object_of_unlike_objects_is_one_record(engine, tmp_path):
    path = tmp_path / "one.json"
    one = {"nir": "1600275123456", "adresse": {"ville": "Rennes"}, "medecin": {"nom": "X"}}
    path.write_text(json.dumps(one))
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.columns) == (1, ["nir", "adresse.ville", "medecin.nom"])


def test_new_keys_beyond_the_column_limit_are_kept_together(engine, tmp_path):
    n = MAX_COLUMNS + 100
    path = tmp_path / "sparse.ndjson"
    path.write_text("".join(json.dumps({"id": str(i), f"k{i}": f"v{i}"}) + "\n" for i in range(n)))
    (source,) = load(engine, [path]).sources
    assert source.rows == n
    assert len(source.columns) == MAX_COLUMNS + 1 and source.columns[-1] == MORE_KEYS
    rows = engine.fetch(f"SELECT * FROM {source.data_table} ORDER BY _record")
    for i, row in enumerate(rows):
        values = dict(zip(source.columns, row, strict=False))
        assert values["id"] == str(i)
        held = values.get(f"k{i}") or json.loads(values[MORE_KEYS])[f"k{i}"]
        assert held == f"v{i}"


def test_a_large_array_is_read_through_a_bounded_window(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(jsonscan, "WINDOW", 1024)
    monkeypatch.setattr(jsonscan, "CHUNK", 1024)
    seen = []
    fill = jsonscan.Text.fill

    def watched(self, ahead=None):
        fill(self, ahead)
        seen.append(len(self.buffer))

    monkeypatch.setattr(jsonscan.Text, "fill", watched)
    n = 12_000
    bad = set(range(5, n, 97))
    data, starts = build("array_minified", n, bad)
    path = tmp_path / "big.json"
    path.write_bytes(data)
    (source,) = load(engine, [path]).sources
    assert len(data) > 1_500_000
    assert max(seen) <= 4 * 1024  # the file: 1.6 MB on one line
    assert (source.rows, source.quarantined) == (n - len(bad), len(bad))


# -- time grows in proportion to the input -----------------------------------------------


def _ndjson_new_keys(n):
    return "".join(json.dumps({"id": str(i), f"k{i}": "v"}) + "\n" for i in range(n)), ".ndjson"


def _keyed(n):
    return json.dumps({"patients": {key_of(i): patient(i) for i in range(n)}}), ".json"


def _minified_with_bad(n):
    data, _ = build("array_minified", n, set(range(3, n, 10)))
    return data.decode(), ".json"


def _big_array(n):
    return json.dumps([patient(i) for i in range(n)], indent=1), ".json"


SHAPES = {
    "ndjson new key per line": (_ndjson_new_keys, 2000),
    "keyed by id": (_keyed, 16000),
    "minified with bad elements": (_minified_with_bad, 16000),
    "big array": (_big_array, 20000),
}


#: Shapes whose steps are counted, and the size for it. Not the two others: a new key a line
#: costs its most at the 512th column, a document keyed by id in the first look at its
#: start (256 KiB), at every size their time test takes; there the count would not grow.
STEP_SHAPES = {"minified with bad elements": 2000, "big array": 2500}


def _documents(folder, make, n):
    paths = []
    for size in linear_sizes(n):
        text, suffix = make(size)
        paths.append(folder / f"{size}{suffix}")
        paths[-1].write_text(text)
    return paths


@pytest.mark.parametrize("shape", list(SHAPES))
def test_reading_time_grows_linearly(tmp_path, shape):
    make, n = SHAPES[shape]
    paths = _documents(tmp_path, make, n)
    times, summaries = loading_seconds(paths)
    assert [s.rows + s.quarantined for s in summaries] == list(linear_sizes(n))
    assert_linear(times, lambda: loading_seconds(paths)[0])


@pytest.mark.parametrize("shape", list(STEP_SHAPES))
def test_reading_steps_grow_linearly(tmp_path, shape):
    n = STEP_SHAPES[shape]
    paths = _documents(tmp_path, SHAPES[shape][0], n)
    steps, summaries = reading_steps(paths)
    assert [s.rows + s.quarantined for s in summaries] == list(linear_sizes(n))
    assert_linear_steps(steps)
