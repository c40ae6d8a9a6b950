"""The ``ariane`` command line: parse options, call one library function, print the result.

Errors become one line on stderr and a non-zero exit, never a traceback (set
``ARIANE_DEBUG=1`` to see one for an unexpected failure: it may quote data, so never in
production logs). Every command body, printing included, runs under :func:`_guarded`.
Whatever came from the data or from a file name is printed through :mod:`ariane.display`:
table cells as ``Text`` (never parsed as markup), other lines escaped.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, ParamSpec

import click
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ariane import __version__
from ariane.display import InertFormatter, json_text, markup, printable, text
from ariane.errors import ArianeError, ConfigError, wrapped

app = typer.Typer(
    name="ariane",
    help="Respond to a leak of health data: read, classify, resolve, attribute, assess, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no "<bool>" beside flags, no markup to escape
)
# soft_wrap: a long path stays on one line, so scripts can read what is printed.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")

MemoryLimit = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        envvar="ARIANE_MEMORY_LIMIT",
        help="Memory DuckDB may use (4GB, 2GiB, 60%); spills beyond it, encrypted. "
        "Default: 60% of the memory, at most 2 GiB.",
        show_default=False,
    ),
]


class RichProgress:
    """A :class:`ariane.progress.Progress` drawing Rich bars on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Any]:
        """One bar for the duration of a task."""
        bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not self.enabled,
        )
        with bar:
            task_id = bar.add_task(printable(description), total=total)
            yield _RichTracker(bar, task_id)


class _RichTracker:
    def __init__(self, bar: Progress, task_id: Any) -> None:
        self.bar, self.task_id = bar, task_id

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task_id, amount)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        if description is not None:
            description = printable(description)
        self.bar.update(self.task_id, total=total, description=description)


def _progress(quiet: bool = False) -> RichProgress:
    return RichProgress(enabled=not quiet and err.is_terminal)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised as Ctrl-C is, so every ``finally`` cleans up the same way."""


#: Signals received: DuckDB may replace the handler's exception with its own interruption,
#: so the exit code cannot rely on the exception alone. (Process state: the CLI owns it.)
_received: list[int] = []


def _stop(signum: int, frame: FrameType | None) -> None:
    # Once only: a second signal during the clean-up ends the process at once (what is left
    # then is swept at the next start).
    signal.signal(signum, signal.SIG_DFL)
    _received.append(signum)
    raise Stopped(signum)


def _guarded(command: Callable[P, None]) -> Callable[P, None]:
    """Run a whole command (printing included); every failure is one safe line and a code."""

    @functools.wraps(command)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise  # typer's own exits and usage errors
        except ArianeError as exc:
            _fail(exc.exit_code, "error:", _message(exc))
        except BrokenPipeError:
            # The reader went away (`ariane scan --json ... | head`): nothing left to say.
            with suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(128 + signal.SIGPIPE) from None
        except KeyboardInterrupt:
            _fail(128 + (_received[0] if _received else signal.SIGINT), "interrupted", "")
        except MemoryError as exc:  # Python's, or Arrow's (a subclass)
            _fail(
                2,
                "error:",
                f"out of memory ({type(exc).__name__}): this input needs more memory than the "
                "process may use; free some, or lower --memory-limit to leave more to the readers",
            )
        except BaseException as exc:  # noqa: BLE001 - the last line of defence against leaking data
            if isinstance(exc, SystemExit | GeneratorExit):
                raise
            # (BaseException: a Rust library's panic reaches Python as a BaseException.)
            if _received:  # a signal, turned by a library into an error of its own
                _fail(128 + _received[0], "interrupted", "")
            if (own := wrapped(exc)) is not None:  # a library's error raised from ours
                _fail(own.exit_code, "error:", _message(own))
            if os.environ.get("ARIANE_DEBUG"):
                raise
            _fail(
                70,
                "internal error:",
                f"{type(exc).__name__} (details hidden because they may quote data; "
                "rerun with ARIANE_DEBUG=1 on a safe terminal)",
            )

    return guarded


def _message(exc: ArianeError) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - an error whose message cannot even be built
        return type(exc).__name__


def _fail(code: int, label: str, message: str) -> None:
    """Print one error line and exit; printing itself must not fail, whatever it holds."""
    plain = f"{label} {printable(message)}".strip()
    try:
        err.print(Text.assemble((label, "bold red"), plain[len(label) :]), highlight=False)
    except Exception:  # noqa: BLE001 - a closed or odd stderr: fall back to raw bytes
        with suppress(OSError):
            os.write(2, (plain + "\n").encode("ascii", "backslashreplace"))
    raise typer.Exit(code)


def _print_json(document: Any) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(json_text(text) + "\n")


def _parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--aware-at {value!r}: not an ISO-8601 date and time") from None
    if instant.tzinfo is None:
        raise ConfigError("--aware-at needs a time zone, e.g. 2021-02-23T10:00:00+01:00")
    return instant


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"ariane {__version__}")
        raise typer.Exit()


@app.command()
@_guarded
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the leak into.")],
    rows: Annotated[int, typer.Option(help="Records in the leak.", min=1)] = 491_840,
    labs: Annotated[int, typer.Option(help="Controllers (labs).", min=1)] = 28,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same files.")] = 2021,
    encoding: Annotated[str, typer.Option(help="utf-8, utf-8-sig, cp1252 or latin-1.")] = "utf-8",
    delimiter: Annotated[str, typer.Option(help="Field separator: , ; | or tab.")] = ",",
    header: Annotated[str, typer.Option(help="Header language: fr, en or none.")] = "fr",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Write a synthetic leak (leak.csv), its registry (registry.csv) and truth (truth.json)."""
    from ariane.synth import generate

    sep = "\t" if delimiter in {"tab", "\\t"} else delimiter
    result = generate(
        out_dir,
        rows=rows,
        labs=labs,
        seed=seed,
        encoding=encoding,
        delimiter=sep,
        header=header,
        progress=_progress(quiet),
    )
    out.print(f"wrote {rows:,} records of {result.persons:,} persons to {markup(out_dir)}")


