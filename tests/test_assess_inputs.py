"""Synthetic input tables of the stages before assess, built in code.

Named ``test_*`` only to sit with the tests; it holds no test. Used by the assess and
report tests and by ``benchmarks/bench_report.py``. Every value is made up: names, NIRs and
emails carry a marker (``ZZMARK``) so that tests can grep report files for any of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyarrow as pa

MARKER = "ZZMARK"
CATEGORIES = ("hiv", "pregnancy", "cancer", "genetic", "treatment")
DEPARTEMENTS = ("35", "22", "29", "56", "37", "14")
REGIONS = {"35": "53", "22": "53", "29": "53", "56": "53", "37": "24", "14": "28"}

#: The raw columns of the synthetic leak and the label classify gives each.
LABELS = {
    "nir": "id.nir",
    "nom": "person.last_name",
    "prenom": "person.first_name",
    "adresse": "contact.street",
    "cp": "contact.postal_code",
    "ville": "contact.city",
    "tel": "contact.phone",
    "mail": "contact.email",
    "naissance": "person.birth_date",
    "groupe": "health.blood_group",
    "medecin": "provider.physician",
    "mutuelle": "insurance.insurer",
    "commentaire": "health.note",
    "derniere_visite": "health.visit_date",
}


@dataclass
class Leak:
    """What was put in the tables (for assertions and greps)."""

    records: int
    persons: int
    controllers: list[str]
    secrets: list[str] = field(default_factory=list)


def nir(rng: random.Random) -> str:
    """A NIR-shaped number with a valid key (13 digits + key)."""
    body = (
        f"{rng.choice('12')}{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}"
        f"{rng.randint(10, 95):02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    )
    return body + f"{97 - int(body) % 97:02d}"


def build(
    engine,
    *,
    records: int = 400,
    controllers: int = 4,
    seed: int = 7,
    duplicate_rate: float = 0.2,
    unattributed_rate: float = 0.02,
    mention_rate: float = 0.05,
    keep_secrets: bool = True,
) -> Leak:
    """Write read/classify/resolve/attribute tables of a synthetic lab leak into ``engine``."""
    rng = random.Random(seed)
    ids = [f"LAB{i + 1:02d}" for i in range(controllers)]
    cols: dict[str, list] = {name: [] for name in LABELS}
    resolved: dict[str, list] = {
        k: []
        for k in (
            "person_id",
            "last_name",
            "first_name",
            "sex",
            "birth_date",
            "nir",
            "phone",
            "email",
            "postal_code",
            "commune_code",
            "departement",
        )
    }
    controller_of: list[str | None] = []
    persons: list[tuple] = []
    secrets: list[str] = []
    for number in range(records):
        if persons and rng.random() < duplicate_rate:
            person = rng.choice(persons)
        else:
            dep = rng.choice(DEPARTEMENTS)
            person = (
                len(persons),
                f"{MARKER}NOM{len(persons)}",
                f"{MARKER}PRENOM{len(persons)}",
                nir(rng),
                f"{MARKER.lower()}{len(persons)}@example.invalid",
                f"+336{rng.randint(10_000_000, 99_999_999)}",
                date(1930, 1, 1) + timedelta(days=rng.randint(0, 33_000)),
                dep,
                rng.choice(ids),
            )
            persons.append(person)
            if keep_secrets and len(secrets) < 2_000:
                secrets += [person[1], person[2], person[3], person[4]]
        pid, last, first, person_nir, email, phone, born, dep, lab = person
        present = rng.random()
        cols["nir"].append(person_nir if present > 0.05 else None)
        cols["nom"].append(last)
        cols["prenom"].append(first)
        cols["adresse"].append(f"{number % 90 + 1} rue {MARKER}" if present > 0.1 else "")
        cols["cp"].append(f"{dep}000")
        cols["ville"].append("VILLE")
        cols["tel"].append(phone if present > 0.3 else None)
        cols["mail"].append(email if present > 0.5 else None)
        cols["naissance"].append(born.isoformat())
        cols["groupe"].append(rng.choice(["A+", "O-", "B+", None]))
        cols["medecin"].append(f"Dr {MARKER}MED{rng.randint(1, 50)}")
        cols["mutuelle"].append(rng.choice(["MUT A", "MUT B", None]))
        cols["commentaire"].append("note" if rng.random() < 0.3 else None)
        cols["derniere_visite"].append("2020-12-01")
        controller_of.append(None if rng.random() < unattributed_rate else lab)
        resolved["person_id"].append(pid)
        resolved["last_name"].append(last)
        resolved["first_name"].append(first)
        resolved["sex"].append(person_nir[0])
        resolved["birth_date"].append(born)
        resolved["nir"].append(cols["nir"][-1])
        resolved["phone"].append(cols["tel"][-1])
        resolved["email"].append(cols["mail"][-1])
        resolved["postal_code"].append(f"{dep}000")
        resolved["commune_code"].append(f"{dep}001")
        resolved["departement"].append(dep)
    record_numbers = list(range(1, records + 1))
    raw = {name: pa.array(values, pa.string()) for name, values in cols.items()}
    raw["_source_id"] = pa.array([1] * records, pa.int32())
    raw["_record"] = pa.array(record_numbers, pa.int64())
    raw["_line"] = pa.array([n + 1 for n in record_numbers], pa.int64())
    engine.append("raw_1", pa.table(raw))
    engine.append(
        "read_sources",
        pa.table(
            {
                "source_id": pa.array([1], pa.int32()),
                "path": ["leak.csv"],
                "inner_path": [None],
                "table_name": [None],
                "format": ["csv"],
                "encoding": ["utf-8"],
                "sha256": ["0" * 64],
                "has_header": [True],
                "columns": [list(LABELS)],
                "rows": pa.array([records], pa.int64()),
                "quarantined": pa.array([3], pa.int64()),
                "data_table": ["raw_1"],
            }
        ),
    )
    engine.append(
        "read_quarantine",
        pa.table(
            {
                "source_id": pa.array([1, 1, 1], pa.int32()),
                "record": pa.array([5, 6, 7], pa.int64()),
                "line": pa.array([6, 7, 8], pa.int64()),
                "byte_offset": pa.array([0, 0, 0], pa.int64()),
                "reason": ["unterminated quote"] * 3,
                "raw": pa.array([b"x"] * 3, pa.binary()),
            }
        ),
    )
    engine.append(
        "classify_columns",
        pa.table(
            {
                "source_id": pa.array([1] * len(LABELS), pa.int32()),
                "column_name": list(LABELS),
                "label": list(LABELS.values()),
                "confidence": [0.9] * len(LABELS),
                "match_rate": [0.9] * len(LABELS),
                "null_rate": [0.1] * len(LABELS),
                "uniqueness": [0.5] * len(LABELS),
                "special": [label.startswith("health.") for label in LABELS.values()],
                "runners_up": ["[]"] * len(LABELS),
                "evidence": ["{}"] * len(LABELS),
            }
        ),
    )
    mentions: dict[str, list] = {"source_id": [], "_record": [], "column_name": [], "category": []}
    for number in record_numbers:
        if rng.random() < mention_rate:
            mentions["source_id"].append(1)
            mentions["_record"].append(number)
            mentions["column_name"].append("commentaire")
            mentions["category"].append(rng.choice(CATEGORIES))
    engine.append(
        "classify_mentions",
        pa.table(
            {
                "source_id": pa.array(mentions["source_id"], pa.int32()),
                "_record": pa.array(mentions["_record"], pa.int64()),
                "column_name": pa.array(mentions["column_name"], pa.string()),
                "category": pa.array(mentions["category"], pa.string()),
            }
        ),
    )
    resolve = {
        k: pa.array(
            v,
            pa.date32() if k == "birth_date" else (pa.int64() if k == "person_id" else pa.string()),
        )
        for k, v in resolved.items()
    }
    engine.append(
        "resolve_records",
        pa.table(
            {
                "source_id": pa.array([1] * records, pa.int32()),
                "_record": pa.array(record_numbers, pa.int64()),
                **resolve,
            }
        ),
    )
    engine.execute(
        "CREATE TABLE resolve_persons AS SELECT person_id, count(*)::BIGINT AS records, "
        "any_value(departement) AS departement FROM resolve_records GROUP BY person_id"
    )
    engine.execute(
        "CREATE TABLE resolve_estimate AS SELECT count(*)::BIGINT AS persons, "
        "(count(*) * 0.98)::BIGINT AS persons_low, (count(*) * 1.02)::BIGINT AS persons_high "
        "FROM resolve_persons"
    )
    deps = [DEPARTEMENTS[i % len(DEPARTEMENTS)] for i in range(controllers)]
    engine.append(
        "attribute_controllers",
        pa.table(
            {
                "controller_id": ids,
                "name": [f"Laboratoire d'analyses {i + 1}" for i in range(controllers)],
                "finess": [f"{d}00{i:05d}" for i, d in enumerate(deps)],
                "siren": [f"{123456782 + i * 0:09d}" for i in range(controllers)],
                "address": [f"{i + 1} place de la Gare" for i in range(controllers)],
                "postal_code": [f"{d}000" for d in deps],
                "city": ["Ville"] * controllers,
                "dpo_email": [f"dpo@lab{i + 1}.example" for i in range(controllers)],
                "departement": deps,
                "region": [REGIONS[d] for d in deps],
            }
        ),
    )
    engine.append(
        "attribute_records",
        pa.table(
            {
                "source_id": pa.array([1] * records, pa.int32()),
                "_record": pa.array(record_numbers, pa.int64()),
                "controller_id": pa.array(controller_of, pa.string()),
                "confidence": [0.95] * records,
                "evidence": ["finess column"] * records,
            }
        ),
    )
    engine.execute("CREATE TABLE IF NOT EXISTS case_facts (name VARCHAR, value VARCHAR)")
    return Leak(records, len(persons), ids, secrets)


def add_aware_at(engine, value: str) -> None:
    """What ``run --aware-at`` stores."""
    engine.execute("CREATE TABLE IF NOT EXISTS case_facts (name VARCHAR, value VARCHAR)")
    engine.execute("INSERT INTO case_facts VALUES ('aware_at', ?)", [value])
