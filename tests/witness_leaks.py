"""Leaks shaped unlike :mod:`ariane.synth`: other headers, languages, layouts, tools.

Every builder takes an output directory, a row count and a seed, writes one leak and
returns ``(paths, truth)``:

``truth["columns"]``  ``{file: {column: label}}``, ``file`` as ``scan`` names it (the
                      path given, or the member path inside an archive);
``truth["records"]``  every record in the input (rows + quarantined must add up to it);
``truth["quarantined"]`` records damaged on purpose (minimum expected in quarantine);
``truth["mentions"]`` ``{file: {record: [category, ...]}}`` from notes and structured
                      health columns alike (records numbered from 1 as the reader does);
``truth["notes"]``    ``{file: [note column, ...]}``;
``truth["values"]``   ``{file: {column: [value of record 1, 2, ...]}}`` for the NIR, name and
                      note columns, as written (empty for a missing value): read exactly.

People come from Faker (several locales), real communes from :mod:`ariane.geo`, NIRs
from :func:`ariane.nir.make_nir`, IBANs from python-stdnum; never from ``ariane.synth``.
Nothing here is a test: ``test_read_witness`` and ``test_classify_witness`` use it.
"""

from __future__ import annotations

import csv
import io
import json
import random
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn

from ariane import geo
from ariane.nir import make_nir

Truth = dict[str, Any]
Built = tuple[list[Path], Truth]

# --- clinical notes: (text, categories) in phrasings the synthetic generator never uses ---
NOTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("patiente porteuse du VIH, suivie en infectiologie", ("hiv",)),
    ("infection VIH connue depuis 2011", ("hiv",)),
    ("HIV positive, on Biktarvy", ("hiv", "treatment")),
    ("Sérologie HIV 1/2 : négative", ("hiv",)),
    ("contrôle CD4 et charge virale", ("hiv",)),
    ("séropositive depuis 2015, bien observante", ("hiv",)),
    ("gravide, 24 semaines", ("pregnancy",)),
    ("test de grossesse +", ("pregnancy",)),
    ("pregnant (28 weeks)", ("pregnancy",)),
    ("enceinte de 5 mois", ("pregnancy",)),
    ("diabète gestationnel, contrôle glycémie", ("pregnancy",)),
    ("grossesse gémellaire, suivi rapproché", ("pregnancy",)),
    ("ATCD néoplasie mammaire opérée", ("cancer",)),
    ("adénocarcinome prostatique", ("cancer",)),
    ("carcinome hépatocellulaire", ("cancer",)),
    ("cancer du côlon opéré en 2019", ("cancer",)),
    ("breast cancer in remission", ("cancer",)),
    ("suivi oncologique trimestriel", ("cancer",)),
    ("mélanome excisé l'an dernier", ("cancer",)),
    ("myélome multiple", ("cancer",)),
    ("cure de chimio J8", ("cancer", "treatment")),
    ("mucoviscidose (CFTR)", ("genetic",)),
    ("cystic fibrosis", ("genetic",)),
    ("drépanocytaire SS", ("genetic",)),
    ("sickle cell disease", ("genetic",)),
    ("maladie de Steinert", ("genetic",)),
    ("hémophile B sévère", ("genetic",)),
    ("porteuse d'une mutation CFTR", ("genetic",)),
    ("sous Préviscan, INR à surveiller", ("treatment",)),
    ("traitée par Levothyrox 75", ("treatment",)),
    ("on warfarin", ("treatment",)),
    ("insulinothérapie depuis 2018", ("treatment",)),
    ("Kardégic 75 mg/j", ("treatment",)),
    ("anticoagulée par Eliquis", ("treatment",)),
    ("sous Lovenox post-op", ("treatment",)),
    ("on metformin", ("treatment",)),
    ("corticothérapie au long cours", ("treatment",)),
    ("dialysé 3x/semaine", ("treatment",)),
    ("VIH pos., enceinte 12 SA", ("hiv", "pregnancy")),
)
#: Notes that must NOT count: place names, words containing a term, paperwork.
TRAPS: tuple[str, ...] = (
    "habite Néoules, rappeler après 18h",
    "patient de Kermaria, K+ 4,1",
    "néanmoins à recontrôler",
    "travaille en chimiothèque",
    "séances de kinésithérapie",
    "RAS",
    "à jeun depuis 12h",
    "prélèvement difficile, veines fines",
    "traitement du dossier en attente",
    "résultats envoyés au médecin",
    "domicilié à Vihiers",
    "bilan lipidique de contrôle",
    "insulinémie à jeun demandée",
    "antibiogramme joint",
    "rendez-vous dans l'enceinte du CHU",
    "grossiste répartiteur a livré",
)

#: A second set written before any lexicon fix and never tuned on: the held-out check.
HELDOUT_NOTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ac anti-HIV positifs", ("hiv",)),
    ("VIH détecté au dépistage", ("hiv",)),
    ("suivi VIH, CV indétectable sous Genvoya", ("hiv", "treatment")),
    ("HIV-1 viral load undetectable", ("hiv",)),
    ("patiente enceinte, terme fin juin", ("pregnancy",)),
    ("grossesse de 18 SA", ("pregnancy",)),
    ("30 weeks pregnant", ("pregnancy",)),
    ("échographie du 2e trimestre faite", ("pregnancy",)),
    ("β-HCG à contrôler", ("pregnancy",)),
    ("lymphome non hodgkinien en rémission", ("cancer",)),
    ("K du sein gauche", ("cancer",)),
    ("tumeur maligne du rein", ("cancer",)),
    ("prostate cancer, on hormone therapy", ("cancer", "treatment")),
    ("leucémie lymphoïde chronique", ("cancer",)),
    ("radiothérapie terminée", ("cancer", "treatment")),
    ("trisomique 21", ("genetic",)),
    ("maladie génétique rare", ("genetic",)),
    ("Huntington's disease in family", ("genetic",)),
    ("thalassaemia minor", ("genetic",)),
    ("sous Sintrom", ("treatment",)),
    ("traitement anticoagulant en cours", ("treatment",)),
    ("on insulin since 2019", ("treatment",)),
    ("chimiothérapie orale", ("cancer", "treatment")),
)
HELDOUT_TRAPS: tuple[str, ...] = (
    "Sidonie a appelé pour ses résultats",
    "K. Dupont a rappelé",
    "oncle du patient présent",
    "traitement de texte en panne",
    "enceinte connectée oubliée en salle d'attente",
    "bilan thyroïdien",
    "originaire de Néo-Calédonie",
    "HDL/LDL à jeun",
)

#: A third set, written after the lexicon fixes and measured before any further fix.
FRESH_NOTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("VIH positif connu, sous Triumeq", ("hiv", "treatment")),
    ("dépistage IST dont VIH", ("hiv",)),
    ("suivi grossesse 3e mois", ("pregnancy",)),
    ("patiente enceinte de jumeaux", ("pregnancy",)),
    ("G3P2, DDR 12/01", ("pregnancy",)),
    ("ATCD cancer ovaire", ("cancer",)),
    ("K prostate sous hormonothérapie", ("cancer", "treatment")),
    ("rémission LNH", ("cancer",)),
    ("néo bronchique opéré", ("cancer",)),
    ("métastatique, soins palliatifs", ("cancer",)),
    ("porteur drépanocytose hétérozygote", ("genetic",)),
    ("maladie de Gaucher type 1", ("genetic",)),
    ("caryotype 47,XXY", ("genetic",)),
    ("sous AOD (apixaban)", ("treatment",)),
    ("TTT habituel : Tahor 20", ("treatment",)),
    ("insuline lente le soir", ("treatment",)),
    ("sous immunosuppresseurs (greffe rénale)", ("treatment",)),
    ("patient dialysé", ("treatment",)),
    ("chimiothérapie adjuvante en cours", ("cancer", "treatment")),
)
FRESH_TRAPS: tuple[str, ...] = (
    "arrivé de Néoux",
    "Kerlouan, rappeler le matin",
    "Mme Sidaner a appelé",
    "patient très anxieux",
    "examen à refaire: tube coagulé",
    "bilan pré-opératoire",
    "facture envoyée à la mutuelle",
    "groupe sanguin à recontrôler",
    "prise de sang à domicile",
)

