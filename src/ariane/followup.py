"""The case after ``run``: facts set and shown, new report versions, encrypted exports.

A case lives for weeks after the leak is read: the processor tells each controller, each
controller notifies the regulator and gets a reference, facts are learnt and corrected.
Each function here opens a case, does one such thing and records it in the audit log; the
CLI calls one of them per command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ariane import assess
from ariane.assess.facts import GRADING, catalogue, parse_fact, stored_facts
from ariane.case import Case
from ariane.case import facts as fact_log
from ariane.engine import Engine
from ariane.errors import ConfigError


def controller_ids(engine: Engine) -> list[str]:
    """The controllers of the case, in order."""
    if engine.has_table("attribute_controllers"):
        sql = "SELECT controller_id FROM attribute_controllers ORDER BY controller_id"
    elif engine.has_table("assess_controllers"):
        sql = "SELECT controller_id FROM assess_controllers ORDER BY controller_id"
    else:
        return []
    return [str(row[0]) for row in engine.fetch(sql)]


def facts_document(engine: Engine) -> dict[str, Any]:
    """Every fact of the case and of each controller; unknown ones are None."""
    stated = stored_facts(engine).stated()
    return {
        "case": {name: stated.get((None, name)) for name in catalogue(controller=False)},
        "controllers": {
            controller_id: {
                name: stated.get((controller_id, name)) for name in catalogue(controller=True)
            }
            for controller_id in controller_ids(engine)
        },
    }


def show_facts(case_dir: Path) -> dict[str, Any]:
    """The ``facts show --json`` document of a case."""
    with Case.open(case_dir) as case:
        document = facts_document(case.engine())
        case.record("facts show")
    return document


def parse_assignments(assignments: list[str], controller: str | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as typed values; the first bad one raises :class:`ConfigError`."""
    if not assignments:
        raise ConfigError("facts set: give at least one NAME=VALUE")
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{name.strip() or assignment!r}: expected NAME=VALUE")
        values[name.strip()] = parse_fact(name.strip(), text, controller=controller is not None)
    return values


def set_facts(
    case_dir: Path, assignments: list[str], controller: str | None = None
) -> list[fact_log.Change]:
    """Record facts of the case or of one controller; audited; regrade when they matter."""
    with Case.open(case_dir) as case:
        return record_facts(case, assignments, controller)


def record_facts(
    case: Case,
    assignments: list[str],
    controller: str | None = None,
    by: dict[str, Any] | None = None,
) -> list[fact_log.Change]:
    """:func:`set_facts` on an open case (the web application holds its case open).

    Every assignment is checked before anything is written: one bad name, value or
    controller id changes nothing. ``by`` says who asked (a web user's id), for the audit.
    """
    values = parse_assignments(assignments, controller)
    engine = case.engine()
    if controller is not None and controller not in controller_ids(engine):
        raise ConfigError(f"--controller {controller}: no such controller in this case")
    changes = fact_log.record(
        engine, {(controller, name): value for name, value in values.items()}, "facts set"
    )
    regraded = controller is None and any(c.name in GRADING for c in changes)
    if regraded and engine.has_table("assess_controllers"):
        assess.assess(engine)
    case.record(
        "facts set",
        {"controller": controller, "names": sorted(values), **(by or {})},
        outcome={"changes": [c.as_dict() for c in changes], "regraded": regraded},
    )
    return changes


#: Columns of an export, one row per affected person of the controller.
EXPORT_COLUMNS = (
    "person_id", "last_name", "first_name", "sex", "birth_date", "nir", "phone", "email",
    "postal_code", "commune_code", "records", "severity",
)  # fmt: skip


def affected_persons(engine: Engine, controller: str) -> list[tuple[Any, ...]]:
    """One row per person of ``controller``'s file: identity, contact details, grade."""
    return engine.fetch(
        f"SELECT p.person_id, {', '.join(EXPORT_COLUMNS[1:10])}, p.records, g.band "
        f"FROM ({persons_sql('e.controller_id = ?')}) p "
        "JOIN assess_grades g USING (exposure) ORDER BY p.person_id",
        [controller],
    )


def persons_sql(where: str = "e.controller_id IS NOT NULL") -> str:
    """The SQL of one row per (controller, person): identity, contact, records, exposure.

    Each field takes the value most of the person's records give (mode), so one typo in a
    record does not win over the others. ``where`` filters the exposure rows (alias ``e``).
    """
    fields = ", ".join(f"mode(r.{c}) AS {c}" for c in EXPORT_COLUMNS[1:10])
    return (
        f"SELECT e.controller_id, r.person_id, {fields}, count(*) AS records, "
        "bit_or(e.exposure) AS exposure "
        "FROM assess_exposure e JOIN resolve_records r USING (source_id, _record) "
        f"WHERE {where} AND r.person_id IS NOT NULL GROUP BY e.controller_id, r.person_id"
    )


def seal_persons(
    rows: list[tuple[Any, ...]], recipient: str | None, passphrase: str | None
) -> tuple[bytes, str]:
    """The persons as CSV encrypted with age, and how: never a plaintext file.

    For an age public key (``recipient``, ``age1...``) or a passphrase (age's scrypt), one
    of them (:func:`age_encrypter`); the CSV exists only in memory.
    """
    import csv
    import io

    encrypt, encryption = age_encrypter(recipient, passphrase, "export")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)
    return encrypt(text.getvalue().encode("utf-8")), encryption


def export_persons(
    case_dir: Path,
    controller: str,
    out_file: Path,
    *,
    recipient: str | None = None,
    passphrase: str | None = None,
) -> int:
    """Write ``controller``'s affected persons as CSV encrypted with age; return how many.

    See :func:`seal_persons`. The export is audited (who for, how encrypted, how many
    persons, the SHA-256 of the encrypted file).
    """
    import hashlib

    seal_persons([], recipient, passphrase)  # a bad key or no secret: fail before anything
    out_file = Path(out_file)
    if out_file.exists():
        raise ConfigError(f"{out_file}: already exists; choose another name")
    with Case.open(case_dir) as case:
        engine = case.engine()
        if controller not in controller_ids(engine):
            raise ConfigError(f"--controller {controller}: no such controller in this case")
        rows = affected_persons(engine, controller)
        sealed, encryption = seal_persons(rows, recipient, passphrase)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.touch(mode=0o600)
        out_file.write_bytes(sealed)
        case.record(
            "export",
            {
                "controller": controller,
                "out": out_file.name,
                "encryption": encryption,
                "recipient": recipient.strip() if recipient else None,
            },
            outcome={"persons": len(rows), "sha256": hashlib.sha256(sealed).hexdigest()},
        )
    return len(rows)


def age_encrypter(
    recipient: str | None, passphrase: str | None, command: str
) -> tuple[Callable[[bytes], bytes], str]:
    """Encrypt with age for a public key or a passphrase (exactly one); and which it is."""
    import pyrage

    if not passphrase:
        passphrase = None  # an empty passphrase protects nothing
    if (recipient is None) == (passphrase is None):
        raise ConfigError(
            f"{command}: give --recipient AGE_PUBLIC_KEY or set ARIANE_EXPORT_PASSPHRASE "
            "(one of them)"
        )
    if recipient is not None:
        try:
            target = pyrage.x25519.Recipient.from_str(recipient.strip())
        except pyrage.RecipientError:
            raise ConfigError("--recipient: not an age public key (age1...)") from None
        return (lambda plain: pyrage.encrypt(plain, [target])), "age-x25519"
    secret = passphrase or ""
    return (lambda plain: pyrage.passphrase.encrypt(plain, secret)), "age-scrypt"
