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


# --- a third set: membership numbers with no insurer beside them, and internal ids that
# --- must stay so; written by hand before the classifier told them apart ----------------
def _digits(p: Person) -> str:
    """The NIR's digits (Corsica's 2A and 2B as 20)."""
    return p.nir.replace("A", "0").replace("B", "0")


def _mutuelle_number(p: Person) -> str:
    """The membership number of a French complementary insurer, each in its own scheme
    (lengths, letters, separators differ from one insurer to the next)."""
    digits = _digits(p)[1:13]
    schemes = {
        "MGEN": lambda: digits[:10],
        "Harmonie Mutuelle": lambda: f"{digits}",
        "Malakoff Humanis": lambda: f"MH{digits[2:10]}",
        "AG2R La Mondiale": lambda: f"{digits[3:11]}A",
        "Intériale": lambda: f"INT-{digits[4:11]}",
        "Groupama": lambda: f"GMA{digits[1:8]}",
    }
    return schemes.get(p.insurer, lambda: f"{digits[:9]}")()


def _kvnr(p: Person) -> str:
    """A German insurance number with its check digit (letter, eight digits, key)."""
    letter = "ABCDEFGHIJKLMNOPRSTUVWXYZ"[int(_digits(p)[7:9]) % 25]
    body = _digits(p)[5:13]
    digits = f"{ord(letter) - 64:02d}{body}"
    total = sum(sum(divmod(int(d) * (1 + i % 2), 10)) for i, d in enumerate(digits))
    return f"{letter}{body}{total % 10}"


def _health_card(p: Person) -> str:
    """A European Health Insurance Card number: 80, the country, digits, a Luhn key."""
    from stdnum import luhn

    country = ("250", "620", "724", "276")[int(_digits(p)[12]) % 4]
    body = f"80{country}{_digits(p)[:13]}0"
    return body + luhn.calc_check_digit(body)


HEADERLESS_MUTUELLE: list[Field] = [
    ("col_1", "id.internal", lambda p: f"{2021000000 + int(p.nir[7:13])}"),
    ("col_2", "person.last_name", lambda p: p.last.upper()),
    ("col_3", "person.first_name", lambda p: p.first),
    ("col_4", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("col_5", "insurance.member_id", _mutuelle_number),
    ("col_6", "contact.phone", lambda p: p.phone),
]


def headerless_mutuelle_semicolon(out: Path, rows: int = 300, seed: int = 41) -> Built:
    """No header, ``;``: the lab's file number, the patient, then the membership number at
    the patient's mutuelle (each mutuelle its own scheme), no insurer named."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("col_7", "health.test", 2), ("col_8", "health.test", 3), ("col_9", "other", 4)]
    return _results(out / "extract.csv", ppl, HEADERLESS_MUTUELLE, tests, ";", header=False)


POLISH_KVNR: list[Field] = [
    ("Nr pacjenta", "id.internal", lambda p: f"K/{int(p.nir[7:13]):06d}"),
    ("Nazwisko", "person.last_name", lambda p: p.last),
    ("Imię", "person.first_name", lambda p: p.first),
    ("Data urodzenia", "person.birth_date", lambda p: p.birth.isoformat()),
    ("Nr ubezpieczenia", "insurance.member_id", _kvnr),
]


def polish_kvnr_csv(out: Path, rows: int = 300, seed: int = 42) -> Built:
    """Polish headers (a cross-border lab), ``,``: German insurance numbers, no insurer."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("Badanie", "health.test", 2), ("Wynik", "health.test", 3), ("Jedn.", "other", 4)]
    return _results(out / "wyniki.csv", ppl, POLISH_KVNR, tests, ",")


HEADERLESS_EHIC: list[Field] = [
    ("col_1", "person.last_name", lambda p: p.last.upper()),
    ("col_2", "person.first_name", lambda p: p.first),
    ("col_3", "person.birth_date", lambda p: p.birth.strftime("%d.%m.%Y")),
    ("col_4", "insurance.member_id", _health_card),
    ("col_5", "id.internal", lambda p: f"{int(p.nir[7:13]) * 3 + 100000}"),
]


def headerless_ehic_tab(out: Path, rows: int = 300, seed: int = 43) -> Built:
    """No header, tabs: visitors' European Health Insurance Cards, then the file number."""
    ppl = people(rows // 2, seed, 0.0)
    tests = [("col_6", "health.test", 2), ("col_7", "health.test", 3), ("col_8", "other", 4)]
    return _results(out / "visitors.tsv", ppl, HEADERLESS_EHIC, tests, "\t", header=False)


def headerless_two_numbers(out: Path, rows: int = 300, seed: int = 44) -> Built:
    """No header, ``,``: patient numbers 1..N and sample numbers of two sites
    (``RN21-000123``, ``SM21-000456``): both the lab's own numbers, no membership number."""
    ppl = people(rows // 2, seed, 0.0)
    rng = random.Random(seed)
    table, listed = [], []
    for n, p in enumerate(ppl, start=1):
        for analysis in rng.sample(ANALYSES, 2):
            sample = f"{rng.choice(('RN', 'SM'))}21-{len(table) + 1:06d}"
            table.append([str(n), p.last, p.first, p.birth.isoformat(), sample, analysis[2],
                          analysis[3], analysis[4]])  # fmt: skip
            listed.append(p)
    path = out / "samples.csv"
    path.write_text(_csv_text(None, table, ",", "\n"), encoding="utf-8")
    fields: list[Field] = [
        ("col_1", "id.internal", lambda p: ""),
        ("col_2", "person.last_name", lambda p: p.last),
        ("col_3", "person.first_name", lambda p: p.first),
        ("col_4", "person.birth_date", lambda p: p.birth.isoformat()),
        ("col_5", "id.internal", lambda p: ""),
    ]
    truth = _truth(str(path), listed, fields)
    truth["columns"][str(path)].update(
        {"col_6": "health.test", "col_7": "health.test", "col_8": "other"}
    )
    return [path], truth


#: The third set: membership numbers told by their values, and internal ids kept.
MEMBERSHIP: dict[str, Callable[..., Built]] = {
    "headerless_mutuelle_semicolon": headerless_mutuelle_semicolon,
    "polish_kvnr_csv": polish_kvnr_csv,
    "headerless_ehic_tab": headerless_ehic_tab,
    "headerless_two_numbers": headerless_two_numbers,
}


def build(name: str, out: Path, rows: int = 300) -> Built:
    out.mkdir(parents=True, exist_ok=True)
    return {**BUILDERS, **HELDOUT, **MEMBERSHIP}[name](out, rows)


if __name__ == "__main__":  # python tests/witness_unseen.py: the figures of each witness
    import tempfile

    from witness_leaks import evaluate

    right = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in [*BUILDERS, *HELDOUT, *MEMBERSHIP]:
            m = evaluate(*build(name, Path(tmp) / name))
            total += m["columns"]
            right += m["columns"] - len(m["wrong"])
            print(f"{name:24} columns {m['column_accuracy']:.3f} ({m['columns']})")
            for line in m["wrong"]:
                print("    ", line)
    print(f"all: {right}/{total} columns right")
