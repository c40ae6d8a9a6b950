"""``selfcheck export``: from a case, the index the public self-check service runs on.

The only module of :mod:`ariane.selfcheck` that opens a case. It reads the persons that
resolve found (``resolve_records``), the controllers attribute gave their records
(``attribute_records``, ``attribute_controllers``) and their postal addresses (the raw
columns classify labelled ``contact.*``), and writes an index (:mod:`~.index`) holding:
keyed digests of each person's identifiers, and their contact details and controllers
sealed for the sender. Entries are shuffled so their order says nothing of the leak's.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyrage

from ariane.case import Case
from ariane.engine import Engine
from ariane.errors import ConfigError, StageNotBuiltError
from ariane.selfcheck import index
from ariane.selfcheck.identifiers import email_digest, nir_digest, phone_digest

ADDRESS_LABELS = ("contact.street", "contact.postal_code", "contact.city", "contact.address")
_FIELD_LIMIT = 200  # characters kept of each address part, so every document fits a slot


@dataclass(frozen=True)
class ExportResult:
    """Where the index and its two secrets went, and how much it holds."""

    index_dir: Path
    hmac_key: Path
    sender_key: Path
    persons: int
    digests: int
    controllers: int


def export(
    case_dir: Path, index_dir: Path, hmac_key: Path | None = None, sender_key: Path | None = None
) -> ExportResult:
    """Write the self-check index of a case to ``index_dir`` (audited in the case)."""
    index_dir = Path(index_dir)
    if index_dir.exists() and any(index_dir.iterdir()):
        raise ConfigError(f"{index_dir}: folder is not empty; choose a new --out")
    hmac_path = hmac_key or index.hmac_key_path(index_dir)
    sender_path = sender_key or index.sender_key_path(index_dir)
    for secret in (hmac_path, sender_path):
        if secret.resolve().is_relative_to(index_dir.resolve()):
            raise ConfigError(f"{secret}: keys must be kept outside the index directory")
    with Case.open(case_dir) as case:
        engine = case.engine()
        done = {row[0] for row in engine.fetch("SELECT stage FROM case_stages")}
        if "resolve" not in done:
            raise StageNotBuiltError(f"{case_dir}: the case has no resolve results to export")
        persons = _persons(engine)
        controllers = _controllers(engine) if "attribute" in done else []
        key = index.new_hmac_key()
        identity = pyrage.x25519.Identity.generate()
        recipient = identity.to_public()
        random.SystemRandom().shuffle(persons)
        digests: list[tuple[bytes, int]] = []
        sealed: list[bytes] = []
        for entry, person in enumerate(persons):
            digests.extend((digest, entry) for digest in person.digests(key))
            sealed.append(pyrage.encrypt(index.seal_plaintext(person.contact()), [recipient]))
        # The decoy is sealed like an entry, so decrypting it costs the same.
        decoy = pyrage.encrypt(index.seal_plaintext({"decoy": secrets.token_hex(8)}), [recipient])
        index.write_secret(hmac_path, key.hex())
        index.write_secret(sender_path, str(identity))
        used = {c for p in persons for c in p.controllers}
        named = [c for c in controllers if c.controller_id in used]
        manifest = index.write_index(
            index_dir, digests, sealed, decoy, key=key, recipient=str(recipient), controllers=named
        )
        case.record(
            "selfcheck export",
            {"out": str(index_dir)},
            outcome={
                "persons": manifest["entries"],
                "digests": manifest["digests"],
                "controllers": len(named),
            },
        )
    return ExportResult(index_dir, hmac_path, sender_path, len(persons), len(digests), len(named))


@dataclass
class _Person:
    """What the index needs of one person; lives only in memory during export."""

    nirs: list[tuple[str, date]]
    emails: list[str]
    phones: list[str]
    email: str | None
    phone: str | None
    address: list[str]
    controllers: list[str]

    def digests(self, key: bytes) -> list[bytes]:
        """Every keyed digest this person can be found by."""
        found = [nir_digest(key, n, b) for n, b in self.nirs]
        found += [email_digest(key, e) for e in self.emails]
        found += [phone_digest(key, p) for p in self.phones]
        return sorted(set(found))

    def contact(self) -> dict[str, Any]:
        """What the sender needs to answer: channels on file and controllers."""
        return {
            "email": self.email,
            "phone": self.phone,
            "address": self.address,
            "controllers": self.controllers,
        }


def _persons(engine: Engine) -> list[_Person]:
    """Every resolved person with at least one identifier a person could type."""
    rows = engine.fetch(
        f"""
        WITH r AS (SELECT * FROM resolve_records WHERE person_id IS NOT NULL),
        nirs AS (SELECT person_id, list(DISTINCT struct_pack(nir := nir, born := birth_date))
                     AS nirs
                 FROM r WHERE nir IS NOT NULL AND birth_date IS NOT NULL GROUP BY person_id),
        contacts AS (
            SELECT person_id,
                   list(DISTINCT email) FILTER (WHERE email IS NOT NULL) AS emails,
                   list(DISTINCT phone) FILTER (WHERE phone IS NOT NULL) AS phones,
                   -- to answer: the address of the latest record that has one
                   arg_max(email, _record) FILTER (WHERE email IS NOT NULL) AS email,
                   arg_max(phone, _record) FILTER (WHERE phone IS NOT NULL) AS phone
            FROM r GROUP BY person_id),
        places AS (SELECT r.person_id, arg_max(a.parts, (a.filled, r._record)) AS parts
                   FROM r JOIN ({addresses_sql(engine)}) a
                     ON a.source_id = r.source_id AND a._record = r._record
                   WHERE a.filled > 0 GROUP BY r.person_id),
        labs AS ({_controllers_sql(engine)})
        SELECT c.person_id, n.nirs, c.emails, c.phones, c.email, c.phone, p.parts, l.ids
        FROM contacts c LEFT JOIN nirs n USING (person_id)
        LEFT JOIN places p USING (person_id) LEFT JOIN labs l USING (person_id)
        WHERE n.nirs IS NOT NULL OR len(c.emails) > 0 OR len(c.phones) > 0
        ORDER BY c.person_id
        """
    )
    return [
        _Person(
            nirs=[(n["nir"], n["born"]) for n in nirs or []],
            emails=list(emails or []),
            phones=list(phones or []),
            email=email,
            phone=phone,
            address=[part[:_FIELD_LIMIT] for part in parts or [] if part],
            controllers=sorted(ids or []),
        )
        for _, nirs, emails, phones, email, phone, parts, ids in rows
    ]


def addresses_sql(engine: Engine) -> str:
    """``source_id, _record, parts (street, postal code, city or whole address), filled``."""
    from ariane.attribute.records import labelled_columns
    from ariane.resolve.fields import quote

    columns: dict[tuple[int, str], dict[str, str]] = {}
    for label in ADDRESS_LABELS:
        for source_id, table, column in labelled_columns(engine, label):
            columns.setdefault((source_id, table), {}).setdefault(label, column)
    parts = []
    for (source_id, table), labelled in columns.items():
        values = [
            f"nullif(trim(CAST({quote(labelled[label])} AS VARCHAR)), '')"
            if label in labelled
            else "CAST(NULL AS VARCHAR)"
            for label in ADDRESS_LABELS
        ]
        street, postal, city, whole = values
        parts.append(
            f"SELECT CAST({source_id} AS INTEGER) AS source_id, CAST(_record AS BIGINT) AS "
            f"_record, CASE WHEN {street} IS NOT NULL OR {postal} IS NOT NULL "
            f"THEN [{street}, concat_ws(' ', {postal}, {city})] ELSE [{whole}] END AS parts, "
            f"(CASE WHEN {street} IS NOT NULL OR {whole} IS NOT NULL THEN 2 ELSE 0 END) + "
            f"(CASE WHEN {postal} IS NOT NULL THEN 1 ELSE 0 END) AS filled FROM {quote(table)}"
        )
    return " UNION ALL ".join(parts) or (
        "SELECT CAST(NULL AS INTEGER) AS source_id, CAST(NULL AS BIGINT) AS _record, "
        "CAST([] AS VARCHAR[]) AS parts, 0 AS filled LIMIT 0"
    )


def _controllers_sql(engine: Engine) -> str:
    if not engine.has_table("attribute_records"):
        return "SELECT CAST(NULL AS BIGINT) AS person_id, CAST([] AS VARCHAR[]) AS ids LIMIT 0"
    return (
        "SELECT r.person_id, list(DISTINCT a.controller_id) AS ids FROM resolve_records r "
        "JOIN attribute_records a ON a.source_id = r.source_id AND a._record = r._record "
        "WHERE r.person_id IS NOT NULL AND a.controller_id IS NOT NULL GROUP BY r.person_id"
    )


def _controllers(engine: Engine) -> list[index.Controller]:
    return [
        index.Controller(str(cid), str(name or cid), dpo or None)
        for cid, name, dpo in engine.fetch(
            "SELECT controller_id, name, dpo_email FROM attribute_controllers "
            "ORDER BY controller_id"
        )
    ]
