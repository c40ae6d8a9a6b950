"""Evidence per record, and the decision: ``attribute_evidence`` -> ``attribute_records``.

Evidence comes at two levels. Row evidence (a FINESS or organisation column, a match in a
controller's own patient list) speaks for one record; file evidence (the file's name)
speaks for all the records of a source. Row evidence, when there is any, decides; a rival
controller lowers the confidence, and below the threshold Ariane abstains.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from ariane.attribute.derived import organisation_controllers
from ariane.attribute.evidence import OrganisationMatcher, controller_of_file
from ariane.attribute.registry import Controller, finess_of, place_of
from ariane.read import record_sources_sql
from ariane.resolve.distinct import map_distinct
from ariane.resolve.fields import quote

if TYPE_CHECKING:
    from ariane.engine import Engine

ROW, FILE, PERSON = 1, 2, 3  # evidence levels: row, then file, then the person's other rows
#: Confidence of a record placed by its person's other records in the same source.
SAME_PERSON = 0.8
_COMPACT_FINESS = "upper(regexp_replace({}, '[\\s.\\-]', '', 'g'))"
_FINESS_SHAPE = "([0-9]{2}|2A|2B)[0-9]{7}"


def _finess_sql(value: str) -> str:
    """A FINESS as the controllers hold it: compact, and a FINESS of département 01-09 a
    spreadsheet saved as 8 digits given back its zero (only a controller's own FINESS,
    whose key holds, can then match it)."""
    compact = _COMPACT_FINESS.format(value)
    return (
        f"CASE WHEN regexp_full_match({compact}, '[1-9][0-9]{{7}}') THEN '0' || {compact} "
        f"ELSE {compact} END"
    )


def labelled_columns(engine: Engine, label: str) -> list[tuple[int, str, str]]:
    """``(source_id, data_table, column)`` of every column classify gave ``label``."""
    if not engine.has_table("classify_columns"):
        return []
    return [
        (int(s), t, c)
        for s, t, c in engine.fetch(
            "SELECT c.source_id, s.data_table, c.column_name FROM classify_columns c "
            f"JOIN ({record_sources_sql(engine)}) s ON s.source_id = c.source_id "
            "WHERE c.label = ? ORDER BY c.source_id, c.column_name",
            [label],
        )
        if t and engine.has_table(t)
    ]


def _values_sql(engine: Engine, label: str) -> str | None:
    parts = [
        f"SELECT CAST({source_id} AS INTEGER) AS source_id, CAST(_record AS BIGINT) AS _record, "
        f"CAST({quote(column)} AS VARCHAR) AS value FROM {quote(table)} "
        f"WHERE {quote(column)} IS NOT NULL"
        for source_id, table, column in labelled_columns(engine, label)
    ]
    return " UNION ALL ".join(parts) if parts else None


def derived_controllers(engine: Engine) -> tuple[list[Controller], dict[str, str]]:
    """Controllers read off the leak when no registry is given: one per FINESS value (named
    by the organisation most often beside it), else one per lab name
    (:mod:`~.derived`); and, for the latter, the controller of each written name."""
    finess_sql = _values_sql(engine, "provider.finess")
    organisation_sql = _values_sql(engine, "provider.organisation")
    if organisation_sql:
        # An organisation column holding FINESS numbers ('35 000 0017') names labs by
        # FINESS: one controller per number, not one per way of spacing it.
        shaped = f"regexp_full_match({_COMPACT_FINESS.format('value')}, '{_FINESS_SHAPE}')"
        as_finess = f"SELECT * FROM ({organisation_sql}) WHERE {shaped}"
        finess_sql = f"{finess_sql} UNION ALL {as_finess}" if finess_sql else as_finess
        organisation_sql = f"SELECT * FROM ({organisation_sql}) WHERE NOT {shaped}"
    controllers: list[Controller] = []
    if finess_sql:
        named = (
            f"SELECT f.value AS finess, o.value AS organisation FROM ({finess_sql}) f "
            f"LEFT JOIN ({organisation_sql}) o USING (source_id, _record)"
            if organisation_sql
            else f"SELECT value AS finess, NULL AS organisation FROM ({finess_sql})"
        )
        names: dict[str, Counter[str]] = {}
        for raw, organisation, count in engine.fetch(
            f"SELECT finess, organisation, count(*) FROM ({named}) GROUP BY ALL"
        ):
            finess = finess_of(raw)
            if finess:
                names.setdefault(finess, Counter())[organisation or ""] += int(count)
        for finess in sorted(names):
            common = [n for n, _ in names[finess].most_common() if n]
            departement, region = place_of(None, None, finess)
            name = common[0] if common else f"FINESS {finess}"
            controllers.append(
                Controller(
                    finess, name, finess, None, None, None, None, None, departement, region
                )  # fmt: skip
            )
        if controllers:
            return controllers, {}
    if organisation_sql:
        values = engine.fetch(f"SELECT value, count(*) FROM ({organisation_sql}) GROUP BY ALL")
        derived = organisation_controllers([(str(v), int(c)) for v, c in values])
        return derived.controllers, derived.members
    return controllers, {}


def store_controllers(engine: Engine, controllers: Sequence[Controller]) -> None:
    """Write ``attribute_controllers``."""
    fields = ("controller_id", "name", "finess", "siren", "address", "postal_code", "city",
              "dpo_email", "departement", "region")  # fmt: skip
    table = pa.table(
        {f: pa.array([getattr(c, f) for c in controllers], pa.string()) for f in fields}
    )
    engine.execute("DROP TABLE IF EXISTS attribute_controllers")
    engine.append("attribute_controllers", table)


def record_keys_sql(engine: Engine) -> str:
    """Every read record as ``source_id, _record``."""
    if engine.has_table("resolve_records"):
        return "SELECT source_id, _record FROM resolve_records"
    parts = [
        f"SELECT CAST({int(s)} AS INTEGER) AS source_id, CAST(_record AS BIGINT) AS _record "
        f"FROM {quote(t)}"
        for s, t in engine.fetch(
            f"SELECT source_id, data_table FROM ({record_sources_sql(engine)})"
        )
        if t and engine.has_table(t)
    ]
    return " UNION ALL ".join(parts) or (
        "SELECT CAST(NULL AS INTEGER) AS source_id, CAST(NULL AS BIGINT) AS _record LIMIT 0"
    )


def gather_evidence(
    engine: Engine, controllers: Sequence[Controller], members: dict[str, str] | None = None
) -> None:
    """Write ``attribute_evidence`` from FINESS and organisation columns and file names;
    ``members`` maps names written in the leak to the controllers derived from them."""
    engine.execute(
        "CREATE OR REPLACE TABLE attribute_evidence (source_id INTEGER, _record BIGINT, "
        "controller_id VARCHAR, confidence DOUBLE, evidence VARCHAR, level INTEGER)"
    )
    if not controllers:
        return
    finess_sql = _values_sql(engine, "provider.finess")
    if finess_sql:
        engine.execute(
            f"""
            INSERT INTO attribute_evidence
            SELECT v.source_id, v._record, c.controller_id, 0.99, 'finess column', {ROW}
            FROM ({finess_sql}) v
            JOIN attribute_controllers c ON c.finess = {_finess_sql("v.value")}
            """
        )
    matcher = OrganisationMatcher(controllers)
    organisation_sql = _values_sql(engine, "provider.organisation")
    if organisation_sql:
        map_distinct(
            engine,
            "attribute_map_organisations",
            f"SELECT value FROM ({organisation_sql})",
            lambda value: (
                (members[value], 0.9, "organisation name")
                if members and value in members
                else matcher.evidence(value)
            ),
            ["value"],
            [("controller_id", pa.string()), ("confidence", pa.float64()),
             ("evidence", pa.string())],
        )  # fmt: skip
        engine.execute(
            f"""
            INSERT INTO attribute_evidence
            SELECT v.source_id, v._record, m.controller_id, m.confidence, m.evidence, {ROW}
            FROM ({organisation_sql}) v
            JOIN attribute_map_organisations m ON m.value = v.value
            WHERE m.controller_id IS NOT NULL
            """
        )
        engine.execute("DROP TABLE attribute_map_organisations")
    _finess_in_notes(engine)
    for source_id, path, inner_path, table in engine.fetch(
        f"SELECT source_id, path, inner_path, data_table FROM ({record_sources_sql(engine)})"
    ):
        controller_id, confidence, evidence = controller_of_file(
            path, inner_path, controllers, matcher
        )
        if controller_id and table and engine.has_table(table):
            engine.execute(
                f"INSERT INTO attribute_evidence SELECT CAST(? AS INTEGER), _record, ?, ?, ?, "
                f"{FILE} FROM {quote(table)}",
                [source_id, controller_id, confidence, evidence],
            )


#: Confidence of a controller's FINESS written in a record's free text, the only one there.
FINESS_IN_TEXT = 0.75
#: A FINESS standing alone in a text (not inside a longer number or code).
_FINESS_IN_TEXT = "(?:^|[^0-9A-Z])((?:[0-9]{2}|2A|2B)[0-9]{7})(?:[^0-9A-Z]|$)"


def _finess_in_notes(engine: Engine) -> None:
    """Evidence from a registry FINESS written in a record's free text (a report's
    letterhead: ``Labo Analyses Saint-Malo - FINESS 350000022``, as HPRIM Net 1 reports
    name their lab nowhere else), for records with no FINESS or lab name of their own; a
    text naming two controllers' numbers says neither."""
    notes_sql = _values_sql(engine, "health.note")
    if notes_sql is None:
        return
    engine.execute(
        f"""
        INSERT INTO attribute_evidence
        SELECT f.source_id, f._record, min(c.controller_id), {FINESS_IN_TEXT},
               'finess in text', {ROW}
        FROM (SELECT source_id, _record,
                     unnest(regexp_extract_all(upper(value), '{_FINESS_IN_TEXT}', 1)) AS finess
              FROM ({notes_sql}) WHERE regexp_matches(value, '[0-9]{{7}}')) f
        JOIN attribute_controllers c ON c.finess = f.finess
        ANTI JOIN (SELECT DISTINCT source_id, _record FROM attribute_evidence
                   WHERE level = {ROW}) e
             ON e.source_id = f.source_id AND e._record = f._record
        GROUP BY f.source_id, f._record
        HAVING count(DISTINCT c.controller_id) = 1
        """
    )


