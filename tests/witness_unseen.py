"""Witnesses written for the unseen-labels check of issue 15 (branch ``coverage``), after
the fixes of the ``excel`` branch and measured once before any change to the classifier.

Other header languages and layouts than :mod:`witness_leaks`: English abbreviations of a
US-style results export, German abbreviations, a results table with no header, French
capitals and abbreviations; results tables repeat each patient (two analyses each).
Builders and truths as in :mod:`witness_leaks`; ``python tests/witness_unseen.py`` prints
their figures.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from witness_leaks import (
    ANALYSES,
    Built,
    Field,
    Person,
    _csv_text,
    _member_number,
    _truth,
    people,
)

#: A column of a results table: (header, label, index in an ``ANALYSES`` entry).
TestField = tuple[str, str, int]


def _results(
    path: Path,
    ppl: list[Person],
    fields: list[Field],
    tests: list[TestField],
    delimiter: str,
    header: bool = True,
    encoding: str = "utf-8",
) -> Built:
    """Two analyses per person, drawn from ``ANALYSES``; the table and its truth."""
    rng = random.Random(len(ppl) + 7)
    names = [h for h, _l, _f in fields] + [h for h, _l, _i in tests]
    table, listed = [], []
    for p in ppl:
        for analysis in rng.sample(ANALYSES, 2):
            table.append([f(p) for _h, _l, f in fields] + [analysis[i] for _h, _l, i in tests])
            listed.append(p)
    text = _csv_text(names if header else None, table, delimiter, "\n")
    path.write_bytes(text.encode(encoding, "replace"))
    truth = _truth(str(path), listed, fields)
    truth["columns"][str(path)].update({h: label for h, label, _i in tests})
    return [path], truth


US_ABBREV: list[Field] = [
    ("MRN", "id.internal", lambda p: f"{int(p.nir[7:13]) * 7:07d}"),
    ("Pt Last", "person.last_name", lambda p: p.last),
    ("Pt First", "person.first_name", lambda p: p.first),
    ("DOB", "person.birth_date", lambda p: p.birth.strftime("%m/%d/%Y")),
    ("Sx", "person.sex", lambda p: "MF"[p.sex - 1]),
    ("Addr", "contact.address", lambda p: f"{p.street}, {p.city} {p.postal_code}"),
    ("Ph", "contact.phone", lambda p: p.phone),
    ("Payer", "insurance.insurer", lambda p: p.insurer),
    ("Policy #", "insurance.member_id", _member_number),
    ("Coll Dt", "health.visit_date", lambda p: p.visit.strftime("%m/%d/%Y")),
]


def english_abbrev_csv(out: Path, rows: int = 300, seed: int = 31) -> Built:
    """A US-style results export with abbreviated headers (``,``, UTF-8)."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [
        ("Test Cd", "health.test", 0),
        ("Result", "health.test", 3),
        ("UOM", "other", 4),
        ("Ref Rng", "other", 5),
    ]
    return _results(out / "lab_results.csv", ppl, US_ABBREV, tests, ",")


GERMAN_ABBREV: list[Field] = [
    ("Pat.-Nr.", "id.internal", lambda p: f"{int(p.nir[7:13]) + 30000}"),
    ("Name", "person.last_name", lambda p: p.last),
    ("Vorname", "person.first_name", lambda p: p.first),
    ("Geb.-Dat.", "person.birth_date", lambda p: p.birth.strftime("%d.%m.%Y")),
    ("Geschl.", "person.sex", lambda p: "mw"[p.sex - 1]),
    ("Str.", "contact.street", lambda p: p.street),
    ("PLZ", "contact.postal_code", lambda p: p.postal_code),
    ("Ort", "contact.city", lambda p: p.city),
    ("Tel.", "contact.phone", lambda p: p.phone),
    ("Kasse", "insurance.insurer", lambda p: p.insurer),
    ("Vers.-Nr.", "insurance.member_id", lambda p: f"K{p.nir[2:11]}"),
]


def german_abbrev_semicolon(out: Path, rows: int = 300, seed: int = 32) -> Built:
    """German abbreviations, ``;``, UTF-8: parameter, value, unit, normal range."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [
        ("Parameter", "health.test", 2),
        ("Wert", "health.test", 3),
        ("Einh.", "other", 4),
        ("Norm", "other", 5),
    ]
    return _results(out / "laborwerte.csv", ppl, GERMAN_ABBREV, tests, ";")


HEADERLESS_RESULTS: list[Field] = [
    ("col_1", "id.internal", lambda p: f"P{p.nir[7:13]}"),
    ("col_2", "person.last_name", lambda p: p.last.upper()),
    ("col_3", "person.first_name", lambda p: p.first),
    ("col_4", "person.birth_date", lambda p: p.birth.isoformat()),
    ("col_5", "contact.address", lambda p: f"{p.street} {p.postal_code} {p.city}"),
    ("col_6", "insurance.member_id", _member_number),
]


def headerless_results_pipe(out: Path, rows: int = 300, seed: int = 33) -> Built:
    """A results table with no header, ``|``-separated, Latin-1: LOINC, result, unit."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("col_7", "health.test", 1), ("col_8", "health.test", 3), ("col_9", "other", 4)]
    return _results(
        out / "export.txt", ppl, HEADERLESS_RESULTS, tests, "|", header=False, encoding="latin-1"
    )


