"""Synthetic tables for the classify tests, built in code (no test in this module)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa

from ariane import geo, nir

FIRST_NAMES = [
    "Jean",
    "Marie",
    "Pierre",
    "Camille",
    "Louis",
    "Chloé",
    "Nathalie",
    "Hugo",
    "Léa",
    "Thomas",
    "Isabelle",
    "Nicolas",
    "Sophie",
    "Gaël",
    "Maëlle",
    "Yann",
    "Anne-Sophie",
    "Jean-Pierre",
    "Émilie",
    "François",
    "Catherine",
    "Julien",
    "Manon",
    "Éric",
]
LAST_NAMES = [
    "Le Gall",
    "Martin",
    "Guillou",
    "Le Bihan",
    "Dubois",
    "Morvan",
    "Lefebvre",
    "Tanguy",
    "Kerouac",
    "Durand",
    "Le Goff",
    "Moreau",
    "Bernard",
    "Riou",
    "Quéré",
    "Jézéquel",
    "Caradec",
    "Le Roux",
    "Petitjean",
    "Lemoine",
    "Hamon",
    "Cariou",
    "Nédélec",
    "Salaün",
]
STREET_TYPES = ["rue", "avenue", "boulevard", "allée", "impasse", "chemin", "place", "Rue", "bd"]
STREET_NAMES = [
    "des Lilas",
    "Jean Jaurès",
    "de la Gare",
    "du Port",
    "Victor Hugo",
    "des Écoles",
    "de Brest",
    "du Général de Gaulle",
    "des Mouettes",
    "Pasteur",
]
INSURERS = [
    "MGEN",
    "Harmonie Mutuelle",
    "Malakoff Humanis",
    "AG2R La Mondiale",
    "Groupama",
    "MACIF",
    "Mutuelle de Bretagne",
    "AXA",
    "Swiss Life",
    "CMU-C",
    "Aésio",
    "MNT",
]
LABS = [
    "Laboratoire Océane",
    "LBM Bio Armor",
    "Laboratoire des Rives",
    "Biologie Médicale du Port",
    "Labo Saint-Louis",
    "SELAS Biomer",
]
BLOOD = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]

#: Note templates: (text, categories). Benign ones include the traps of the lexicon.
NOTES: list[tuple[str, set[str]]] = [
    ("VIH+ suivi CHU", {"hiv"}),
    ("patiente séropositive, CV indétectable", {"hiv"}),
    ("sérologie VIH négative", {"hiv"}),
    ("enceinte 12 SA", {"pregnancy"}),
    ("G2P1, contrôle bHCG", {"pregnancy"}),
    ("grossesse 24 SA, glycémie à jeun", {"pregnancy"}),
    ("K sein opéré 2019", {"cancer"}),
    ("néo colon, bilan d'extension", {"cancer"}),
    ("chimio en cours", {"cancer", "treatment"}),
    ("ATCD lymphome", {"cancer"}),
    ("mucoviscidose", {"genetic"}),
    ("trisomie 21", {"genetic"}),
    ("drépanocytose homozygote", {"genetic"}),
    ("sous AVK, INR cible 2-3", {"treatment"}),
    ("sous Levothyrox", {"treatment"}),
    ("traitement par insuline", {"treatment"}),
    ("enceinte, sous AVK", {"pregnancy", "treatment"}),
    ("VIH+ et K poumon", {"hiv", "cancer"}),
    ("RAS", set()),
    ("à jeun", set()),
    ("prélèvement difficile", set()),
    ("rappeler le patient", set()),
    ("vacances à Kermaria", set()),
    ("passionné de Néolithique", set()),
    ("résultats envoyés au médecin", set()),
    ("déménage à Néoules", set()),
    ("bilan annuel, K+ normal", set()),
    ("antibiogramme joint", set()),
]


def _nir_for(rng: random.Random, sex: int, birth: date, referential: geo.Referential) -> str:
    dep = rng.choice(["35", "22", "29", "56", "2A", "75", "971"])
    commune = f"{rng.randint(1, 99):02d}" if len(dep) == 3 else f"{rng.randint(1, 400):03d}"
    return nir.make_nir(sex, birth.year, birth.month, dep, commune, rng.randint(1, 999))


def person_rows(n: int, seed: int = 1) -> list[dict[str, str | None]]:
    """``n`` synthetic lab records with every field of the 2021 case (true labels as keys)."""
    rng = random.Random(seed)
    referential = geo.referential()
    communes = [
        c
        for d in ("35", "22", "29", "56", "37", "14")
        for c in referential.communes_of_departement(d)
    ]
    rows = []
    for i in range(n):
        sex = rng.choice([1, 2])
        birth = date(1930, 1, 1) + timedelta(days=rng.randint(0, 90 * 365))
        visit = date(2019, 1, 1) + timedelta(days=rng.randint(0, 760))
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES) + ("" if rng.random() < 0.7 else f"-{rng.choice(LAST_NAMES)}")
        commune = rng.choice(communes)
        street = f"{rng.randint(1, 120)} {rng.choice(STREET_TYPES)} {rng.choice(STREET_NAMES)}"
        note, _ = rng.choice(NOTES) if rng.random() < 0.4 else (None, set())
        phone = rng.choice(["06", "07", "02", "09"]) + "".join(
            str(rng.randint(0, 9)) for _ in range(8)
        )
        if rng.random() < 0.3:
            phone = " ".join(phone[j : j + 2] for j in range(0, 10, 2))
        rows.append(
            {
                "id.internal": f"P{100000 + i}",
                "id.nir": _nir_for(rng, sex, birth, referential),
                "person.last_name": last.upper() if rng.random() < 0.5 else last,
                "person.first_name": first,
                "person.sex": {1: rng.choice(["M", "H"]), 2: "F"}[sex],
                "person.birth_date": birth.strftime("%d/%m/%Y"),
                "contact.street": street,
                "contact.postal_code": commune.postal_codes[0],
                "contact.city": commune.name.upper() if rng.random() < 0.5 else commune.name,
                "contact.phone": phone,
                "contact.email": f"{first.lower()}.{last.lower().replace(' ', '')}{i}@exemple.fr",
                "health.visit_date": visit.isoformat(),
                "health.blood_group": rng.choice(BLOOD),
                "provider.physician": f"Dr {rng.choice(LAST_NAMES)}",
                "insurance.insurer": rng.choice(INSURERS),
                "health.note": note,
                "provider.organisation": rng.choice(LABS),
            }
        )
    return rows


def load_table(
    engine: object,
    source_id: int,
    columns: dict[str, list[str | None]],
    has_header: bool = True,
    path: str = "leak.csv",
) -> None:
    """Write one source as the read stage does: a ``read_sources`` row and ``raw_<id>``."""
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    data = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    data["_source_id"] = pa.array([source_id] * n, pa.int32())
    data["_record"] = pa.array(range(1, n + 1), pa.int64())
    data["_line"] = pa.array(range(2, n + 2), pa.int64())
    table_name = f"raw_{source_id}"
    engine.append(table_name, pa.table(data))  # type: ignore[attr-defined]
    source = pa.table(
        {
            "source_id": pa.array([source_id], pa.int32()),
            "path": pa.array([path]),
            "inner_path": pa.array([None], pa.string()),
            "table_name": pa.array([None], pa.string()),
            "format": pa.array(["csv"]),
            "encoding": pa.array(["utf-8"]),
            "sha256": pa.array(["0" * 64]),
            "has_header": pa.array([has_header]),
            "columns": pa.array([names], pa.list_(pa.string())),
            "rows": pa.array([n], pa.int64()),
            "quarantined": pa.array([0], pa.int64()),
            "data_table": pa.array([table_name]),
        }
    )
    engine.append("read_sources", source)  # type: ignore[attr-defined]


def layout(
    rows: list[dict[str, str | None]],
    headers: dict[str, str] | None,
    order: list[str] | None = None,
) -> tuple[dict[str, list[str | None]], dict[str, str]]:
    """Columns under given headers (``None``: headerless ``col_N``), and header -> true label."""
    labels = order or list(rows[0])
    columns: dict[str, list[str | None]] = {}
    truth: dict[str, str] = {}
    for i, label in enumerate(labels, start=1):
        name = f"col_{i}" if headers is None else headers[label]
        columns[name] = [r[label] for r in rows]
        truth[name] = label
    return columns, truth


def apply(rows: list[dict[str, str | None]], label: str, fn: Callable[[str], str]) -> None:
    """Rewrite one field of every row (another date format, a whole address...)."""
    for r in rows:
        value = r[label]
        if value is not None:
            r[label] = fn(value)


def extra_rows(n: int, seed: int = 2) -> list[dict[str, str | None]]:
    """Identifiers and structured health fields beyond the 2021 case's columns."""
    from stdnum import luhn
    from stdnum.iso7064 import mod_97_10

    rng = random.Random(seed)

    def digits(k: int) -> str:
        return "".join(str(rng.randint(0, 9)) for _ in range(k))

    def with_luhn(body: str) -> str:
        return body + luhn.calc_check_digit(body)

    tests = [
        "NFS",
        "Glycémie à jeun",
        "TSH",
        "Bilan lipidique",
        "HbA1c",
        "Créatinine",
        "CRP",
        "Ferritine",
        "Sérologie toxoplasmose",
        "ECBU",
    ]
    finesses = [with_luhn(rng.choice(["35", "22", "29", "56"]) + "0" + digits(5)) for _ in range(6)]
    rows = []
    for _ in range(n):
        bban = digits(10) + digits(11) + digits(2)
        iban = "FR" + mod_97_10.calc_check_digits(bban + "FR") + bban
        rows.append(
            {
                "finance.iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
                "provider.rpps": with_luhn("10" + digits(8)),
                "provider.finess": rng.choice(finesses),
                "provider.adeli": with_luhn(rng.choice(["35", "29"]) + "1" + digits(5)),
                "insurance.member_id": f"{rng.choice(['MG', 'HM', 'AX'])}{digits(8)}",
                "health.condition": rng.choice(
                    ["E11", "I10", "C50.9", "J45", "O24.4", "B20", "Q90.9", None]
                ),
                "health.pregnancy": rng.choice(["oui", "non", "non", "non", None]),
                "health.hiv": rng.choice(["positif", "négatif", "négatif", None]),
                "health.test": rng.choice(tests),
            }
        )
    return rows
