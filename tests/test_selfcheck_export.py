"""selfcheck export: the index holds no identifier in clear, and finds every person."""

import json
import stat

import pyrage
import pytest

from ariane.case import audit
from ariane.errors import ConfigError
from ariane.nir import normalise
from ariane.selfcheck.export import export
from ariane.selfcheck.identifiers import email_digest, nir_digest, phone_digest
from ariane.selfcheck.index import ContactStore, DigestIndex, read_hmac_key
from selfcheck_fixtures import PERSONS, build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("selfcheck"))


def _forms(person):
    """Every way the case's identifiers of ``person`` could be written."""
    nir = person.nir
    forms = {nir, normalise(nir), f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} "
             f"{nir[10:13]} {nir[13:]}", nir[:13]}  # fmt: skip
    if person.email:
        forms |= {person.email, person.email.upper()}
    if person.phone:
        digits = person.phone.replace(" ", "")
        forms |= {person.phone, digits, person.phone_e164, person.phone_e164[1:], digits[1:]}
    return forms


def test_index_holds_no_nir_email_or_phone(built):
    files = [p for p in built.index_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} == {"index.json", "digests.bin", "contacts.bin"}
    contents = [p.read_bytes().lower() for p in files]
    searched = 0
    for person in built.persons:
        for form in _forms(person):
            needle = form.encode().lower()
            assert not any(needle in content for content in contents), person.number
            searched += 1
    assert searched > 5 * PERSONS  # several spellings of each identifier were looked for


def test_secrets_live_apart_and_private(built):
    for secret in (built.hmac_key, built.sender_key):
        assert secret.parent == built.index_dir.parent
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_every_person_is_found_by_each_identifier(built):
    key = read_hmac_key(built.hmac_key)
    index = DigestIndex(built.index_dir, key)
    assert index.manifest["entries"] == PERSONS
    for person in built.persons:
        (entry,) = index.entries([nir_digest(key, person.nir, person.birth_date)])
        if person.email:
            assert index.entries([email_digest(key, person.email)]) == [entry]
        if person.phone:
            assert index.entries([phone_digest(key, person.phone_e164)]) == [entry]


def test_contacts_are_sealed_for_the_sender(built):
    key = read_hmac_key(built.hmac_key)
    index = DigestIndex(built.index_dir, key)
    store = ContactStore(built.index_dir)
    identity = pyrage.x25519.Identity.from_str(built.sender_key.read_text().strip())
    for person in built.persons:
        (entry,) = index.entries([nir_digest(key, person.nir, person.birth_date)])
        contact = json.loads(pyrage.decrypt(store.sealed(entry), [identity]))
        assert contact["email"] == person.email
        assert contact["phone"] == person.phone_e164
        assert contact["controllers"] == [person.controller_id]
        if person.street:
            assert contact["address"] == [person.street, "35000 Rennes"]
        else:
            assert contact["address"] == []
    decoy = json.loads(pyrage.decrypt(store.sealed(index.decoy), [identity]))
    assert set(decoy) == {"decoy"}
    # Every slot is the same size: a slot does not tell how long an address is.
    assert (built.index_dir / "contacts.bin").stat().st_size == store.slot * (PERSONS + 1)


def test_manifest_names_controllers_and_dpo(built):
    manifest = json.loads((built.index_dir / "index.json").read_text())
    named = {c["controller_id"]: (c["name"], c["dpo_email"]) for c in manifest["controllers"]}
    assert named == built.controllers


def test_export_is_audited(built):
    log = built.case_dir / "audit.jsonl"
    assert audit.verify(log).entries >= 2
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["command"] == "selfcheck export"
    assert last["arguments"] == {"out": str(built.index_dir)}
    assert last["outcome"]["persons"] == PERSONS


def test_wrong_key_is_told_apart_from_a_miss(built):
    with pytest.raises(ConfigError, match="not this index's key"):
        DigestIndex(built.index_dir, bytes(32))


def test_export_refuses_to_overwrite_or_keep_keys_inside(built, tmp_path):
    with pytest.raises(ConfigError, match="not empty"):
        export(built.case_dir, built.index_dir)
    with pytest.raises(ConfigError, match="outside the index"):
        export(built.case_dir, tmp_path / "new", hmac_key=tmp_path / "new" / "k")
