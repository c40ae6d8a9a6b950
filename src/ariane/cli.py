"""The ``ariane`` command line: parse options, call one library function, print the result.

Errors become one line on stderr and a non-zero exit, never a traceback (set
``ARIANE_DEBUG=1`` to see one for an unexpected failure: it may quote data, so never in
production logs).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

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

from ariane import __version__
from ariane.errors import ArianeError, ConfigError

app = typer.Typer(
    name="ariane",
    help="Respond to a leak of health data: read, classify, resolve, attribute, assess, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no "<bool>" beside flags, no markup to escape
)
out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


class RichProgress:
    """A :class:`ariane.progress.Progress` drawing Rich bars on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Any]:
        """One bar for the duration of a task."""
        bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not self.enabled,
        )
        with bar:
            task_id = bar.add_task(description, total=total)
            yield _RichTracker(bar, task_id)


class _RichTracker:
    def __init__(self, bar: Progress, task_id: Any) -> None:
        self.bar, self.task_id = bar, task_id

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task_id, amount)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        self.bar.update(self.task_id, total=total, description=description)


def _progress(quiet: bool = False) -> RichProgress:
    return RichProgress(enabled=not quiet and err.is_terminal)


def _guarded(action: Callable[[], T]) -> T:
    """Run a command body; turn every failure into one safe line and an exit code."""
    try:
        return action()
    except ArianeError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence against leaking data
        if os.environ.get("ARIANE_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__} (details hidden because they "
            "may quote data; rerun with ARIANE_DEBUG=1 on a safe terminal)",
            markup=True,
        )
        raise typer.Exit(70) from None


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


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

    def body() -> None:
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
        out.print(f"wrote {rows:,} records of {result.persons:,} persons to {out_dir}")

    _guarded(body)


