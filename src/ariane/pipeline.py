"""The stages chained: what ``scan``, ``run``, ``summary`` and ``demo`` compute.

The CLI parses options and calls one function here; nothing else decides the order of the
stages. Each stage that completes is recorded in the case's ``case_stages`` table, so that
``summary`` knows which answers the case can give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane import classify, read
from ariane.case import Case
from ariane.engine import Engine
from ariane.errors import ConfigError, InputError
from ariane.progress import SILENT, Progress

#: Every stage of the journey, in order; the ones without a runner are not built yet.
STAGES = ("read", "classify", "resolve", "attribute", "assess", "report")


@dataclass
class ScanResult:
    """Read + classify of some files, without a case (the ``scan --json`` document)."""

    read: read.ReadSummary
    columns: list[classify.ColumnProfile]

    def as_contract(self) -> dict[str, Any]:
        """The ``scan --json`` document of CONTRACT.md."""
        return {
            "rows": self.read.rows,
            "quarantined": self.read.quarantined,
            "files": [s.as_contract() for s in self.read.sources],
            "columns": [c.as_contract() for c in self.columns],
        }


@dataclass
class RunResult:
    """What ``run`` did to a case."""

    case_dir: Path
    stages_run: list[str]
    stages_pending: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


def _check_inputs(paths: list[Path]) -> list[Path]:
    if not paths:
        raise ConfigError("no input file given")
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: file not found")
        if not path.is_file():
            raise InputError(f"{path}: not a file")
    return paths


def scan(paths: list[Path], progress: Progress = SILENT) -> ScanResult:
    """Read and classify files in a throw-away encrypted store; keep nothing."""
    paths = _check_inputs(paths)
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = read.load(engine, paths, progress)
        columns = classify.classify(engine, progress)
    return ScanResult(summary, columns)


def _stage_runners(
    paths: list[Path],
) -> dict[str, Callable[[Engine, Progress], object]]:
    return {
        "read": lambda engine, progress: read.load(engine, paths, progress),
        "classify": lambda engine, progress: classify.classify(engine, progress),
    }


def run(
    paths: list[Path],
    case_dir: Path,
    *,
    registry: Path | None = None,
    aware_at: datetime | None = None,
    progress: Progress = SILENT,
) -> RunResult:
    """Run every built stage on ``paths`` into a new encrypted case at ``case_dir``."""
    paths = _check_inputs(paths)
    if registry is not None and not registry.is_file():
        raise ConfigError(f"{registry}: registry file not found")
    runners = _stage_runners(paths)
    case = Case.create(case_dir)
    try:
        done, result_summary = _run_stages(case, runners, aware_at, progress)
        case.record(
            "run",
            {
                "registry": str(registry) if registry else None,
                "aware_at": aware_at.isoformat() if aware_at else None,
            },
            inputs=[*paths, *([registry] if registry else [])],
            outcome={
                "stages": done,
                "rows": result_summary["rows"],
                "quarantined": result_summary["quarantined"],
            },
        )
    except BaseException:
        # A half-built case would block the next attempt and prove nothing: remove it.
        case.discard()
        raise
    case.close()
    pending = [s for s in STAGES if s not in done]
    return RunResult(case_dir, done, pending, result_summary)


def _run_stages(
    case: Case,
    runners: dict[str, Callable[[Engine, Progress], object]],
    aware_at: datetime | None,
    progress: Progress,
) -> tuple[list[str], dict[str, Any]]:
    engine = case.engine()
    engine.execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
    engine.execute("CREATE TABLE case_facts (name VARCHAR, value VARCHAR)")
    if aware_at is not None:
        engine.execute("INSERT INTO case_facts VALUES ('aware_at', ?)", [aware_at.isoformat()])
    done = []
    for stage in STAGES:
        runner = runners.get(stage)
        if runner is None:
            break
        runner(engine, progress)
        engine.execute("INSERT INTO case_stages VALUES (?, ?)", [stage, datetime.now(UTC)])
        done.append(stage)
    return done, summarise(engine)


def summarise(engine: Engine) -> dict[str, Any]:
    """The ``summary --json`` document, with ``None`` where a stage has not run yet."""
    done = {row[0] for row in engine.fetch("SELECT stage FROM case_stages")}
    rows, quarantined = (0, 0)
    if "read" in done:
        rows, quarantined = engine.fetch(
            "SELECT coalesce(sum(rows), 0), coalesce(sum(quarantined), 0) FROM read_sources"
        )[0]
    return {
        "rows": int(rows),
        "quarantined": int(quarantined),
        "persons": None,
        "persons_interval": None,
        "controllers": None,
        "unattributed_records": None,
        "departements": None,
        "regions": None,
        "special_categories": None,
        "severity": None,
        "stages": [s for s in STAGES if s in done],
    }


def summary(case_dir: Path) -> dict[str, Any]:
    """What an existing case found (opening it needs its key)."""
    with Case.open(case_dir) as case:
        document = summarise(case.engine())
        case.record("summary")
    return document


def verify_audit(case_dir: Path) -> tuple[int, str]:
    """Verify a case's audit log; return (entries, head hash)."""
    with Case.open(case_dir) as case:
        report = case.verify_audit()
    return report.entries, report.head


@dataclass
class DemoResult:
    """Where the demo wrote things."""

    leak: Path
    run: RunResult


def demo(out_dir: Path, rows: int = 20_000, progress: Progress = SILENT) -> DemoResult:
    """Synthesise a leak into ``out_dir`` and run every built stage on it."""
    from ariane.synth import generate

    leak_dir = out_dir / "leak"
    case_dir = out_dir / "case"
    if case_dir.exists():
        raise ConfigError(f"{case_dir}: a previous demo is there; remove {out_dir} or use --out")
    generate(leak_dir, rows=rows, seed=2021, progress=progress)
    result = run(
        [leak_dir / "leak.csv"],
        case_dir,
        registry=leak_dir / "registry.csv",
        progress=progress,
    )
    return DemoResult(leak_dir / "leak.csv", result)
