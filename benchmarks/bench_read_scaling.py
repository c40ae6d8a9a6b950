"""How `ariane scan --json` grows on the hostile shapes of issue 14, input size doubling.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_read_scaling.py            # every shape
    PYTHONPATH=src .venv/bin/python benchmarks/bench_read_scaling.py --shape sql_unclosed
    PYTHONPATH=src .venv/bin/python benchmarks/bench_read_scaling.py --cap 30 --steps 3

Each run is its own `ariane scan --json` process (wall time, and peak RSS from the
``wait4`` of that process alone); a run still going after ``--cap`` seconds is killed and
recorded as "> cap". The table gives, per size, the growth of wall time against the size
before it, raw and net of the start-up time of a scan of a tiny file (linear ~2, quadratic
~4). Last, the check of issue 14's "done when": no scan over 30 s on an input under 2 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SMALL_INPUT = 2 * 1024 * 1024
SMALL_INPUT_SECONDS = 30.0


@dataclass
class Run:
    """One `ariane scan --json` of one generated file."""

    shape: str
    size: int  # the shape's own measure of size (rows, columns, members, KiB...)
    input_bytes: int
    seconds: float
    peak_mib: float
    exit_code: int | None  # None: killed at the cap
    records: int | None  # rows + quarantined from the scan document

    @property
    def killed(self) -> bool:
        """Whether the run was stopped at the time cap."""
        return self.exit_code is None


# -- shapes: each writes a file of a given size and returns its path ----------------------


def sql_unclosed(folder: Path, kib: int) -> Path:
    """A mysqldump whose INSERT opens a string that never closes; ``kib`` KiB of lines follow."""
    path = folder / f"unclosed_{kib}.sql"
    head = (
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n"
        "CREATE TABLE `patients` (\n  `id` int,\n  `nom` varchar(64),\n  `note` text\n);\n"
        "INSERT INTO `patients` VALUES (1,'Martin','suivi ouvert\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write(head)
        written, line = 0, 0
        while written < kib * 1024:
            text = f"ligne {line} de la note, toujours dans la chaîne;\n"
            out.write(text)
            written += len(text)
            line += 1
    return path


def sql_row_per_line(folder: Path, rows: int) -> Path:
    """A well-formed dump whose one INSERT statement lists its rows one per line."""
    path = folder / f"rows_{rows}.sql"
    with open(path, "w", encoding="utf-8") as out:
        out.write("-- MySQL dump 10.13\n")
        out.write(
            "CREATE TABLE `patients` (\n  `id` int,\n  `nom` varchar(64),\n  `ville` text\n);\n"
        )
        out.write("INSERT INTO `patients` VALUES\n")
        out.write(",\n".join(f"({i},'Nom{i}','Ville {i % 97}')" for i in range(rows)) + ";\n")
    return path


def csv_wide_header(folder: Path, columns: int) -> Path:
    """A CSV whose header names ``columns`` columns, with ten rows under it."""
    path = folder / f"wide_{columns}.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write(";".join(f"champ_{c}" for c in range(columns)) + "\n")
        for r in range(10):
            out.write(";".join(f"v{r}_{c}" for c in range(columns)) + "\n")
    return path


def ndjson_new_keys(folder: Path, lines: int) -> Path:
    """NDJSON where every line brings a key no line before it had."""
    path = folder / f"keys_{lines}.ndjson"
    with open(path, "w", encoding="utf-8") as out:
        for i in range(lines):
            out.write(json.dumps({"id": i, f"cle_{i}": f"valeur {i}"}) + "\n")
    return path


def json_keyed(folder: Path, patients: int) -> Path:
    """JSON keyed by patient id, as some document stores export it."""
    path = folder / f"keyed_{patients}.json"
    document = {
        "patients": {
            f"-Mx{i:06d}": {"nom": f"Nom{i}", "prenom": f"Prenom{i}", "naissance": "1980-01-02"}
            for i in range(patients)
        }
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def _small_csv(member: int) -> bytes:
    rows = [f"{member * 10 + r};Nom{r};Ville{member}" for r in range(10)]
    return ("id;nom;ville\n" + "\n".join(rows) + "\n").encode()


def tar_many_csv(folder: Path, members: int) -> Path:
    """A tar.gz of ``members`` CSV files of ten rows each."""
    path = folder / f"many_{members}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for m in range(members):
            data = _small_csv(m)
            info = tarfile.TarInfo(f"labo/{m:05d}.csv")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def csv_same_rows(folder: Path, members: int) -> Path:
    """The rows of ``tar_many_csv(members)`` in one CSV, for comparison."""
    path = folder / f"one_{members}.csv"
    with open(path, "wb") as out:
        out.write(b"id;nom;ville\n")
        for m in range(members):
            out.write(_small_csv(m).split(b"\n", 1)[1])
    return path


_LEAF = 64 * 1024 * 1024  # the shipped per-member floor: each leaf alone is allowed


def zip_nested_zeros(folder: Path, leaves: int) -> Path:
    """A zip of zips, each holding 8 members of 64 MiB of zeros: ``leaves`` x 64 MiB in all."""
    path = folder / f"nested_{leaves}.zip"
    inner_path = folder / "inner_8.zip"
    if not inner_path.exists():
        zeros = bytes(1 << 20)
        with zipfile.ZipFile(inner_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as inner:
            for leaf in range(8):
                with inner.open(f"zeros_{leaf}.bin", "w", force_zip64=True) as member:
                    for _ in range(_LEAF // len(zeros)):
                        member.write(zeros)
    inner_bytes = inner_path.read_bytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as outer:
        for group in range(max(leaves // 8, 1)):
            outer.writestr(f"lot_{group}.zip", inner_bytes)
    return path


Shape = Callable[[Path, int], Path]
#: name -> (writer, unit of size, sizes from the smallest; each doubles the one before)
SHAPES: dict[str, tuple[Shape, str, int]] = {
    "sql_unclosed": (sql_unclosed, "KiB", 100),
    "sql_row_per_line": (sql_row_per_line, "rows", 5_000),
    "csv_wide_header": (csv_wide_header, "columns", 1_000),
    "ndjson_new_keys": (ndjson_new_keys, "lines", 500),
    "json_keyed": (json_keyed, "patients", 250),
    "tar_many_csv": (tar_many_csv, "members", 125),
    "csv_same_rows": (csv_same_rows, "members", 125),
    "zip_nested_zeros": (zip_nested_zeros, "leaves", 8),
}


# -- measuring -----------------------------------------------------------------------------


def scan_command(path: Path) -> list[str]:
    """`ariane scan --json FILE` with this interpreter (sources from PYTHONPATH)."""
    return [
        sys.executable,
        "-c",
        "from ariane.cli import main; main()",
        "scan",
        "--json",
        str(path),
    ]


def measure(shape: str, size: int, path: Path, cap: float) -> Run:
    """Run one scan in its own process group; kill it at ``cap`` seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(
            scan_command(path), stdout=out, stderr=subprocess.DEVNULL, start_new_session=True
        )
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > cap:
                os.killpg(child.pid, signal.SIGKILL)
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        killed = seconds > cap and child.returncode < 0
        out.seek(0)
        records = _records(out.read())
    return Run(
        shape,
        size,
        path.stat().st_size,
        seconds,
        usage.ru_maxrss / 1024 if usage else 0.0,
        None if killed else child.returncode,
        records,
    )


