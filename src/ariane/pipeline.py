"""The stages chained: what ``scan``, ``run``, ``report``, ``summary`` and ``demo`` compute.

The CLI parses options and calls one function here; nothing else decides the order of the
stages. A stage that is not built yet raises :class:`StageNotBuiltError` before doing
anything: ``run`` stops there and says which stages are pending. Each completed stage is
recorded in the case's ``case_stages`` table, so ``summary`` knows what the case can answer.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane import assess, attribute, classify, link, read, report, resolve
from ariane.case import Case, read_manifest
from ariane.engine import Engine
from ariane.engine.duckdb import memory_limit_bytes
from ariane.errors import ConfigError, InputError, StageNotBuiltError
from ariane.progress import SILENT, Progress


@dataclass(frozen=True)
class RunOptions:
    """Everything ``run`` was told: inputs and case facts."""

    paths: list[Path]
    registry: Path | None = None
    aware_at: datetime | None = None
    facts: Path | None = None
    controller_patients: dict[str, Path] = field(default_factory=dict)
    memory_limit: str | None = None  # DuckDB's bound ('4GB', '60%'); None: the default
    engine: str = "duckdb"  # or "spark" (ariane.engine.spark)
    spark_master: str | None = None  # for "spark": the process's running Spark, else local[*]

    def inputs(self) -> list[Path]:
        """Every file whose digest goes to the audit log."""
        extra = [p for p in (self.registry, self.facts) if p is not None]
        return [*self.paths, *extra, *self.controller_patients.values()]

    def check(self) -> None:
        """Refuse missing files and bad option files before any work starts."""
        if not self.paths:
            raise ConfigError("no input file given")
        if self.spark_master is not None and self.engine != "spark":
            raise ConfigError("--spark-master is for --engine spark")
        memory_limit_bytes(self.memory_limit)
        for path in self.paths:
            if not path.is_dir():  # a folder is read as the files inside it
                _require_file(path, InputError)
        for option in (self.registry, self.facts, *self.controller_patients.values()):
            if option is not None:
                _require_file(option, ConfigError)
        # Option files are checked whole now: their errors must not wait for the leak.
        if self.facts is not None:
            assess.load_facts(self.facts)
        if self.registry is not None:
            from ariane.attribute import registry

            registry.load(self.registry)
        for path in self.controller_patients.values():
            from ariane.attribute import patients

            patients.check_list(path)


def _require_file(path: Path, error: type[InputError] | type[ConfigError]) -> None:
    if not path.exists():
        raise error(f"{path}: file not found")
    if not path.is_file():
        raise error(f"{path}: not a file")


#: A stage runner: compute one stage into the case's engine.
StageRunner = Callable[[Engine, RunOptions, Path, Progress], object]

#: Every stage of the journey, in order, with how to run it.
STAGES: dict[str, StageRunner] = {
    "read": lambda engine, o, case_dir, progress: read.load(engine, o.paths, progress),
    "classify": lambda engine, o, case_dir, progress: classify.classify(engine, progress),
    "link": lambda engine, o, case_dir, progress: link.link(engine, progress),
    "resolve": lambda engine, o, case_dir, progress: resolve.resolve(engine, progress),
    "attribute": lambda engine, o, case_dir, progress: attribute.attribute(
        engine, o.registry, o.controller_patients, progress
    ),
    "assess": lambda engine, o, case_dir, progress: assess.assess(engine, o.facts, progress),
}
#: The last stage: ``run`` writes the first report version after its own audit entry, so
#: that the report carries the audit head that records how the case was made.
REPORT = "report"


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
            "linked": self.read.linked,
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


def scan(
    paths: list[Path], progress: Progress = SILENT, memory_limit: str | None = None
) -> ScanResult:
    """Read and classify files in memory (what spills is encrypted); keep nothing."""
    RunOptions(paths, memory_limit=memory_limit).check()
    paths = read.given_files(paths)
    with (
        Case.ephemeral(memory_limit=memory_limit, in_memory=True) as case,
        ThreadPoolExecutor(max_workers=1) as beside,
    ):
        # Labelling's reference data loads while the files are read: reading runs mostly
        # in pyarrow and DuckDB, outside the interpreter's lock.
        prepared = beside.submit(classify.prepare)
        engine = case.engine()
        summary = read.load(engine, paths, progress)
        prepared.result()
        columns = classify.classify(engine, progress)
        link.link(engine, progress)
        summary.refresh(engine)
    return ScanResult(summary, columns)


def run(case_dir: Path, options: RunOptions, progress: Progress = SILENT) -> RunResult:
    """Run every built stage on the inputs into a new encrypted case at ``case_dir``."""
    options.check()
    options = replace(options, paths=read.given_files(options.paths))
    case = Case.create(
        case_dir,
        memory_limit=options.memory_limit,
        engine=options.engine,
        spark_master=options.spark_master,
    )
    try:
        done = _run_stages(case, options, progress)
        document = summarise(case.engine())
        case.record(
            "run",
            {
                "registry": str(options.registry) if options.registry else None,
                "facts": str(options.facts) if options.facts else None,
                "aware_at": options.aware_at.isoformat() if options.aware_at else None,
            },
            inputs=options.inputs(),
            outcome={
                "stages": done,
                "rows": document["rows"],
                "quarantined": document["quarantined"],
            },
        )
        if "assess" in done:
            _write_version(case, progress)
            case.engine().execute(
                "INSERT INTO case_stages VALUES (?, ?)", [REPORT, datetime.now(UTC)]
            )
            done.append(REPORT)
    except BaseException:
        # A half-built case would block the next attempt and prove nothing: remove it.
        case.discard()
        raise
    case.close()
    pending = [s for s in (*STAGES, REPORT) if s not in done]
    return RunResult(case_dir, done, pending, document)


def _run_stages(case: Case, options: RunOptions, progress: Progress) -> list[str]:
    engine = case.engine()
    engine.execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
    engine.execute("CREATE TABLE case_facts (name VARCHAR, value VARCHAR)")
    if options.aware_at is not None:
        engine.execute(
            "INSERT INTO case_facts VALUES ('aware_at', ?)", [options.aware_at.isoformat()]
        )
    done: list[str] = []
    for stage, runner in STAGES.items():
        try:
            runner(engine, options, case.directory, progress)
        except StageNotBuiltError:
            break
        engine.execute("INSERT INTO case_stages VALUES (?, ?)", [stage, datetime.now(UTC)])
        engine.checkpoint()
        done.append(stage)
    return done


def _read_fields(engine: Engine) -> dict[str, Any]:
    rows, quarantined = engine.fetch(
        "SELECT coalesce(sum(rows), 0), coalesce(sum(quarantined), 0) FROM read_sources"
    )[0]
    return {"rows": int(rows), "quarantined": int(quarantined)}


#: Which stage answers which fields of ``summary --json``.
SUMMARISERS: dict[str, Callable[[Engine], dict[str, Any]]] = {
    "read": _read_fields,
    "link": link.summarise,
    "resolve": resolve.summarise,
    "attribute": attribute.summarise,
    "assess": assess.summarise,
}

CONTRACT_FIELDS = (
    "rows",
    "quarantined",
    "linked",
    "persons",
    "persons_interval",
    "controllers",
    "unattributed_records",
    "departements",
    "regions",
    "special_categories",
    "severity",
)


def summarise(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """The ``summary --json`` document; fields of stages not run yet are ``None``."""
    done = [row[0] for row in engine.fetch("SELECT stage FROM case_stages")]
    document: dict[str, Any] = dict.fromkeys(CONTRACT_FIELDS)
    for stage in done:
        if stage == "assess":
            fragment = assess.summarise(engine, now)
        else:
            fragment = SUMMARISERS.get(stage, lambda _engine: {})(engine)
        _merge_controllers(document, fragment.pop("controllers", None))
        document.update(fragment)
    _add_notices(engine, document["controllers"])
    document["stages"] = done
    return document


def _add_notices(engine: Engine, controllers: list[dict[str, Any]] | None) -> None:
    """Each controller's notices by status (zero until ``notify plan``)."""
    from ariane.notify import NOTICE_COUNTS, notices_by_controller

    counts = notices_by_controller(engine)
    for controller in controllers or []:
        zero = dict.fromkeys(NOTICE_COUNTS, 0)
        controller["notices"] = counts.get(controller["controller_id"], zero)