@app.command()
def scan(
    files: Annotated[list[Path], typer.Argument(help="Leaked files (any supported format).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scan document.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Read and classify files without keeping a case: rows, quarantine, column profile."""
    from ariane import pipeline

    result = _guarded(lambda: pipeline.scan(files, _progress(quiet or as_json)))
    document = result.as_contract()
    if as_json:
        _print_json(document)
        return
    out.print(
        f"[bold]{document['rows']:,}[/] rows read, "
        f"[bold]{document['quarantined']:,}[/] quarantined, in {len(document['files'])} table(s)"
    )
    files_table = Table("file", "format", "encoding", "rows", "quarantined", title="Inputs")
    for source in document["files"]:
        name = source["path"] + (f" ! {source['inner_path']}" if source.get("inner_path") else "")
        if source.get("table_name"):
            name += f" [{source['table_name']}]"
        files_table.add_row(
            name,
            source["format"],
            str(source["encoding"] or ""),
            f"{source['rows']:,}",
            f"{source['quarantined']:,}",
        )
    out.print(files_table)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for column in document["columns"]:
        by_file.setdefault(column["file"], []).append(column)
    for file, profiles in by_file.items():
        columns = Table(title=f"Columns of {file}")
        columns.add_column("column", overflow="fold")
        columns.add_column("label", no_wrap=True)
        for heading in ("confidence", "match", "null"):
            columns.add_column(heading, justify="right", no_wrap=True)
        columns.add_column("art. 9", no_wrap=True)
        for column in profiles:
            columns.add_row(
                column["name"],
                column["label"],
                f"{column['confidence']:.2f}",
                f"{column['match_rate']:.0%}",
                f"{column['null_rate']:.0%}",
                "yes" if column["special"] else "",
            )
        out.print(columns)


def _parse_controller_patients(values: list[str]) -> dict[str, Path]:
    lists: dict[str, Path] = {}
    for value in values:
        controller_id, sep, file = value.partition("=")
        if not sep or not controller_id or not file:
            raise ConfigError(f"--controller-patients {value!r}: expected CONTROLLER_ID=FILE")
        lists[controller_id] = Path(file)
    return lists


@app.command()
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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run every stage into an encrypted case directory."""
    from ariane import pipeline

    def body() -> pipeline.RunResult:
        options = pipeline.RunOptions(
            paths=files,
            registry=registry,
            aware_at=_parse_instant(aware_at),
            facts=facts,
            controller_patients=_parse_controller_patients(controller_patients or []),
        )
        return pipeline.run(case, options, _progress(quiet))

    result = _guarded(body)
    _print_run(result)


def _print_run(result: Any) -> None:
    document = result.summary
    out.print(f"[bold]Case:[/] {result.case_dir}")
    out.print(f"  records: {document['rows']:,} read, {document['quarantined']:,} quarantined")
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
        out.print(f"  persons by severity: {bands}")
    out.print(f"  stages done: {', '.join(result.stages_run)}")
    if result.stages_pending:
        out.print(f"  not built yet: {', '.join(result.stages_pending)}")
    if (result.case_dir / "report" / "v1" / "index.html").exists():
        out.print(f"  report: {result.case_dir / 'report' / 'v1' / 'index.html'}")


@app.command()
def summary(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary document.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Accepted for symmetry.")] = False,
) -> None:
    """What the case found, and each controller's deadline."""
    from ariane import pipeline

    document = _guarded(lambda: pipeline.summary(case))
    if as_json:
        _print_json(document)
        return
    _print_findings(case, document)


def _print_findings(case: Path, document: dict[str, Any]) -> None:
    """The summary for a person: headline figures, then one line per controller."""
    findings = Table("finding", "value", title=f"Case {case}", show_header=False)
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
        findings.add_row(key.replace("_", " "), shown)
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
            controller["controller_id"],
            controller["name"],
            f"{controller['records']:,}",
            f"{controller['persons']:,}",
            controller.get("severity") or "",
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
        out.print(f"Not yet informed by the processor (art. 33(2)): {', '.join(waiting)}")
    for c in controllers:
        if c.get("deadline"):
            state = "notified" if c.get("notified_at") else ("PAST" if c.get("overdue") else "open")
            out.print(f"{c['controller_id']}: deadline {c['deadline']} ({state})", highlight=False)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


@app.command()
def report(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no message.")] = False,
) -> None:
    """Write a new version of the report files of a case (report/v1, v2, ...)."""
    from ariane import pipeline

    paths = _guarded(lambda: pipeline.write_reports(case, _progress(quiet)))
    if not quiet:
        folder = paths[0].parent if paths else case / "report"
        out.print(f"wrote {len(paths)} report files under {folder}")


facts_app = typer.Typer(
    help="The case's facts: a template file to fill in, or show and set them after run.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(facts_app, name="facts")


@facts_app.callback()
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

    _guarded(lambda: write_facts_template(out_file))
    if not quiet:
        out.print(f"wrote {out_file}: edit it, then pass it to: ariane run --facts {out_file}")


@facts_app.command("show")
def facts_show(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Accepted for symmetry.")] = False,
) -> None:
    """The case's facts, and each controller's; unknown ones print « à compléter »."""
    from ariane import followup

    document = _guarded(lambda: followup.show_facts(case))
    if as_json:
        _print_json(document)
        return
    _print_facts(document)


def _print_facts(document: dict[str, Any]) -> None:
    table = Table("fact", "value", title="Facts of the case", show_header=False)
    for name, value in document["case"].items():
        table.add_row(name, _fact_text(value))
    out.print(table)
    for controller_id, values in document["controllers"].items():
        known = {k: v for k, v in values.items() if v is not None}
        line = ", ".join(f"{k}={_fact_text(v)}" for k, v in known.items()) or "« à compléter »"
        out.print(f"[bold]{controller_id}[/]: {line}", highlight=False)


def _fact_text(value: Any) -> str:
    if value is None:
        return "« à compléter »"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@facts_app.command("set")
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

    changes = _guarded(lambda: followup.set_facts(case, assignments, controller))
    if quiet:
        return
    where = f"controller {controller}" if controller else "the case"
    if not changes:
        out.print(f"no change to the facts of {where}")
    for change in changes:
        out.print(
            f"{where}: {change.name}: {_fact_text(change.old)} -> {_fact_text(change.new)}",
            highlight=False,
        )


@app.command()
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
    persons = _guarded(
        lambda: followup.export_persons(
            case, controller, out_file, recipient=recipient, passphrase=passphrase
        )
    )
    if not quiet:
        out.print(f"wrote {persons:,} persons of {controller}, encrypted, to {out_file}")


@app.command()
def audit(
    case: Annotated[Path, typer.Argument(help="Case directory.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Verify the hash-chained audit log of a case."""
    from ariane import pipeline

    entries, head = _guarded(lambda: pipeline.verify_audit(case))
    if not quiet:
        out.print(f"audit log of {case} verifies: {entries} entries, head {head[:16]}…")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the demo.")] = Path(
        "ariane-demo"
    ),
    rows: Annotated[int, typer.Option(help="Records in the synthetic leak.", min=1)] = 20_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Synthesise a small leak, run every stage on it, print what it found and where."""
    from ariane import pipeline

    result = _guarded(lambda: pipeline.demo(out_dir, rows=rows, progress=_progress(quiet)))
    out.print(f"[bold]Synthetic leak:[/] {result.leak}")
    _print_run(result.run)
    out.print(f"Next: ariane summary {result.run.case_dir}")


def main() -> None:
    """Entry point of the ``ariane`` script."""
    app()


selfcheck_app = typer.Typer(
    help="Let people check whether they are concerned, without a second leak.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@selfcheck_app.command("export")
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

    result = _guarded(lambda: export(case, out_dir, hmac_key, sender_key))
    if quiet:
        return
    out.print(
        f"wrote the self-check index of {result.persons:,} persons ({result.digests:,} "
        f"identifier digests, {result.controllers} controllers) to {result.index_dir}"
    )
    out.print(f"  HMAC key (for the web service): {result.hmac_key}")
    out.print(f"  sender key (for the sender only): {result.sender_key}")


@selfcheck_app.command("serve")
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

    def body() -> None:
        limits = Limits(
            Limit.parse(limit_ip), Limit.parse(limit_identifier), Limit.parse(limit_overall)
        )
        serve(
            ServeOptions(
                index_dir, host, port, redis, smtp, mail_from, hmac_key, sender_key, outbox, limits
            )
        )

    _guarded(body)


app.add_typer(selfcheck_app, name="selfcheck")
