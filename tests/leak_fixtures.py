"""A small synthetic case from a leak written in code (shared by the notify and self-check
fixtures, which differ only in their persons).

A fixture says who its persons are and how each lab wrote them (:class:`Record`); this
module synthesises the labs' registry with ``ariane synth``, writes the leak CSV the way a
lab's export looks, and runs the case, all under the fixture's own key directory
(``root/keys``), so every expected count stays with the fixture that built the persons.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

LAST = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS"]
FIRST = ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Lucas", "Inès"]


@dataclass(frozen=True)
class Record:
    """One record of the leak: a person as one lab wrote it."""

    file_number: str
    lab: dict[str, str]  # the registry's row of the lab
    nir: str
    last_name: str
    first_name: str
    birth_date: date
    street: str | None
    phone: str | None
    email: str | None
    comment: str | None = None


def write_leak(
    path: Path, records: list[Record], *, last_name_column: str = "nom", comments: bool = False
) -> Path:
    """The leak CSV: one row per record (a ``commentaire`` column when ``comments``)."""
    header = ["N° dossier", "laboratoire", "FINESS", "num_secu", last_name_column, "Prénom",
              "Sexe", "ddn", "rue", "CP", "commune", "telephone", "adresse_mail"]  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header + (["commentaire"] if comments else []))
        for r in records:
            row = [
                r.file_number, r.lab["name"], r.lab["finess"], r.nir, r.last_name, r.first_name,
                "masculin" if r.nir[0] == "1" else "féminin", r.birth_date.strftime("%d/%m/%Y"),
                r.street or "", "35000" if r.street else "", "Rennes" if r.street else "",
                r.phone or "", r.email or "",
            ]  # fmt: skip
            writer.writerow(row + ([r.comment or ""] if comments else []))
    return path


@dataclass(frozen=True)
class Synthetic:
    """The case run, and the registry's labs it was built over."""

    case_dir: Path
    labs: list[dict[str, str]]


@contextmanager
def synthetic_case(
    root: Path,
    *,
    labs: int,
    seed: int,
    records: Callable[[list[dict[str, str]]], list[Record]],
    last_name_column: str = "nom",
    comments: bool = False,
) -> Iterator[Synthetic]:
    """Synthesise ``labs`` labs, write ``records(labs)`` as the leak, run the case.

    The block runs under the case's keys (``ARIANE_KEY_DIR=root/keys``), for what the
    fixture does next (facts, an export); they are unset again after it.
    """
    from ariane import pipeline
    from ariane.synth import generate

    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIANE_KEY_DIR", str(root / "keys"))
        env.delenv("ARIANE_KEY", raising=False)
        generate(root / "synth", rows=50, labs=labs, seed=seed)
        with open(root / "synth" / "registry.csv", encoding="utf-8") as handle:
            registry = list(csv.DictReader(handle))
        leak = write_leak(
            root / "leak.csv",
            records(registry),
            last_name_column=last_name_column,
            comments=comments,
        )
        case_dir = root / "case"
        pipeline.run(
            case_dir, pipeline.RunOptions([leak], registry=root / "synth" / "registry.csv")
        )
        yield Synthetic(case_dir, registry)
