"""Leaks in layouts the synthetic generator never writes, with their truth (no tests here).

Each builder writes files into a directory and returns a :class:`Layout`: the inputs of a
run (files, registry, patient lists) and, for every record of every source, the person it
names and the controller it belongs to (``None`` when its lab is not in the registry: the
only right answer is to abstain). :func:`measure` runs read, classify, resolve and
attribute on a layout and compares with the truth.

Most builders reshape ``ariane.synth.generate`` output (its ``truth_records.csv`` gives the
person and controller of each record) into other layouts, under a registry of their own
(other lab names, other FINESS numbers); :func:`families` draws its people with Faker in
several locales: no NIR, families sharing an address, a phone and the insured's NIR,
namesakes and twins.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tarfile
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from faker import Faker
from stdnum import luhn

from ariane.nir import make_nir

#: (source key, record number) -> (person, controller or None)
Truth = dict[tuple[str, int], tuple[str, str | None]]
REGISTRY_HEADER = [
    "controller_id",
    "name",
    "finess",
    "siren",
    "address",
    "postal_code",
    "city",
    "dpo_email",
]


@dataclass
class Layout:
    """Inputs of one run and the truth of every record."""

    name: str
    files: list[Path]
    registry: Path | None
    truth: Truth
    controller_patients: dict[str, Path] = field(default_factory=dict)
    #: Values as they were before a tool damaged them: (source key, record) -> label -> value.
    originals: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        """Distinct persons in the truth."""
        return len({person for person, _ in self.truth.values()})

    @property
    def controllers(self) -> set[str]:
        """Controllers holding at least one record."""
        return {c for _, c in self.truth.values() if c}


def source_key(path: str, inner_path: str | None, table_name: str | None) -> str:
    """How a read source is named in a :data:`Truth`: the archive member (else the file
    name), and the table of a SQL dump."""
    base = inner_path or Path(path).name
    return f"{base}#{table_name}" if table_name and path.endswith(".sql") else base


# --- Labs: a registry of their own --------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """A controller of a layout's registry."""

    controller_id: str
    name: str
    finess: str
    city: str
    postal_code: str


_LAB_NAMES = [
    "Laboratoire Roux-Gautier", "LBM Bio Ouest", "Laboratoire d'Analyses Médicales du Parc",
    "Biolab Armor", "Centre de Biologie Médicale Lefèvre", "Laboratoire des Remparts",
    "Laboratoire Carré-Besnard", "Bio Val de Loire", "Laboratoire de la Cathédrale",
    "LBM Normandie Biologie",
]  # fmt: skip
_TOWNS = [
    ("Rennes", "35000"),
    ("Brest", "29200"),
    ("Tours", "37000"),
    ("Caen", "14000"),
    ("Vannes", "56000"),
    ("Orléans", "45000"),
    ("Rennes", "35700"),
    ("Lorient", "56100"),
    ("Chartres", "28000"),
    ("Rouen", "76000"),
]


def finess_for(departement: str, rng: random.Random) -> str:
    """A FINESS number of a département with a Luhn check character."""
    body = departement + "".join(str(rng.randrange(10)) for _ in range(6))
    return body + luhn.calc_check_digit(body)


def make_labs(ids: list[str], seed: int, extra: int = 3) -> tuple[list[Lab], list[Lab]]:
    """Labs for ``ids`` and ``extra`` more that hold no record (one shares a word of a
    name with a lab that holds records)."""
    rng = random.Random(seed)
    labs = []
    for i, controller_id in enumerate(ids):
        town, code = _TOWNS[i % len(_TOWNS)]
        labs.append(
            Lab(
                controller_id,
                _LAB_NAMES[i % len(_LAB_NAMES)],
                finess_for(code[:2], rng),
                town,
                code,
            )
        )
    extras = [
        Lab("XTRA1", "Laboratoire Gautier", finess_for("35", rng), "Fougères", "35300"),
        Lab("XTRA2", "Biologie Médicale de l'Odet", finess_for("29", rng), "Quimper", "29000"),
        Lab(
            "XTRA3",
            "Laboratoire Pasteur Cherbourg",
            finess_for("50", rng),
            "Cherbourg-en-Cotentin",
            "50100",
        ),
    ][:extra]
    return labs, extras