@app.command()
@_guarded
def scan(
    files: Annotated[list[Path], typer.Argument(help="Leaked files (any supported format).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scan document.")] = False,
    memory_limit: MemoryLimit = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Read and classify files without keeping a case: rows, quarantine, column profile."""
    from ariane import pipeline

    result = pipeline.scan(files, _progress(quiet or as_json), memory_limit=memory_limit)
    document = result.as_contract()
    if as_json:
        _print_json(document)
        return
    _print_scan(document)


def _linked_cell(source: dict[str, Any], files: list[dict[str, Any]]) -> str:
    """``1,196 -> 1`` : rows folded into the records of the table listed first (1-based)."""
    if source.get("linked_to") is None:
        return ""
    return f"{source.get('linked', 0):,} -> {source['linked_to'] + 1}"


def _print_scan(document: dict[str, Any]) -> None:
    """The scan for a person: totals, one line per input, then each table's columns."""
    linked = document.get("linked") or 0
    out.print(
        f"[bold]{document['rows']:,}[/] rows read, "
        f"[bold]{document['quarantined']:,}[/] quarantined, in {len(document['files'])} table(s)"
        + (f"; [bold]{linked:,}[/] rows folded into their parent's records" if linked else "")
    )
    files_table = Table(
        "file", "format", "encoding", "rows", "quarantined", "linked", title="Inputs"
    )
    for source in document["files"]:
        name = source["path"] + (f" ! {source['inner_path']}" if source.get("inner_path") else "")
        if source.get("table_name"):
            name += f" [{source['table_name']}]"
        files_table.add_row(
            text(name),
            text(source["format"]),
            text(source["encoding"] or ""),
            f"{source['rows']:,}",
            f"{source['quarantined']:,}",
            _linked_cell(source, document["files"]),
        )
    out.print(files_table)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for column in document["columns"]:
        by_file.setdefault(column["file"], []).append(column)
    for file, profiles in by_file.items():
        columns = Table(title=text(f"Columns of {file}"))
        columns.add_column("column", overflow="fold")
        columns.add_column("label", no_wrap=True)
        for heading in ("confidence", "match", "null"):
            columns.add_column(heading, justify="right", no_wrap=True)
        columns.add_column("art. 9", no_wrap=True)
        columns.add_column("repaired", justify="right", no_wrap=True)
        for column in profiles:
            damage = column.get("damage")
            columns.add_row(
                text(column["name"]),
                text(f"{column['label']} ({damage}: not linked)" if damage else column["label"]),
                f"{column['confidence']:.2f}",
                f"{column['match_rate']:.0%}",
                f"{column['null_rate']:.0%}",
                "yes" if column["special"] else "",
                f"{column['repaired']:,}" if column.get("repaired") else "",
            )
        out.print(columns)


def _parse_controller_patients(values: list[str]) -> dict[str, Path]:
    return _parse_pairs("--controller-patients", values)


def _parse_pairs(option: str, values: list[str]) -> dict[str, Path]:
    """``ID=FILE`` option values by controller id."""
    pairs: dict[str, Path] = {}
    for value in values:
        controller_id, sep, file = value.partition("=")
        if not sep or not controller_id or not file:
            raise ConfigError(f"{option} {value!r}: expected CONTROLLER_ID=FILE")
        pairs[controller_id] = Path(file)
    return pairs


@app.command()
@_guarded
def run(
    files: Annotated[list[Path], typer.Argument(help="Leaked files (any supported format).")],
    case: Annotated[Path, typer.Option("--case", help="New case directory to create.")],
    registry: Annotated[
        Path | None, typer.Option(help="Controllers registry CSV (docs/inputs.md).")
    ] = None,
    aware_at: Annotated[
        str | None, typer.Option(help="When the breach became known (ISO-8601, with zone).")
    ] = None,
    facts: Annotated[
        Path | None, typer.Option(help="Case facts file (TOML), made by: ariane facts --out FILE.")
    ] = None,
    controller_patients: Annotated[
        list[str] | None,
        typer.Option(help="A controller's own patient list, ID=FILE (repeatable)."),
    ] = None,
    memory_limit: MemoryLimit = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (one machine) or spark (needs: pip install 'ariane[spark]' and Java).",
        ),
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master URL for --engine spark: local[N], spark://HOST:PORT, yarn, "
            "k8s://URL. Default: local[*].",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run every stage into an encrypted case directory."""
    from ariane import pipeline

    options = pipeline.RunOptions(
        paths=files,
        registry=registry,
        aware_at=_parse_instant(aware_at),
        facts=facts,
        controller_patients=_parse_controller_patients(controller_patients or []),
        memory_limit=memory_limit,
        engine=engine,
        spark_master=spark_master,
    )
    _print_run(pipeline.run(case, options, _progress(quiet)))


def _print_run(result: Any) -> None:
    document = result.summary
    out.print(f"[bold]Case:[/] {markup(result.case_dir)}")
    out.print(f"  records: {document['rows']:,} read, {document['quarantined']:,} quarantined")
    if document.get("linked"):
        out.print(f"  linked: {document['linked']:,} rows folded into their parent's records")
    if document.get("persons") is not None:
        low, high = document["persons_interval"]
        out.print(f"  persons: {document['persons']:,} (between {low:,} and {high:,})")
    if document.get("controllers") is not None:
        out.print(
            f"  controllers: {len(document['controllers'])}, "
            f"unattributed records: {document['unattributed_records']:,}"
        )
    if document.get("severity") is not None:
        bands = ", ".join(f"{band} {count:,}" for band, count in document["severity"].items())
        out.print(f"  persons by severity: {markup(bands)}")
    out.print(f"  stages done: {markup(', '.join(result.stages_run))}")
    if result.stages_pending:
        out.print(f"  not built yet: {markup(', '.join(result.stages_pending))}")
    if (result.case_dir / "report" / "v1" / "index.html").exists():
        out.print(f"  report: {markup(result.case_dir / 'report' / 'v1' / 'index.html')}")


@app.command()
@_guarded
def summary(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary document.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Accepted for symmetry.")] = False,
) -> None:
    """What the case found, and each controller's deadline."""
    from ariane import pipeline

    document = pipeline.summary(case)
    if as_json:
        _print_json(document)
        return
    _print_findings(case, document)


def _print_findings(case: Path, document: dict[str, Any]) -> None:
    """The summary for a person: headline figures, then one line per controller."""
    findings = Table("finding", "value", title=text(f"Case {case}"), show_header=False)
    for key, value in document.items():
        if key in ("controllers", "provenance"):
            continue
        if value is None:
            shown = "not computed yet"
        elif isinstance(value, dict):
            shown = ", ".join(f"{k} {v:,}" for k, v in value.items())
        elif isinstance(value, list):
            shown = ", ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in value)
        else:
            shown = f"{value:,}" if isinstance(value, int) else str(value)
        findings.add_row(text(key.replace("_", " ")), text(shown))
    out.print(findings)
    controllers = document.get("controllers") or []
    if not controllers:
        return
    table = Table(title="Controllers (CNIL: notify the regulator; told: notify the persons)")
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold", ratio=1)
    for heading in ("records", "persons", "severity", "CNIL", "told"):
        table.add_column(heading, no_wrap=True)
    for controller in controllers:
        table.add_row(
            text(controller["controller_id"]),
            text(controller["name"]),
            f"{controller['records']:,}",
            f"{controller['persons']:,}",
            text(controller.get("severity") or ""),
            _yes_no(controller.get("notify_regulator")),
            _yes_no(controller.get("notify_persons")),
        )
    out.print(table)
    _print_clocks(controllers)


def _print_clocks(controllers: list[dict[str, Any]]) -> None:
    """Each controller's own deadline (told + 72 h), and who is not told yet."""
    waiting = [
        c["controller_id"] for c in controllers if c.get("persons") and not c.get("informed_at")
    ]
    if waiting:
        out.print(f"Not yet informed by the processor (art. 33(2)): {markup(', '.join(waiting))}")
    for c in controllers:
        if c.get("deadline"):
            state = "notified" if c.get("notified_at") else ("PAST" if c.get("overdue") else "open")
            out.print(
                text(f"{c['controller_id']}: deadline {c['deadline']} ({state})"), highlight=False
            )


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


@app.command()
@_guarded
def report(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no message.")] = False,
) -> None:
    """Write a new version of the report files of a case (report/v1, v2, ...)."""
    from ariane import pipeline

    paths = pipeline.write_reports(case, _progress(quiet))
    if not quiet:
        folder = paths[0].parent if paths else case / "report"
        out.print(f"wrote {len(paths)} report files under {markup(folder)}")


facts_app = typer.Typer(
    help="The case's facts: a template file to fill in, or show and set them after run.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(facts_app, name="facts")


@facts_app.callback()
@_guarded
def facts(
    context: typer.Context,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write a facts file to edit (TOML), for run --facts."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Write a commented facts file (--out), or show or set the facts of a case."""
    if context.invoked_subcommand is not None:
        return
    if out_file is None:
        out.print(context.get_help())
        raise typer.Exit(2)
    from ariane.assess import write_facts_template

    write_facts_template(out_file)
    if not quiet:
        shown = markup(out_file)
        out.print(f"wrote {shown}: edit it, then pass it to: ariane run --facts {shown}")


@facts_app.command("show")
@_guarded
def facts_show(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Accepted for symmetry.")] = False,
) -> None:
    """The case's facts, and each controller's; unknown ones print « à compléter »."""
    from ariane import followup

    document = followup.show_facts(case)
    if as_json:
        _print_json(document)
        return
    _print_facts(document)


def _print_facts(document: dict[str, Any]) -> None:
    table = Table("fact", "value", title="Facts of the case", show_header=False)
    for name, value in document["case"].items():
        table.add_row(text(name), text(_fact_text(value)))
    out.print(table)
    for controller_id, values in document["controllers"].items():
        known = {k: v for k, v in values.items() if v is not None}
        line = ", ".join(f"{k}={_fact_text(v)}" for k, v in known.items()) or "« à compléter »"
        out.print(f"[bold]{markup(controller_id)}[/]: {markup(line)}", highlight=False)


def _fact_text(value: Any) -> str:
    if value is None:
        return "« à compléter »"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@facts_app.command("set")
@_guarded
def facts_set(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    assignments: Annotated[
        list[str], typer.Argument(help="NAME=VALUE pairs; an empty VALUE makes a fact unknown.")
    ],
    controller: Annotated[
        str | None, typer.Option("--controller", help="Set this controller's facts.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Record facts after run (each change audited); see docs/facts.md for the names."""
    from ariane import followup

    changes = followup.set_facts(case, assignments, controller)
    if quiet:
        return
    where = f"controller {controller}" if controller else "the case"
    if not changes:
        out.print(f"no change to the facts of {where}")
    for change in changes:
        out.print(
            text(f"{where}: {change.name}: {_fact_text(change.old)} -> {_fact_text(change.new)}"),
            highlight=False,
        )


@app.command()
@_guarded
def export(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    controller: Annotated[str, typer.Option("--controller", help="Whose persons to export.")],
    out_file: Annotated[Path, typer.Option("--out", help="Encrypted file to write (.age).")],
    recipient: Annotated[
        str | None,
        typer.Option(
            "--recipient",
            help="age public key (age1...); without it the passphrase in "
            "ARIANE_EXPORT_PASSPHRASE encrypts.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """A controller's affected persons with their contact details, encrypted (audited)."""
    from ariane import followup

    passphrase = None if recipient else (os.environ.get("ARIANE_EXPORT_PASSPHRASE") or None)
    persons = followup.export_persons(
        case, controller, out_file, recipient=recipient, passphrase=passphrase
    )
    if not quiet:
        out.print(
            f"wrote {persons:,} persons of {markup(controller)}, encrypted, to {markup(out_file)}"
        )


@app.command()
@_guarded
def audit(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Verify a case: its hash-chained audit log, and every table of its store read in full."""
    from ariane import pipeline

    check = pipeline.verify_audit(case)
    if not quiet:
        out.print(
            f"case {markup(case)} verifies: audit log {check.entries} entries, "
            f"head {check.head[:16]}…; store {check.tables} tables, {check.rows:,} rows read"
        )


@app.command()
@_guarded
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the demo.")] = Path(
        "ariane-demo"
    ),
    rows: Annotated[int, typer.Option(help="Records in the synthetic leak.", min=1)] = 20_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Synthesise a small leak, run every stage on it, print what it found and where."""
    from ariane import pipeline

    result = pipeline.demo(out_dir, rows=rows, progress=_progress(quiet))
    out.print(f"[bold]Synthetic leak:[/] {markup(result.leak)}")
    _print_run(result.run)
    out.print(f"Next: ariane summary {markup(result.run.case_dir)}")


notify_app = typer.Typer(
    help="Tell every person concerned, once (art. 34): plan, approve, send, receipts, status.",
    no_args_is_help=True,
)
Database = Annotated[
    str | None,
    typer.Option(help="postgresql://USER@HOST/DB (default: an SQLite file in the case)."),
]


@notify_app.command("plan")
@_guarded
def notify_plan(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    controller_patients: Annotated[
        list[str] | None,
        typer.Option(
            help="A controller's current patient list, ID=FILE: its contact details "
            "replace the leak's (repeatable)."
        ),  # fmt: skip
    ] = None,
    template: Annotated[
        list[str] | None,
        typer.Option(help="A controller's own notice template (Jinja2), ID=FILE (repeatable)."),
    ] = None,
    database: Database = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Plan one notice per person concerned, naming each of its controllers; by channel."""
    from ariane import notify

    document = notify.plan(
        case,
        database_url=database,
        patient_lists=_parse_pairs("--controller-patients", controller_patients or []),
        templates=_parse_pairs("--template", template or []),
    )
    if as_json:
        _print_json(document)
        return
    channels = document["by_channel"]
    out.print(
        f"planned {document['notices']:,} notices for {document['persons']:,} persons: "
        f"{channels['email']:,} emails, {channels['letter']:,} letters, {channels['sms']:,} SMS; "
        f"{document['unreachable']:,} unreachable (batch {document['batch']})"
    )
    for controller_id in document["public_communications"]:
        out.print(f"  public communication drafted for {markup(controller_id)} "
                  "(many persons unreachable): notify/public/ in the case")  # fmt: skip
    out.print("Next: ariane notify approve DIR --controller ID, for each controller")


@notify_app.command("approve")
@_guarded
def notify_approve(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    controller: Annotated[str, typer.Option("--controller", help="Whose batch is approved.")],
    database: Database = None,
) -> None:
    """Approve a controller's batch of notices (nothing is sent before); audited."""
    from ariane import notify

    result = notify.approve_batch(case, controller, database_url=database)
    out.print(
        f"approved the batch {result['batch']} of {markup(controller)}: "
        f"{result['approved_now']:,} notices ready to send now"
    )


@notify_app.command("send")
@_guarded
def notify_send(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    smtp: Annotated[
        str | None, typer.Option(help="SMTP server HOST:PORT (without it: letters and SMS only).")
    ] = None,
    smtp_security: Annotated[
        str, typer.Option(help="starttls, tls (port 465) or none (a relay on this machine).")
    ] = "starttls",
    smtp_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server.", min=0.1)
    ] = 30.0,
    mail_from: Annotated[
        str, typer.Option(help="The sender's address (its domain signs with DKIM).")
    ] = "ne-pas-repondre@localhost.localdomain",
    dkim_key: Annotated[
        Path | None, typer.Option(help="DKIM private key (PEM) of the sender's domain.")
    ] = None,
    dkim_selector: Annotated[str, typer.Option(help="DKIM selector.")] = "ariane",
    rate: Annotated[
        float, typer.Option(help="Emails per second at most (0: no limit).", min=0)
    ] = 10.0,
    letters: Annotated[
        Path | None,
        typer.Option(
            help="Hand the letters (PDF + index) and SMS batches over to this "
            "folder, age-encrypted."
        ),  # fmt: skip
    ] = None,
    recipient: Annotated[
        str | None,
        typer.Option(help="age public key of the printer (else ARIANE_EXPORT_PASSPHRASE)."),
    ] = None,
    letter_batch: Annotated[
        int, typer.Option(help="Letters per PDF file for the printer.", min=1)
    ] = 500,
    database: Database = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Send the approved notices exactly once: emails, letters (PDF), SMS batches."""
    from ariane import followup, notify
    from ariane.notify.email import DkimKey, domain_of
    from ariane.notify.sender import SendOptions
    from ariane.smtp import SmtpSettings

    encrypt = None
    if letters is not None:
        passphrase = None if recipient else (os.environ.get("ARIANE_EXPORT_PASSPHRASE") or None)
        encrypt = followup.age_encrypter(recipient, passphrase, "notify send --letters")[0]
    options = SendOptions(
        smtp=SmtpSettings.from_options(smtp, smtp_security, smtp_timeout) if smtp else None,
        mail_from=mail_from,
        dkim=DkimKey.load(dkim_key, dkim_selector, domain_of(mail_from)) if dkim_key else None,
        rate=rate,
        letter_batch=letter_batch,
    )
    outcome = notify.send(
        case, options, database_url=database, hand_over=letters, encrypt=encrypt,
        progress=_progress(quiet),
    )  # fmt: skip
    if as_json:
        _print_json(outcome.as_dict())
        return
    found = outcome.reconciled
    out.print(
        f"sent {outcome.emails:,} emails ({outcome.bounced:,} bounced, to letters), "
        f"{outcome.letters:,} letters in {outcome.letter_files:,} files, {outcome.sms:,} SMS; "
        f"after the last run: {found.get('letters_done', 0):,} batches' notices recorded, "
        f"{found.get('emails_in_doubt', 0):,} emails resent with their Message-ID"
    )
    if letters is not None:
        out.print(f"handed over {found.get('handed_over', 0):,} batch files to {markup(letters)}")


@notify_app.command("receipts")
@_guarded
def notify_receipts(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Where the reports came back: mbox files, Maildirs, .eml files or folders of them."
        ),
    ],  # fmt: skip
    database: Database = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Read delivery reports (DSN): notices delivered, or bounced (a letter goes instead)."""
    from ariane import notify

    tally = notify.receipts(case, sources, database_url=database)
    if as_json:
        _print_json(tally)
        return
    out.print(
        f"read {tally['messages']:,} messages, {tally['reports']:,} delivery reports: "
        f"{tally['delivered']:,} delivered, {tally['bounced']:,} bounced "
        f"({tally['letters']:,} letters to send at the next notify send), "
        f"{tally['relayed']:,} relayed, {tally['delayed']:,} delayed, "
        f"{tally['unchanged']:,} already recorded"
    )
    skipped = {"unknown": "reports naming no email sent from this case",
               "malformed": "unreadable delivery reports",
               "not_reports": "messages that are not delivery reports"}  # fmt: skip
    for name, what in skipped.items():
        if tally[name]:
            out.print(f"  skipped {tally[name]:,} {what}")


@notify_app.command("status")
@_guarded
def notify_status(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    database: Database = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Each controller's notices: planned, approved, sent, delivered, bounced, letters."""
    from ariane import notify

    document = notify.status(case, database_url=database)
    if as_json:
        _print_json(document)
        return
    table = Table("controller", *notify.NOTICE_COUNTS)
    for controller_id, counts in document["controllers"].items():
        table.add_row(text(controller_id), *(f"{counts[name]:,}" for name in notify.NOTICE_COUNTS))
    out.print(table)
    out.print(
        f"{document['notices']:,} notices for {document['persons']:,} persons, "
        f"{document['unreachable']:,} unreachable; waiting: "
        + ", ".join(f"{n:,} {channel}" for channel, n in sorted(document["waiting"].items()))
    )


app.add_typer(notify_app, name="notify")


def main() -> None:
    """Entry point of the ``ariane`` script."""
    # Killed politely (SIGTERM, a closed terminal), clean up as for Ctrl-C: remove scratch
    # folders and half-built cases. SIGKILL cannot be caught: the next start sweeps those.
    if not os.environ.get("ARIANE_DEBUG"):
        os.environ["RUST_BACKTRACE"] = "0"  # a Rust library's panic: one line, not a backtrace
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)
    # A library's warning may quote a file or table name: one inert line each.
    handler = logging.StreamHandler()
    handler.setFormatter(InertFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        app()
    finally:
        # The process ends here. Its last garbage collection would walk every object still
        # alive (labelling's reference data, the libraries' own: 0.3 s after a scan) for
        # memory that goes back with the process: frozen objects are not walked.
        gc.freeze()


selfcheck_app = typer.Typer(
    help="Let people check whether they are concerned, without a second leak.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@selfcheck_app.command("export")
@_guarded
def selfcheck_export(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New index directory to write.")],
    hmac_key: Annotated[
        Path | None, typer.Option(help="HMAC key file to create (default: OUT.hmac-key).")
    ] = None,
    sender_key: Annotated[
        Path | None, typer.Option(help="Sender key file to create (default: OUT.sender-key).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Write the self-check index of a case: keyed digests and sealed contacts only."""
    from ariane.selfcheck.export import export

    result = export(case, out_dir, hmac_key, sender_key)
    if quiet:
        return
    out.print(
        f"wrote the self-check index of {result.persons:,} persons ({result.digests:,} "
        f"identifier digests, {result.controllers} controllers) to {markup(result.index_dir)}"
    )
    out.print(f"  HMAC key (for the web service): {markup(result.hmac_key)}")
    out.print(f"  sender key (for the sender only): {markup(result.sender_key)}")


@selfcheck_app.command("serve")
@_guarded
def selfcheck_serve(
    index_dir: Annotated[Path, typer.Argument(help="Index directory (selfcheck export).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    redis: Annotated[
        str | None,
        typer.Option(help="Redis URL for the rate limits, e.g. redis://127.0.0.1:6379/0."),
    ] = None,
    smtp: Annotated[str | None, typer.Option(help="SMTP server HOST:PORT for answers.")] = None,
    mail_from: Annotated[str, typer.Option(help="From address of answers.")] = (
        "ne-pas-repondre@localhost"
    ),
    hmac_key: Annotated[Path | None, typer.Option(help="HMAC key file.")] = None,
    sender_key: Annotated[Path | None, typer.Option(help="Sender key file.")] = None,
    outbox: Annotated[
        Path | None, typer.Option(help="Folder of sealed SMS, letters (default: INDEX.outbox).")
    ] = None,
    limit_ip: Annotated[str, typer.Option(help="Checks per client IP: COUNT/SECONDS.")] = "20/600",
    limit_identifier: Annotated[
        str, typer.Option(help="Checks per identifier: COUNT/SECONDS.")
    ] = "5/86400",
    limit_overall: Annotated[str, typer.Option(help="Checks overall: COUNT/SECONDS.")] = (
        "100000/3600"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Accepted for symmetry.")] = False,
) -> None:
    """Serve the self-check page and API over an index until interrupted."""
    from ariane.selfcheck.limits import Limit, Limits
    from ariane.selfcheck.serve import ServeOptions, serve

    limits = Limits(
        Limit.parse(limit_ip), Limit.parse(limit_identifier), Limit.parse(limit_overall)
    )
    serve(
        ServeOptions(
            index_dir, host, port, redis, smtp, mail_from, hmac_key, sender_key, outbox, limits
        )
    )


app.add_typer(selfcheck_app, name="selfcheck")


users_app = typer.Typer(help="Users of the web application.", no_args_is_help=True)


@users_app.command("add")
@_guarded
def users_add(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    email: Annotated[str, typer.Argument(help="The user's login email.")],
    role: Annotated[str, typer.Option(help="responder, controller or regulator.")],
    controller: Annotated[
        str | None, typer.Option(help="The controller a controller's user acts for.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the email, password and TOTP secret as JSON.")
    ] = False,
    database: Annotated[
        str | None,
        typer.Option(help="postgresql://USER@HOST/DB (default: an SQLite file in the case)."),
    ] = None,
) -> None:
    """Create a user with a generated password and a TOTP second factor (shown once)."""
    from ariane.ops.users import add_user

    user = add_user(case, email, role, controller, database)
    if as_json:
        _print_json(
            {"email": user.email, "password": user.password, "totp_secret": user.totp_secret}
        )
        return
    who = f"{user.email} for {controller}" if controller else user.email
    out.print(f"created {user.role} {markup(who)}")
    out.print("  hand these over once, by a safe channel; they are not stored in clear:")
    out.print(f"  password: {markup(user.password)}", highlight=False)
    out.print(
        f"  TOTP (authenticator app): {markup(user.otpauth_uri)}", highlight=False, soft_wrap=True
    )


app.add_typer(users_app, name="users")


@app.command()
@_guarded
def serve(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback unless --behind-tls).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Annotated[
        str | None,
        typer.Option(help="postgresql://USER@HOST/DB (default: an SQLite file in the case)."),
    ] = None,
    behind_tls: Annotated[
        bool,
        typer.Option(
            "--behind-tls",
            help="A TLS proxy serves HTTPS in front: allow any --host, mark cookies Secure.",
        ),
    ] = False,
) -> None:
    """Serve the case on the web: the responder's dashboard, controllers, the regulator."""
    from ariane.serve.run import ServeOptions, check_host
    from ariane.serve.run import serve as run_server

    check_host(host, behind_tls)
    run_server(ServeOptions(case, host, port, database, behind_tls))
