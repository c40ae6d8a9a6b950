"""Resolve: normalisation of person fields, and records -> persons with Splink."""

from __future__ import annotations

import random
from datetime import date

import pyarrow as pa
import pytest

from ariane.case import Case
from ariane.nir import make_nir
from ariane.resolve import fields, names, phones, resolve, summarise
from ariane.resolve import normalise as n
from ariane.resolve.addresses import place


def add_source(engine, source_id, path, columns, labels, confidence=None):
    """A read source + its classify labels, built directly (read/classify are not run)."""
    confidence = confidence or {}
    rows = len(next(iter(columns.values())))
    data = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    data["_source_id"] = pa.array([source_id] * rows, pa.int32())
    data["_record"] = pa.array(range(1, rows + 1), pa.int64())
    data["_line"] = pa.array(range(2, rows + 2), pa.int64())
    engine.append(f"raw_{source_id}", pa.table(data))
    engine.append(
        "read_sources",
        pa.table(
            {
                "source_id": pa.array([source_id], pa.int32()),
                "path": [path],
                "inner_path": pa.array([None], pa.string()),
                "format": ["csv"],  # as the read stage writes it
                "data_table": [f"raw_{source_id}"],
                "columns": pa.array([list(columns)], pa.list_(pa.string())),
                "rows": pa.array([rows], pa.int64()),
                "quarantined": pa.array([0], pa.int64()),
            }
        ),
    )
    engine.append(
        "classify_columns",
        pa.table(
            {
                "source_id": pa.array([source_id] * len(columns), pa.int32()),
                "column_name": list(columns),
                "label": [labels.get(c, "other") for c in columns],
                "confidence": pa.array([confidence.get(c, 0.9) for c in columns], pa.float64()),
                "uniqueness": pa.array([_uniqueness(v) for v in columns.values()], pa.float64()),
            }
        ),
    )


def _uniqueness(values):
    present = [v for v in values if v is not None]
    return len(set(present)) / len(present) if present else 0.0


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def scalar(engine, expression, value):
    return engine.fetch(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS v)", [value])[0][0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12/03/1980", date(1980, 3, 12)),
        ("1980-03-12 00:00:00", date(1980, 3, 12)),
        ("12.3.1980", date(1980, 3, 12)),
        ("19800312", date(1980, 3, 12)),
        ("12 mars 1980", date(1980, 3, 12)),
        ("3 Feb 1990", date(1990, 2, 3)),
        ("25/12/75", date(1975, 12, 25)),
        ("29221", date(1980, 1, 1)),  # an Excel serial number
        ("31/02/1980", None),
        ("12/03/2090", None),  # a birth in the future is no birth
    ],
)
def test_birth_dates_in_many_formats(engine, raw, expected):
    today = date(2026, 1, 1)
    if any(ch.isalpha() for ch in raw):
        digits = engine.fetch("SELECT ?::VARCHAR", [n.date_words(raw)])[0][0]
    else:
        digits = scalar(engine, n.date_text("v"), raw)
    parsed = f"(SELECT {n.parse_date('t', n.DAY_FIRST, today)} FROM (SELECT v AS t))"
    assert scalar(engine, n.birth_date(parsed, today), digits) == expected


def test_nir_is_canonical_and_key_checked(engine):
    valid = make_nir(1, 80, 3, "35", "238", 123)
    corsican = make_nir(2, 75, 12, "2A", "004", 12)
    as_written = " ".join([valid[:1], valid[1:3], valid[3:5], valid[5:7], valid[7:13], valid[13:]])
    nir = f"(SELECT {n.nir('c')} FROM (SELECT {n.nir_compact('v')} AS c))"
    assert scalar(engine, nir, as_written) == valid
    assert scalar(engine, nir, corsican) == corsican
    assert scalar(engine, nir, corsican[:13]) == corsican  # key computed for a bare body
    wrong_key = valid[:13] + f"{(int(valid[13:]) + 1) % 97:02d}"
    assert scalar(engine, nir, wrong_key) is None