def write_registry(path: Path, labs: list[Lab]) -> Path:
    """The registry CSV of ``labs``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REGISTRY_HEADER)
        for lab in labs:
            writer.writerow(
                [
                    lab.controller_id,
                    lab.name,
                    lab.finess,
                    "",
                    "1 rue de la Paix",
                    lab.postal_code,
                    lab.city,
                    "",
                ]
            )
    return path


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_variant(lab: Lab, rng: random.Random) -> str:
    """How a leak may write a lab's name: abbreviated, upper case, without 'Laboratoire',
    with its town, with a typo."""
    bare = re.sub(
        r"^(Laboratoire|LBM|Centre de Biologie Médicale)\s+(d'|de la |des |du )?", "", lab.name
    )
    forms = [
        lab.name.upper(),
        bare,
        f"Labo {bare} {lab.city}",
        f"LBM {bare}",
        _fold(f"{bare} - {lab.city}").upper(),
        f"Lab. {bare}",
    ]
    form = rng.choice(forms)
    if rng.random() < 0.3 and len(form) > 8:
        i = rng.randrange(2, len(form) - 2)
        form = form[:i] + form[i + 1 :] if rng.random() < 0.5 else form[:i] + form[i] + form[i:]
    return form


def finess_variant(lab: Lab, rng: random.Random) -> str:
    """A FINESS number as written: compact, or grouped with spaces."""
    f = lab.finess
    return rng.choice([f, f, f"{f[:2]} {f[2:5]} {f[5:]}", f"{f[:3]} {f[3:6]} {f[6:]}"])


# --- Synthetic leaks reshaped -------------------------------------------------------------


@dataclass
class SynthLeak:
    """A generated leak as rows with their truth, and the labels of its columns."""

    header: list[str]
    rows: list[dict[str, str]]
    persons: list[str]
    controllers: list[str]
    labels: dict[str, str]

    def column(self, label: str) -> str | None:
        """The (first) column holding ``label``."""
        return next((c for c in self.header if self.labels.get(c) == label), None)


def synth_leak(directory: Path, rows: int, labs: int, seed: int) -> SynthLeak:
    """Generate a leak into ``directory`` and load it with its truth."""
    from ariane.synth import generate

    result = generate(directory, rows=rows, labs=labs, seed=seed)
    with result.leak.open(encoding="utf-8", newline="") as leak:
        reader = csv.DictReader(leak)
        data = list(reader)
        header = list(reader.fieldnames or [])
    with result.truth_records.open(encoding="utf-8", newline="") as truth:
        records = list(csv.DictReader(truth))
    labels = json.loads(result.truth.read_text(encoding="utf-8"))["columns"]
    return SynthLeak(
        header,
        data,
        [r["person_id"] for r in records],
        [r["controller_id"] for r in records],
        labels,
    )


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _without_labs(leak: SynthLeak) -> list[str]:
    drop = {leak.column("provider.organisation"), leak.column("provider.finess")}
    return [c for c in leak.header if c not in drop]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _fold(text).lower()).strip("-")


def archive(directory: Path, kind: str, rows: int = 1200, seed: int = 11) -> Layout:
    """Per-lab CSV files without any lab column in a ``.zip`` (flat names) or a
    ``.tar.gz`` (folders): only the file names say which lab."""
    leak = synth_leak(directory / "synth", rows, 6, seed)
    ids = sorted(set(leak.controllers))
    labs, extras = make_labs(ids, seed)
    by_id = {lab.controller_id: lab for lab in labs}
    header = _without_labs(leak)
    per_lab: dict[str, list[int]] = defaultdict(list)
    for i, controller in enumerate(leak.controllers):
        per_lab[controller].append(i)
    members: dict[str, str] = {}
    truth: Truth = {}
    for n, controller in enumerate(ids):
        lab = by_id[controller]
        if kind == "zip":
            member = [
                f"{lab.name.replace(' ', '_')}_{lab.city}.csv",
                f"export_{lab.finess}.csv",
                f"{_slug(lab.name)}.csv",
            ][n % 3]
        else:
            member = [
                f"extraction/{_slug(lab.name)}/patients.csv",
                f"extraction/{lab.finess}/data.csv",
                f"extraction/{lab.name} - {lab.city}/export 2021.csv",
            ][n % 3]
        indexes = per_lab[controller]
        members[member] = _csv_text(
            header, [[leak.rows[i][c] for c in header] for i in indexes], ";"
        )
        for record, i in enumerate(indexes, start=1):
            truth[(member, record)] = (leak.persons[i], controller)
    if kind == "zip":
        path = directory / "leak.zip"
        with zipfile.ZipFile(path, "w") as bundle:
            for member, text in members.items():
                bundle.writestr(member, text.encode("utf-8"))
    else:
        path = directory / "leak.tar.gz"
        with tarfile.open(path, "w:gz") as bundle:
            for member, text in members.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(member)
                info.size = len(data)
                bundle.addfile(info, io.BytesIO(data))
    registry = write_registry(directory / "registry.csv", labs + extras)
    return Layout(f"archive_{kind}", [path], registry, truth)


def lab_column(directory: Path, kind: str, rows: int = 1200, seed: int = 12) -> Layout:
    """One CSV whose only lab column holds the lab's name in forms unlike the registry's
    (``kind='name'``) or its FINESS, sometimes spaced (``kind='finess'``). The registry
    lists extra labs holding no record and lacks one lab of the leak."""
    leak = synth_leak(directory / "synth", rows, 6, seed)
    ids = sorted(set(leak.controllers))
    labs, extras = make_labs(ids, seed)
    absent = ids[-1]  # its records must stay unattributed
    by_id = {lab.controller_id: lab for lab in labs}
    rng = random.Random(seed)
    header = [*_without_labs(leak), "Etablissement"]
    table = []
    truth: Truth = {}
    for i, row in enumerate(leak.rows):
        lab = by_id[leak.controllers[i]]
        mark = name_variant(lab, rng) if kind == "name" else finess_variant(lab, rng)
        table.append([*(row[c] for c in header[:-1]), mark])
        truth[("leak.csv", i + 1)] = (
            leak.persons[i],
            None if lab.controller_id == absent else lab.controller_id,
        )
    (directory / "leak.csv").write_text(_csv_text(header, table), encoding="utf-8")
    kept = [lab for lab in labs if lab.controller_id != absent]
    registry = write_registry(directory / "registry.csv", kept + extras)
    return Layout(f"lab_{kind}", [directory / "leak.csv"], registry, truth)


def two_csvs(directory: Path, rows: int = 1200, seed: int = 13) -> Layout:
    """Two CSVs with different schemas for the same people: names + NIR in one, names +
    birth date + phone in the other; each keeps the lab's FINESS."""
    leak = synth_leak(directory / "synth", rows, 6, seed)
    labs, extras = make_labs(sorted(set(leak.controllers)), seed)
    by_id = {lab.controller_id: lab for lab in labs}
    rng = random.Random(seed)
    last, first = leak.column("person.last_name"), leak.column("person.first_name")
    nir, birth = leak.column("id.nir"), leak.column("person.birth_date")
    phone, email = leak.column("contact.phone"), leak.column("contact.email")
    assert last and first and nir and birth and phone
    schemas = {
        "identites.csv": (["NOM", "PRENOM", "NUM_SS", "FINESS"], [last, first, nir]),
        "contacts.csv": (
            ["nom_naissance", "prenom", "date_de_naissance", "portable", "courriel", "finess"],
            [last, first, birth, phone, email],
        ),
    }
    tables: dict[str, list[list[str]]] = {name: [] for name in schemas}
    truth: Truth = {}
    for i, row in enumerate(leak.rows):
        name = rng.choice(list(schemas))
        columns = schemas[name][1]
        lab = by_id[leak.controllers[i]]
        tables[name].append([row[c] if c else "" for c in columns] + [lab.finess])
        truth[(name, len(tables[name]))] = (leak.persons[i], lab.controller_id)
    files = []
    for name, (header, _) in schemas.items():
        (directory / name).write_text(_csv_text(header, tables[name]), encoding="utf-8")
        files.append(directory / name)
    registry = write_registry(directory / "registry.csv", labs + extras)
    return Layout("two_csvs", files, registry, truth)


