"""The encrypted case store and its audit log."""

import json
import os
import stat

import pyarrow as pa
import pytest

from ariane.case import Case, audit
from ariane.errors import AuditError, CaseError, CaseKeyError

MARKER = "ZZMARKERNIR1850535238012"


def _fill(case: Case) -> None:
    case.engine().append("raw_1", pa.table({"nir": [MARKER] * 5_000, "n": list(range(5_000))}))
    case.record("test", {"k": 1})


def _files_contain(folder, needle: bytes) -> list[str]:
    hits = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                if needle in handle.read():
                    hits.append(path)
    return hits


def test_store_is_encrypted_and_reopens_with_key_file(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    assert _files_contain(tmp_path / "case", MARKER.encode()) == []
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    key_file = manifest["key"]["key_file"]
    assert not key_file.startswith(str(tmp_path / "case"))
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with Case.open(tmp_path / "case") as case:
        assert case.engine().fetch("SELECT count(*) FROM raw_1") == [(5_000,)]


def test_missing_key_file_fails_clearly(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    os.unlink(manifest["key"]["key_file"])
    with pytest.raises(CaseKeyError, match="key file"):
        Case.open(tmp_path / "case")


def test_passphrase_case_needs_the_right_passphrase(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", "correct horse battery staple")
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    assert manifest["key"]["source"] == "passphrase"
    assert "correct" not in (tmp_path / "case" / "case.json").read_text()
    monkeypatch.setenv("ARIANE_KEY", "wrong passphrase")
    with pytest.raises(CaseKeyError, match="wrong key"):
        Case.open(tmp_path / "case")
    monkeypatch.delenv("ARIANE_KEY")
    with pytest.raises(CaseKeyError, match="ARIANE_KEY"):
        Case.open(tmp_path / "case")
    monkeypatch.setenv("ARIANE_KEY", "correct horse battery staple")
    with Case.open(tmp_path / "case") as case:
        assert case.engine().fetch("SELECT count(*) FROM raw_1") == [(5_000,)]


def test_two_cases_with_one_passphrase_have_different_salts(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", "same")
    Case.create(tmp_path / "a").close()
    Case.create(tmp_path / "b").close()
    salts = {
        json.loads((tmp_path / n / "case.json").read_text())["key"]["salt"] for n in ("a", "b")
    }
    assert len(salts) == 2


def test_not_a_case_and_not_empty_folder(tmp_path):
    with pytest.raises(CaseError, match="not an Ariane case"):
        Case.open(tmp_path)
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(CaseError, match="not empty"):
        Case.create(tmp_path)


def test_ephemeral_case_leaves_nothing(tmp_path):
    with Case.ephemeral() as case:
        folder = case.directory
        case.engine().append("t", pa.table({"a": [MARKER]}))
        assert _files_contain(folder, MARKER.encode()) == []
    assert not folder.exists()


def test_audit_chain_verifies_and_detects_tampering(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
        case.record("second", {"k": 2}, inputs=[tmp_path / "case" / "case.json"])
        report = case.verify_audit()
        assert report.entries == 2
    log = tmp_path / "case" / "audit.jsonl"
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["arguments"] = {"k": 99}
    log.write_text(json.dumps(first) + "\n" + lines[1] + "\n")
    with pytest.raises(AuditError, match="line 1"):
        audit.verify(log)


def test_audit_detects_a_rewritten_chain(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    log = tmp_path / "case" / "audit.jsonl"
    log.unlink()
    audit.append(log, "forged")  # a new, self-consistent chain
    assert audit.verify(log).entries == 1
    with Case.open(tmp_path / "case") as case, pytest.raises(AuditError, match="sealed"):
        case.verify_audit()


def test_audit_records_input_digests(tmp_path):
    source = tmp_path / "input.csv"
    source.write_bytes(b"a,b\n1,2\n")
    log = tmp_path / "audit.jsonl"
    entry = audit.append(log, "run", inputs=[source])
    assert entry["inputs"][0]["sha256"] == audit.file_sha256(source)
    assert len(entry["inputs"][0]["sha256"]) == 64