FRENCH_CAPS: list[Field] = [
    ("N° DOSSIER", "id.internal", lambda p: f"D{int(p.nir[7:13]):07d}"),
    ("NOM", "person.last_name", lambda p: p.last.upper()),
    ("PRENOM", "person.first_name", lambda p: p.first.upper()),
    ("DDN", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("NIR", "id.nir", lambda p: p.nir),
    ("ADR", "contact.street", lambda p: p.street.upper()),
    ("CP", "contact.postal_code", lambda p: p.postal_code),
    ("VILLE", "contact.city", lambda p: p.city.upper()),
    ("TEL", "contact.phone", lambda p: p.phone),
    ("MUTUELLE", "insurance.insurer", lambda p: p.insurer.upper()),
    ("N° ADH", "insurance.member_id", _member_number),
]


def french_caps_tsv(out: Path, rows: int = 300, seed: int = 34) -> Built:
    """French capitals and abbreviations, tab separated, Windows-1252."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("ANALYSE", "health.test", 2), ("RES", "health.test", 3), ("U", "other", 4)]
    return _results(out / "extraction.tsv", ppl, FRENCH_CAPS, tests, "\t", encoding="cp1252")


#: Every builder, by name.
BUILDERS: dict[str, Callable[..., Built]] = {
    "english_abbrev_csv": english_abbrev_csv,
    "german_abbrev_semicolon": german_abbrev_semicolon,
    "headerless_results_pipe": headerless_results_pipe,
    "french_caps_tsv": french_caps_tsv,
}


# --- a second set, written after the fixes above, measured once and never tuned on ---------
DUTCH_RESULTS: list[Field] = [
    ("Patiëntnummer", "id.internal", lambda p: f"{int(p.nir[7:13]) + 500000}"),
    ("Achternaam", "person.last_name", lambda p: p.last),
    ("Voornaam", "person.first_name", lambda p: p.first),
    ("Geboortedatum", "person.birth_date", lambda p: p.birth.strftime("%d-%m-%Y")),
    ("Geslacht", "person.sex", lambda p: "MV"[p.sex - 1]),
    ("Adres", "contact.address", lambda p: f"{p.street}, {p.postal_code} {p.city}"),
    ("Zorgverzekeraar", "insurance.insurer", lambda p: p.insurer),
    ("Polisnummer", "insurance.member_id", lambda p: f"{p.nir[3:12]}"),
]


def dutch_results_semicolon(out: Path, rows: int = 300, seed: int = 35) -> Built:
    """Dutch results, ``;``, UTF-8: a whole address, the insurer and its policy number."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("Bepaling", "health.test", 2), ("Uitslag", "health.test", 3),
             ("Eenheid", "other", 4)]  # fmt: skip
    return _results(out / "uitslagen.csv", ppl, DUTCH_RESULTS, tests, ";")


SNAKE_CASE: list[Field] = [
    ("pt_id", "id.internal", lambda p: f"{int(p.nir[7:13]):06d}"),
    ("surname", "person.last_name", lambda p: p.last),
    ("forename", "person.first_name", lambda p: p.first),
    ("dob", "person.birth_date", lambda p: p.birth.isoformat()),
    ("gender", "person.sex", lambda p: ("male", "female")[p.sex - 1]),
    ("address_line", "contact.address", lambda p: f"{p.street}, {p.city} {p.postal_code}"),
    ("insurer_name", "insurance.insurer", lambda p: p.insurer),
    ("insurer_ref", "insurance.member_id", _member_number),
]


def english_snake_case(out: Path, rows: int = 300, seed: int = 36) -> Built:
    """A database export in snake_case English (``,``, UTF-8): LOINC, value, units."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("loinc", "health.test", 1), ("value", "health.test", 3), ("units", "other", 4)]
    return _results(out / "export_results.csv", ppl, SNAKE_CASE, tests, ",")


ITALIAN_CAPS: list[Field] = [
    ("COD_PAZ", "id.internal", lambda p: f"PZ{p.nir[7:13]}"),
    ("COGNOME", "person.last_name", lambda p: p.last.upper()),
    ("NOME", "person.first_name", lambda p: p.first.upper()),
    ("DATA_NASCITA", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("SESSO", "person.sex", lambda p: "MF"[p.sex - 1]),
    ("INDIRIZZO", "contact.street", lambda p: p.street.upper()),
    ("CAP", "contact.postal_code", lambda p: p.postal_code),
    ("COMUNE", "contact.city", lambda p: p.city.upper()),
    ("TELEFONO", "contact.phone", lambda p: p.phone),
]


def italian_caps_pipe(out: Path, rows: int = 300, seed: int = 37) -> Built:
    """Italian capitals in snake case, ``|``, UTF-8: exam, outcome, unit."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("ESAME", "health.test", 2), ("ESITO", "health.test", 3), ("UM", "other", 4)]
    return _results(out / "referti.txt", ppl, ITALIAN_CAPS, tests, "|")


#: The second set, held out.
HELDOUT: dict[str, Callable[..., Built]] = {
    "dutch_results_semicolon": dutch_results_semicolon,
    "english_snake_case": english_snake_case,
    "italian_caps_pipe": italian_caps_pipe,
}


def build(name: str, out: Path, rows: int = 300) -> Built:
    out.mkdir(parents=True, exist_ok=True)
    return {**BUILDERS, **HELDOUT}[name](out, rows)


if __name__ == "__main__":  # python tests/witness_unseen.py: the figures of each witness
    import tempfile

    from witness_leaks import evaluate

    right = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in [*BUILDERS, *HELDOUT]:
            m = evaluate(*build(name, Path(tmp) / name))
            total += m["columns"]
            right += m["columns"] - len(m["wrong"])
            print(f"{name:24} columns {m['column_accuracy']:.3f} ({m['columns']})")
            for line in m["wrong"]:
                print("    ", line)
    print(f"all: {right}/{total} columns right")