def _sql(value: str | None) -> str:
    if value is None or value == "":
        return "NULL"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _mysql_table(name: str, columns: list[str], rows: list[list[str | None]]) -> str:
    create = ",\n".join(f"  `{c}` varchar(255) DEFAULT NULL" for c in columns)
    lines = [
        f"DROP TABLE IF EXISTS `{name}`;",
        f"CREATE TABLE `{name}` (\n{create}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
    ]
    for start in range(0, len(rows), 200):
        values = ",".join(
            "(" + ",".join(_sql(v) for v in row) + ")" for row in rows[start : start + 200]
        )
        lines.append(f"INSERT INTO `{name}` VALUES {values};")
    return "\n".join(lines) + "\n"


def sql_dumps(directory: Path, rows: int = 1200, seed: int = 14) -> Layout:
    """One ``mysqldump`` per lab, named after its FINESS, each with a ``patients`` table
    (identity, the lab's own patient number) and an ``analyses`` table (visits keyed by
    that number only). Patient numbers restart at 1 in every lab."""
    leak = synth_leak(directory / "synth", rows, 6, seed)
    ids = sorted(set(leak.controllers))
    labs, extras = make_labs(ids, seed)
    by_id = {lab.controller_id: lab for lab in labs}
    identity = [
        (label, leak.column(label))
        for label in (
            "person.last_name",
            "person.first_name",
            "person.sex",
            "person.birth_date",
            "id.nir",
            "contact.street",
            "contact.postal_code",
            "contact.city",
            "contact.phone",
            "contact.email",
        )
    ]
    names = [
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "no_secu",
        "adresse",
        "cp",
        "ville",
        "tel",
        "email",
    ]
    note, visit = leak.column("health.note"), leak.column("health.visit_date")
    truth: Truth = {}
    files = []
    for controller in ids:
        lab = by_id[controller]
        patients: list[list[str | None]] = []
        analyses: list[list[str | None]] = []
        number_of: dict[str, int] = {}
        file = f"dump_{lab.finess}.sql"
        for i, row in enumerate(leak.rows):
            if leak.controllers[i] != controller:
                continue
            person = leak.persons[i]
            if person not in number_of:
                number_of[person] = len(number_of) + 1
                patients.append(
                    [str(number_of[person]), *(row[c] if c else None for _, c in identity)]
                )
                truth[(f"{file}#patients", len(patients))] = (person, controller)
            analyses.append(
                [
                    str(1000 + len(analyses)),
                    str(number_of[person]),
                    row[visit] if visit else None,
                    row[note] if note else None,
                ]
            )
            truth[(f"{file}#analyses", len(analyses))] = (person, controller)
        text = (
            "-- MySQL dump 10.13  Distrib 8.0.32\n"
            + _mysql_table("patients", ["id_patient", *names], patients)
            + _mysql_table(
                "analyses",
                ["id_analyse", "id_patient", "date_prelevement", "commentaire"],
                analyses,
            )
        )
        (directory / file).write_text(text, encoding="utf-8")
        files.append(directory / file)
    registry = write_registry(directory / "registry.csv", labs + extras)
    return Layout("sql_dumps", files, registry, truth)


