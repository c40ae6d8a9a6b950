"""The columns of a synthetic leak and the streaming CSV writer of its files.

Header wording is drawn from the seed among several spellings per column, in French or
English, so that no reader can be tuned to one fixed schema; ``truth.json`` keeps the
true label (CONTRACT.md) of every column under the name it got.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "|", "\t")
HEADERS = ("fr", "en", "none")


@dataclass(frozen=True)
class Column:
    """One column of the leak: its contract label and the ways it may be titled."""

    key: str
    label: str
    french: tuple[str, ...]
    english: tuple[str, ...]


COLUMNS: tuple[Column, ...] = (
    Column(
        "record_id",
        "id.internal",
        ("num_dossier", "N° dossier", "id", "ref_dossier"),
        ("record_id", "file_no", "id", "sample_ref"),
    ),
    Column(
        "nir",
        "id.nir",
        ("nir", "num_secu", "N° sécurité sociale", "NSS", "no_ss"),
        ("ssn", "social_security_no", "nir", "insurance_number"),
    ),
    Column(
        "last_name",
        "person.last_name",
        ("nom", "NOM", "nom_patient", "nom_naissance"),
        ("last_name", "surname", "family_name", "lastname"),
    ),
    Column(
        "first_name",
        "person.first_name",
        ("prenom", "Prénom", "prénom_patient"),
        ("first_name", "given_name", "firstname"),
    ),
    Column("sex", "person.sex", ("sexe", "Sexe", "genre"), ("sex", "gender")),
    Column(
        "birth_date",
        "person.birth_date",
        ("date_naissance", "Date de naissance", "ddn", "né(e) le"),
        ("birth_date", "dob", "date_of_birth"),
    ),
    Column(
        "street",
        "contact.street",
        ("adresse", "Adresse", "adresse_1", "rue"),
        ("address", "street", "address_line1"),
    ),
    Column(
        "postal_code",
        "contact.postal_code",
        ("code_postal", "CP", "Code postal", "cp"),
        ("postal_code", "zip", "postcode"),
    ),
    Column("city", "contact.city", ("ville", "Ville", "commune", "localite"), ("city", "town")),
    Column(
        "phone",
        "contact.phone",
        ("telephone", "Téléphone", "tel", "portable"),
        ("phone", "telephone", "mobile"),
    ),
    Column(
        "email",
        "contact.email",
        ("email", "mail", "Courriel", "adresse_mail"),
        ("email", "e_mail", "mail"),
    ),
    Column(
        "blood_group",
        "health.blood_group",
        ("groupe_sanguin", "Groupe sanguin", "grp_sg", "GS"),
        ("blood_group", "blood_type", "abo_rh"),
    ),
    Column(
        "physician",
        "provider.physician",
        ("medecin_traitant", "Médecin traitant", "prescripteur", "medecin"),
        ("physician", "gp", "referring_doctor"),
    ),
    Column(
        "rpps",
        "provider.rpps",
        ("rpps_medecin", "RPPS", "n_rpps"),
        ("physician_rpps", "rpps", "rpps_id"),
    ),
    Column(
        "mutuelle",
        "insurance.insurer",
        ("mutuelle", "Mutuelle", "complementaire", "organisme_complementaire"),
        ("insurer", "supplementary_insurer", "mutual_insurance"),
    ),
    Column(
        "visit_date",
        "health.visit_date",
        ("date_derniere_visite", "Dernière visite", "date_prelevement", "der_visite"),
        ("last_visit", "visit_date", "sample_date"),
    ),
    Column(
        "comment_1",
        "health.note",
        ("commentaire", "Commentaire", "observations", "remarque"),
        ("comment", "notes", "remarks"),
    ),
    Column(
        "comment_2",
        "health.note",
        ("commentaire_2", "Commentaire 2", "infos_cliniques", "note_bio"),
        ("comment_2", "clinical_info", "notes_2"),
    ),
    Column(
        "lab_name",
        "provider.organisation",
        ("laboratoire", "Laboratoire", "labo", "site"),
        ("laboratory", "lab", "site_name"),
    ),
    Column(
        "finess",
        "provider.finess",
        ("finess", "FINESS", "n_finess", "finess_labo"),
        ("finess", "lab_finess", "finess_no"),
    ),
)
REGISTRY_HEADER = ("controller_id", "name", "finess", "siren", "address", "postal_code", "city",
                   "dpo_email")  # fmt: skip
TRUTH_RECORDS_HEADER = ("record", "record_id", "person_id", "controller_id", "categories")


def column_order(rng: random.Random) -> list[int]:
    """A seeded order of the columns: exports differ in where names and the lab go."""
    order = list(range(len(COLUMNS)))
    keys = [column.key for column in COLUMNS]
    if rng.random() < 0.4:  # first name before last name
        first, last = keys.index("first_name"), keys.index("last_name")
        order[first], order[last] = order[last], order[first]
    if rng.random() < 0.4:  # the lab's columns right after the record id
        lab = [keys.index("lab_name"), keys.index("finess")]
        order = [order[0], *lab, *(i for i in order[1:] if i not in lab)]
    return order


def header_names(header: str, rng: random.Random, order: list[int]) -> list[str]:
    """The title of every column, in file order, or ``col_N`` when there is no header."""
    if header == "none":
        return [f"col_{i + 1}" for i in range(len(order))]
    names: list[str] = []
    for index in order:
        column = COLUMNS[index]
        spellings = column.french if header == "fr" else column.english
        names.append(rng.choice([name for name in spellings if name not in names]))
    return names


class LeakWriter:
    """Streams the leak and its per-record truth to disk, chunk by chunk."""

    def __init__(self, out_dir: Path, encoding: str, delimiter: str, names: list[str] | None):
        # Windows-1252 exports come with CRLF line ends, the others with LF.
        terminator = "\r\n" if encoding == "cp1252" else "\n"
        # Latin-1 and cp1252 cannot hold every character: export tools write '?' for them.
        errors = "strict" if encoding.startswith("utf") else "replace"
        self._leak: IO[str] = open(  # noqa: SIM115 - closed in close()
            out_dir / "leak.csv", "w", encoding=encoding, errors=errors, newline=""
        )
        self._truth: IO[str] = open(  # noqa: SIM115
            out_dir / "truth_records.csv", "w", encoding="utf-8", newline=""
        )
        self._leak_csv = csv.writer(self._leak, delimiter=delimiter, lineterminator=terminator)
        self._truth_csv = csv.writer(self._truth, lineterminator="\n")
        self._truth_csv.writerow(TRUTH_RECORDS_HEADER)
        if names is not None:
            self._leak_csv.writerow(names)

    def write(self, rows: Iterable[list[str]], truth: Iterable[tuple[object, ...]]) -> None:
        """Append leak rows and their truth rows."""
        self._leak_csv.writerows(rows)
        self._truth_csv.writerows(truth)

    def close(self) -> None:
        """Flush and close both files."""
        self._leak.close()
        self._truth.close()


def write_registry(path: Path, rows: Iterable[tuple[str, ...]]) -> None:
    """Write the controllers registry in the CONTRACT.md format."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REGISTRY_HEADER)
        writer.writerows(rows)
