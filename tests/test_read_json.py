"""JSON arrays and NDJSON: flattening, growing columns, damaged elements, hostile depth."""

from __future__ import annotations

import json

import pytest

from ariane.case import Case
from ariane.errors import InputError
from ariane.read import load


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
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"nom": "\xe9"}\n')
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (3, 3)
    reasons = engine.fetch("SELECT record, line, reason FROM read_quarantine ORDER BY record")
    assert [(r[0], r[1]) for r in reasons] == [(2, 2), (4, 4), (6, 6)]


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