def patient_lists(
    directory: Path, rows: int = 1200, seed: int = 15, visits: bool = False
) -> Layout:
    """A leak with no lab information at all; each lab hands over its patient list
    (``--controller-patients ID=FILE``) with the values it holds: one row per patient,
    or with ``visits`` one row per visit with its date."""
    leak = synth_leak(directory / "synth", rows, 6, seed)
    ids = sorted(set(leak.controllers))
    labs, extras = make_labs(ids, seed)
    header = _without_labs(leak)
    table = [[row[c] for c in header] for row in leak.rows]
    (directory / "leak.csv").write_text(_csv_text(header, table), encoding="utf-8")
    truth: Truth = {
        ("leak.csv", i + 1): (leak.persons[i], leak.controllers[i]) for i in range(len(leak.rows))
    }
    columns = [
        leak.column(label)
        for label in ("id.nir", "person.last_name", "person.first_name", "person.birth_date")
    ]
    visit = leak.column("health.visit_date")
    lists: dict[str, Path] = {}
    for controller in ids:
        seen: set[str] = set()
        lines = []
        for i, row in enumerate(leak.rows):
            if leak.controllers[i] != controller or (leak.persons[i] in seen and not visits):
                continue
            seen.add(leak.persons[i])
            line = [row[c] if c else "" for c in columns]
            if visits:
                # The lab writes its dates its own way.
                day = row[visit] if visit else ""
                iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", day)
                line.append(f"{iso[3]}/{iso[2]}/{iso[1]}" if iso else day)
            lines.append(line)
        header = ["NIR", "Nom", "Prénom", "Date de naissance"]
        path = directory / f"patients_{controller}.csv"
        path.write_text(
            _csv_text(header + ["Date de prélèvement"] * visits, lines), encoding="utf-8"
        )
        lists[controller] = path
    registry = write_registry(directory / "registry.csv", labs + extras)
    name = "patient_visits" if visits else "patient_lists"
    return Layout(name, [directory / "leak.csv"], registry, truth, lists)


