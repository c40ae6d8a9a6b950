"""Classify every column and every free-text note.

Public entry point: :func:`classify`. Reads the ``raw_<source_id>`` tables written by
:mod:`ariane.read` and writes:

``classify_columns``  one row per input column::

                        source_id INTEGER, column_name VARCHAR, label VARCHAR,
                        confidence DOUBLE, match_rate DOUBLE, null_rate DOUBLE,
                        uniqueness DOUBLE, special BOOLEAN,
                        runners_up VARCHAR (JSON list of {label, confidence}),
                        evidence VARCHAR (JSON: header, patterns, validator pass rates)

``classify_mentions`` special-category mentions per record, from notes and structured
                      columns alike::

                        source_id INTEGER, _record BIGINT, column_name VARCHAR,
                        category VARCHAR  -- hiv | pregnancy | cancer | genetic | treatment
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ariane.progress import SILENT, Progress

if TYPE_CHECKING:
    from ariane.engine import Engine

SPECIAL_CATEGORIES = ("hiv", "pregnancy", "cancer", "genetic", "treatment")


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

    def as_contract(self) -> dict[str, Any]:
        """The ``columns`` entry of CONTRACT.md."""
        return asdict(self)


def classify(engine: Engine, progress: Progress = SILENT) -> list[ColumnProfile]:
    """Label every column of every read source; until the classifier lands, ``other``."""
    profiles = []
    rows = engine.fetch(
        "SELECT source_id, coalesce(inner_path, path), columns, data_table FROM read_sources "
        "ORDER BY source_id"
    )
    for source_id, file, columns, data_table in rows:
        for name in columns:
            null_rate = engine.fetch(
                f'SELECT coalesce(avg(("{name}" IS NULL OR trim("{name}") = \'\')::INT), 0) '
                f'FROM "{data_table}"'
            )[0][0]
            profiles.append(
                ColumnProfile(file, name, "other", 0.0, 0.0, float(null_rate), False)
            )
    return profiles
