"""Who gets which notice, by which channel (art. 34): one notice per person, naming each lab.

A person is due a notice when a controller whose duty is to tell its persons
(``assess_controllers.notify_persons``) holds records grading that person high or very
high. A person due by several controllers gets one notice naming all of them. Contact
details take the value most of the person's records give; a controller's current patient
list (``--controller-patients ID=FILE``, matched on the NIR) overrides them. The channel
is email when the address is well formed, else a letter when the postal address is
complete, else an SMS when the phone is a mobile; a person none of these reaches is
counted against each of its controllers, and a controller with many such persons gets a
public communication drafted (art. 34(3)(c)).

Writes, in the encrypted store: ``notify_notices`` (one row per person due, contact
details included: the store is the only place they live), ``notify_plan`` (the plan's
batch id and counts). The outbox (operational database) gets ids and statuses only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ariane.attribute.patients import _fold
from ariane.engine import Engine
from ariane.errors import ConfigError, StageNotBuiltError
from ariane.nir import is_valid_nir
from ariane.nir import normalise as normal_nir
from ariane.selfcheck.export import addresses_sql

#: A controller drafts a public communication when this many of its persons are unreachable,
#: or this share of them (art. 34(3)(c): individual notice would be disproportionate).
PUBLIC_MIN_PERSONS = 500
PUBLIC_MIN_SHARE = 0.10
#: Grade rank from which art. 34 applies (``high``; ranks follow ``enisa.BANDS``).
HIGH_RISK_RANK = 2

# An address a mail server takes: dot-atom local part, a domain with a letter TLD.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# French mobile numbers in E.164 (metropolitan 06/07), as resolve writes phones.
MOBILE_PATTERN = r"^\+33[67][0-9]{8}$"

CONTACT_FIELDS = ("email", "phone", "street", "postal_code", "city")
# Header words of a patient list -> the contact field a column holds (folded).
_CONTACT_HINTS: tuple[tuple[str, str], ...] = (
    ("mail|courriel", "email"),
    ("tel|phone|portable|mobile|gsm", "phone"),
    ("rue|street|adresse|address|voie", "street"),
    ("postal|^cp$|code_postal|zip", "postal_code"),
    ("ville|city|commune|localite", "city"),
    ("nir|secu|insee|ssn|social", "nir"),
)


@dataclass
class PatientLists:
    """What the controllers' patient lists gave: rows read, matched, set aside (and why)."""

    rows: int = 0
    matched: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """For the plan document."""
        return {"rows": self.rows, "matched": self.matched,
                "quarantined": dict(sorted(self.quarantined.items()))}  # fmt: skip


def build_plan(
    engine: Engine, id_key: bytes, patient_lists: dict[str, Path] | None = None
) -> dict[str, Any]:
    """Materialise ``notify_notices`` and ``notify_plan``; return the plan document."""
    for table in ("assess_exposure", "assess_grades", "assess_controllers", "resolve_records"):
        if not engine.has_table(table):
            raise StageNotBuiltError("notify plan: the case has no grades yet (run it first)")
    lists = _load_patient_lists(engine, patient_lists or {})
    _due_persons(engine, id_key)
    _apply_patient_lists(engine, lists)
    _choose_channels(engine)
    return _plan_document(engine, lists)