# --- People drawn with Faker: no NIR, families, namesakes, twins -----------------------------

_LOCALES = ["fr_FR"] * 6 + ["pt_PT", "it_IT", "de_DE", "en_GB", "es_ES", "nl_NL"]
_DEPARTEMENTS = ["35", "29", "22", "56", "37", "45", "14", "50"]


@dataclass
class _Person:
    person_id: str
    first: str
    last: str
    sex: int
    birth: date
    nir: str | None  # the NIR written in the person's records (own, the insured's, or none)
    street: str
    postal_code: str
    city: str
    phone: str
    email: str | None


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _own_nir(rng: random.Random, sex: int, birth: date) -> str:
    return make_nir(
        sex,
        birth.year % 100,
        birth.month,
        rng.choice(_DEPARTEMENTS),
        f"{rng.randrange(1, 400):03d}",
        rng.randrange(1, 999),
    )


def families(directory: Path, households: int = 320, seed: int = 16) -> Layout:
    """People drawn with Faker in several locales: a third without any NIR, households
    sharing an address, a landline and the insured's NIR, namesakes (same names, other
    birth dates) and twins. Each person has one to three records with small slips."""
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in sorted(set(_LOCALES))}
    for n, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + n)
    fr = fakers["fr_FR"]
    people: list[_Person] = []

    def add(
        first: str,
        last: str,
        sex: int,
        birth: date,
        nir: str | None,
        home: tuple[str, str, str],
        phone: str,
        email: str | None,
    ) -> _Person:
        person = _Person(f"F{len(people):05d}", first, last, sex, birth, nir, *home, phone, email)
        people.append(person)
        return person

    for _ in range(households):
        faker = fakers[rng.choice(_LOCALES)]
        last = faker.last_name()
        departement = rng.choice(_DEPARTEMENTS)
        home = (fr.street_address(), f"{departement}{rng.randrange(0, 999):03d}", fr.city())
        landline = f"0{rng.choice('1234')}{rng.randrange(10**7, 10**8)}"
        sex = rng.choice((1, 2))
        first = faker.first_name_male() if sex == 1 else faker.first_name_female()
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 45))
        with_nir = rng.random() < 0.65
        insured = _own_nir(rng, sex, birth) if with_nir else None
        email = f"{_slug(first)}.{_slug(last)}{rng.randrange(10, 99)}@{rng.choice(['gmail.com', 'orange.fr', 'free.fr'])}"  # noqa: E501
        adult = add(
            first,
            last,
            sex,
            birth,
            insured,
            home,
            f"06{rng.randrange(10**7, 10**8)}",
            email if rng.random() < 0.7 else None,
        )
        size = rng.choices((0, 1, 2, 3), weights=(35, 25, 25, 15))[0]
        born = adult.birth + timedelta(days=rng.randrange(365 * 22, 365 * 38))
        twins = rng.random() < 0.25 and size >= 2
        for child in range(size):
            child_sex = rng.choice((1, 2))
            child_first = faker.first_name_male() if child_sex == 1 else faker.first_name_female()
            birth_date = born if (twins and child < 2) else born + timedelta(days=400 * child + 30)
            # Children carry the insured's NIR, or none; the family shares the landline.
            child_nir = insured if rng.random() < 0.6 else None
            add(
                child_first,
                last,
                child_sex,
                birth_date,
                child_nir,
                home,
                landline,
                adult.email if rng.random() < 0.3 else None,
            )
        if rng.random() < 0.15:
            # A namesake elsewhere: same names, another birth date, own contacts.
            other_departement = rng.choice(_DEPARTEMENTS)
            add(
                first,
                last,
                sex,
                birth + timedelta(days=rng.randrange(400, 9000)),
                _own_nir(rng, sex, birth) if rng.random() < 0.3 else None,
                (fr.street_address(), f"{other_departement}{rng.randrange(0, 999):03d}", fr.city()),
                f"07{rng.randrange(10**7, 10**8)}",
                None,
            )
    ids = [f"LAB{n:02d}" for n in range(1, 7)]
    labs, extras = make_labs(ids, seed)
    header = [
        "Nom",
        "Prénom",
        "Sexe",
        "Né(e) le",
        "N° SS",
        "Adresse",
        "CP",
        "Ville",
        "Téléphone",
        "E-mail",
        "FINESS labo",
        "Date prélèvement",
    ]
    table = []
    truth: Truth = {}
    for person in people:
        home_lab = rng.choice(labs)
        for _ in range(rng.choices((1, 2, 3), weights=(60, 28, 12))[0]):
            lab = home_lab if rng.random() < 0.85 else rng.choice(labs)
            first = _typo(person.first, rng) if rng.random() < 0.05 else person.first
            last = person.last.upper() if rng.random() < 0.5 else person.last
            phone = person.phone
            if rng.random() < 0.3:
                phone = " ".join(phone[i : i + 2] for i in range(0, 10, 2))
            birth = person.birth.strftime(rng.choice(["%d/%m/%Y", "%d/%m/%Y", "%Y-%m-%d"]))
            visit = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 700))
            table.append(
                [
                    last,
                    first,
                    "M" if person.sex == 1 else "F",
                    birth,
                    person.nir or "",
                    person.street,
                    person.postal_code,
                    person.city,
                    phone,
                    person.email if person.email and rng.random() < 0.9 else "",
                    finess_variant(lab, rng),
                    visit.strftime("%d/%m/%Y"),
                ]
            )
            truth[("leak.csv", len(table))] = (person.person_id, lab.controller_id)
    order = list(range(len(table)))
    rng.shuffle(order)
    shuffled_truth: Truth = {}
    rows = []
    for new, old in enumerate(order, start=1):
        rows.append(table[old])
        shuffled_truth[("leak.csv", new)] = truth[("leak.csv", old + 1)]
    (directory / "leak.csv").write_text(_csv_text(header, rows, ";"), encoding="utf-8")
    registry = write_registry(directory / "registry.csv", labs + extras)
    return Layout("families", [directory / "leak.csv"], registry, shuffled_truth)