#: English clinical shorthand, written for the last witness and measured before any fix.
ENGLISH_NOTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HIV+ on ART", ("hiv", "treatment")),
    ("pregnant, due in June", ("pregnancy",)),
    ("G2P1, 20 weeks", ("pregnancy",)),
    ("hx of breast carcinoma", ("cancer",)),
    ("on tamoxifen", ("cancer", "treatment")),
    ("carrier of BRCA2", ("genetic",)),
    ("sickle cell trait", ("genetic",)),
    ("on apixaban", ("treatment",)),
    ("insulin dependent diabetic", ("treatment",)),
    ("on dialysis 3x/week", ("treatment",)),
    ("Down's syndrome", ("genetic",)),
    ("metastatic prostate cancer", ("cancer",)),
    ("HIV test negative", ("hiv",)),
    ("on rivaroxaban", ("treatment",)),
)
ENGLISH_TRAPS: tuple[str, ...] = (
    "fasting sample",
    "called back, no answer",
    "patient from Cancale",
    "art therapy group on Thursday",
    "prefers morning appointments",
)

INSURERS = (
    "MGEN", "Harmonie Mutuelle", "Malakoff Humanis", "AG2R La Mondiale", "Intériale",
    "Mutuelle Entrain", "Uniprévoyance", "MAE", "Mutuelle des Motards", "Groupama",
)  # fmt: skip
ICD10 = (
    ("E11.9", ()), ("I10", ()), ("J45.0", ()), ("M54.5", ()), ("K21.9", ()),
    ("C50.9", ("cancer",)), ("C61", ("cancer",)), ("B20", ("hiv",)), ("O24.4", ("pregnancy",)),
    ("Q90.9", ("genetic",)), ("E84.0", ("genetic",)),
)  # fmt: skip
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")  # fmt: skip


@dataclass
class Person:
    """One patient's facts; builders choose how to write them."""

    last: str
    first: str
    sex: int  # 1 man, 2 woman
    birth: date
    nir: str
    street: str
    postal_code: str
    city: str
    phone: str  # national digits, 10
    email: str
    physician: str
    insurer: str
    iban: str
    visit: date
    note: str
    note_categories: tuple[str, ...]
    icd: str
    icd_categories: tuple[str, ...]
    hiv: str
    pregnant: str


_LOCALES = ("fr_FR", "fr_FR", "fr_FR", "en_GB", "es_ES", "de_DE", "it_IT", "pt_PT")


def _iban(rng: random.Random) -> str:
    bban = f"{rng.randrange(10**4, 10**5)}{rng.randrange(10**4, 10**5)}" + "".join(
        rng.choice("0123456789") for _ in range(13)
    )
    check = stdnum_iban.calc_check_digits("FR00" + bban)
    return f"FR{check}{bban}"


def people(
    count: int,
    seed: int,
    note_share: float = 0.5,
    notes: tuple[tuple[str, tuple[str, ...]], ...] = NOTES,
    traps: tuple[str, ...] = TRAPS,
    departements: tuple[str, ...] = ("35", "14", "2A"),
) -> list[Person]:
    """``count`` people with real communes of ``departements``, valid NIRs and notes."""
    rng = random.Random(seed)
    # Sorted: a set's order changes with the process's hash seed, and so would the people.
    fakers = {loc: Faker(loc) for loc in sorted(set(_LOCALES))}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + i)
    communes = [c for d in departements for c in geo.referential().communes_of_departement(d)]
    doctors = [fakers["fr_FR"].last_name() for _ in range(8)]
    out = []
    for _ in range(count):
        fake = fakers[rng.choice(_LOCALES)]
        sex = rng.choice((1, 2))
        first = fake.first_name_male() if sex == 1 else fake.first_name_female()
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 90))
        commune = rng.choice(communes)
        dep = commune.departement if len(commune.departement) == 2 else "75"
        nir = make_nir(sex, birth.year, birth.month, dep, commune.code[-3:], rng.randrange(1, 999))
        street = fakers["fr_FR"].street_address().replace("\n", " ")
        if rng.random() < note_share:
            if rng.random() < 0.3:
                note, categories = rng.choice(traps), ()
            else:
                note, categories = rng.choice(notes)
        else:
            note, categories = "", ()
        icd, icd_categories = rng.choice(ICD10) if rng.random() < 0.6 else ("", ())
        last = fake.last_name()
        out.append(
            Person(
                last=last,
                first=first,
                sex=sex,
                birth=birth,
                nir=nir,
                street=street,
                postal_code=commune.postal_codes[0],
                city=commune.name,
                phone=rng.choice(("06", "07", "02")) + f"{rng.randrange(10**8):08d}",
                email=f"{first}.{last}{rng.randrange(100)}@example.org".lower().replace(" ", ""),
                physician=rng.choice(doctors),
                insurer=rng.choice(INSURERS),
                iban=_iban(rng),
                visit=date(2020, 1, 1) + timedelta(days=rng.randrange(0, 420)),
                note=note,
                note_categories=categories,
                icd=icd,
                icd_categories=icd_categories,
                hiv=rng.choice(("négatif", "positif", "non fait")) if rng.random() < 0.4 else "",
                pregnant=rng.choice(("oui", "non")) if sex == 2 and rng.random() < 0.5 else "",
            )
        )
    return out


# --- how a field is written: (header, label, formatter) ---------------------------------
Field = tuple[str, str, Callable[[Person], str]]


def _spaced_nir(p: Person) -> str:
    n = p.nir
    return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"


def _intl_phone(p: Person) -> str:
    d = p.phone[1:]
    return random.Random(p.nir).choice(
        (f"+33 {d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:9]}", f"0033{d}", f"+33{d}")
    )


def _dotted_phone(p: Person) -> str:
    return ".".join(p.phone[i : i + 2] for i in range(0, 10, 2))


def _text_date(d: date) -> str:
    return f"{d.day} {MONTHS_FR[d.month - 1]} {d.year}"


def _whole_address(p: Person) -> str:
    return f"{p.street} {p.postal_code} {p.city}"


def _mentions(people_: list[Person], fields: list[Field], first_record: int = 1) -> dict:
    """Truth categories per record, from the health columns the layout writes (if filled)."""
    out: dict[int, list[str]] = {}
    for i, p in enumerate(people_):
        written = {label for _h, label, f in fields if f(p)}
        cats = set()
        if "health.note" in written:
            cats.update(p.note_categories)
        if "health.condition" in written:
            cats.update(p.icd_categories)
        if "health.hiv" in written:
            cats.add("hiv")
        if "health.pregnancy" in written:
            cats.add("pregnancy")
        if cats:
            out[first_record + i] = sorted(cats)
    return out


def _table(people_: list[Person], fields: list[Field]) -> tuple[list[str], list[list[str]]]:
    return [h for h, _l, _f in fields], [[f(p) for _h, _l, f in fields] for p in people_]


#: Columns whose values the read witnesses compare one by one.
EXACT_LABELS = ("id.nir", "person.last_name", "person.full_name", "health.note")