def _merge_controllers(document: dict[str, Any], controllers: list[dict[str, Any]] | None) -> None:
    """Later stages add fields to the controllers an earlier stage listed (by id)."""
    if controllers is None:
        return
    if document["controllers"] is None:
        document["controllers"] = controllers
        return
    by_id = {c["controller_id"]: c for c in controllers}
    for controller in document["controllers"]:
        controller.update(by_id.get(controller["controller_id"], {}))


def summary(case_dir: Path, now: datetime | None = None) -> dict[str, Any]:
    """What an existing case found (opening it needs its key); ``now`` judges deadlines."""
    with Case.open(case_dir) as case:
        document = summarise(case.engine(), now)
        document["provenance"] = _provenance(case)
        case.record("summary")
    return document


def _provenance(case: Case) -> dict[str, Any]:
    """Which case, which Ariane, which inputs, which audit head a document comes from."""
    from ariane import __version__
    from ariane.report.versions import inputs_of_run

    return {
        "case_id": read_manifest(case.directory)["id"],
        "ariane_version": __version__,
        "audit_head": case.verify_audit().head if case.audit_path.exists() else None,
        "inputs": inputs_of_run(case.audit_path),
    }


def write_reports(
    case_dir: Path, progress: Progress = SILENT, now: datetime | None = None
) -> list[Path]:
    """Write a new version of the report files of an existing case (report/vN)."""
    with Case.open(case_dir) as case:
        done = {row[0] for row in case.engine().fetch("SELECT stage FROM case_stages")}
        missing = [s for s in ("resolve", "attribute", "assess") if s not in done]
        if missing:
            raise StageNotBuiltError(
                f"{case_dir}: the case has no {', '.join(missing)} results to report on"
            )
        return _write_version(case, progress, now)