def person_evidence(engine: Engine, min_confidence: float) -> None:
    """Evidence for the records that carry none of their own, from their person: a record
    of a person whose other records in the same source are one controller's, by their
    own rows, is that controller's (``same person in the same source``).

    An interface log holds a lab's results (its FINESS in each message) and the updates
    of the same patients' addresses (ADT^A08 from the admissions system, naming no lab):
    the log is one system's, and so are the updates. Weakest of all evidence (file
    evidence outranks it), and none when the person's rows in the source name several
    controllers.
    """
    if not engine.has_table("resolve_records"):
        return
    engine.execute(
        f"""
        INSERT INTO attribute_evidence
        WITH own AS (
            SELECT source_id, _record, arg_max(controller_id, confidence) AS controller_id
            FROM attribute_evidence WHERE level = {ROW}
            GROUP BY ALL HAVING max(confidence) >= {min_confidence}
        ), of_person AS (
            SELECT p.source_id, p.person_id, min(o.controller_id) AS controller_id
            FROM resolve_records p JOIN own o USING (source_id, _record)
            WHERE p.person_id IS NOT NULL
            GROUP BY ALL HAVING count(DISTINCT o.controller_id) = 1
        )
        SELECT p.source_id, p._record, o.controller_id, {SAME_PERSON},
               'same person in the same source', {PERSON}
        FROM resolve_records p
        JOIN of_person o ON o.source_id = p.source_id AND o.person_id = p.person_id
        ANTI JOIN (SELECT DISTINCT source_id, _record FROM attribute_evidence
                   WHERE level = {ROW}) e
             ON e.source_id = p.source_id AND e._record = p._record
        """
    )


