"""Which raw columns feed which person field: the union of every source under one schema.

Sources have different schemas (a CSV export, a SQL table, a sheet...). Classify gave each
column a label; here every source is projected onto the same raw person fields, so that
records of one person spread over files with different layouts meet in one table.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ariane.classify.headers import fold
from ariane.read import fhir, hl7v2
from ariane.read.merges import SAME_PATIENT

if TYPE_CHECKING:
    from ariane.engine import Engine

#: label -> the raw fields it fills, in order: a second column with the same label (a
#: usage name beside a birth name, a second phone) fills the second field.
FIELDS_OF_LABEL: dict[str, tuple[str, ...]] = {
    "person.last_name": ("last_name_raw", "last_name_alt_raw"),
    "person.first_name": ("first_name_raw",),
    "person.full_name": ("full_name_raw",),
    "person.sex": ("sex_raw",),
    "person.birth_date": ("birth_date_raw",),
    "id.nir": ("nir_raw", "nir_alt_raw"),
    "id.internal": ("internal_id_raw",),
    "contact.phone": ("phone_raw", "phone_alt_raw"),
    "contact.email": ("email_raw",),
    "contact.street": ("street_raw",),
    "contact.postal_code": ("postal_code_raw",),
    "contact.city": ("city_raw",),
    "contact.address": ("address_raw",),
}
#: The raw field of a person key: a column of any label that classify found behaving like a
#: person's number (:mod:`ariane.classify.keys`), compared with typos allowed.
PERSON_KEY = "person_key_raw"
#: The raw field of an explicit link: records a file itself says are one person (a FHIR
#: Patient's ``link``, an HL7 v2 MRG segment) share its value, and are joined outright.
SAME_PERSON = "same_person_raw"
RAW_FIELDS: tuple[str, ...] = (
    *(f for fields in FIELDS_OF_LABEL.values() for f in fields),
    PERSON_KEY,
    SAME_PERSON,
)
#: The column that holds the explicit link, by the formats whose readers write it.
SAME_PERSON_COLUMNS = {fmt: SAME_PATIENT for fmt in (*fhir.FORMATS, hl7v2.FORMAT)}
#: Labels whose columns are parts of one value (a street number beside the street name):
#: joined in the file's order rather than ranked.
JOINED_LABELS = frozenset({"contact.street", "contact.address"})

#: Header words of a number that stands for a person: the patient link of a table.
PERSON_WORDS = frozenset(
    ["patient", "pat", "dossier", "client", "person", "personne", "individu", "nip", "ipp"]
    + ["mrn", "pid", "assure", "beneficiaire", "malade", "subject", "sujet", "adherent"]
)
#: Header words of a number that stands for one row: an analysis, a sample, a visit.
ROW_WORDS = frozenset(
    ["analyse", "analysis", "examen", "exam", "prelevement", "sample", "echantillon"]
    + ["specimen", "visit", "visite", "consultation", "sejour", "stay", "encounter", "venue"]
    + ["ligne", "line", "row", "record", "rec", "recno", "enregistrement", "demande"]
    + ["request", "order"]
    + ["commande", "resultat", "result", "acte", "bilan", "facture", "invoice", "rdv"]
)
#: Headers made of these words alone name a table's own key ("id", "N°", "pk").
BARE_KEY_WORDS = frozenset(
    ["id", "pk", "key", "cle", "rowid", "oid", "uid", "uuid", "serial", "index", "idx", "n"]
    + ["no", "nr", "num", "numero", "number", "code", "identifiant", "identifier"]
)
#: Values this unique or more are a key of their rows, not a number repeated per person.
UNIQUE_KEY = 0.95
#: Label families that say a table is about persons. A table with none of them (a table
#: of labs: its number, FINESS and name; a visits table of keys) holds numbers of
#: something else unless they meet the patient numbers of a table about persons.
ABOUT_PERSONS = frozenset(["person", "contact", "health", "insurance", "finance"])


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def field_columns(engine: Engine) -> dict[int, dict[str, list[str]]]:
    """For every source: raw field -> the columns that fill it (one, or the parts of a
    joined field in the file's order)."""
    # Candidates sort on (patient-link rank..., -confidence, position in the file, column).
    labelled: dict[int, dict[str, list[tuple[int, int, float, int, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    if not engine.has_table("classify_columns"):
        return {}
    positions = {
        (source_id, name): i
        for source_id, columns in engine.fetch("SELECT source_id, columns FROM read_sources")
        for i, name in enumerate(columns or [])
    }
    known = engine.fetch_arrow("SELECT * FROM classify_columns LIMIT 0").column_names
    uniqueness = "uniqueness" if "uniqueness" in known else "NULL"
    # A column a spreadsheet damaged (a NIR rounded to 2,85057E+14) links nobody.
    usable = "WHERE damage IS NULL" if "damage" in known else ""
    person_key = _person_key_sql(known)
    rows = engine.fetch(
        f"SELECT source_id, column_name, label, coalesce(confidence, 0), {uniqueness}, "
        f"{person_key} FROM classify_columns {usable}"
    )
    keys: dict[int, list[tuple[float, int, str]]] = defaultdict(list)
    for source_id, column, label, confidence, unique, is_key in rows:
        if is_key:
            # Compared by the model as a person key; still a file's patient link below (the
            # tables of a dump meet on it), which the model then leaves out.
            position = positions.get((source_id, column), 1 << 30)
            keys[source_id].append((-float(confidence), position, column))
        if label in FIELDS_OF_LABEL:
            position = positions.get((source_id, column), 1 << 30)
            rank = patient_link_rank(column, unique) if label == "id.internal" else (0, 0)
            labelled[source_id][label].append((*rank, -float(confidence), position, column))
    out: dict[int, dict[str, list[str]]] = {}
    for source_id, by_label in labelled.items():
        fields: dict[str, list[str]] = {}
        for label, candidates in by_label.items():
            if label in JOINED_LABELS:
                ordered = sorted(candidates, key=lambda c: c[-2])
                fields[FIELDS_OF_LABEL[label][0]] = [c[-1] for c in ordered]
                continue
            # Two name or phone columns: keep both, the more confident first; a tie keeps
            # the file's order (a birth name usually comes before the usage name).
            for field, candidate in zip(FIELDS_OF_LABEL[label], sorted(candidates), strict=False):
                fields[field] = [candidate[-1]]
        out[source_id] = fields
    for source_id, found in keys.items():
        out.setdefault(source_id, {})[PERSON_KEY] = [min(found)[-1]]
    # Written by Ariane's own reader, whatever classify made of it.
    for source_id, fmt, names in engine.fetch(
        "SELECT source_id, format, columns FROM read_sources"
    ):
        if SAME_PERSON_COLUMNS.get(fmt) in (names or []):
            out.setdefault(source_id, {})[SAME_PERSON] = [SAME_PERSON_COLUMNS[fmt]]
    return out


def sources_about_persons(engine: Engine) -> set[int]:
    """Sources with a column about persons (:data:`ABOUT_PERSONS`, a NIR or a person key)."""
    if not engine.has_table("classify_columns"):
        return set()
    known = engine.fetch_arrow("SELECT * FROM classify_columns LIMIT 0").column_names
    person_key = _person_key_sql(known)
    families = ", ".join(f"'{family}'" for family in sorted(ABOUT_PERSONS))
    return {
        int(source_id)
        for (source_id,) in engine.fetch(
            "SELECT DISTINCT source_id FROM classify_columns WHERE label = 'id.nir' "
            f"OR split_part(label, '.', 1) IN ({families}) OR {person_key}"
        )
    }


def _person_key_sql(known: list[str]) -> str:
    """Whether classify found a column behaving like a person key (older cases: never)."""
    if "evidence" not in known:
        return "false"
    return "coalesce(json_extract(evidence, '$.person_key')::BOOLEAN, false)"


def patient_link_rank(header: str, uniqueness: float | None) -> tuple[int, int]:
    """How surely an internal-identifier column is the patient link (lower is surer).

    A visits table holds its own key (``id_analyse``) beside its link to the patient
    (``id_patient``): only the link may join the records of one person, the own key would
    orphan every visit. The header says which when it names the person or the row; else
    the values do: a patient number recurs over visits, a table's own key never repeats.
    """
    words = fold(header).split()
    person = any(_names(word, PERSON_WORDS) for word in words)
    row = any(_names(word, ROW_WORDS) for word in words)
    bare = bool(words) and all(word in BARE_KEY_WORDS for word in words)
    role = 0 if person and not row else 2 if (row and not person) or bare else 1
    unique = uniqueness is not None and uniqueness >= UNIQUE_KEY
    return role, int(unique)


def _names(word: str, terms: frozenset[str]) -> bool:
    """A header word is one of the terms, or glues a long one to another (``idpatient``)."""
    return word in terms or any(len(term) >= 5 and term in word for term in terms)


def _value(columns: list[str]) -> str:
    if not columns:
        return "CAST(NULL AS VARCHAR)"
    if len(columns) == 1:
        return f"CAST({quote(columns[0])} AS VARCHAR)"
    parts = ", ".join(f"nullif(trim(CAST({quote(c)} AS VARCHAR)), '')" for c in columns)
    return f"nullif(concat_ws(' ', {parts}), '')"


def union_sql(engine: Engine) -> str | None:
    """One query over every source: ``source_id, _record`` and every raw person field."""
    columns = field_columns(engine)
    parts = []
    from ariane.read import record_sources_sql

    for source_id, data_table in engine.fetch(
        f"SELECT source_id, data_table FROM ({record_sources_sql(engine)}) ORDER BY source_id"
    ):
        if not data_table or not engine.has_table(data_table):
            continue
        fields = columns.get(source_id, {})
        projected = ", ".join(f"{_value(fields.get(f, []))} AS {f}" for f in RAW_FIELDS)
        parts.append(
            f"SELECT CAST({int(source_id)} AS INTEGER) AS source_id, "
            f"CAST(_record AS BIGINT) AS _record, {projected} FROM {quote(data_table)}"
        )
    if not parts:
        return None
    return " UNION ALL ".join(parts)
