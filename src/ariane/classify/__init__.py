"""Classify every column and every free-text note.

Public entry point: :func:`classify`. Reads the ``raw_<source_id>`` tables written by
:mod:`ariane.read` and writes:

``classify_columns``  one row per input column::

                        source_id INTEGER, column_name VARCHAR, label VARCHAR,
                        confidence DOUBLE, match_rate DOUBLE, null_rate DOUBLE,
                        uniqueness DOUBLE, special BOOLEAN,
                        runners_up VARCHAR (JSON list of {label, score}),
                        evidence VARCHAR (JSON: header, patterns, validator pass rates;
                                          person_key and its test for identifier columns),
                        damage VARCHAR (NULL, or 'digits lost': never used to link),
                        repaired BIGINT (values read repaired: :mod:`.damage`)

``classify_mentions`` special-category mentions per record, from notes and structured
                      columns alike::

                        source_id INTEGER, _record BIGINT, column_name VARCHAR,
                        category VARCHAR  -- hiv | pregnancy | cancer | genetic | treatment

How: :mod:`.columns` labels each column from a sample of its values (checks in
:mod:`.validators`, reference lists in :mod:`.reference`) and its header
(:mod:`.headers`); :mod:`.keys` tells which identifier columns behave like a person's
number, over the whole table; :mod:`.notes` finds mentions over every row with the lexicon
of :mod:`.lexicon`, inside the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ariane.classify import damage, headers, lexicon, notes, validators
from ariane.classify.columns import (
    SPECIAL_LABELS,
    ColumnDecision,
    ColumnSample,
    member_numbers_beside_insurers,
    results_beside_units,
    runners_up,
)
from ariane.classify.profile import profile_source
from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

SPECIAL_CATEGORIES = ("hiv", "pregnancy", "cancer", "genetic", "treatment")

COLUMNS_TABLE = "classify_columns"
MENTIONS_TABLE = notes.MENTIONS_TABLE

_CONTRACT_KEYS = (
    "file", "name", "label", "confidence", "match_rate", "null_rate", "special", "damage",
    "repaired",
)  # fmt: skip


@dataclass
class ColumnProfile:
    """The profile of one column (the ``columns`` entries of ``scan --json``)."""

    file: str
    name: str
    label: str
    confidence: float
    match_rate: float
    null_rate: float
    special: bool
    source_id: int = 0
    uniqueness: float = 0.0
    runners_up: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    damage: str | None = None  # what a spreadsheet did that forbids linking on the column
    repaired: int = 0  # values read repaired (a leading zero put back, a serial date)

    def as_contract(self) -> dict[str, Any]:
        """The ``columns`` entry of CONTRACT.md."""
        return {key: getattr(self, key) for key in _CONTRACT_KEYS}


#: Values of many kinds, for :func:`prepare` to reach every check's reference data.
_PREPARE_VALUES = (
    "Jean Dupont", "Paris 15e", "01 23 45 67 89", "+33 6 12 34 56 78", "75015", "1985-03-02",
    "12 rue de la Paix", "FR7630006000011234567890189", "A+", "mg/l", "laboratoire", "x",
)  # fmt: skip


def prepare() -> None:
    """Load the reference data and compile the patterns that labelling needs, whatever the data.

    Done on first use otherwise; ``scan`` runs it in a thread while the files are read (most
    of reading runs in pyarrow and DuckDB, outside the interpreter's lock), so that it is
    off the path. Labels are the same either way: every cache filled here is of pure
    functions, and :func:`classify` ends by forgetting the values they saw.
    """
    for check in validators.CHECKS.values():
        for value in _PREPARE_VALUES:
            check(value)
    lexicon.categories_in("x")
    headers.header_scores("x")


def classify(engine: Engine, progress: Progress = SILENT) -> list[ColumnProfile]:
    """Label every column of every read source and record special-category mentions."""
    from ariane.read import source_references

    # A member's own name may name a person: profiles carry its neutral reference.
    references = source_references(engine)
    # (A store written before the reader noted padding says nothing of it: trim all.)
    described = engine.fetch_arrow("SELECT * FROM read_sources LIMIT 0").schema.names
    unpadded_sql = "unpadded" if "unpadded" in described else "NULL"
    read = engine.fetch(
        f"SELECT source_id, columns, data_table, {unpadded_sql} FROM read_sources "
        "ORDER BY source_id"
    )
    sources = [
        (source_id, references[source_id], columns, data_table)
        for source_id, columns, data_table, _ in read
    ]
    unpadded = {row[0]: row[3] or () for row in read}
    profiles: list[ColumnProfile] = []
    with progress.task("Classifying columns", total=len(sources)) as task:
        for source_id, file, columns, data_table in sources:
            measured = list(profile_source(engine, data_table, list(columns), unpadded[source_id]))
            results_beside_units(measured)
            member_numbers_beside_insurers(measured)
            for sample, decision in measured:
                profile = _profile(source_id, file, sample, decision)
                profile.repaired = damage.repaired_values(
                    engine, data_table, sample.name, decision.label, sample
                )
                profiles.append(profile)
            task.advance()
    validators.forget_values()
    _write_columns(engine, profiles)
    with progress.task("Finding special-category mentions", total=len(sources)) as task:
        notes.write_mentions(engine, [(p.source_id, p.name, p.label) for p in profiles], sources)
        task.advance(len(sources))
    return profiles


def _profile(
    source_id: int, file: str, sample: ColumnSample, decision: ColumnDecision
) -> ColumnProfile:
    return ColumnProfile(
        file=file,
        name=sample.name,
        label=decision.label,
        confidence=decision.confidence,
        match_rate=decision.match_rate,
        null_rate=round(sample.null_rate, 4),
        special=decision.label in SPECIAL_LABELS,
        source_id=source_id,
        uniqueness=round(sample.uniqueness, 4),
        runners_up=runners_up(decision),
        evidence=decision.evidence,
        damage=damage.damage_of(decision.label, sample),
    )


def _write_columns(engine: Engine, profiles: list[ColumnProfile]) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "source_id": pa.array([p.source_id for p in profiles], pa.int32()),
            "column_name": pa.array([p.name for p in profiles], pa.string()),
            "label": pa.array([p.label for p in profiles], pa.string()),
            "confidence": pa.array([p.confidence for p in profiles], pa.float64()),
            "match_rate": pa.array([p.match_rate for p in profiles], pa.float64()),
            "null_rate": pa.array([p.null_rate for p in profiles], pa.float64()),
            "uniqueness": pa.array([p.uniqueness for p in profiles], pa.float64()),
            "special": pa.array([p.special for p in profiles], pa.bool_()),
            "runners_up": pa.array([json.dumps(p.runners_up) for p in profiles], pa.string()),
            "evidence": pa.array(
                [json.dumps(p.evidence, ensure_ascii=False) for p in profiles], pa.string()
            ),
            "damage": pa.array([p.damage for p in profiles], pa.string()),
            "repaired": pa.array([p.repaired for p in profiles], pa.int64()),
        }
    )
    engine.execute(f"DROP TABLE IF EXISTS {COLUMNS_TABLE}")
    engine.append(COLUMNS_TABLE, table)
