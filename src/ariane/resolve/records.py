"""Every read record with its person fields in canonical form: ``resolve_fields``.

The union of all sources (:mod:`~.fields`) is normalised in a few SQL passes; the values
that need a library call (whole names, overseas phones, communes, sex words) are mapped
once per distinct value (:mod:`~.distinct`) and joined back.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from ariane import excel
from ariane import nir as nir_module
from ariane.resolve import keys, phones
from ariane.resolve import normalise as n
from ariane.resolve.addresses import place
from ariane.resolve.distinct import map_distinct, scratch
from ariane.resolve.fields import RAW_FIELDS, union_sql
from ariane.resolve.names import phonetic, split_full_name

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Columns of ``resolve_fields`` (besides ``unique_id, source_id, _record``).
PERSON_FIELDS = (
    "last_name", "last_name_alt", "first_name", "sex", "birth_date", "nir", "nir_own",
    "foreign_id",
    "phone", "email", "street", "postal_code", "city", "commune_code", "departement",
    "internal_id", "person_key", "last_name_key", "first_name_key", "last_name_sdx",
    "first_name_sdx", "same_person",
)  # fmt: skip


def _empty_raw() -> str:
    columns = ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in RAW_FIELDS)
    keys = "CAST(NULL AS INTEGER) AS source_id, CAST(NULL AS BIGINT) AS _record"
    return f"SELECT {keys}, {columns} LIMIT 0"


def _month_first_sources(engine: Engine) -> list[int]:
    """Sources whose birth dates read month first (12/25/1980): more parse that way."""
    rows = engine.fetch(
        "SELECT source_id, "
        "count(try_strptime(d, '%d/%m/%Y')) AS day_first, "
        "count(try_strptime(d, '%m/%d/%Y')) AS month_first "
        f"FROM (SELECT source_id, {n.date_text('birth_date_raw')} AS d FROM resolve_raw "
        "WHERE birth_date_raw IS NOT NULL) GROUP BY source_id"
    )
    return [int(source) for source, day_first, month_first in rows if month_first > day_first]


def build(engine: Engine, today: date) -> int:
    """Write ``resolve_fields``; return its number of records."""
    union = union_sql(engine) or _empty_raw()
    scratch(
        engine,
        "resolve_raw",
        f"SELECT row_number() OVER (ORDER BY source_id, _record) AS unique_id, * FROM ({union})",
    )
    _split_names(engine)
    _sex_words(engine)
    map_distinct(
        engine,
        "resolve_map_dates",
        f"SELECT birth_date_raw FROM resolve_raw WHERE {n.has_words('birth_date_raw')}",
        lambda value: (n.date_words(value),),
        ["birth_date_raw"],
        [("bd_text", pa.string())],
    )
    month_first = _month_first_sources(engine)
    day_parse = n.parse_date("bd_text", n.DAY_FIRST, today)
    month_parse = n.parse_date("bd_text", n.MONTH_FIRST, today)
    parsed = (
        f"CASE WHEN source_id IN ({', '.join(map(str, month_first))}) "
        f"THEN {month_parse} ELSE {day_parse} END"
        if month_first
        else day_parse
    )
    # Pass 1: text cleaned, names folded, numbers compacted.
    scratch(
        engine,
        "resolve_stage",
        f"""
        SELECT r.unique_id, r.source_id, r._record,
               {n.name("coalesce(r.last_name_raw, s.last_name)")} AS last_full,
               {n.name("r.last_name_alt_raw")} AS last_alt_column,
               {n.name("coalesce(r.first_name_raw, s.first_name)")} AS first_name,
               x.sex AS sex_word,
               CASE WHEN {n.has_words("r.birth_date_raw")} THEN w.bd_text
                    ELSE {n.date_text("r.birth_date_raw")} END AS bd_text,
               {n.nir_compact("r.nir_raw")} AS nir_a,
               {n.nir_compact("r.nir_alt_raw")} AS nir_b,
               {phones.digits(n.text("r.phone_raw"))} AS phone_digits,
               {n.email("r.email_raw")} AS email,
               coalesce({n.street("r.street_raw")},
                        {n.street("regexp_extract(r.address_raw, '^(.*?)[0-9]{2} ?[0-9]{3}', 1)")})
                   AS street,
               coalesce({n.postal_code("r.postal_code_raw")},
                        {n.postal_code_in_address("r.address_raw")}) AS postal_code,
               coalesce({n.text("r.city_raw")}, {n.city_in_address("r.address_raw")}) AS city,
               {_code("r.internal_id_raw")} AS internal_id,
               {_code("r.person_key_raw")} AS person_key,
               {n.text("r.same_person_raw")} AS same_person
        FROM resolve_raw r
        LEFT JOIN resolve_map_names s ON s.full_name_raw = r.full_name_raw
        LEFT JOIN resolve_map_sex x ON x.sex_raw = r.sex_raw
        LEFT JOIN resolve_map_dates w ON w.birth_date_raw = r.birth_date_raw
        """,
    )
    _phones(engine)
    _places(engine)
    nir_a, nir_b = n.nir("nir_a"), n.nir("nir_b")
    # Pass 2: parsed and checked values.
    scratch(
        engine,
        "resolve_checked",
        f"""
        SELECT s.unique_id, s.source_id, s._record,
               {n.birth_name("s.last_full")} AS last_name,
               coalesce({n.other_name("s.last_full")}, s.last_alt_column) AS last_name_alt,
               s.first_name,
               {parsed} AS bd_parsed,
               {nir_a} AS nir_a, {nir_b} AS nir_b,
               -- A social security number that is no NIR (another country's, or a NIR
               -- too damaged to check) still identifies: compared as it stands.
               -- A NIR a spreadsheet rounded (2,85057E+14) is shared by strangers: no id.
               CASE WHEN {nir_a} IS NULL AND length(s.nir_a) >= 5
                    AND NOT {excel.nir_digits_lost_sql("s.nir_a")} THEN s.nir_a END
                   AS foreign_id,
               s.sex_word,
               coalesce({phones.fast_e164("s.phone_digits")}, p.phone) AS phone,
               s.email, s.street, s.postal_code, s.city, g.commune_code, g.departement,
               s.internal_id, s.person_key, s.same_person
        FROM resolve_stage s
        LEFT JOIN resolve_map_phones p ON p.phone_digits = s.phone_digits
        LEFT JOIN resolve_map_places g
               ON g.postal_code IS NOT DISTINCT FROM s.postal_code
              AND g.city IS NOT DISTINCT FROM s.city
        """,
    )
    engine.execute(
        "ALTER TABLE resolve_checked ADD COLUMN birth_date DATE; "
        f"UPDATE resolve_checked SET birth_date = {n.birth_date('bd_parsed', today)}"
    )
    own_a = n.nir_is_own("nir_a", "sex_word", "birth_date")
    own_b = n.nir_is_own("nir_b", "sex_word", "birth_date")
    scratch(
        engine,
        "resolve_keys",
        f"""
        SELECT *,
               coalesce(nir_a, nir_b) AS nir,
               CASE WHEN {own_a} THEN nir_a WHEN {own_b} THEN nir_b END AS nir_own,
               coalesce(sex_word, {n.sex_of_nir("coalesce(nir_a, nir_b)")}) AS sex,
               {n.name_key("last_name")} AS last_name_key,
               {n.name_key("first_name")} AS first_name_key
        FROM resolve_checked
        """,
    )
    keys.scope(engine, "resolve_keys")
    _phonetics(engine)
    columns = ", ".join(f"k.{c}" for c in PERSON_FIELDS if not c.endswith("_sdx"))
    scratch(
        engine,
        "resolve_fields",
        f"""
        SELECT k.unique_id, k.source_id, k._record, {columns},
               pl.code AS last_name_sdx, pf.code AS first_name_sdx
        FROM resolve_keys k
        LEFT JOIN resolve_map_phonetic pl ON pl.name_key = k.last_name_key
        LEFT JOIN resolve_map_phonetic pf ON pf.name_key = k.first_name_key
        """,
    )
    for table in (
        "resolve_raw", "resolve_stage", "resolve_checked", "resolve_keys",
        "resolve_map_names", "resolve_map_sex", "resolve_map_dates", "resolve_map_phones",
        "resolve_map_places", "resolve_map_phonetic",
    ):  # fmt: skip
        engine.execute(f'DROP TABLE IF EXISTS "{table}"')
    return int(engine.fetch("SELECT count(*) FROM resolve_fields")[0][0])


def _code(column: str) -> str:
    """SQL: an identifier as compared: upper case, no spaces."""
    return f"upper(regexp_replace({n.text(column)}, '[[:space:]]', '', 'g'))"


def _split_names(engine: Engine) -> None:
    map_distinct(
        engine,
        "resolve_map_names",
        "SELECT full_name_raw FROM resolve_raw WHERE full_name_raw IS NOT NULL",
        split_full_name,
        ["full_name_raw"],
        [("first_name", pa.string()), ("last_name", pa.string())],
    )


def _sex_words(engine: Engine) -> None:
    def sex(value: str | None) -> tuple[str | None]:
        code = nir_module.sex_of(value)
        return (str(code) if code else None,)

    map_distinct(
        engine,
        "resolve_map_sex",
        "SELECT sex_raw FROM resolve_raw WHERE sex_raw IS NOT NULL",
        sex,
        ["sex_raw"],
        [("sex", pa.string())],
    )


def _phones(engine: Engine) -> None:
    map_distinct(
        engine,
        "resolve_map_phones",
        f"SELECT phone_digits FROM resolve_stage WHERE phone_digits <> '' "
        f"AND {phones.fast_e164('phone_digits')} IS NULL",
        lambda value: (phones.e164(value),),
        ["phone_digits"],
        [("phone", pa.string())],
    )


def _places(engine: Engine) -> None:
    map_distinct(
        engine,
        "resolve_map_places",
        "SELECT postal_code, city FROM resolve_stage WHERE postal_code IS NOT NULL",
        place,
        ["postal_code", "city"],
        [("commune_code", pa.string()), ("departement", pa.string())],
    )


def _phonetics(engine: Engine) -> None:
    map_distinct(
        engine,
        "resolve_map_phonetic",
        "SELECT last_name_key AS name_key FROM resolve_keys WHERE last_name_key IS NOT NULL "
        "UNION SELECT first_name_key FROM resolve_keys WHERE first_name_key IS NOT NULL",
        lambda value: (phonetic(value),),
        ["name_key"],
        [("code", pa.string())],
    )