def _due_persons(engine: Engine, id_key: bytes) -> None:
    """``notify_due``: each person due a notice, with every controller due to tell them."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE notify_due AS "
        "WITH held AS ("
        "  SELECT e.controller_id, e.person_id, bit_or(e.exposure) AS exposure"
        "  FROM assess_exposure e"
        "  WHERE e.controller_id IS NOT NULL AND e.person_id IS NOT NULL GROUP BY ALL) "
        "SELECT h.person_id, list(DISTINCT h.controller_id ORDER BY h.controller_id)"
        "  AS controller_ids "
        "FROM held h JOIN assess_grades g USING (exposure)"
        "  JOIN assess_controllers c USING (controller_id) "
        f"WHERE g.rank >= {HIGH_RISK_RANK} AND c.notify_persons GROUP BY h.person_id"
    )
    fields = ", ".join(
        f"mode(r.{f}) AS {f}"
        for f in ("last_name", "first_name", "sex", "nir", "email", "phone", "postal_code")
    )
    # Ids are keyed hashes of the person id under a key derived from the case key: stable
    # from one plan to the next, meaningless outside the case.
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE notify_draft AS "
        "WITH person AS ("
        f"  SELECT d.person_id, d.controller_ids, {fields} "
        "  FROM notify_due d JOIN resolve_records r USING (person_id) "
        "  GROUP BY d.person_id, d.controller_ids), "
        # The postal address: the fullest one the person's records give, the latest on a tie.
        "place AS ("
        "  SELECT r.person_id, arg_max(a.parts, (a.filled, r._record)) AS address"
        "  FROM resolve_records r JOIN notify_due d USING (person_id)"
        f"  JOIN ({addresses_sql(engine)}) a"
        "    ON a.source_id = r.source_id AND a._record = r._record"
        "  WHERE a.filled > 0 GROUP BY r.person_id) "
        "SELECT left(sha256(? || CAST(person_id AS VARCHAR)), 32) AS notice_id, "
        "  left(sha256(? || CAST(person_id AS VARCHAR)), 64) AS person_key_hash, "
        "  person.*, list_filter(place.address, x -> x IS NOT NULL AND x <> '') AS address "
        "FROM person LEFT JOIN place USING (person_id)",
        [id_key.hex() + ":notice:", id_key.hex() + ":person:"],
    )


def _load_patient_lists(engine: Engine, lists: dict[str, Path]) -> PatientLists:
    """``notify_patients``: every usable row of every list; the others counted by reason."""
    known = {row[0] for row in engine.fetch("SELECT controller_id FROM assess_controllers")}
    result = PatientLists()
    rows: dict[str, list[Any]] = {f: [] for f in ("controller_id", "nir", *CONTACT_FIELDS)}
    for controller_id, path in sorted(lists.items()):
        if controller_id not in known:
            raise ConfigError(f"--controller-patients {controller_id}: no such controller")
        for values in _read_list(path):
            result.rows += 1
            nir = normal_nir(values.get("nir") or "")
            if not is_valid_nir(nir):
                result.quarantined["no valid NIR"] += 1
                continue
            rows["controller_id"].append(controller_id)
            rows["nir"].append(nir)
            for name in CONTACT_FIELDS:
                rows[name].append((values.get(name) or "").strip() or None)
    engine.execute("DROP TABLE IF EXISTS notify_patients")
    engine.register("notify_patients_rows", pa.table({k: pa.array(v, pa.string())
                                                      for k, v in rows.items()}))  # fmt: skip
    try:
        engine.execute("CREATE TEMP TABLE notify_patients AS SELECT * FROM notify_patients_rows")
    finally:
        engine.unregister("notify_patients_rows")
    return result


def _read_list(path: Path) -> list[dict[str, str]]:
    """A patient list as rows of contact fields (columns recognised by header words)."""
    from ariane.read.sniff import decode_sample, sniff_dialect, sniff_encoding

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the patient list ({exc.strerror})") from None
    encoding = sniff_encoding(raw[: 1 << 16])
    text = decode_sample(raw, encoding).lstrip("\ufeff")
    dialect = sniff_dialect(text[: 1 << 16], truncated=len(text) > 1 << 16)
    reader = csv.reader(text.splitlines()[dialect.preamble :], delimiter=dialect.delimiter)
    header = next(reader, None)
    if not header:
        raise ConfigError(f"{path}: the patient list is empty")
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        folded = _fold(name.strip())
        for pattern, field_name in _CONTACT_HINTS:
            if field_name not in columns and _search(pattern, folded):
                columns[field_name] = index
                break
    if "nir" not in columns:
        raise ConfigError(f"{path} line 1: the patient list has no NIR column (nir, num_secu...)")
    return [{name: row[i] for name, i in columns.items() if i < len(row)} for row in reader if row]


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _apply_patient_lists(engine: Engine, lists: PatientLists) -> None:
    """Contact details from the first list (by controller id) that knows the person's NIR."""
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE notify_listed AS "
        "SELECT DISTINCT ON (d.notice_id) d.notice_id, "
        + ", ".join(f"p.{f} AS list_{f}" for f in CONTACT_FIELDS)
        + " FROM notify_draft d JOIN notify_patients p"
        "  ON p.nir = d.nir AND list_contains(d.controller_ids, p.controller_id) "
        "ORDER BY d.notice_id, p.controller_id"
    )
    lists.matched = int(engine.fetch("SELECT count(*) FROM notify_listed")[0][0])


