"""Benchmark the read stage against DuckDB's own CSV reader, side by side in one run.

    .venv/bin/python benchmarks/bench_read.py                 # 491,840 rows + 5 M-row memory run
    .venv/bin/python benchmarks/bench_read.py --big-rows 0    # skip the 5 M-row run
    .venv/bin/python benchmarks/bench_read.py --file leak.csv # a given file

Each measurement runs in its own subprocess so that its peak RSS is its own. Ariane's
``load()`` and DuckDB's ``read_csv(all_varchar=true)`` both write into an encrypted
``Case.ephemeral()`` store, so the comparison is like for like. Target: Ariane at most 3x
DuckDB's time, and peak RSS under 2 GiB on 5 M rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE_ROWS = 491_840


def stand_in(path: Path, rows: int, seed: int = 1) -> None:
    """~20 text columns with quoted free text holding commas (when the synth is missing)."""
    rng = random.Random(seed)
    words = ["suivi", "traitement", "bilan,", "contrôle;", "résultat", '"normal"', "à", "revoir"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([f"champ_{i}" for i in range(18)] + ["commentaire", "note"])
        for n in range(rows):
            fixed = [f"{rng.randrange(10**12):013d}", f"Nom{n % 997}", f"Prénom{n % 313}"]
            fixed += [str(rng.randrange(10**5)) for _ in range(15)]
            free = [" ".join(rng.choices(words, k=rng.randrange(1, 8))) for _ in range(2)]
            out.writerow(fixed + free)


def make_leak(out_dir: Path, rows: int) -> Path:
    """The synthetic leak from ``ariane.synth`` when available, else the stand-in."""
    try:
        from ariane.synth import generate
    except ImportError:
        generate = None
    if generate is not None:
        return Path(generate(out_dir, rows=rows, seed=1).leak)
    path = out_dir / "leak.csv"
    stand_in(path, rows)
    return path


def repeat_to(source: Path, target: Path, rows: int) -> None:
    """A file of ``rows`` data rows made by repeating the data of ``source``."""
    with open(source, "rb") as handle:
        header = handle.readline()
        body = handle.read()
    lines_per_copy = body.count(b"\n")
    with open(target, "wb") as out:
        out.write(header)
        written = 0
        while written + lines_per_copy <= rows:
            out.write(body)
            written += lines_per_copy
        if written < rows:
            out.write(b"".join(body.splitlines(keepends=True)[: rows - written]))


def run_one(kind: str, path: str) -> None:
    """Child process: one measurement, printed as JSON."""
    from ariane.case import Case

    with Case.ephemeral() as case:
        engine = case.engine()
        start = time.perf_counter()
        if kind == "ariane":
            from ariane.read import load

            summary = load(engine, [Path(path)])
            rows, quarantined = summary.rows, summary.quarantined
        else:
            quoted = path.replace("'", "''")
            engine.execute(
                f"CREATE TABLE duck AS SELECT * FROM read_csv('{quoted}', all_varchar=true)"
            )
            rows, quarantined = engine.fetch("SELECT count(*) FROM duck")[0][0], 0
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "quarantined": quarantined, "peak": peak}))


def measure(kind: str, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=CASE_ROWS)
    parser.add_argument("--big-rows", type=int, default=5_000_000)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="ariane-bench-") as folder:
        leak = args.file or make_leak(Path(folder), args.rows)
        size = leak.stat().st_size / 1024**2
        print(f"file: {leak.name}, {size:.0f} MiB")
        duck = measure("duckdb", leak)
        ours = measure("ariane", leak)
        print(
            f"duckdb read_csv : {duck['seconds']:6.2f} s  {duck['rows']:>9} rows  "
            f"peak {duck['peak'] / 1024**2:6.0f} MiB"
        )
        print(
            f"ariane load()   : {ours['seconds']:6.2f} s  {ours['rows']:>9} rows  "
            f"(+{ours['quarantined']} quarantined)  peak {ours['peak'] / 1024**2:6.0f} MiB"
        )
        print(f"ratio ariane / duckdb: {ours['seconds'] / duck['seconds']:.2f}x (target <= 3x)")
        damaged = Path(folder) / "damaged.csv"
        with open(leak, "rb") as source, open(damaged, "wb") as out:
            out.write(source.readline())
            out.write(b"\xe9\xe8 a line in another encoding\n")  # forces the careful path
            while block := source.read(1 << 24):
                out.write(block)
        careful = measure("ariane", damaged)
        print(
            f"ariane load(), one damaged line (careful path): {careful['seconds']:.2f} s, "
            f"{careful['rows']} rows + {careful['quarantined']} quarantined, "
            f"{careful['seconds'] / duck['seconds']:.2f}x duckdb"
        )
        if args.big_rows:
            big = Path(folder) / "big.csv"
            repeat_to(leak, big, args.big_rows)
            ours = measure("ariane", big)
            print(
                f"ariane load() on {ours['rows']:,} rows: {ours['seconds']:.1f} s, "
                f"peak RSS {ours['peak'] / 1024**3:.2f} GiB (target < 2 GiB)"
            )


if __name__ == "__main__":
    main()
