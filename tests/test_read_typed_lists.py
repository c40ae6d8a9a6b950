"""Lists of typed items (``[{"system": "NIR", "value": ...}, {"system": "IPP", ...}]``)
in Parquet, JSON and NDJSON are flattened by kind, whatever their order in each record, so
that a NIR among a person's identifiers is a column labelled a NIR (it was one JSON text
labelled ``health.note``); a list of given names is the names one after the other."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ariane.case import Case
from ariane.classify import classify
from ariane.nir import make_nir
from ariane.read import load

COUNT = 40


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def _records(dates_as_text: bool) -> list[dict]:
    records = []
    for i in range(COUNT):
        nir = make_nir(1 + i % 2, 1950 + i, 1 + i % 12, "35", "238", 100 + i)
        seen = dt.date(2024, 1, 1 + i % 28)
        ids = [
            {"system": "NIR", "value": nir, "since": seen.isoformat() if dates_as_text else seen},
            {"system": "IPP", "value": f"{77000 + i * 13}", "since": None},
        ]
        if i % 3 == 0:
            ids.reverse()  # the order of a list says nothing
        results = [{"code": f"T{i % 7}", "value": "5.3"}, {"code": f"T{i % 7}", "value": "6"}]
        given = ["Marie", "Claire", "Anne"][: 1 + i % 3]  # several given names, as a list
        records.append({"nom": f"Nom{i}", "given": given, "identifiers": ids, "results": results})
    return records


def _write(tmp_path, layout: str):
    if layout == "parquet":
        path = tmp_path / "export.parquet"
        pq.write_table(pa.Table.from_pylist(_records(False)), path)
    elif layout == "json":
        path = tmp_path / "export.json"
        path.write_text(json.dumps(_records(True)), encoding="utf-8")
    else:
        path = tmp_path / "export.ndjson"
        lines = [json.dumps(r) for r in _records(True)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("layout", ["parquet", "json", "ndjson"])
def test_typed_items_are_columns_by_kind_and_the_nir_is_labelled(engine, tmp_path, layout):
    path = _write(tmp_path, layout)
    [source] = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (COUNT, 0)
    assert set(source.columns) == {
        "nom", "given", "identifiers.NIR.value", "identifiers.NIR.since", "identifiers.IPP.value",
        "identifiers.IPP.since", "results",
    }  # fmt: skip
    rows = engine.fetch_arrow(f'SELECT * FROM "{source.data_table}" ORDER BY _record').to_pylist()
    truth = _records(True)
    for row, record in zip(rows, truth, strict=True):
        by_kind = {item["system"]: item for item in record["identifiers"]}
        assert row["identifiers.NIR.value"] == by_kind["NIR"]["value"]
        assert row["identifiers.IPP.value"] == by_kind["IPP"]["value"]
        assert row["identifiers.NIR.since"] == by_kind["NIR"]["since"]
        assert row["given"] == " ".join(record["given"])  # as a person writes them
        # Items that share a kind are no typed list: kept whole, as before.
        assert json.loads(row["results"]) == record["results"]
    labels = {p.name: p.label for p in classify(engine)}
    assert labels["identifiers.NIR.value"] == "id.nir"
    assert labels["identifiers.IPP.value"] != "id.nir"
    assert labels["given"] == "person.first_name"


def test_kinds_that_are_data_make_no_column_each(engine, tmp_path, monkeypatch):
    # A "type" unique to each row is no small set of kinds: past the bound, JSON text.
    from ariane.read import parquet

    monkeypatch.setattr(parquet, "MAX_KIND_COLUMNS", 20)
    rows = [{"tags": [{"type": f"t{i}", "value": "x"}]} for i in range(60)]
    path = tmp_path / "tags.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=10)
    [source] = load(engine, [path]).sources
    assert source.rows == 60 and len(source.columns) <= 21
    stored = engine.fetch_arrow(f'SELECT * FROM "{source.data_table}" ORDER BY _record')
    last = stored.to_pylist()[-1]
    assert json.loads(last["tags"]) == rows[-1]["tags"]  # kept whole, nothing lost