def _choose_channels(engine: Engine) -> None:
    """``notify_notices``: contact details settled and a channel chosen (NULL: unreachable)."""
    # A list that gives any contact field replaces the leak's whole contact (an address is
    # not mixed half from the list, half from the leak).
    listed = (
        "l.notice_id IS NOT NULL AND coalesce("
        + ", ".join(f"l.list_{f}" for f in CONTACT_FIELDS)
        + ") IS NOT NULL"
    )
    list_address = (
        "list_filter([l.list_street, nullif(concat_ws(' ', l.list_postal_code, l.list_city), '')],"
        " x -> x IS NOT NULL)"
    )
    engine.execute(
        "CREATE OR REPLACE TABLE notify_notices AS "
        "WITH c AS ("
        "  SELECT d.notice_id, d.person_key_hash, d.person_id, d.controller_ids, "
        "    d.last_name, d.first_name, d.sex, d.nir IS NOT NULL AS has_nir, "
        f"    CASE WHEN {listed} THEN l.list_email ELSE d.email END AS email, "
        f"    CASE WHEN {listed} THEN l.list_phone ELSE d.phone END AS phone, "
        f"    CASE WHEN {listed} THEN {list_address} ELSE d.address END AS address, "
        f"    CASE WHEN {listed} THEN l.list_postal_code ELSE d.postal_code END AS postal_code, "
        f"    {listed} AS from_list "
        "  FROM notify_draft d LEFT JOIN notify_listed l USING (notice_id)), "
        # A letter needs a name and an address that has a postal code and more than it.
        "p AS (SELECT *, coalesce(last_name IS NOT NULL AND len(address) > 0"
        "  AND regexp_matches(array_to_string(address, ' '), '(^|[^0-9])[0-9]{5}([^0-9]|$)')"
        "  AND length(array_to_string(address, ' ')) >= 12, false) AS postal FROM c) "
        "SELECT *, CASE "
        "  WHEN regexp_full_match(coalesce(email, ''), ?) THEN 'email' "
        "  WHEN postal THEN 'letter' "
        "  WHEN regexp_full_match(coalesce(phone, ''), ?) THEN 'sms' "
        "  END AS channel "
        "FROM p ORDER BY notice_id",
        [EMAIL_PATTERN, MOBILE_PATTERN],
    )


def _plan_document(engine: Engine, lists: PatientLists) -> dict[str, Any]:
    """Counts of the plan, per channel and per controller, and its batch id."""
    by_channel = {"email": 0, "letter": 0, "sms": 0}
    for channel, count in engine.fetch(
        "SELECT channel, count(*) FROM notify_notices WHERE channel IS NOT NULL GROUP BY 1"
    ):
        by_channel[channel] = int(count)
    by_controller: dict[str, dict[str, Any]] = {}
    rows = engine.fetch(
        "SELECT c.controller_id, coalesce(n.channel, 'unreachable'), count(n.notice_id) "
        "FROM assess_controllers c LEFT JOIN ("
        "  SELECT unnest(controller_ids) AS controller_id, channel, notice_id"
        "  FROM notify_notices) n USING (controller_id) "
        "WHERE c.notify_persons GROUP BY ALL ORDER BY 1"
    )
    for controller_id, channel, count in rows:
        entry = by_controller.setdefault(
            controller_id, {"persons": 0, "email": 0, "letter": 0, "sms": 0, "unreachable": 0}
        )
        entry[channel] += int(count)
        entry["persons"] += int(count)
    for entry in by_controller.values():
        entry["public_communication"] = entry["unreachable"] > 0 and (
            entry["unreachable"] >= PUBLIC_MIN_PERSONS
            or entry["unreachable"] >= PUBLIC_MIN_SHARE * entry["persons"]
        )
    persons = int(engine.fetch("SELECT count(*) FROM notify_notices")[0][0])
    notices = sum(by_channel.values())
    digest = hashlib.sha256()
    for notice_id, channel in engine.fetch(
        "SELECT notice_id, channel FROM notify_notices WHERE channel IS NOT NULL ORDER BY notice_id"
    ):
        digest.update(f"{notice_id}:{channel}\n".encode())
    document = {
        "batch": digest.hexdigest()[:16],
        "notices": notices,
        "persons": persons,
        "unreachable": persons - notices,
        "by_channel": by_channel,
        "by_controller": by_controller,
        "several_controllers": int(
            engine.fetch("SELECT count(*) FROM notify_notices WHERE len(controller_ids) > 1")[0][0]
        ),
        "patient_lists": lists.as_dict(),
    }
    engine.execute("CREATE OR REPLACE TABLE notify_plan (document VARCHAR)")
    engine.execute("INSERT INTO notify_plan VALUES (?)", [json.dumps(document)])
    return document


def stored_plan(engine: Engine) -> dict[str, Any]:
    """The plan document last made; :class:`StageNotBuiltError` when there is none."""
    if not engine.has_table("notify_plan"):
        raise StageNotBuiltError("no notices planned yet: run ariane notify plan DIR first")
    document: dict[str, Any] = json.loads(engine.fetch("SELECT document FROM notify_plan")[0][0])
    return document