def _truth(file: str, people_: list[Person], fields: list[Field], titles: int = 0) -> Truth:
    """The truth of one table; ``titles`` records above the header are quarantined."""
    exact = {h: [f(p) for p in people_] for h, label, f in fields if label in EXACT_LABELS}
    truth: Truth = {
        "columns": {file: {h: label for h, label, _f in fields}},
        "records": len(people_) + titles,
        "quarantined": titles,
        "first_record": {file: 1 + titles},
        "mentions": {file: _mentions(people_, fields, 1 + titles)},
        "notes": {file: [h for h, label, _f in fields if label == "health.note"]},
        "values": {file: exact},
    }
    return truth


def _merge(truths: list[Truth]) -> Truth:
    out: Truth = {
        "columns": {},
        "records": 0,
        "quarantined": 0,
        "mentions": {},
        "notes": {},
        "values": {},
        "first_record": {},
    }
    for t in truths:
        for key in ("columns", "mentions", "notes", "values", "first_record"):
            out[key].update(t[key])
        out["records"] += t["records"]
        out["quarantined"] += t["quarantined"]
    return out


def _csv_text(header: list[str] | None, rows: list[list[str]], delimiter: str, eol: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=eol)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# --- the witnesses ---------------------------------------------------------------------
GP_EXPORT: list[Field] = [
    ("Patient Surname", "person.last_name", lambda p: p.last.upper()),
    ("Given Names", "person.first_name", lambda p: p.first),
    ("DOB", "person.birth_date", lambda p: p.birth.strftime("%d-%m-%y")),
    ("Gender", "person.sex", lambda p: "M" if p.sex == 1 else "F"),
    ("Social Security No", "id.nir", _spaced_nir),
    ("Home Address", "contact.address", _whole_address),
    ("Mobile", "contact.phone", _intl_phone),
    ("E-mail", "contact.email", lambda p: p.email),
    ("GP", "provider.physician", lambda p: f"Dr. {p.physician}"),
    ("Insurance", "insurance.insurer", lambda p: p.insurer),
    ("Bank account (IBAN)", "finance.iban", lambda p: p.iban),
    ("ICD-10", "health.condition", lambda p: p.icd),
    ("Last seen", "health.visit_date", lambda p: p.visit.isoformat()),
    ("Clinical notes", "health.note", lambda p: p.note),
]


def gp_export_cp1252(out: Path, rows: int = 300, seed: int = 1) -> Built:
    """A GP practice export: English headers, ``sep=;`` hint, ``;`` and Windows-1252, CRLF."""
    ppl = people(rows, seed)
    header, table = _table(ppl, GP_EXPORT)
    path = out / "gp_export.csv"
    text = "sep=;\r\n" + _csv_text(header, table, ";", "\r\n")  # Excel's separator hint
    path.write_bytes(text.encode("cp1252", "replace"))
    return [path], _truth(str(path), ppl, GP_EXPORT)  # the hint is no record