# --- Saved by French Excel ------------------------------------------------------------------

#: Labs of départements 01-09 (their FINESS and postal codes start with a 0).
_LOW_TOWNS = [("Bourg-en-Bresse", "01000"), ("Laon", "02000"), ("Moulins", "03000"),
              ("Gap", "05000"), ("Nice", "06000"), ("Troyes", "10000")]  # fmt: skip
#: Excel's serial number of a date (1900 date system: day 0 is 1899-12-30 after 1900-02-28).
EXCEL_EPOCH = date(1899, 12, 30)


def excel_number(text: str) -> str:
    """What French Excel writes for digits it took as a number: leading zeros dropped, and
    beyond 11 digits scientific notation with 6 significant digits and a decimal comma."""
    number = int(text)
    if len(str(number)) <= 11:
        return str(number)
    return f"{number:.5E}".replace(".", ",").replace("E+", "E+")


def excel_serial(text: str) -> str:
    """A date as Excel's serial number (the text when it is no date Excel reads)."""
    for form in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            written = datetime.strptime(text, form).date()
        except ValueError:
            continue
        return str((written - EXCEL_EPOCH).days)
    return text


def french_excel(directory: Path, rows: int = 1200, seed: int = 21) -> Layout:
    """A synthetic leak opened and saved again in French Excel: ``;``, Windows-1252, CRLF;
    NIRs in scientific notation (``2,91064E+14``), FINESS numbers, postal codes and phone
    numbers without their leading zero, dates as serial numbers. Half the labs are in
    départements 01-09 (their FINESS loses its zero), and a third of the persons live there.
    The lab is known by its FINESS column only (the lab names are dropped)."""
    from ariane import geo

    leak = synth_leak(directory / "synth", rows, 6, seed)
    ids = sorted(set(leak.controllers))
    rng = random.Random(seed)
    labs = []
    for i, controller_id in enumerate(ids):
        town, code = (_LOW_TOWNS if i % 2 == 0 else _TOWNS)[i % 6]
        labs.append(Lab(controller_id, _LAB_NAMES[i], finess_for(code[:2], rng), town, code))
    by_id = {lab.controller_id: lab for lab in labs}
    low = [
        c
        for d in ("01", "02", "03", "05", "07", "09")
        for c in geo.referential().communes_of_departement(d)
    ]
    moved: dict[str, tuple[str, str]] = {}
    for person in sorted(set(leak.persons)):
        if rng.random() < 0.35:
            commune = rng.choice(low)
            moved[person] = (commune.postal_codes[0], commune.name)
    column = {label: leak.column(label) for label in set(leak.labels.values())}
    header = [c for c in leak.header if c != column["provider.organisation"]]
    table = []
    truth: Truth = {}
    originals: dict[tuple[str, int], dict[str, str]] = {}
    for i, row in enumerate(leak.rows):
        values = dict(row)
        values[column["provider.finess"]] = by_id[leak.controllers[i]].finess
        if leak.persons[i] in moved:
            values[column["contact.postal_code"]], values[column["contact.city"]] = moved[
                leak.persons[i]
            ]
        originals[("leak.csv", i + 1)] = {label: values[c] for label, c in column.items() if c}
        for label in ("id.nir", "provider.finess", "contact.postal_code", "contact.phone"):
            digits = re.sub(r"[\s.]", "", values[column[label]])
            if digits.isdigit():
                values[column[label]] = excel_number(digits)
        for label in ("person.birth_date", "health.visit_date"):
            values[column[label]] = excel_serial(values[column[label]])
        table.append([values[c] for c in header])
        truth[("leak.csv", i + 1)] = (leak.persons[i], leak.controllers[i])
    text = _csv_text(header, table, ";").replace("\n", "\r\n")
    (directory / "leak.csv").write_bytes(text.encode("cp1252", "replace"))
    registry = write_registry(directory / "registry.csv", labs)
    return Layout("french_excel", [directory / "leak.csv"], registry, truth, {}, originals)