def decide(engine: Engine, min_confidence: float) -> None:
    """Write ``attribute_records``: the best controller of each record, or NULL."""
    engine.materialise(
        "attribute_records",
        f"""
        WITH per_controller AS (
            SELECT source_id, _record, controller_id, level,
                   max(confidence) AS confidence,
                   arg_max(evidence, confidence) AS evidence
            FROM attribute_evidence GROUP BY ALL
        ), best_level AS (
            SELECT *, row_number() OVER (
                PARTITION BY source_id, _record
                ORDER BY level, confidence DESC, controller_id) AS rank
            FROM per_controller
            QUALIFY level = min(level) OVER (PARTITION BY source_id, _record)
        ), decided AS (
            SELECT b.source_id, b._record, b.controller_id, b.evidence,
                   -- a rival controller at the same level halves its weight off the best
                   b.confidence - 0.5 * coalesce(r.confidence, 0) AS confidence
            FROM best_level b
            LEFT JOIN best_level r
                   ON r.source_id = b.source_id AND r._record = b._record AND r.rank = 2
            WHERE b.rank = 1
        )
        SELECT k.source_id, k._record,
               CASE WHEN d.confidence >= {min_confidence} THEN d.controller_id END
                   AS controller_id,
               coalesce(d.confidence, 0.0) AS confidence,
               d.evidence
        FROM ({record_keys_sql(engine)}) k
        LEFT JOIN decided d ON d.source_id = k.source_id AND d._record = k._record
        ORDER BY k.source_id, k._record
        """,
    )
    # Records left for review, with what little was found about them.
    engine.materialise(
        "attribute_unattributed",
        "SELECT source_id, _record, confidence, evidence FROM attribute_records "
        "WHERE controller_id IS NULL",
    )
