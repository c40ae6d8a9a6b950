"""Read leaks shaped unlike the synthetic generator: every record a row or quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest

import witness_leaks
from ariane.case import Case
from ariane.read import load


@pytest.fixture(scope="module", params=sorted(witness_leaks.BUILDERS))
def witness(request, tmp_path_factory):
    """One witness built in its own directory: (paths, truth)."""
    return witness_leaks.build(request.param, tmp_path_factory.mktemp(request.param), rows=240)


def _read(paths: list[Path]):
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = load(engine, paths)
        quarantine = engine.fetch("SELECT source_id, record, reason FROM read_quarantine")
        # Members' own names are provenance kept in the store (outside it: "member 3").
        names_in_store = dict(
            engine.fetch("SELECT source_id, coalesce(inner_path, path) FROM read_sources")
        )
        values = {}
        for source in summary.sources:
            file = names_in_store[source.source_id]
            names = [c for c in source.columns]
            rows = engine.fetch(
                "SELECT _record, "
                + ", ".join('"' + n.replace('"', '""') + '"' for n in names)
                + f" FROM {source.data_table} ORDER BY _record"
            )
            values[file] = {name: {r[0]: r[i + 1] for r in rows} for i, name in enumerate(names)}
    return summary, quarantine, names_in_store, values


def test_every_record_is_a_row_or_quarantined_with_a_reason(witness) -> None:
    """rows + quarantined is every record; damaged records are kept aside, each with why."""
    paths, truth = witness
    summary, quarantine, _sources, _values = _read(paths)
    assert summary.rows + summary.quarantined == truth["records"]
    assert summary.quarantined >= truth["quarantined"]
    assert len(quarantine) == summary.quarantined
    assert all(reason for _source, _record, reason in quarantine)


def test_values_read_exactly(witness) -> None:
    """NIRs, names and notes come back character for character, in record order."""
    paths, truth = witness
    _summary, quarantine, sources, values = _read(paths)
    kept_aside = {(sources[s], r) for s, r, _reason in quarantine}
    compared = 0
    for file, columns in truth["values"].items():
        first = truth["first_record"][file]
        for column, expected in columns.items():
            got = values[file][column]
            for record, written in enumerate(expected, start=first):
                if (file, record) in kept_aside:
                    continue
                assert (got[record] or "") == written, f"{file} {column} record {record}"
                compared += 1
    assert compared > 0


def test_formats_and_encodings_are_recognised(tmp_path) -> None:
    """A cp1252 export, a pipe-separated Latin-1 file, an XLSX and a pg_dump say what they are."""
    built = [
        witness_leaks.build(name, tmp_path / name, rows=60)
        for name in ("gp_export_cp1252", "xlsx_workbook", "pg_dump", "german_tsv")
    ]
    summary, _q, _s, _v = _read([p for paths, _t in built for p in paths])
    by_name = {Path(s.path).name: s for s in summary.sources}
    assert by_name["gp_export.csv"].encoding in {"cp1252", "windows-1252"}
    assert by_name["resultats.xlsx"].format == "xlsx"
    assert by_name["patients.pgsql"].format.startswith("sql")
    assert by_name["patienten.tsv"].format == "tsv"