BUILDERS = {
    "archive_zip": lambda d: archive(d, "zip"),
    "archive_tar": lambda d: archive(d, "tar"),
    "lab_name": lambda d: lab_column(d, "name"),
    "lab_finess": lambda d: lab_column(d, "finess"),
    "two_csvs": two_csvs,
    "sql_dumps": sql_dumps,
    "patient_lists": patient_lists,
    "patient_visits": lambda d: patient_lists(d, visits=True),
    "families": families,
    "french_excel": french_excel,
}


# --- Measuring a run against the truth ----------------------------------------------------


@dataclass
class Figures:
    """A run compared with its truth."""

    layout: str
    records: int
    persons_true: int
    persons: int
    interval: tuple[int, int]
    split: int  # true persons spread over several found persons
    merged: int  # found persons holding several true persons
    attributed_right: float  # share of records with the right controller (or rightly none)
    unattributed: float  # share of records with a controller in the truth left without one
    wrong_records: int  # records given a controller other than the truth's
    wrong_listed: list[str]  # controllers listed that hold no record in the truth
    unmatched: int  # read records with no truth (a reshaping bug if not 0)

    @property
    def persons_error(self) -> float:
        """Relative error of the person count."""
        return abs(self.persons - self.persons_true) / self.persons_true

    def meets_targets(self) -> bool:
        """Issue 5's targets."""
        low, high = self.interval
        return (
            self.persons_error <= 0.01
            and low <= self.persons_true <= high
            and self.attributed_right >= 0.995
            and self.unattributed <= 0.005
            and not self.wrong_listed
        )

    def line(self) -> str:
        """One line for a table of figures."""
        return (
            f"{self.layout:14s} rows={self.records:5d} persons={self.persons:5d}/"
            f"{self.persons_true:5d} ({self.persons_error:6.2%}) interval={list(self.interval)} "
            f"split={self.split} merged={self.merged} right={self.attributed_right:7.2%} "
            f"unattributed={self.unattributed:6.2%} wrong={self.wrong_records} "
            f"listed_wrong={self.wrong_listed} unmatched={self.unmatched} "
            f"{'OK' if self.meets_targets() else 'FAIL'}"
        )


