"""What the user gives, as files: folders opened, a FHIR bulk export's manifest read."""

from __future__ import annotations

import json

import pytest

from ariane.errors import InputError
from ariane.read.inputs import bulk_manifest, given_files


def _manifest(folder, urls, **extra):
    document = {
        "transactionTime": "2026-11-30T10:00:00Z",
        "request": "https://fhir.example/$export",
        "output": [{"type": "Patient", "url": url} for url in urls],
        **extra,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(document))
    return path


def test_a_folder_is_its_files_below_it_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ("b/2.ndjson", "a.csv", "b/1.ndjson"):
        (tmp_path / name).write_text("x\n")
    assert given_files([tmp_path]) == [tmp_path / "a.csv", tmp_path / "b/1.ndjson",
                                        tmp_path / "b/2.ndjson"]  # fmt: skip


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="folder holds no file"):
        given_files([tmp_path])


def test_a_manifest_is_the_files_it_lists_wherever_its_urls_say(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    for name in ("Patient.000.ndjson", "Patient.001.ndjson", "elsewhere/Patient.002.ndjson"):
        (tmp_path / name).write_text("{}\n")
    urls = [
        "https://fhir.example/bulk/Patient.000.ndjson",  # a server's URL: beside it
        "Patient.001.ndjson",  # relative
        (tmp_path / "elsewhere/Patient.002.ndjson").as_uri(),  # file:
    ]
    manifest = _manifest(tmp_path, urls)
    expected = [tmp_path / "Patient.000.ndjson", tmp_path / "Patient.001.ndjson",
                tmp_path / "elsewhere/Patient.002.ndjson"]  # fmt: skip
    assert given_files([manifest]) == expected
    # Its folder holds it and the files: each read once, the manifest not at all.
    assert sorted(given_files([tmp_path])) == sorted(expected)


def test_a_manifest_listing_files_not_saved_is_an_error_saying_how_many(tmp_path):
    (tmp_path / "Patient.000.ndjson").write_text("{}\n")
    manifest = _manifest(tmp_path, ["Patient.000.ndjson", "https://x.example/Patient.001.ndjson"])
    with pytest.raises(InputError, match="lists 1 of 2 files not found"):
        given_files([manifest])


def test_json_that_is_no_manifest_is_read_as_it_is(tmp_path):
    resource = tmp_path / "bundle.json"
    resource.write_text(json.dumps({"resourceType": "Bundle", "output": []}))
    other = tmp_path / "data.json"
    other.write_text(json.dumps({"output": [{"type": "x", "url": "y"}]}))  # no request/time
    assert bulk_manifest(resource) is None and bulk_manifest(other) is None
    assert given_files([resource, other]) == [resource, other]
