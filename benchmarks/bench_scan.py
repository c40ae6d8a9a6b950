"""`ariane scan` (read + classify, the whole command) against DuckDB's raw parse, in one run.

    .venv/bin/python benchmarks/bench_scan.py [--rows 491840] [--file leak.csv] [--rounds 3]

Each measurement runs in its own subprocess (its own peak RSS), alternating DuckDB and
Ariane for ``--rounds`` rounds so that both see the same machine load; medians are
compared. DuckDB's side is ``read_csv(all_varchar=true)`` into a table of an encrypted
throw-away store; Ariane's side is :func:`ariane.pipeline.scan` (what ``ariane scan`` runs).
Targets (issues 3 and 4): scan at most 3x DuckDB's time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

CHILD = """
import json, resource, sys, time
from pathlib import Path
kind, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if kind == "duckdb":
    from ariane.case import Case
    with Case.ephemeral() as case:
        case.engine().execute(
            "CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar=true)", [path]
        )
else:
    from ariane.pipeline import scan
    result = scan([Path(path)])
    assert result.read.rows > 0
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak}))
"""


def measure(kind: str, path: Path) -> dict[str, float]:
    """One measurement in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate (or take) a leak, measure both sides, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=491_840)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
        path = args.file
        if path is None:
            from ariane.synth import generate

            path = generate(Path(folder), rows=args.rows, seed=1).leak
        size = Path(path).stat().st_size / 2**20
        runs: dict[str, list[dict[str, float]]] = {"duckdb": [], "ariane": []}
        for _ in range(args.rounds):
            for kind in runs:
                runs[kind].append(measure(kind, Path(path)))
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{platform.python_version()}, file {size:.0f} MiB"
    )
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    for kind, results in runs.items():
        seconds = ", ".join(f"{r['seconds']:.2f}" for r in results)
        peak = max(r["peak_mib"] for r in results)
        print(f"{kind:7s} median {medians[kind]:6.2f} s  (runs: {seconds})  peak {peak:.0f} MiB")
    print(f"scan / duckdb read_csv: {medians['ariane'] / medians['duckdb']:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
