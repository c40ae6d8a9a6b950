"""The synthetic leak generator (ariane.synth): validity, truth, determinism, knobs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren

from ariane.errors import ConfigError
from ariane.geo import referential
from ariane.synth import generate
from ariane.synth.notes import CATEGORIES, DISTRACTORS, MENTIONS, NOISE, strip_accents
from ariane.synth.world import NEIGHBOURS
from ariane.synth.writer import COLUMNS

ROWS = 2_000
SEX = {"M": 1, "H": 1, "1": 1, "Homme": 1, "masculin": 1,
       "F": 2, "2": 2, "Femme": 2, "féminin": 2}  # fmt: skip


class Leak:
    """A generated leak read back: truth, registry, rows by label, truth per record."""

    def __init__(self, out: Path, encoding: str = "utf-8", delimiter: str = ",") -> None:
        self.truth: dict[str, Any] = json.loads((out / "truth.json").read_text("utf-8"))
        with open(out / "registry.csv", encoding="utf-8", newline="") as handle:
            self.registry = list(csv.DictReader(handle))
        with open(out / "leak.csv", encoding=encoding, newline="") as handle:
            rows = list(csv.reader(handle, delimiter=delimiter))
        self.names = list(self.truth["columns"])
        self.labels = [self.truth["columns"][name] for name in self.names]
        self.header = rows[0] if self.truth["format"]["header"] != "none" else None
        self.rows = rows[1:] if self.header else rows
        with open(out / "truth_records.csv", encoding="utf-8", newline="") as handle:
            self.records = list(csv.DictReader(handle))

    def column(self, label: str, nth: int = 0) -> list[str]:
        """The values of the nth column with this label."""
        index = [i for i, lab in enumerate(self.labels) if lab == label][nth]
        return [row[index] for row in self.rows]


@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> Leak:
    out = tmp_path_factory.mktemp("synth")
    generate(out, rows=ROWS, seed=11)
    return Leak(out)


def _day(text: str) -> date:
    if "/" in text:
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


def test_every_nir_is_valid_and_agrees_with_sex_and_birth_date(leak: Leak) -> None:
    checked = 0
    for nir, sex, birth in zip(
        leak.column("id.nir"), leak.column("person.sex"), leak.column("person.birth_date"),
        strict=True,
    ):  # fmt: skip
        if not nir:
            continue
        assert stdnum_nir.is_valid(nir)
        number = stdnum_nir.compact(nir)
        born = _day(birth)
        assert int(number[1:3]) == born.year % 100
        assert int(number[3:5]) == born.month
        if sex:
            assert int(number[0]) == SEX[sex]
        checked += 1
    assert checked > 0.9 * ROWS


def test_nirs_include_corsica_overseas_and_abroad_births(leak: Leak) -> None:
    places = Counter()
    for nir in leak.column("id.nir"):
        if nir:
            place = stdnum_nir.compact(nir)[5:7]
            places["corsica" if place in ("2A", "2B") else place] += 1
    assert places["corsica"] and places["97"] and places["99"]


def test_identifiers_carry_valid_keys(leak: Leak) -> None:
    geo = referential()
    for lab in leak.registry:
        assert len(lab["finess"]) == 9 and luhn.is_valid(lab["finess"])
        assert stdnum_siren.is_valid(lab["siren"])
        assert lab["finess"][:2] == geo.departement_of_postal_code(lab["postal_code"])
        assert lab["city"] in {c.name for c in geo.communes_of_postal_code(lab["postal_code"])}
        assert re.fullmatch(r"[a-z0-9.]+@[a-z0-9-]+\.fr", lab["dpo_email"])
    rpps = [value for value in leak.column("provider.rpps") if value]
    assert rpps and all(len(v) == 11 and luhn.is_valid(v) for v in rpps)
    finess = {lab["finess"] for lab in leak.registry}
    written = [value.replace(" ", "") for value in leak.column("provider.finess") if value]
    assert written and set(written) <= finess


def test_registry_header_is_the_contract_one(leak: Leak) -> None:
    assert list(leak.registry[0]) == [
        "controller_id", "name", "finess", "siren", "address", "postal_code", "city",
        "dpo_email",
    ]  # fmt: skip
    assert len(leak.registry) == 28
    assert len({lab["name"] for lab in leak.registry}) == 28


def test_truth_counts_match_the_files(leak: Leak) -> None:
    truth = leak.truth
    assert truth["rows"] == len(leak.rows) == len(leak.records) == ROWS
    persons = {record["person_id"] for record in leak.records}
    assert truth["persons"] == len(persons)
    assert truth["persons_interval"] == [len(persons), len(persons)]
    assert 1.2 < ROWS / len(persons) < 1.6
    records_of = Counter(record["controller_id"] for record in leak.records)
    persons_of = Counter(
        controller for _, controller in {(r["person_id"], r["controller_id"]) for r in leak.records}
    )
    assert sum(c["records"] for c in truth["controllers"]) == ROWS
    for controller in truth["controllers"]:
        assert controller["records"] == records_of[controller["controller_id"]]
        assert controller["persons"] == persons_of[controller["controller_id"]]
    categories_of: dict[str, set[str]] = defaultdict(set)
    for record in leak.records:
        categories_of[record["person_id"]].update(filter(None, record["categories"].split("|")))
    for category in CATEGORIES:
        expected = sum(category in cats for cats in categories_of.values())
        assert truth["special_categories"][category] == expected
    assert sum(truth["special_categories"].values()) > 0
    assert sum(truth["severity"].values()) == len(persons)
    assert truth["departements"] == ["14", "29", "35", "37", "45", "56"]
    assert truth["regions"] == ["24", "28", "53"]
    assert [int(record["record"]) for record in leak.records] == list(range(1, ROWS + 1))
    assert [r["record_id"] for r in leak.records] == leak.column("id.internal")


def test_persons_recur_with_drift(leak: Leak) -> None:
    last_names = leak.column("person.last_name")
    names_of: dict[str, set[str]] = defaultdict(set)
    labs_of: dict[str, set[str]] = defaultdict(set)
    for record, last_name in zip(leak.records, last_names, strict=True):
        names_of[record["person_id"]].add(last_name.casefold())
        labs_of[record["person_id"]].add(record["controller_id"])
    assert any(len(names) > 1 for names in names_of.values())  # typos or accent loss
    assert any(len(labs) > 1 for labs in labs_of.values())  # seen at several labs
    for label in ("id.nir", "contact.phone", "contact.email", "health.blood_group"):
        assert "" in leak.column(label)  # missing values exist
        assert sum(1 for value in leak.column(label) if value) > ROWS / 2


def test_postal_codes_are_real_and_in_the_lab_area(leak: Leak) -> None:
    geo = referential()
    departement_of = {lab["controller_id"]: lab["finess"][:2] for lab in leak.registry}
    for record, postal_code, city in zip(
        leak.records, leak.column("contact.postal_code"), leak.column("contact.city"), strict=True
    ):
        communes = geo.communes_of_postal_code(postal_code)
        assert communes
        lab_departement = departement_of[record["controller_id"]]
        area = {lab_departement, *NEIGHBOURS[lab_departement]}
        assert {c.departement for c in communes} & area
        assert geo.is_commune_name(city)


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", strip_accents(template).casefold())
    regex = "".join(
        re.escape(part) if i % 2 == 0 else (r"\d\d/\d\d" if part == "day" else r"[^\n]+?")
        if part in ("day", "doctor") else r"\d+"
        for i, part in enumerate(parts)
    )  # fmt: skip
    return re.compile(regex)


def test_note_categories_in_truth_match_what_was_written(leak: Leak) -> None:
    mentions = [(_template_pattern(t), set(cats)) for t, cats in MENTIONS]
    others = [_template_pattern(t) for t in (*NOISE, *DISTRACTORS)]
    seen: Counter[str] = Counter()
    for record, first, second in zip(
        leak.records, leak.column("health.note", 0), leak.column("health.note", 1), strict=True
    ):
        written: set[str] = set()
        for fragment in re.split(r" ; | / |\n", f"{first}\n{second}"):
            if not fragment:
                continue
            folded = strip_accents(fragment).casefold()
            matched = [cats for pattern, cats in mentions if pattern.fullmatch(folded)]
            if matched:
                written.update(*matched)
            else:
                assert any(p.fullmatch(folded) for p in others), "fragment of unknown kind"
        truth = set(filter(None, record["categories"].split("|")))
        assert truth == written
        seen.update(truth)
    for category in CATEGORIES:
        assert 0 < seen[category] < 0.15 * ROWS


def test_pregnancy_is_only_written_for_women(leak: Leak) -> None:
    for record, nir in zip(leak.records, leak.column("id.nir"), strict=True):
        if "pregnancy" in record["categories"] and nir:
            assert stdnum_nir.compact(nir)[0] == "2"


def test_blood_groups_use_french_spellings(leak: Leak) -> None:
    groups = [value for value in leak.column("health.blood_group") if value]
    pattern = re.compile(r"(O|A|B|AB) ?(\+|-|pos|neg|nég|Rh\+|Rh-|RH\+|RH-|positif|négatif)")
    assert all(pattern.fullmatch(value) for value in groups)
    abo = Counter(value.split(" ")[0].rstrip("+-").removesuffix("pos").removesuffix("neg")
                  .removesuffix("nég") for value in groups)  # fmt: skip
    assert abo["A"] > abo["B"] > abo["AB"] and abo["O"] > abo["B"]


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    names = ("leak.csv", "registry.csv", "truth.json", "truth_records.csv")
    generate(tmp_path / "a", rows=1_500, seed=5)
    generate(tmp_path / "b", rows=1_500, seed=5)
    generate(tmp_path / "c", rows=1_500, seed=6)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "leak.csv").read_bytes() != (tmp_path / "c" / "leak.csv").read_bytes()


@pytest.mark.parametrize(
    ("encoding", "delimiter", "header"),
    [
        ("utf-8-sig", ";", "fr"),
        ("cp1252", "|", "en"),
        ("latin-1", "\t", "none"),
        ("utf-8", ",", "en"),
    ],
)
def test_knobs_give_files_csv_reads_back(
    tmp_path: Path, encoding: str, delimiter: str, header: str
) -> None:
    generate(tmp_path, rows=400, seed=3, encoding=encoding, delimiter=delimiter, header=header)
    read_encoding = "utf-8-sig" if encoding.startswith("utf-8") else encoding
    leak = Leak(tmp_path, encoding=read_encoding, delimiter=delimiter)
    assert len(leak.rows) == 400
    assert all(len(row) == len(COLUMNS) for row in leak.rows)
    if header == "none":
        assert leak.names == [f"col_{i}" for i in range(1, len(COLUMNS) + 1)]
        assert re.fullmatch(r"D\d+", leak.rows[0][0])
    else:
        assert leak.header == leak.names
    raw = (tmp_path / "leak.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")


def test_header_wording_varies_with_the_seed(tmp_path: Path) -> None:
    headers = set()
    for seed in range(4):
        generate(tmp_path / str(seed), rows=10, seed=seed)
        headers.add(tuple(json.loads((tmp_path / str(seed) / "truth.json").read_text())["columns"]))
    assert len(headers) > 1


@pytest.mark.parametrize(
    "options",
    [{"rows": 0}, {"labs": 0}, {"encoding": "utf-16"}, {"delimiter": ":"}, {"header": "de"}],
)
def test_bad_options_raise_config_errors(tmp_path: Path, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        generate(tmp_path, **options)


def test_lab_count_is_a_knob(tmp_path: Path) -> None:
    generate(tmp_path, rows=300, labs=5, seed=1)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert len(truth["controllers"]) == 5
    assert sum(c["records"] for c in truth["controllers"]) == 300


def test_output_does_not_depend_on_the_string_hash_seed(tmp_path: Path) -> None:
    # Set iteration order changes with PYTHONHASHSEED; the bytes must not.
    generate(tmp_path / "here", rows=500, seed=8)
    code = "import sys; from ariane.synth import generate; generate(sys.argv[1], rows=500, seed=8)"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], env=env, check=True)
    for name in ("leak.csv", "truth.json", "truth_records.csv", "registry.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes()
