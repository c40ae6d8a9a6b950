"""Where a person key means the same person: within its file, or across files.

Classify found the columns that behave like a person's number (:mod:`ariane.classify.keys`)
one table at a time. Two labs' patient numbers both run 1, 2, 3...: the same number in two
files is two people, unless the files share the numbering (two exports of one system, a
social-security number). Files share it when the records the same key value joins across
them agree on names and birth date, as within one file; each key value is then prefixed
with its *scope*: the group of files sharing a numbering (one file when it shares none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ariane.classify.keys import MAX_GROUP, MIN_AGREEMENT, MIN_PAIRS
from ariane.resolve.distinct import scratch

if TYPE_CHECKING:
    from ariane.engine import Engine

#: SQL: the file a record comes from (the tables of one dump or archive member share it).
FILE_OF_SOURCE = "hash(coalesce(s.inner_path, s.path))"
#: The fields, normalised, that say whether two records are one person.
_PERSON = ("last_name_key", "first_name_key", "birth_date")


def scope(engine: Engine, table: str) -> None:
    """Prefix every ``person_key`` of ``table`` (with ``source_id``) with its scope.

    A file's own patient number (``internal_id``) that joins one person's records across
    files is a shared numbering too (each person once per file: nothing within one file
    shows it): it becomes the person key of those files.
    """
    scratch(
        engine,
        "resolve_key_files",
        f"""
        SELECT t.source_id, {FILE_OF_SOURCE} AS file,
               count(t.person_key) > 0 AS has_person_key
        FROM "{table}" t JOIN read_sources s ON s.source_id = t.source_id
        WHERE t.person_key IS NOT NULL OR t.internal_id IS NOT NULL
        GROUP BY ALL
        """,
    )
    files = sorted({str(f) for (f,) in engine.fetch("SELECT file FROM resolve_key_files")})
    group = {f: f for f in files}

    def root(f: str) -> str:
        while group[f] != f:
            f = group[f]
        return f

    for left, right in _sharing_files(engine, table) if len(files) > 1 else []:
        group[root(left)] = root(right)
    shared = [f for f in files if sum(root(g) == root(f) for g in files) > 1]
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE resolve_key_scopes AS SELECT k.source_id, m.scope, "
        "NOT k.has_person_key AND list_contains(?, m.file) AS promoted "
        "FROM resolve_key_files k JOIN (SELECT unnest(?) AS file, unnest(?) AS scope) m "
        "ON m.file = CAST(k.file AS VARCHAR)",
        [shared, files, [root(f) for f in files]],
    )
    engine.execute(
        f"""
        UPDATE "{table}" t
        SET person_key = m.scope || ':' || CASE WHEN m.promoted THEN t.internal_id
                                                ELSE t.person_key END
        FROM resolve_key_scopes m
        WHERE m.source_id = t.source_id
          AND (t.person_key IS NOT NULL OR (m.promoted AND t.internal_id IS NOT NULL))
        """
    )
    for name in ("resolve_key_files", "resolve_key_scopes"):
        engine.execute(f'DROP TABLE IF EXISTS "{name}"')


def _sharing_files(engine: Engine, table: str) -> list[tuple[str, str]]:
    """Pairs of files whose same key values join records of one person."""
    # A file's person key where it has one, else its own patient number.
    key = (
        "CASE WHEN k.has_person_key THEN t.person_key "
        "WHEN t.person_key IS NULL THEN t.internal_id END"
    )
    agreeing = " + ".join(
        f"coalesce((l.{f} = r.{f} OR damerau_levenshtein(CAST(l.{f} AS VARCHAR), "
        f"CAST(r.{f} AS VARCHAR)) <= 1)::INT, 0)"
        for f in _PERSON
    )
    compared = " + ".join(f"(l.{f} IS NOT NULL AND r.{f} IS NOT NULL)::INT" for f in _PERSON)
    rows = engine.fetch(
        f"""
        WITH heads AS (
            -- One record per key value and file: the pairs stay as few as the files.
            SELECT CAST(k.file AS VARCHAR) AS file, {key} AS key,
                   {", ".join(f"t.{f}" for f in _PERSON)}
            FROM "{table}" t JOIN resolve_key_files k ON k.source_id = t.source_id
            WHERE {key} IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY k.file, {key} ORDER BY t.unique_id) = 1
        )
        SELECT l.file, r.file, count(*) AS pairs,
               avg((({compared}) > 0 AND ({agreeing}) >= least(2, {compared}))::INT)
        FROM (FROM heads QUALIFY count(*) OVER (PARTITION BY key) <= {MAX_GROUP}) l
        JOIN heads r ON l.key = r.key AND l.file < r.file
        GROUP BY l.file, r.file
        """
    )
    return [
        (str(left), str(right))
        for left, right, pairs, share in rows
        if pairs >= MIN_PAIRS and (share or 0.0) >= MIN_AGREEMENT
    ]