def test_names_fold_case_accents_and_married_names(engine):
    assert scalar(engine, n.name("v"), "  Le Gall-Hervé ") == "LE GALL HERVE"
    assert scalar(engine, n.birth_name(n.name("v")), "Martin née Dupont") == "DUPONT"
    assert scalar(engine, n.other_name(n.name("v")), "Martin née Dupont") == "MARTIN"
    assert scalar(engine, n.birth_name(n.name("v")), "Dupont épouse Martin") == "DUPONT"


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("DUPONT Jean", "Jean", "DUPONT"),
        ("Jean-Pierre LE GALL", "Jean-Pierre", "LE GALL"),
        ("Dupont, Marie", "Marie", "Dupont"),
        ("Mme Marie DUPONT épouse MARTIN", "Marie", "DUPONT épouse MARTIN"),
        ("Camille Bernard", "Camille", "Bernard"),
    ],
)
def test_whole_names_are_split(full, first, last):
    assert names.split_full_name(full) == (first, last)


def test_phones_to_e164(engine):
    fast = phones.fast_e164(phones.digits("v"))
    assert scalar(engine, fast, "06 12 34 56 78") == "+33612345678"
    assert scalar(engine, fast, "+33 (0)6 12 34 56 78") == "+33612345678"
    assert scalar(engine, fast, "612345678") == "+33612345678"
    assert scalar(engine, fast, "0690 12 34 56") is None  # overseas: left to phonenumbers
    assert phones.e164("0690123456") == "+590690123456"
    assert phones.e164("+44 20 7946 0958") == "+442079460958"
    assert phones.e164("12") is None


def test_emails(engine):
    assert scalar(engine, n.email("v"), " Jean.Dupont@Mail.FR ") == "jean.dupont@mail.fr"
    assert scalar(engine, n.email("v"), "jean@") is None


def test_places_prefer_the_town_given_with_the_postal_code():
    assert place("20000", "Ajaccio") == ("2A004", "2A")
    commune, departement = place("35000", None)
    assert departement == "35"
    assert place(None, "Rennes") == (None, None)


def _people(count, seed):
    rng = random.Random(seed)
    firsts = ["Jean", "Marie", "Pierre", "Anne", "Louis", "Claire", "Paul", "Julie", "Yann"]
    lasts = ["Le Gall", "Dupont", "Martin", "Tanguy", "Guillou", "Bernard", "Morel", "Roux"]
    people = []
    for i in range(count):
        sex = rng.choice([1, 2])
        born = date(1930 + rng.randrange(80), 1 + rng.randrange(12), 1 + rng.randrange(28))
        people.append(
            {
                "first": rng.choice(firsts) + ("" if i % 3 else f"-{rng.choice(firsts)}"),
                "last": rng.choice(lasts)
                + f"{i:04d}"[-2:].translate(str.maketrans("0123456789", "abcdefghij")),
                "sex": sex,
                "born": born,
                "nir": make_nir(
                    sex,
                    born.year,
                    born.month,
                    "35",
                    f"{rng.randrange(1, 999):03d}",
                    1 + rng.randrange(998),
                ),
                "phone": f"06{rng.randrange(10**8):08d}",
            }
        )
    return people