SPANISH: list[Field] = [
    ("Apellidos", "person.last_name", lambda p: p.last),
    ("Nombre", "person.first_name", lambda p: p.first),
    ("Fecha de nacimiento", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("Sexo", "person.sex", lambda p: "H" if p.sex == 1 else "F"),
    ("Dirección", "contact.street", lambda p: p.street),
    ("Código postal", "contact.postal_code", lambda p: p.postal_code),
    ("Ciudad", "contact.city", lambda p: p.city),
    ("Teléfono", "contact.phone", _dotted_phone),
    ("Correo electrónico", "contact.email", lambda p: p.email),
    ("Número de seguridad social", "id.nir", lambda p: p.nir),
    ("Médico", "provider.physician", lambda p: f"Dr {p.physician}"),
    ("Observaciones", "health.note", lambda p: p.note),
]


def spanish_pipe_latin1(out: Path, rows: int = 300, seed: int = 2) -> Built:
    """Spanish headers, ``|`` separated, Latin-1."""
    ppl = people(rows, seed)
    header, table = _table(ppl, SPANISH)
    path = out / "pacientes.txt"
    path.write_bytes(_csv_text(header, table, "|", "\n").encode("latin-1", "replace"))
    return [path], _truth(str(path), ppl, SPANISH)


GERMAN: list[Field] = [
    ("Nachname", "person.last_name", lambda p: p.last),
    ("Vorname", "person.first_name", lambda p: p.first),
    ("Geburtsdatum", "person.birth_date", lambda p: p.birth.strftime("%d.%m.%Y")),
    ("Geschlecht", "person.sex", lambda p: "1" if p.sex == 1 else "2"),
    ("Straße", "contact.street", lambda p: p.street),
    ("PLZ", "contact.postal_code", lambda p: p.postal_code),
    ("Ort", "contact.city", lambda p: p.city),
    ("Telefon", "contact.phone", lambda p: p.phone),
    ("Versicherungsnummer", "id.nir", lambda p: p.nir),
    ("Krankenkasse", "insurance.insurer", lambda p: p.insurer),
    ("Hausarzt", "provider.physician", lambda p: f"Dr. med. {p.physician}"),
    ("Bemerkungen", "health.note", lambda p: p.note),
]


def german_tsv(out: Path, rows: int = 300, seed: int = 3) -> Built:
    """German headers, tab separated, UTF-8."""
    ppl = people(rows, seed)
    header, table = _table(ppl, GERMAN)
    path = out / "patienten.tsv"
    path.write_text(_csv_text(header, table, "\t", "\n"), encoding="utf-8")
    return [path], _truth(str(path), ppl, GERMAN)


TYPOS: list[Field] = [
    ("NOM_PATEINT", "person.last_name", lambda p: p.last),
    ("prenmo", "person.first_name", lambda p: p.first),
    ("DaTe_NaIsSaNcE", "person.birth_date", lambda p: _text_date(p.birth)),
    ("Sèxe", "person.sex", lambda p: "Homme" if p.sex == 1 else "Femme"),
    ("adresee", "contact.street", lambda p: p.street),
    ("code_postale", "contact.postal_code", lambda p: p.postal_code),
    ("vile", "contact.city", lambda p: p.city.upper()),
    ("telephonne", "contact.phone", _intl_phone),
    ("emial", "contact.email", lambda p: p.email),
    ("num_secu_social", "id.nir", _spaced_nir),
    ("mutuel", "insurance.insurer", lambda p: p.insurer),
    ("Sérologie VIH", "health.hiv", lambda p: f"Sérologie VIH: {p.hiv}" if p.hiv else ""),
    ("Enceinte", "health.pregnancy", lambda p: f"Enceinte: {p.pregnant}" if p.pregnant else ""),
    ("comentaire", "health.note", lambda p: p.note),
]


def typo_headers_bom(out: Path, rows: int = 300, seed: int = 4) -> Built:
    """French headers with typos and odd casing; UTF-8 with BOM; written-out dates."""
    ppl = people(rows, seed)
    header, table = _table(ppl, TYPOS)
    path = out / "extraction.csv"
    path.write_text(_csv_text(header, table, ",", "\n"), encoding="utf-8-sig")
    return [path], _truth(str(path), ppl, TYPOS)


def _full_name(p: Person) -> str:
    if random.Random(p.nir).random() < 0.5:
        return f"{p.last.upper()} {p.first}"
    return f"{p.first} {p.last}"


HEADERLESS: list[Field] = [
    ("col_1", "person.full_name", _full_name),
    ("col_2", "id.nir", lambda p: p.nir),
    ("col_3", "person.birth_date", lambda p: p.birth.isoformat()),
    ("col_4", "contact.address", _whole_address),
    ("col_5", "contact.phone", _dotted_phone),
    ("col_6", "contact.email", lambda p: p.email),
    ("col_7", "health.note", lambda p: p.note),
]


def headerless_csv(out: Path, rows: int = 300, seed: int = 5) -> Built:
    """No header row; whole names and whole addresses in one field."""
    ppl = people(rows, seed)
    _header, table = _table(ppl, HEADERLESS)
    path = out / "dump_sans_entete.csv"
    path.write_text(_csv_text(None, table, ",", "\n"), encoding="utf-8")
    return [path], _truth(str(path), ppl, HEADERLESS)


# --- XLSX written by hand (openpyxl is not a dependency): dates as Excel serials --------
XLSX: list[Field] = [
    ("Nom", "person.last_name", lambda p: p.last),
    ("Prénom", "person.first_name", lambda p: p.first),
    ("Né(e) le", "person.birth_date", lambda p: str((p.birth - date(1899, 12, 30)).days)),
    ("N° INSEE", "id.nir", lambda p: p.nir),
    ("Portable", "contact.phone", lambda p: p.phone),
    ("Sérologie VIH", "health.hiv", lambda p: p.hiv),
    ("Enceinte", "health.pregnancy", lambda p: p.pregnant),
    ("Diagnostic CIM-10", "health.condition", lambda p: p.icd),
    ("Date prélèvement", "health.visit_date", lambda p: str((p.visit - date(1899, 12, 30)).days)),
]
_DATE_COLUMNS = {"Né(e) le", "Date prélèvement"}


def _xlsx_cell(ref: str, value: str, is_date: bool) -> str:
    if not value:
        return ""
    if is_date:  # a number with a date style, as Excel stores it
        return f'<c r="{ref}" s="1"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def _column_letter(index: int) -> str:
    return chr(ord("A") + index)


def xlsx_workbook(out: Path, rows: int = 200, seed: int = 6) -> Built:
    """A workbook with dates stored as Excel serial numbers and structured health columns."""
    ppl = people(rows, seed)
    header, table = _table(ppl, XLSX)
    flags = [h in _DATE_COLUMNS for h in header]
    # A report title and a blank row above the header, as exported reports have.
    sheet_rows = [
        f'<row r="1">{_xlsx_cell("A1", "Résultats du laboratoire - export", False)}</row>',
        '<row r="3">'
        + "".join(_xlsx_cell(f"{_column_letter(i)}3", h, False) for i, h in enumerate(header))
        + "</row>",
    ]
    for r, values in enumerate(table, start=4):
        cells = "".join(
            _xlsx_cell(f"{_column_letter(i)}{r}", v, flags[i]) for i, v in enumerate(values)
        )
        sheet_rows.append(f'<row r="{r}">{cells}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    path = out / "resultats.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            f'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.'
            f'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.'
            f'worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Patients" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        )
        z.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0"?><styleSheet xmlns="{main}"><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>'
            + "".join(sheet_rows)
            + "</sheetData></worksheet>",
        )
    return [path], _truth(str(path), ppl, XLSX, titles=1)


# --- JSON with nested objects, NDJSON -------------------------------------------------
def json_nested(out: Path, rows: int = 300, seed: int = 7) -> Built:
    """A JSON array of nested objects (an API export)."""
    ppl = people(rows, seed)
    docs = [
        {
            "id": i + 1,
            "patient": {
                "identity": {"surname": p.last, "givenName": p.first, "gender": "MF"[p.sex - 1]},
                "birthDate": p.birth.isoformat(),
                "ssn": p.nir,
            },
            "contact": {
                "address": {"line1": p.street, "zip": p.postal_code, "city": p.city},
                "phone": _intl_phone(p),
                "email": p.email,
            },
            "clinical": {"notes": p.note or None, "icd10": p.icd or None},
        }
        for i, p in enumerate(ppl)
    ]
    path = out / "export_api.json"
    path.write_text(json.dumps(docs, ensure_ascii=False, indent=1), encoding="utf-8")
    fields: list[Field] = [
        ("id", "id.internal", lambda p: str(ppl.index(p) + 1)),
        ("patient.identity.surname", "person.last_name", lambda p: p.last),
        ("patient.identity.givenName", "person.first_name", lambda p: p.first),
        ("patient.identity.gender", "person.sex", lambda p: "MF"[p.sex - 1]),
        ("patient.birthDate", "person.birth_date", lambda p: p.birth.isoformat()),
        ("patient.ssn", "id.nir", lambda p: p.nir),
        ("contact.address.line1", "contact.street", lambda p: p.street),
        ("contact.address.zip", "contact.postal_code", lambda p: p.postal_code),
        ("contact.address.city", "contact.city", lambda p: p.city),
        ("contact.phone", "contact.phone", _intl_phone),
        ("contact.email", "contact.email", lambda p: p.email),
        ("clinical.notes", "health.note", lambda p: p.note),
        ("clinical.icd10", "health.condition", lambda p: p.icd),
    ]
    return [path], _truth(str(path), ppl, fields)


ITALIAN: list[Field] = [
    ("cognome", "person.last_name", lambda p: p.last),
    ("nome", "person.first_name", lambda p: p.first),
    ("data_di_nascita", "person.birth_date", lambda p: p.birth.isoformat()),
    ("sesso", "person.sex", lambda p: "MF"[p.sex - 1]),
    ("indirizzo", "contact.street", lambda p: p.street),
    ("cap", "contact.postal_code", lambda p: p.postal_code),
    ("citta", "contact.city", lambda p: p.city),
    ("cellulare", "contact.phone", _intl_phone),
    ("codice_previdenza", "id.nir", lambda p: p.nir),
    ("medico_curante", "provider.physician", lambda p: f"Dott. {p.physician}"),
    ("note_cliniche", "health.note", lambda p: p.note),
]


def italian_ndjson(out: Path, rows: int = 300, seed: int = 8) -> Built:
    """NDJSON with Italian keys."""
    ppl = people(rows, seed)
    header, table = _table(ppl, ITALIAN)
    path = out / "pazienti.ndjson"
    with open(path, "w", encoding="utf-8") as handle:
        for values in table:
            handle.write(json.dumps(dict(zip(header, values, strict=True))) + "\n")
    return [path], _truth(str(path), ppl, ITALIAN)


# --- SQL dumps written in code --------------------------------------------------------
ABBREVIATED: list[Field] = [
    ("id_pat", "id.internal", lambda p: p.nir[-6:]),
    ("nom_pat", "person.last_name", lambda p: p.last),
    ("pnom", "person.first_name", lambda p: p.first),
    ("dt_nais", "person.birth_date", lambda p: p.birth.isoformat()),
    ("sx", "person.sex", lambda p: "HF"[p.sex - 1]),
    ("adr", "contact.street", lambda p: p.street),
    ("cp", "contact.postal_code", lambda p: p.postal_code),
    ("vil", "contact.city", lambda p: p.city),
    ("tel", "contact.phone", lambda p: p.phone),
    ("mail", "contact.email", lambda p: p.email),
    ("nss", "id.nir", lambda p: p.nir),
    ("obs", "health.note", lambda p: p.note),
]


def _mysql_literal(value: str) -> str:
    if not value:
        return "NULL"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def mysqldump(out: Path, rows: int = 300, seed: int = 9) -> Built:
    """A ``mysqldump`` file: comments, ``CREATE TABLE``, extended ``INSERT`` batches."""
    ppl = people(rows, seed)
    header, table = _table(ppl, ABBREVIATED)
    columns = ",\n".join(f"  `{h}` varchar(255) DEFAULT NULL" for h in header)
    lines = [
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)",
        "/*!40101 SET NAMES utf8mb4 */;",
        "DROP TABLE IF EXISTS `patient`;",
        f"CREATE TABLE `patient` (\n{columns}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
        "LOCK TABLES `patient` WRITE;",
    ]
    for start in range(0, len(table), 50):
        tuples = ",".join(
            "(" + ",".join(_mysql_literal(v) for v in values) + ")"
            for values in table[start : start + 50]
        )
        lines.append(f"INSERT INTO `patient` VALUES {tuples};")
    lines += ["UNLOCK TABLES;", "-- Dump completed on 2021-02-20 10:00:00", ""]
    path = out / "labo.sql"
    path.write_text("\n".join(lines), encoding="utf-8")
    return [path], _truth(str(path), ppl, ABBREVIATED)