def _records(stdout: bytes) -> int | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    return int(document["rows"]) + int(document["quarantined"])


# -- printing ------------------------------------------------------------------------------


def table(runs: list[Run], unit: str, baseline: float, cap: float) -> list[str]:
    """Markdown rows: size, input, wall, peak, exit, records, growth raw and net."""
    lines = [
        f"| {unit} | input | wall s | peak MiB | exit | rows+quar. | x raw | x net |",
        "|---|---|---|---|---|---|---|---|",
    ]
    previous: Run | None = None
    for run in runs:
        wall = f"> {cap:.0f}" if run.killed else f"{run.seconds:.2f}"
        growth = net = "-"
        if previous is not None and not previous.killed:
            ratio = ">" if run.killed else ""
            growth = f"{ratio}{run.seconds / previous.seconds:.2f}"
            before = previous.seconds - baseline
            # Net of start-up only when there is something left to compare.
            if before > 0.2:
                net = f"{ratio}{max(run.seconds - baseline, 0.0) / before:.2f}"
        exit_text = "killed" if run.killed else str(run.exit_code)
        records = "-" if run.records is None else f"{run.records:,}"
        lines.append(
            f"| {run.size:,} | {_bytes(run.input_bytes)} | {wall} | {run.peak_mib:.0f} | "
            f"{exit_text} | {records} | {growth} | {net} |"
        )
        previous = run
    return lines


def _bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def machine() -> str:
    """One line naming the machine, as the other sections of RESULTS.md do."""
    import duckdb

    cpus = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {cpus} CPUs, Linux {platform.release()}, CPython "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}; load average {load}"
    )


def main() -> None:
    """Generate every shape at doubling sizes, scan each, print the tables and the check."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES))
    parser.add_argument("--steps", type=int, default=4, help="sizes per shape (each x2)")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds before a run is killed")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        folder = Path(tmp)
        tiny = folder / "tiny.csv"
        tiny.write_text("id;nom\n1;a\n", encoding="utf-8")
        baseline = min(measure("tiny", 1, tiny, args.cap).seconds for _ in range(2))
        print(f"start-up (scan of a 2-row CSV): {baseline:.2f} s\n")
        for name in args.shape or list(SHAPES):
            writer, unit, first = SHAPES[name]
            runs = []
            for step in range(args.steps):
                size = first * 2**step
                path = writer(folder, size)
                run = measure(name, size, path, args.cap)
                path.unlink()
                runs.append(run)
                late = run.killed or run.seconds > SMALL_INPUT_SECONDS
                if run.input_bytes < SMALL_INPUT and late:
                    failures.append(f"{name} at {size:,} {unit} ({_bytes(run.input_bytes)})")
                if run.killed:
                    break  # the next size would be killed too
            print(f"### {name}\n")
            print("\n".join(table(runs, unit, baseline, args.cap)), end="\n\n", flush=True)
    verdict = "none" if not failures else "; ".join(failures)
    print(f"scans over {SMALL_INPUT_SECONDS:.0f} s on inputs under 2 MiB: {verdict}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