def test_records_of_one_person_meet_across_files_with_different_schemas(engine):
    people = _people(60, seed=1)
    # File A: separate columns, ISO dates, NIR with spaces.
    add_source(
        engine, 1, "a.csv",
        {
            "nom": [p["last"].upper() for p in people],
            "prenom": [p["first"] for p in people],
            "ddn": [p["born"].isoformat() for p in people],
            "secu": [" ".join([p["nir"][:1], p["nir"][1:7], p["nir"][7:]]) for p in people],
            "sexe": ["M" if p["sex"] == 1 else "F" for p in people],
        },
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
         "secu": "id.nir", "sexe": "person.sex"},
    )  # fmt: skip
    # File B: the first 40 people again, whole names, French dates, a phone, no NIR.
    again = people[:40]
    add_source(
        engine, 2, "b.csv",
        {
            "patient": [f"{p['last'].upper()} {p['first']}" for p in again],
            "naissance": [p["born"].strftime("%d/%m/%Y") for p in again],
            "tel": [p["phone"] for p in again],
        },
        {"patient": "person.full_name", "naissance": "person.birth_date",
         "tel": "contact.phone"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    summary = summarise(engine)
    assert summary["persons"] == 60
    low, high = summary["persons_interval"]
    assert low <= 60 <= high
    same = engine.fetch(
        "SELECT count(*) FROM resolve_records a JOIN resolve_records b "
        "ON a._record = b._record AND a.source_id = 1 AND b.source_id = 2 "
        "WHERE a.person_id = b.person_id"
    )[0][0]
    assert same == 40
    assert engine.fetch("SELECT count(*) FROM resolve_persons")[0][0] == 60
    # Every record kept, with its canonical fields.
    assert engine.fetch("SELECT count(*) FROM resolve_records")[0][0] == 100
    assert (
        engine.fetch("SELECT count(*) FROM resolve_records WHERE source_id = 1 AND nir IS NULL")[0][
            0
        ]
        == 0
    )
    assert not any(t.startswith("__splink") for t in engine.tables())


def test_resolution_is_deterministic(engine):
    people = _people(30, seed=2)
    columns = {
        "nom": [p["last"] for p in people] * 2,
        "prenom": [p["first"] for p in people] * 2,
        "ddn": [p["born"].isoformat() for p in people] * 2,
    }
    labels = {"nom": "person.last_name", "prenom": "person.first_name",
              "ddn": "person.birth_date"}  # fmt: skip
    add_source(engine, 1, "a.csv", columns, labels)
    resolve(engine, today=date(2026, 1, 1))
    first = engine.fetch("SELECT _record, person_id FROM resolve_records ORDER BY _record")
    resolve(engine, today=date(2026, 1, 1))
    again = engine.fetch("SELECT _record, person_id FROM resolve_records ORDER BY _record")
    assert first == again
    assert summarise(engine)["persons"] == 30


def test_family_sharing_an_insured_nir_stays_apart(engine):
    parent = make_nir(1, 70, 5, "35", "238", 10)
    add_source(
        engine, 1, "a.csv",
        {
            "nom": ["GUILLOU", "GUILLOU", "GUILLOU"],
            "prenom": ["Yann", "Nolwenn", "Yann"],
            "ddn": ["1970-05-02", "2004-09-17", "1970-05-02"],
            "secu": [parent, parent, parent],
        },
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
         "secu": "id.nir"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    assert summarise(engine)["persons"] == 2


def test_tables_of_one_dump_meet_on_patient_numbers_and_labs_are_no_persons(engine):
    people = _people(50, seed=3)
    add_source(
        engine, 1, "dump.sql",
        {"nom": [p["last"] for p in people], "prenom": [p["first"] for p in people],
         "dossier": [f"P{i:03d}" for i in range(50)]},
        {"nom": "person.last_name", "prenom": "person.first_name", "dossier": "id.internal"},
    )  # fmt: skip
    # Another table of the same dump: visits keyed by the patient number only.
    visits = [f"P{i % 50:03d}" for i in range(150)]
    add_source(engine, 2, "dump.sql", {"patient": visits}, {"patient": "id.internal"})
    # A table of labs: nothing personal.
    add_source(engine, 3, "dump.sql", {"ville": ["Rennes", "Brest"]}, {"ville": "contact.city"})
    resolve(engine, today=date(2026, 1, 1))
    assert summarise(engine)["persons"] == 50
    person = {
        (s, r): p
        for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
    }
    assert all(person[(2, i + 1)] == person[(1, i % 50 + 1)] for i in range(150))
    assert person[(3, 1)] is None and person[(3, 2)] is None


@pytest.mark.parametrize(
    ("own_key", "patient_link"),
    [("id_analyse", "id_patient"), ("ID", "N° dossier"), ("col_1", "col_2")],
)
def test_visits_link_to_their_patient_not_by_their_own_key(engine, own_key, patient_link):
    """A visits table's own key must not stand for the patient, however confident.

    The keys are small integers in both tables: read as patient numbers, analysis 7 would
    join patient 7.
    """
    people = _people(40, seed=5)
    add_source(
        engine, 1, "dump.sql",
        {"nom": [p["last"] for p in people], "prenom": [p["first"] for p in people],
         "ddn": [p["born"].isoformat() for p in people],
         "id_patient": [str(i + 1) for i in range(40)]},
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
         "id_patient": "id.internal"},
    )  # fmt: skip
    rng = random.Random(5)
    patient_of_visit = [1 + rng.randrange(40) for _ in range(120)]
    add_source(
        engine, 2, "dump.sql",
        {own_key: [str(i + 1) for i in range(120)],
         patient_link: [str(p) for p in patient_of_visit]},
        {own_key: "id.internal", patient_link: "id.internal"},
        confidence={own_key: 0.95, patient_link: 0.6},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    person = {
        (s, r): p
        for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
    }
    patients = [person[(1, i + 1)] for i in range(40)]
    assert len(set(patients)) == 40  # no two patients merged
    assert all(person[(2, v + 1)] == patients[p - 1] for v, p in enumerate(patient_of_visit))
    assert summarise(engine)["persons"] == 40


@pytest.mark.parametrize(
    ("header", "uniqueness", "rank"),
    [
        ("id_patient", 1.0, (0, 1)),
        ("idPatient", 0.3, (0, 0)),
        ("N° patient", 0.3, (0, 0)),
        ("IPP", None, (0, 0)),
        ("numDossier", 0.5, (0, 0)),
        ("id_analyse", 1.0, (2, 1)),
        ("Prélèvement", 1.0, (2, 1)),
        ("visit_id", 0.4, (2, 0)),
        ("ID", 1.0, (2, 1)),
        ("col_3", 0.3, (1, 0)),
        ("col_3", 0.99, (1, 1)),
        ("patient_visit", 0.4, (1, 0)),
    ],
)
def test_patient_link_rank_reads_headers_then_values(header, uniqueness, rank):
    assert fields.patient_link_rank(header, uniqueness) == rank


def test_namesakes_sharing_an_email_but_not_a_nir_stay_apart(engine):
    people = _people(80, seed=4)
    twin = dict(people[0])
    twin["born"] = date(1950, 6, 1)
    twin["nir"] = make_nir(twin["sex"], 1950, 6, "29", "019", 77)
    rows = [*people, twin]
    email = [f"{p['first']}.{p['last']}@mail.fr".lower() for p in rows]
    add_source(
        engine, 1, "a.csv",
        {"nom": [p["last"] for p in rows], "prenom": [p["first"] for p in rows],
         "ddn": [p["born"].isoformat() for p in rows], "secu": [p["nir"] for p in rows],
         "mail": email},
        {"nom": "person.last_name", "prenom": "person.first_name", "ddn": "person.birth_date",
         "secu": "id.nir", "mail": "contact.email"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    assert summarise(engine)["persons"] == 81


def test_month_first_columns_and_month_names_through_the_stage(engine):
    add_source(
        engine, 1, "us.csv",
        {"last": ["Smith", "Jones", "Brown"], "first": ["Ann", "Bob", "Cy"],
         "dob": ["12/25/1980", "01/02/1990", "07/30/1975"]},
        {"last": "person.last_name", "first": "person.first_name", "dob": "person.birth_date"},
    )  # fmt: skip
    add_source(
        engine, 2, "fr.csv",
        {"nom": ["SMITH"], "prenom": ["Ann"], "naissance": ["25 décembre 1980"]},
        {"nom": "person.last_name", "prenom": "person.first_name",
         "naissance": "person.birth_date"},
    )  # fmt: skip
    resolve(engine, today=date(2026, 1, 1))
    dates = dict(engine.fetch("SELECT source_id * 10 + _record, birth_date FROM resolve_records"))
    assert dates[11] == dates[21] == date(1980, 12, 25)
    assert dates[12] == date(1990, 1, 2)  # read month first, like the rest of its column


def test_a_record_number_is_no_patient_link_beside_a_person_number():
    from ariane.resolve.fields import patient_link_rank

    # Both unique in a file where each person appears once: the header tells the row's
    # own number (rec_id, recno) from the person's.
    for own in ("rec_id", "RECNO", "record id", "id_analyse"):
        assert patient_link_rank(own, 1.0) > patient_link_rank("soc_sec_id", 1.0), own
    assert patient_link_rank("id_patient", 1.0) < patient_link_rank("soc_sec_id", 1.0)