def measure(layout: Layout) -> Figures:
    """Run read, classify, link, resolve and attribute on ``layout`` (as ``run`` does) and
    compare with its truth; rows folded into another table's records are no records."""
    from ariane import attribute, classify, link, read, resolve
    from ariane.case import Case

    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, layout.files)
        classify.classify(engine)
        link.link(engine)
        resolve.resolve(engine)
        attribute.attribute(engine, layout.registry, layout.controller_patients)
        sources = {
            s: source_key(p, i, t)
            for s, p, i, t in engine.fetch(
                "SELECT source_id, path, inner_path, table_name FROM read_sources"
            )
        }
        found = engine.fetch(
            "SELECT r.source_id, r._record, r.person_id, a.controller_id FROM resolve_records r "
            "JOIN attribute_records a USING (source_id, _record)"
        )
        persons, low, high = engine.fetch(
            "SELECT persons, persons_low, persons_high FROM resolve_estimate"
        )[0]
        listed = [c["controller_id"] for c in attribute.summarise(engine)["controllers"]]
    clusters_of: dict[str, set[int]] = defaultdict(set)
    persons_of: dict[int, set[str]] = defaultdict(set)
    right = unattributed = wrong = unmatched = 0
    for source_id, record, person_id, controller in found:
        key = (sources[source_id], int(record))
        if key not in layout.truth:
            unmatched += 1
            continue
        true_person, true_controller = layout.truth[key]
        if person_id is not None:
            clusters_of[true_person].add(int(person_id))
            persons_of[int(person_id)].add(true_person)
        if controller == true_controller:
            right += 1
        elif controller is None:
            unattributed += 1
        else:
            wrong += 1
    total = len(found) - unmatched
    return Figures(
        layout.name,
        len(found),
        layout.persons,
        int(persons),
        (int(low), int(high)),
        sum(len(c) > 1 for c in clusters_of.values()),
        sum(len(p) > 1 for p in persons_of.values()),
        right / max(total, 1),
        unattributed / max(total, 1),
        wrong,
        sorted(set(listed) - layout.controllers),
        unmatched,
    )