def _copy_text(value: str) -> str:
    if not value:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def pg_dump(out: Path, rows: int = 300, seed: int = 10) -> Built:
    """A ``pg_dump`` plain file: ``COPY ... FROM stdin`` with English snake_case columns."""
    ppl = people(rows, seed)
    fields: list[Field] = [
        ("family_name", "person.last_name", lambda p: p.last),
        ("first_names", "person.first_name", lambda p: p.first),
        ("date_of_birth", "person.birth_date", lambda p: p.birth.isoformat()),
        ("sex", "person.sex", lambda p: "MF"[p.sex - 1]),
        ("nir", "id.nir", lambda p: p.nir),
        ("address_line", "contact.street", lambda p: p.street),
        ("postcode", "contact.postal_code", lambda p: p.postal_code),
        ("town", "contact.city", lambda p: p.city),
        ("iban", "finance.iban", lambda p: p.iban),
        ("hiv_status", "health.hiv", lambda p: p.hiv),
        ("comment", "health.note", lambda p: p.note),
    ]
    header, table = _table(ppl, fields)
    lines = [
        "--",
        "-- PostgreSQL database dump",
        "--",
        "SET statement_timeout = 0;",
        "SET client_encoding = 'UTF8';",
        "CREATE TABLE public.patients (",
        ",\n".join(f"    {h} text" for h in header),
        ");",
        f"COPY public.patients ({', '.join(header)}) FROM stdin;",
        *("\t".join(_copy_text(v) for v in values) for values in table),
        "\\.",
        "",
        "-- PostgreSQL database dump complete",
        "",
    ]
    path = out / "patients.pgsql"
    path.write_text("\n".join(lines), encoding="utf-8")
    return [path], _truth(str(path), ppl, fields)


