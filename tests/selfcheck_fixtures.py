"""A small synthetic case built for the self-check tests, with its identifiers known.

Forty persons of two labs (the registry comes from ``ariane synth``), one record each,
built so every answer channel occurs: ``i % 4 == 0`` email + phone + address,
``1`` phone + address (an SMS), ``2`` email + phone, ``3`` address only (a letter); the
last person has no contact at all (pointed to the DPO by the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ariane.nir import make_nir
from leak_fixtures import FIRST, LAST, Record, synthetic_case

PERSONS = 40


@dataclass(frozen=True)
class Person:
    """One synthetic person as written in the leak."""

    number: int
    nir: str
    birth_date: date
    email: str | None
    phone: str | None
    street: str | None
    controller_id: str

    @property
    def phone_e164(self) -> str | None:
        """The phone as the service normalises it."""
        return None if self.phone is None else "+33" + self.phone.replace(" ", "")[1:]


@dataclass(frozen=True)
class Built:
    """The case, its index, and the persons it was built from."""

    case_dir: Path
    index_dir: Path
    hmac_key: Path
    sender_key: Path
    persons: list[Person]
    controllers: dict[str, tuple[str, str]]  # id -> (name, dpo_email)


def persons(labs: list[dict[str, str]]) -> list[Person]:
    """The forty persons, spread over the labs."""
    people = []
    for i in range(PERSONS):
        sex = 1 + i % 2
        born = date(1940 + i, 1 + i % 12, 1 + i % 27)
        channel = i % 4
        last = i == PERSONS - 1
        people.append(
            Person(
                number=i,
                nir=make_nir(sex, born.year, born.month, "35", f"{200 + i:03d}", 100 + i),
                birth_date=born,
                email=None if last or channel in (1, 3) else f"personne.{i}@exemple.fr",
                phone=None if last or channel == 3 else f"06 12 34 56 {i:02d}",
                street=None if last or channel == 2 else f"{i + 1} rue des Lilas",
                controller_id=labs[i % len(labs)]["controller_id"],
            )
        )
    return people


def records(labs: list[dict[str, str]], people: list[Person]) -> list[Record]:
    """The leak's records: one per person, in its lab's file."""
    by_id = {lab["controller_id"]: lab for lab in labs}
    return [
        Record(f"D2021{p.number:05d}", by_id[p.controller_id], p.nir,
               LAST[p.number % len(LAST)], FIRST[p.number % len(FIRST)], p.birth_date,
               p.street, p.phone, p.email)
        for p in people
    ]  # fmt: skip


def build(root: Path) -> Built:
    """Synthesise, run and export the case under ``root`` (keys in ``root/keys``)."""
    from ariane.selfcheck.export import export

    people: list[Person] = []

    def leak(labs: list[dict[str, str]]) -> list[Record]:
        people.extend(persons(labs))
        return records(labs, people)

    with synthetic_case(
        root, labs=2, seed=13, records=leak, last_name_column="nom_naissance"
    ) as made:
        result = export(made.case_dir, root / "index")
    return Built(
        made.case_dir,
        result.index_dir,
        result.hmac_key,
        result.sender_key,
        people,
        {lab["controller_id"]: (lab["name"], lab["dpo_email"]) for lab in made.labs},
    )
