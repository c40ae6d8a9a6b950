"""Synthetic leaks modelled on the 2021 lab-software case, with their ground truth.

:func:`generate` writes into a directory:

- ``leak.csv``: the leaked table (one row per record; persons recur across visits and
  labs with typos, drift and missing values; two free-text comment columns);
- ``registry.csv``: the controllers (labs), in the CONTRACT.md registry format;
- ``truth.json``: what ``ariane summary --json`` should find, plus ``columns`` (the true
  label of each column) and ``seed``;
- ``truth_records.csv``: for each record, its person, its controller and the special
  categories its comments mention.

Output is byte-identical for a seed, and written in chunks: persons are drawn block by
block from per-block seeds, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from ariane.errors import ConfigError
from ariane.geo import Referential, referential
from ariane.progress import SILENT, Progress
from ariane.synth.people import AWARE_AT, FileStyle, People, Record
from ariane.synth.truth import Tally
from ariane.synth.world import build_world
from ariane.synth.writer import (
    COLUMNS,
    DELIMITERS,
    ENCODINGS,
    HEADERS,
    LeakWriter,
    column_order,
    header_names,
    write_registry,
)

__all__ = ["AWARE_AT", "SynthResult", "generate"]

CASE_ROWS = 491_840  # the size of the 2021 leak
_PERSONS_PER_BLOCK = 1_000
_CARRY = 2_000  # records held back and shuffled with the next block, spreading duplicates
# Visits per person: 1 to 4, about 1.4 records per person.
_VISITS_CUM = list(accumulate((72, 18, 7, 3)))
_SEX_CODES = (("M", "F"), ("H", "F"), ("1", "2"), ("Homme", "Femme"), ("masculin", "féminin"))


@dataclass(frozen=True)
class SynthResult:
    """Where a synthetic leak was written and its headline counts."""

    out_dir: Path
    leak: Path
    registry: Path
    truth: Path
    truth_records: Path
    rows: int
    persons: int
    seed: int


def _check(rows: int, labs: int, encoding: str, delimiter: str, header: str) -> None:
    if rows < 1:
        raise ConfigError(f"--rows must be at least 1, not {rows}")
    if labs < 1:
        raise ConfigError(f"--labs must be at least 1, not {labs}")
    if encoding not in ENCODINGS:
        raise ConfigError(f"encoding must be one of {', '.join(ENCODINGS)}")
    if delimiter not in DELIMITERS:
        raise ConfigError("delimiter must be one of , ; | or a tab")
    if header not in HEADERS:
        raise ConfigError(f"header must be one of {', '.join(HEADERS)}")


def _birth_places(geo: Referential) -> dict[str, tuple[str, ...]]:
    """For each département of birth, the commune parts a NIR can carry (3 or 2 digits)."""
    places: dict[str, list[str]] = {}
    for code in geo.communes_by_code:
        split = 3 if code.startswith("97") or code.startswith("98") else 2
        places.setdefault(code[:split], []).append(code[split:])
    return {departement: tuple(suffixes) for departement, suffixes in places.items()}


def generate(
    out_dir: str | Path,
    rows: int = CASE_ROWS,
    labs: int = 28,
    seed: int = 2021,
    encoding: str = "utf-8",
    delimiter: str = ",",
    header: str = "fr",
    progress: Progress = SILENT,
) -> SynthResult:
    """Write a synthetic leak and its ground truth into ``out_dir``."""
    _check(rows, labs, encoding, delimiter, header)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    geo = referential()
    world = build_world(geo, labs, seed)
    style_rng = random.Random(f"style:{seed}")
    style = FileStyle(day_first=style_rng.random() < 0.75, sex_codes=style_rng.choice(_SEX_CODES))
    order = column_order(style_rng)
    names = header_names(header, style_rng, order)
    people = People(world, style, _birth_places(geo))
    tally = Tally(world.labs)
    writer = LeakWriter(out, encoding, delimiter, None if header == "none" else names)
    written = 0
    pending: list[Record] = []
    try:
        with progress.task("Writing leak.csv", total=rows) as tracker:
            block = 0
            while tally.rows < rows:
                rng = random.Random(f"block:{seed}:{block}")
                for _ in range(_PERSONS_PER_BLOCK):
                    if tally.rows >= rows:
                        break
                    person = people.person(rng, tally.persons + 1)
                    visits = rng.choices((1, 2, 3, 4), cum_weights=_VISITS_CUM)[0]
                    records = people.records(rng, person, min(visits, rows - tally.rows))
                    tally.add_person(records)
                    pending.extend(records)
                rng.shuffle(pending)
                ready = pending if tally.rows >= rows else pending[:-_CARRY]
                pending = [] if tally.rows >= rows else pending[-_CARRY:]
                _write(writer, ready, written, order)
                written += len(ready)
                tracker.advance(len(ready))
                block += 1
    finally:
        writer.close()
    registry = out / "registry.csv"
    write_registry(
        registry,
        (
            (
                lab.controller_id,
                lab.name,
                lab.finess,
                lab.siren,
                lab.street,
                lab.postal_code,
                lab.commune.name,
                lab.dpo_email,
            )  # fmt: skip
            for lab in world.labs
        ),
    )
    region_of = {code: entry[1] for code, entry in geo.departements.items()}
    truth = tally.summary(region_of)
    truth["columns"] = {name: COLUMNS[i].label for name, i in zip(names, order, strict=True)}
    truth["seed"] = seed
    truth["aware_at"] = AWARE_AT.isoformat()
    truth["format"] = {"encoding": encoding, "delimiter": delimiter, "header": header}
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return SynthResult(
        out_dir=out,
        leak=out / "leak.csv",
        registry=registry,
        truth=truth_path,
        truth_records=out / "truth_records.csv",
        rows=tally.rows,
        persons=tally.persons,
        seed=seed,
    )


def _write(writer: LeakWriter, records: list[Record], first_row: int, order: list[int]) -> None:
    rows = []
    truth = []
    for offset, record in enumerate(records):
        number = first_row + offset + 1
        record_id = f"D{20_210_000 + number * 7:09d}"
        row = [record_id, *record.fields]
        rows.append([row[i] for i in order])
        truth.append(
            (number, record_id, record.person_id, record.controller_id, "|".join(record.categories))
        )
    writer.write(rows, truth)