# --- archives -------------------------------------------------------------------------
LAB: list[Field] = [
    ("NOM", "person.last_name", lambda p: p.last.upper()),
    ("PRENOM", "person.first_name", lambda p: p.first.upper()),
    ("DATE NAISS", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("NIR", "id.nir", lambda p: p.nir),
    ("TEL", "contact.phone", lambda p: p.phone),
    ("MEDECIN", "provider.physician", lambda p: p.physician.upper()),
    ("DATE PVT", "health.visit_date", lambda p: p.visit.strftime("%d/%m/%Y")),
    ("COMMENTAIRE", "health.note", lambda p: p.note),
]


def zip_per_lab(out: Path, rows: int = 300, seed: int = 11) -> Built:
    """A ``.zip`` of one CSV per lab (``;``, cp1252)."""
    path = out / "labos.zip"
    truths = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for lab in range(3):
            ppl = people(rows // 3, seed * 10 + lab)
            header, table = _table(ppl, LAB)
            inner = f"export/labo_{lab + 1}.csv"
            z.writestr(inner, _csv_text(header, table, ";", "\r\n").encode("cp1252", "replace"))
            truths.append(_truth(inner, ppl, LAB))
    return [path], _merge(truths)


def tar_gz(out: Path, rows: int = 300, seed: int = 12) -> Built:
    """A ``.tar.gz`` holding a German TSV and an Italian NDJSON."""
    inner_dir = out / "tar_members"
    inner_dir.mkdir(exist_ok=True)
    (p1,), t1 = german_tsv(inner_dir, rows // 2, seed)
    (p2,), t2 = italian_ndjson(inner_dir, rows // 2, seed + 1)
    path = out / "backup.tar.gz"
    truths = []
    with tarfile.open(path, "w:gz") as tar:
        for member, truth in ((p1, t1), (p2, t2)):
            tar.add(member, arcname=f"backup/{member.name}")
            truths.append(_rename(truth, str(member), f"backup/{member.name}"))
    return [path], _merge(truths)


def _rename(truth: Truth, old: str, new: str) -> Truth:
    for key in ("columns", "mentions", "notes", "values", "first_record"):
        truth[key] = {new if k == old else k: v for k, v in truth[key].items()}
    return truth


# --- damage ---------------------------------------------------------------------------
def damaged_csv(out: Path, rows: int = 300, seed: int = 13) -> Built:
    """UTF-8 CSV with a Latin-1 line, a ragged row and a stray NUL among good rows."""
    ppl = people(rows, seed)
    ppl[rows // 4].note, ppl[rows // 4].note_categories = "fièvre, bilan à refaire", ()
    header, table = _table(ppl, LAB)
    lines = [_csv_text(None, [r], ",", "\n").encode("utf-8") for r in table]
    lines[rows // 4] = _csv_text(None, [table[rows // 4]], ",", "\n").encode("latin-1", "replace")
    lines[rows // 2] = _csv_text(None, [table[rows // 2][:3]], ",", "\n").encode("utf-8")
    third = lines[(3 * rows) // 4]
    lines[(3 * rows) // 4] = third[:5] + b"\x00" + third[5:]
    path = out / "damaged.csv"
    path.write_bytes(_csv_text(header, [], ",", "\n").encode("utf-8") + b"".join(lines))
    truth = _truth(str(path), ppl, LAB)
    truth["quarantined"] = 2  # the ragged row and the NUL; the Latin-1 line may be either
    return [path], truth


def heldout_notes(out: Path, rows: int = 300, seed: int = 14) -> Built:
    """The held-out note phrasings in a plain CSV (lexicon fixes were never tuned on them)."""
    ppl = people(rows, seed, 0.8, HELDOUT_NOTES, HELDOUT_TRAPS)
    header, table = _table(ppl, LAB)
    path = out / "heldout.csv"
    path.write_text(_csv_text(header, table, ",", "\n"), encoding="utf-8")
    return [path], _truth(str(path), ppl, LAB)


def _rpps(p: Person) -> str:
    body = "10" + p.nir[3:11].replace("A", "0").replace("B", "0")
    return body + str(luhn.calc_check_digit(body))


def _finess(p: Person) -> str:
    body = p.postal_code[:2] + "0" + p.nir[8:13]
    return body + str(luhn.calc_check_digit(body))


HEADERLESS_SPLIT: list[Field] = [
    ("col_1", "id.internal", lambda p: f"P{p.nir[7:13]}"),
    ("col_2", "person.last_name", lambda p: p.last.upper()),
    ("col_3", "person.first_name", lambda p: p.first),
    ("col_4", "person.sex", lambda p: str(p.sex)),
    ("col_5", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%y")),
    ("col_6", "contact.street", lambda p: p.street),
    ("col_7", "contact.postal_code", lambda p: p.postal_code),
    ("col_8", "contact.city", lambda p: p.city.upper()),
    ("col_9", "contact.phone", _intl_phone),
    ("col_10", "id.nir", _spaced_nir),
    ("col_11", "insurance.insurer", lambda p: p.insurer),
    ("col_12", "provider.physician", lambda p: f"Dr {p.physician.upper()}"),
    ("col_13", "health.visit_date", lambda p: p.visit.strftime("%d/%m/%Y 08:%M")),
    ("col_14", "health.note", lambda p: p.note),
]


def headerless_split_cp1252(out: Path, rows: int = 300, seed: int = 15) -> Built:
    """No header, one field per fact, ``;`` and Windows-1252: values alone must decide."""
    ppl = people(rows, seed)
    _header, table = _table(ppl, HEADERLESS_SPLIT)
    path = out / "extract.txt"
    path.write_bytes(_csv_text(None, table, ";", "\r\n").encode("cp1252", "replace"))
    return [path], _truth(str(path), ppl, HEADERLESS_SPLIT)


LAB_TESTS = ("NFS", "Glycémie", "TSH", "Ferritine")

PORTUGUESE_DUTCH: list[Field] = [
    ("Nº processo", "id.internal", lambda p: f"2021-{p.nir[8:13]}"),
    ("Apelido", "person.last_name", lambda p: p.last),
    ("Voornaam", "person.first_name", lambda p: p.first),
    ("Geboortedatum", "person.birth_date", lambda p: p.birth.strftime("%Y%m%d")),
    ("Género", "person.sex", lambda p: ("Masculin", "Féminin")[p.sex - 1]),
    ("Morada", "contact.address", lambda p: f"{p.street}, {p.postal_code} {p.city.upper()}"),
    ("Telemóvel", "contact.phone", _dotted_phone),
    ("Numéro d'identification", "id.nir", lambda p: p.nir),
    ("Grupo sanguíneo", "health.blood_group", lambda p: ("A Rh+", "O neg", "B+", "AB-")[p.sex]),
    (
        "Análise",
        "health.test",
        lambda p: ("NFS", "Glycémie", "TSH", "Ferritine")[p.birth.month % 4],
    ),
    ("Nº adherent", "insurance.member_id", lambda p: p.nir[5:13]),
    ("RPPS prescripteur", "provider.rpps", _rpps),
    ("FINESS", "provider.finess", _finess),
    ("Laboratório", "provider.organisation", lambda p: f"Laboratoire {p.city}"),
    ("Opmerkingen", "health.note", lambda p: p.note),
]


def portuguese_dutch_csv(out: Path, rows: int = 300, seed: int = 16) -> Built:
    """Portuguese and Dutch headers mixed with French; identifiers of providers."""
    ppl = people(rows, seed)
    header, table = _table(ppl, PORTUGUESE_DUTCH)
    path = out / "mixed.csv"
    path.write_text(_csv_text(header, table, ",", "\n"), encoding="utf-8")
    return [path], _truth(str(path), ppl, PORTUGUESE_DUTCH)


def _civil_name(p: Person) -> str:
    title = "M." if p.sex == 1 else "Mme"
    if random.Random(p.nir).random() < 0.5:
        return f"{title} {p.last.upper()} {p.first}"
    return f"{title} {p.first} {p.last}"


def _complex_address(p: Person) -> str:
    flat = random.Random(p.nir).choice(("", "Appt 4, ", "Bât. B, ", "Résidence les Pins, "))
    return f"{flat}{p.street}, {p.postal_code} {p.city.upper()}"


@cache
def _doctor_names() -> tuple[str, ...]:
    """150 physicians' names without a title: more than a header-less guess can group."""
    fake = Faker("fr_FR")
    fake.seed_instance(99)
    return tuple(fake.name() for _ in range(150))


FRESH_LAB: list[Field] = [
    ("Dossier", "id.internal", lambda p: f"D21-{p.nir[7:13]}"),
    ("Patient", "person.full_name", _civil_name),
    ("Né le", "person.birth_date", lambda p: p.birth.isoformat() + "T00:00:00"),
    ("Âge", "other", lambda p: str(2021 - p.birth.year)),
    ("Adresse", "contact.address", _complex_address),
    ("Tél. domicile", "contact.phone", lambda p: "02" + p.phone[2:]),
    ("Tél. portable", "contact.phone", lambda p: f"+33 (0){p.phone[1]} {p.phone[2:]}"),
    ("N° SS", "id.nir", lambda p: p.nir[:13] if p.sex == 1 else p.nir),
    ("Médecin", "provider.physician", lambda p: _doctor_names()[int(p.nir[10:13]) % 150]),
    (
        "Analyses",
        "health.test",
        lambda p: ("NFS, CRP", "Glycémie", "TSH, T4", "Ferritine")[p.birth.day % 4],
    ),
    ("Résultat VIH", "health.hiv", lambda p: p.hiv.capitalize()),
    ("Grossesse", "health.pregnancy", lambda p: p.pregnant),
    ("Montant (€)", "other", lambda p: f"{p.birth.day + 10},{p.birth.month * 4:02d}"),
    ("Statut", "other", lambda p: ("Validé", "En attente", "Annulé")[p.birth.month % 3]),
    ("Consentement", "other", lambda p: ("oui", "non")[p.birth.day % 2]),
    ("Commentaire labo", "health.note", lambda p: p.note),
]


def fresh_lab_export(out: Path, rows: int = 300, seed: int = 17) -> Built:
    """Civility in names, complex addresses, plain physician names, columns of no concern."""
    ppl = people(rows, seed, 0.6, FRESH_NOTES, FRESH_TRAPS)
    header, table = _table(ppl, FRESH_LAB)
    path = out / "export_labo.csv"
    path.write_bytes(_csv_text(header, table, ";", "\r\n").encode("cp1252", "replace"))
    return [path], _truth(str(path), ppl, FRESH_LAB)


ENGLISH_HOSPITAL: list[Field] = [
    ("MRN", "id.internal", lambda p: f"MRN{p.nir[5:13]}"),
    ("Full Name", "person.full_name", lambda p: f"{p.last.upper()}, {p.first}"),
    ("Date of Birth", "person.birth_date", lambda p: p.birth.strftime("%B %d, %Y")),
    ("Sex", "person.sex", lambda p: ("Male", "Female")[p.sex - 1]),
    ("INS", "id.nir", lambda p: p.nir),
    ("Phone", "contact.phone", lambda p: p.phone[1:]),
    ("Post Code", "contact.postal_code", lambda p: p.postal_code),
    ("Town", "contact.city", lambda p: p.city),
    ("Attending", "provider.physician", lambda p: f"Dr {p.physician}"),
    ("Pregnant", "health.pregnancy", lambda p: {"oui": "Y", "non": "N"}.get(p.pregnant, "")),
    ("HIV", "health.hiv", lambda p: {"négatif": "Neg", "positif": "Pos"}.get(p.hiv, "")),
    ("Notes", "health.note", lambda p: p.note),
]


def english_hospital_ndjson(out: Path, rows: int = 300, seed: int = 18) -> Built:
    """An English hospital's NDJSON: "SURNAME, First", spelled-out dates, phones without 0."""
    ppl = people(rows, seed, 0.6, ENGLISH_NOTES, ENGLISH_TRAPS)
    header, table = _table(ppl, ENGLISH_HOSPITAL)
    path = out / "admissions.ndjson"
    with open(path, "w", encoding="utf-8") as handle:
        for values in table:
            record = {h: v or None for h, v in zip(header, values, strict=True)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return [path], _truth(str(path), ppl, ENGLISH_HOSPITAL)


# --- saved again by French Excel (written after the Excel repairs, measured before tuning) ---
#: A lab's analyses: local code, LOINC, label, a result, its unit and reference range.
ANALYSES = (
    ("GLY", "15074-8", "Glycémie à jeun", "5,4", "mmol/L", "3,9-5,8"),
    ("HBA1C", "4548-4", "Hémoglobine glyquée", "6,1", "%", "4,0-6,0"),
    ("TSH", "3016-3", "TSH ultrasensible", "1,85", "mUI/L", "0,27-4,20"),
    ("CREA", "2160-0", "Créatinine", "78", "µmol/L", "45-104"),
    ("FERRI", "2276-4", "Ferritine", "112", "µg/L", "30-400"),
    ("K", "2823-3", "Potassium", "4,2", "mmol/L", "3,5-5,1"),
    ("CRP", "1988-5", "Protéine C réactive", "3,1", "mg/L", "<5"),
    ("CHOL", "2093-3", "Cholestérol total", "2,12", "g/L", "<2,00"),
)


def _excel_number(digits: str) -> str:
    """What French Excel writes for digits it read as a number: no leading zeros, and
    scientific notation (6 significant digits, decimal comma) beyond 11 digits."""
    number = int(digits)
    return str(number) if len(str(number)) <= 11 else f"{number:.5E}".replace(".", ",")


def _excel_serial(d: date) -> str:
    return str((d - date(1899, 12, 30)).days)


def _excel_nir(p: Person) -> str:
    return _excel_number(p.nir) if p.nir.isdigit() else p.nir  # 2A/2B stay text


def _low_finess(p: Person) -> str:
    """The FINESS of the person's lab in département 01-09, as Excel writes it (8 digits)."""
    body = p.postal_code[:2] + "0" + p.nir[8:13]
    return _excel_number(body + str(luhn.calc_check_digit(body)))


def _member_number(p: Person) -> str:
    return f"{p.insurer[:2].upper()}{p.nir[3:5]}{p.nir[7:13]}"


#: A column of a results table: (header, label, index in an ``ANALYSES`` entry).
TestField = tuple[str, str, int]


def _results_csv(
    path: Path, ppl: list[Person], fields: list[Field], tests: list[TestField], per_patient: int
) -> Built:
    """A results table saved by French Excel (``;``, Windows-1252, CRLF), ``per_patient``
    analyses per person drawn from ``ANALYSES``, and its truth."""
    rng = random.Random(len(ppl))
    header = [h for h, _l, _f in fields] + [h for h, _l, _i in tests]
    table, listed = [], []
    for p in ppl:
        for analysis in rng.sample(ANALYSES, per_patient):
            row = [f(p) for _h, _l, f in fields]
            table.append(row + [analysis[i] for _h, _l, i in tests])
            listed.append(p)
    path.write_bytes(_csv_text(header, table, ";", "\r\n").encode("cp1252", "replace"))
    truth = _truth(str(path), listed, fields)
    truth["columns"][str(path)].update({h: label for h, label, _i in tests})
    return [path], truth


RESULTS_EXCEL: list[Field] = [
    ("IPP", "id.internal", lambda p: str(int(p.nir[6:13]) + 1000000)),
    ("Nom de naissance", "person.last_name", lambda p: p.last.upper()),
    ("Prénom usuel", "person.first_name", lambda p: p.first),
    ("DDN", "person.birth_date", lambda p: _excel_serial(p.birth)),
    ("Sexe", "person.sex", lambda p: "MF"[p.sex - 1]),
    ("N° INSEE", "id.nir", _excel_nir),
    ("Adresse complète", "contact.address", _whole_address),
    ("Tél. domicile", "contact.phone", lambda p: _excel_number(p.phone)),
    ("Caisse complémentaire", "insurance.insurer", lambda p: p.insurer),
    ("N° adhérent", "insurance.member_id", _member_number),
    ("FINESS préleveur", "provider.finess", _low_finess),
]


def results_long_excel(out: Path, rows: int = 300, seed: int = 19) -> Built:
    """A results export, one row per analysis (four per patient), saved by French Excel:
    ``;``, Windows-1252, NIRs in scientific notation, zeros and dates lost; test codes,
    LOINC codes, labels, results, units and reference ranges; a whole address in one
    field; insurer membership numbers beside the patient number."""
    ppl = people(rows // 4, seed, 0.0, departements=("01", "03", "07"))
    fields = [
        *RESULTS_EXCEL,
        ("Date prélèvement", "health.visit_date", lambda p: _excel_serial(p.visit)),
    ]
    tests = [
        ("Code analyse", "health.test", 0),
        ("Code LOINC", "health.test", 1),
        ("Libellé", "health.test", 2),
        ("Résultat", "health.test", 3),
        ("Unité", "other", 4),
        ("Valeurs de référence", "other", 5),
    ]
    return _results_csv(out / "resultats.csv", ppl, fields, tests, 4)


HEADERLESS_EXCEL: list[Field] = [
    ("col_1", "id.internal", lambda p: f"{p.nir[5:13]}"),
    ("col_2", "person.full_name", lambda p: f"{p.last.upper()} {p.first}"),
    ("col_3", "person.birth_date", lambda p: _excel_serial(p.birth)),
    ("col_4", "id.nir", _excel_nir),
    ("col_5", "contact.street", lambda p: p.street),
    ("col_6", "contact.postal_code", lambda p: _excel_number(p.postal_code)),
    ("col_7", "contact.city", lambda p: p.city.upper()),
    ("col_8", "contact.phone", lambda p: _excel_number(p.phone)),
    ("col_9", "provider.finess", _low_finess),
    ("col_10", "health.visit_date", lambda p: _excel_serial(p.visit)),
    ("col_11", "health.note", lambda p: p.note),
]


def headerless_excel(out: Path, rows: int = 300, seed: int = 20) -> Built:
    """No header, saved by French Excel (Windows-1252, ``;``): every number damaged; the
    people live in départements 02, 05 and 09, so postal codes lose their zero."""
    ppl = people(rows, seed, 0.6, departements=("02", "05", "09"))
    _header, table = _table(ppl, HEADERLESS_EXCEL)
    path = out / "export_excel.csv"
    path.write_bytes(_csv_text(None, table, ";", "\r\n").encode("cp1252", "replace"))
    return [path], _truth(str(path), ppl, HEADERLESS_EXCEL)


INSURER_EXPORT: list[Field] = [
    ("Patient-ID", "id.internal", lambda p: f"PAT-{p.nir[7:13]}"),
    ("Member No.", "insurance.member_id", _member_number),
    ("Insurer", "insurance.insurer", lambda p: p.insurer),
    ("Name", "person.full_name", lambda p: f"{p.first} {p.last}"),
    ("Born", "person.birth_date", lambda p: p.birth.strftime("%d.%m.%Y")),
    ("Address", "contact.address", lambda p: f"{p.street}, {p.postal_code} {p.city}"),
    ("Test", "health.test", lambda p: ANALYSES[p.birth.day % 8][2]),
    ("Value", "health.test", lambda p: ANALYSES[p.birth.day % 8][3]),
    ("Unit", "other", lambda p: ANALYSES[p.birth.day % 8][4]),
]


def insurer_claims_csv(out: Path, rows: int = 300, seed: int = 22) -> Built:
    """An insurer's claims extract in English (``,``, UTF-8): membership numbers beside
    patient ids, a whole address in one field, one analysis per claim with its unit."""
    ppl = people(rows, seed, 0.0)
    header, table = _table(ppl, INSURER_EXPORT)
    path = out / "claims.csv"
    path.write_text(_csv_text(header, table, ",", "\n"), encoding="utf-8")
    return [path], _truth(str(path), ppl, INSURER_EXPORT)


# --- held out: written after the fixes above, measured once, never tuned on ---------------
GERMAN_RESULTS: list[Field] = [
    ("Patientennummer", "id.internal", lambda p: f"{int(p.nir[5:13]):d}"),
    ("Versichertennummer", "insurance.member_id", lambda p: f"A{p.nir[1:10]}"),
    ("Krankenkasse", "insurance.insurer", lambda p: p.insurer),
    ("Nachname", "person.last_name", lambda p: p.last),
    ("Vorname", "person.first_name", lambda p: p.first),
    ("Geburtsdatum", "person.birth_date", lambda p: _excel_serial(p.birth)),
    ("Anschrift", "contact.address", lambda p: f"{p.street}, {p.postal_code} {p.city}"),
    ("Telefon", "contact.phone", lambda p: _excel_number(p.phone)),
    ("SV-Nummer", "id.nir", _excel_nir),
    ("Abnahmedatum", "health.visit_date", lambda p: _excel_serial(p.visit)),
]


def german_results_excel(out: Path, rows: int = 300, seed: int = 23) -> Built:
    """German lab results saved by Excel: two analyses per patient (analyte, LOINC,
    result, unit, reference range), damaged numbers and serial dates, ``;`` Windows-1252."""
    ppl = people(rows // 2, seed, 0.0, departements=("04", "06", "08"))
    tests = [
        ("Analyt", "health.test", 2),
        ("LOINC", "health.test", 1),
        ("Ergebnis", "health.test", 3),
        ("Einheit", "other", 4),
        ("Referenzbereich", "other", 5),
    ]
    return _results_csv(out / "befunde.csv", ppl, GERMAN_RESULTS, tests, 2)


SPANISH_RESULTS: list[Field] = [
    ("Historia clínica", "id.internal", lambda p: f"HC{p.nir[6:13]}"),
    ("N.º de afiliado", "insurance.member_id", lambda p: f"{p.nir[3:13]}-{p.sex}"),
    ("Apellidos y nombre", "person.full_name", lambda p: f"{p.last.upper()}, {p.first}"),
    ("Fecha de nacimiento", "person.birth_date", lambda p: p.birth.strftime("%d/%m/%Y")),
    ("Domicilio", "contact.address", _whole_address),
    ("Código prueba", "health.test", lambda p: ANALYSES[p.birth.day % 8][1]),
    ("Resultado", "health.test", lambda p: ANALYSES[p.birth.day % 8][3]),
    ("Unidades", "other", lambda p: ANALYSES[p.birth.day % 8][4]),
]


def spanish_results_tsv(out: Path, rows: int = 300, seed: int = 24) -> Built:
    """A Spanish results extract, tab separated, UTF-8 with some lines re-saved in
    Windows-1252: LOINC codes alone (no label), results and units."""
    ppl = people(rows, seed, 0.0)
    header, table = _table(ppl, SPANISH_RESULTS)
    lines = [_csv_text(header, [], "\t", "\n").encode()]
    for i, values in enumerate(table):
        line = _csv_text(None, [values], "\t", "\n")
        lines.append(line.encode("cp1252", "replace") if i % 9 == 4 else line.encode())
    path = out / "resultados.tsv"
    path.write_bytes(b"".join(lines))
    return [path], _truth(str(path), ppl, SPANISH_RESULTS)


#: Every builder, by name.
BUILDERS: dict[str, Callable[..., Built]] = {
    "gp_export_cp1252": gp_export_cp1252,
    "spanish_pipe_latin1": spanish_pipe_latin1,
    "german_tsv": german_tsv,
    "typo_headers_bom": typo_headers_bom,
    "headerless_csv": headerless_csv,
    "xlsx_workbook": xlsx_workbook,
    "json_nested": json_nested,
    "italian_ndjson": italian_ndjson,
    "mysqldump": mysqldump,
    "pg_dump": pg_dump,
    "zip_per_lab": zip_per_lab,
    "tar_gz": tar_gz,
    "damaged_csv": damaged_csv,
    "heldout_notes": heldout_notes,
    "headerless_split_cp1252": headerless_split_cp1252,
    "portuguese_dutch_csv": portuguese_dutch_csv,
    "fresh_lab_export": fresh_lab_export,
    "english_hospital_ndjson": english_hospital_ndjson,
    "results_long_excel": results_long_excel,
    "headerless_excel": headerless_excel,
    "insurer_claims_csv": insurer_claims_csv,
    "german_results_excel": german_results_excel,
    "spanish_results_tsv": spanish_results_tsv,
}


def build(name: str, out: Path, rows: int = 300, seed: int | None = None) -> Built:
    """Build one witness by name into ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    if seed is None:
        return BUILDERS[name](out, rows)
    return BUILDERS[name](out, rows, seed)


# --- measuring Ariane on a witness ------------------------------------------------------
def evaluate(paths: list[Path], truth: Truth) -> dict[str, Any]:
    """Read and classify ``paths`` (as ``scan`` does) and score them against ``truth``."""
    from ariane import classify, read
    from ariane.case import Case

    with Case.ephemeral() as case:
        engine = case.engine()
        summary = read.load(engine, paths)
        profiles = classify.classify(engine)
        files = {
            int(sid): str(name)
            for sid, name in engine.fetch(
                "SELECT source_id, coalesce(inner_path, path) FROM read_sources"
            )
        }
        found: set[tuple[str, int, str]] = {
            (files[int(s)], int(r), str(c))
            for s, r, c in engine.fetch(
                "SELECT DISTINCT source_id, _record, category FROM classify_mentions"
            )
        }
        kept_aside = {
            (files[int(s)], int(r))
            for s, r in engine.fetch("SELECT source_id, record FROM read_quarantine")
        }
    # Outside the store a member is only "member N"; its real name is provenance kept inside.
    labels = {(files[p.source_id], p.name): p.label for p in profiles}
    wrong = []
    total = 0
    for file, columns in truth["columns"].items():
        for column, label in columns.items():
            total += 1
            got = labels.get((file, column), "<missing>")
            if got != label:
                wrong.append(f"{Path(file).name}:{column} want {label} got {got}")
    critical = [w for w in wrong if " want id.nir " in w or " want health.note " in w]
    expected = {
        (file, int(record), category)
        for file, records in truth["mentions"].items()
        for record, categories in records.items()
        for category in categories
        if (file, int(record)) not in kept_aside
    }
    hits = len(expected & found)
    return {
        "columns": total,
        "column_accuracy": (total - len(wrong)) / total if total else 1.0,
        "wrong": wrong,
        "critical_wrong": critical,
        "mention_recall": hits / len(expected) if expected else 1.0,
        "mention_precision": hits / len(found) if found else 1.0,
        "missed": sorted(expected - found)[:20],
        "spurious": sorted(found - expected)[:20],
        "rows": summary.rows,
        "quarantined": summary.quarantined,
        "records": truth["records"],
    }


if __name__ == "__main__":  # python tests/witness_leaks.py: the figures of every witness
    import tempfile

    totals = {"columns": 0, "right": 0, "expected": 0.0, "found": 0.0, "hits": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for name in BUILDERS:
            built_paths, built_truth = build(name, Path(tmp) / name)
            m = evaluate(built_paths, built_truth)
            totals["columns"] += m["columns"]
            totals["right"] += m["columns"] - len(m["wrong"])
            print(
                f"{name:22} columns {m['column_accuracy']:.3f} ({m['columns']}) "
                f"mentions R {m['mention_recall']:.3f} P {m['mention_precision']:.3f} "
                f"rows {m['rows']}+{m['quarantined']}/{m['records']}"
            )
            for line in m["wrong"]:
                print("    ", line)
    print(f"all: {totals['right']}/{totals['columns']} columns right")