def _write_version(case: Case, progress: Progress, now: datetime | None = None) -> list[Path]:
    """Write report/vN of an open case, with its provenance; audited."""
    from ariane.report import versions

    engine = case.engine()
    provenance = _provenance(case)
    edition = report.Edition(
        version=versions.next_version(engine, case.report_dir),
        case_id=provenance["case_id"],
        audit_head=provenance["audit_head"],
        inputs=provenance["inputs"],
        earlier=versions.earlier_versions(engine),
    )
    folder = case.report_dir / f"v{edition.version}"
    paths = report.write_reports(engine, folder, progress, edition=edition, now=now)
    case.record(
        "report",
        {"version": edition.version},
        outcome={"files": len(paths), "folder": str(folder.relative_to(case.directory))},
    )
    return paths


@dataclass(frozen=True)
class CaseCheck:
    """What ``audit`` verified: the log's chain and the store read in full."""

    entries: int
    head: str
    tables: int
    rows: int


def verify_audit(case_dir: Path) -> CaseCheck:
    """Verify a case: its audit chain, the copy sealed in the store, and every stored block."""
    with Case.open(case_dir) as case:
        report_ = case.verify_audit()
        rows = case.verify_store()
        tables = len(case.engine().tables())
    return CaseCheck(report_.entries, report_.head, tables, rows)


def _replace_demo_case(case_dir: Path) -> None:
    """Remove an earlier demo's case; refuse a folder that is not an Ariane case."""
    if not (case_dir / "case.json").exists():
        if any(case_dir.iterdir()):
            raise ConfigError(f"{case_dir}: not a demo case; remove it or use --out")
        case_dir.rmdir()
        return
    Case(case_dir, key="").discard()  # discarding needs no key: only the manifest


@dataclass
class DemoResult:
    """Where the demo wrote things."""

    leak: Path
    run: RunResult


def demo(out_dir: Path, rows: int = 20_000, progress: Progress = SILENT) -> DemoResult:
    """Synthesise a leak into ``out_dir`` and run every built stage on it.

    A previous demo's case in ``out_dir`` is replaced (with its key file): running the demo
    twice works. Any other folder there is refused, never deleted.
    """
    from ariane.synth import AWARE_AT, generate

    leak_dir = out_dir / "leak"
    case_dir = out_dir / "case"
    if case_dir.exists():
        _replace_demo_case(case_dir)
    generate(leak_dir, rows=rows, seed=2021, progress=progress)
    options = RunOptions(
        [leak_dir / "leak.csv"], registry=leak_dir / "registry.csv", aware_at=AWARE_AT
    )
    return DemoResult(leak_dir / "leak.csv", run(case_dir, options, progress))
