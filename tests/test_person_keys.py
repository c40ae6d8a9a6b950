"""Person keys found from the data (classify/keys.py), used by resolve; and the interval.

The leak is built here: persons with one to three records each, names and birth dates
with typos in the copies, a number of the person's own under a header that says nothing
(``zz9``, a typo in one copy in ten), a row number unique per row (``ref``) and an order
number shared by the records of one order (``cmd``: most persons' copies are other orders).
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from ariane import classify, read
from ariane.case import Case
from ariane.resolve import resolve, summarise

FIRST = ["Jeanne", "Louis", "Camille", "Hugo", "Manon", "Jules", "Lina", "Adam", "Chloe", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
LAST += ["Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David"]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + rng.choice("aeioulnrst") + word[i + 1 :]


def write_leak(path: Path, persons: int, seed: int) -> int:
    """Write the leak; return its number of persons."""
    rng = random.Random(seed)
    rows = []
    order = 500_000
    for person in range(persons):
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{rng.choice(['', 'e', 'on', 'ier'])}"
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))
        key = str(rng.randrange(10**6, 10**7))
        for copy in range(rng.choice([1, 1, 2, 3])):
            # Numbered in sequence: a person's next order is often a digit away.
            if copy == 0 or rng.random() < 0.7:
                order += rng.randrange(1, 9)
            number = key
            f, n, b = first, last, born.strftime("%d/%m/%Y")
            if copy:
                typo = rng.random()
                if typo < 0.3:
                    n = _typo(n, rng)
                elif typo < 0.5:
                    f = _typo(f, rng)
                elif typo < 0.6:
                    b = (born + timedelta(days=rng.choice([1, -1]))).strftime("%d/%m/%Y")
                elif typo < 0.7:
                    number = _typo(key, rng).replace(" ", "0")
            rows.append([f, n, b, number, str(order), person])
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["prenom", "nom", "date_naissance", "zz9", "cmd", "ref"])
        for i, (f, n, b, number, cmd, _) in enumerate(rows):
            out.writerow([f, n, b, number, cmd, f"R{100_000 + i}"])
    return persons


def _columns(path: Path) -> dict[str, tuple[str, bool | None]]:
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [path])
        classify.classify(engine)
        return {
            name: (label, json.loads(evidence).get("person_key"))
            for name, label, evidence in engine.fetch(
                "SELECT column_name, label, evidence FROM classify_columns"
            )
        }


@pytest.fixture(scope="module")
def leak(tmp_path_factory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("keys") / "leak.csv"
    return path, write_leak(path, 400, seed=3)


def test_a_person_key_is_found_whatever_its_header(leak):
    columns = _columns(leak[0])
    assert columns["zz9"] == ("id.internal", True)


def test_row_and_order_numbers_are_no_person_keys(leak):
    columns = _columns(leak[0])
    assert columns["ref"][1] is not True  # unique per row: nothing shared to judge by
    assert columns["cmd"][1] is not True  # one person, several orders


def test_persons_and_interval_with_a_person_key(leak):
    path, persons = leak
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [path])
        classify.classify(engine)
        resolve(engine)
        found = summarise(engine)
    low, high = found["persons_interval"]
    assert abs(found["persons"] - persons) <= 0.02 * persons
    assert low <= persons <= high


@pytest.mark.parametrize("seed", [5, 8])
def test_interval_holds_on_small_leaks_without_a_key(tmp_path, seed):
    """The same leaks with the person's number left out: names and dates alone."""
    path = tmp_path / "leak.csv"
    persons = write_leak(path, 250, seed=seed)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r[:3] for r in csv.reader(handle)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [path])
        classify.classify(engine)
        resolve(engine)
        low, high = summarise(engine)["persons_interval"]
    assert low <= persons <= high
