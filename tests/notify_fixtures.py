"""A small synthetic case for the notify tests, every expected count known from how it is built.

Thirty-six persons over three labs (registry from ``ariane synth``); person ``i`` is a
patient of lab ``i % 3``, and when ``i % 5 == 0`` also of lab ``(i + 1) % 3`` (the same
identity in both files). Every record carries a health comment that names a special
category, so every person is graded very high and due a notice, and a notice that named
the category would be caught. Channels by ``i % 4``: 0 a valid email (and an address),
1 an address only (a letter), 2 a malformed email and a mobile (an SMS), 3 a landline
only (unreachable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ariane.nir import make_nir
from leak_fixtures import FIRST, LAST, Record, synthetic_case

PERSONS = 36
COMMENT = "sérologie VIH négative, grossesse 12 SA"
MEASURES = "Le fichier a été retiré des sites qui le diffusaient et les accès ont été renforcés."


@dataclass(frozen=True)
class Person:
    """One synthetic person as written in the leak."""

    number: int
    nir: str
    birth_date: date
    last_name: str
    first_name: str
    email: str | None
    phone: str | None
    street: str | None
    labs: tuple[int, ...]

    @property
    def channel(self) -> str | None:
        """The channel the plan must choose, from how the person was built."""
        return {0: "email", 1: "letter", 2: "sms", 3: None}[self.number % 4]


def persons(count: int = PERSONS) -> list[Person]:
    """The persons, spread over three labs, every fifth in two."""
    people = []
    for i in range(count):
        sex = 1 + i % 2
        born = date(1940 + i % 60, 1 + i % 12, 1 + i % 27)
        kind = i % 4
        labs = (i % 3, (i + 1) % 3) if i % 5 == 0 else (i % 3,)
        people.append(
            Person(
                number=i,
                nir=make_nir(
                    sex, born.year, born.month, "35", f"{200 + i % 700:03d}", 100 + i
                ),  # fmt: skip
                birth_date=born,
                last_name=f"{LAST[i % len(LAST)]}{'' if i < 72 else i}",
                first_name=FIRST[i % len(FIRST)],
                email={0: f"personne.{i}@exemple.fr", 2: f"personne.{i}@"}.get(kind),
                phone={
                    2: f"06 12 34 {i // 100 % 100:02d} {i % 100:02d}",
                    3: f"02 99 00 {i // 100 % 100:02d} {i % 100:02d}",
                }.get(kind),  # fmt: skip
                street=f"{i + 1} rue des Lilas" if kind in (0, 1) else None,
                labs=labs,
            )
        )
    return people


def records(labs: list[dict[str, str]], people: list[Person]) -> list[Record]:
    """The leak's records: one per person and lab, each with the health comment."""
    return [
        Record(f"D{lab}{p.number:06d}", labs[lab], p.nir, p.last_name, p.first_name,
               p.birth_date, p.street, p.phone, p.email, COMMENT)
        for p in people
        for lab in p.labs
    ]  # fmt: skip


@dataclass(frozen=True)
class Built:
    """The case and what it was built from."""

    case_dir: Path
    labs: list[dict[str, str]]
    persons: list[Person]

    def lab_id(self, index: int) -> str:
        """The controller id of lab ``index``."""
        return self.labs[index]["controller_id"]


def build(root: Path, count: int = PERSONS) -> Built:
    """Synthesise the registry, write the leak, run it, state the measures taken."""
    from ariane import followup

    people = persons(count)
    with synthetic_case(
        root, labs=3, seed=29, records=lambda labs: records(labs, people), comments=True
    ) as made:
        followup.set_facts(made.case_dir, [f"measures_taken={MEASURES}"])
    return Built(made.case_dir, made.labs, people)


def synthetic_plan(
    case_dir: Path,
    emails: int,
    letters: int,
    *,
    controllers: int = 3,
    database_url: str | None = None,
    approve: bool = True,
) -> dict[str, str]:
    """A case holding only a plan (no leak): ``emails`` + ``letters`` notices, approved.

    Built straight into the tables the sender reads, so the outbox can be tested at sizes
    the pipeline would take minutes to reach; notice ``k`` names controller ``k % n`` (and
    every seventh also the next one). Returns each notice id's channel.
    """
    import pyarrow as pa

    from ariane import followup, notify
    from ariane.case import Case

    ids = [f"C{c:02d}" for c in range(controllers)]
    channels: dict[str, str] = {}
    rows: dict[str, list] = {name: [] for name in (
        "notice_id", "person_key_hash", "person_id", "controller_ids", "last_name",
        "first_name", "has_nir", "email", "phone", "address", "postal_code", "postal",
        "channel")}  # fmt: skip
    for k in range(emails + letters):
        notice_id = f"{k:08d}" + "ab" * 12
        channel = "email" if k < emails else "letter"
        named = sorted({ids[k % controllers], *([ids[(k + 1) % controllers]] if k % 7 == 0
                                                else [])})  # fmt: skip
        values = {
            "notice_id": notice_id, "person_key_hash": notice_id * 2, "person_id": k,
            "controller_ids": named, "last_name": f"NOM{k}", "first_name": "Prénom",
            "has_nir": True, "email": f"p{k}@exemple.fr" if channel == "email" else None,
            "phone": None, "address": [f"{k} avenue de la Gare", f"{35000 + k % 900} Ville"],
            "postal_code": f"{35000 + k % 900}", "postal": True, "channel": channel,
        }  # fmt: skip
        for name, value in values.items():
            rows[name].append(value)
        channels[notice_id] = channel
    with Case.create(case_dir) as case:
        engine = case.engine()
        engine.append("attribute_controllers", pa.table({
            "controller_id": ids, "name": [f"Laboratoire {c}" for c in ids],
            "dpo_email": [f"dpo@{c.lower()}.fr" for c in ids],
            "address": ["1 place du Marché"] * controllers,
            "postal_code": ["35000"] * controllers, "city": ["Rennes"] * controllers}))  # fmt: skip
        engine.append("notify_notices", pa.table(rows))
        engine.execute("CREATE TABLE notify_plan (document VARCHAR)")
        engine.execute(
            "INSERT INTO notify_plan VALUES (?)",
            [
                json.dumps(
                    {
                        "batch": "synthetic",
                        "notices": len(channels),
                        "persons": len(channels),
                        "unreachable": 0,
                        "by_controller": {},
                    }
                )
            ],
        )
    followup.set_facts(case_dir, [f"measures_taken={MEASURES}"])
    from ariane.notify import outbox
    from ariane.ops.db import open_database

    with Case.open(case_dir) as case:
        database = open_database(case, database_url)
        try:
            named = dict(zip(rows["notice_id"], rows["controller_ids"], strict=True))
            outbox.load_plan(database, [(i, i * 2, named[i], channels[i]) for i in channels])
            if approve:
                for controller_id in ids:
                    notify.approve(case, database, controller_id, "test")
        finally:
            database.close()
    return channels
