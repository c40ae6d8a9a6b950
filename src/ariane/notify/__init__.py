"""Tell every person concerned, once, in words they understand (GDPR art. 34).

``plan`` decides who gets which notice by which channel (:mod:`~.planner`, words in
:mod:`~.words`); ``approve`` records a controller's approval of its batch (nothing leaves
before it; from the CLI, or the web portal through :func:`approve`); ``send`` sends the
approved notices exactly once (:mod:`~.sender`: emails by :mod:`~.email`, letters and SMS
batches by :mod:`~.letters`, the outbox in :mod:`~.outbox`); ``receipts`` reads the
delivery reports that came back (:mod:`~.dsn`); ``status`` counts them.

Contents and addresses stay in the encrypted case store; the operational database holds
ids and statuses only. Every command is audited, with counts and never a name or address.
Heavy parts (SQLAlchemy, Typst, dkimpy) are imported when a command needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ariane.case import Case
from ariane.errors import ConfigError

if TYPE_CHECKING:
    from ariane.engine import Engine
    from ariane.notify.sender import SendOptions, SendOutcome
    from ariane.ops.db import Database
    from ariane.progress import Progress

#: Status counts per controller, as ``summary --json`` gives them.
NOTICE_COUNTS = ("planned", "approved", "sent", "delivered", "bounced", "letters")


def plan(
    case_dir: Path,
    *,
    database_url: str | None = None,
    patient_lists: dict[str, Path] | None = None,
    templates: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Plan the notices of a case, load them in the outbox as planned; the plan document."""
    from ariane.notify import outbox
    from ariane.ops.db import open_database

    with Case.open(case_dir) as case:
        engine = case.engine()
        known = _controllers(engine)
        database = open_database(case, database_url)
        try:
            outbox.require_open_plan(database)  # before the store's plan is touched
            document = _make_plan(case, known, patient_lists, templates)
            rows = engine.fetch(
                "SELECT notice_id, person_key_hash, controller_ids, channel FROM notify_notices "
                "WHERE channel IS NOT NULL ORDER BY notice_id"
            )
            outbox.load_plan(database, rows)
            _snapshot(engine, database)
        finally:
            database.close()
        case.record(
            "notify plan",
            {
                "database": database.backend,
                "patient_lists": sorted(patient_lists or {}),
                "templates": sorted(templates or {}),
            },  # fmt: skip
            inputs=[*(patient_lists or {}).values(), *(templates or {}).values()],
            outcome=_counts_only(document),
        )
    return document


def _make_plan(
    case: Case,
    known: set[str],
    patient_lists: dict[str, Path] | None,
    templates: dict[str, Path] | None,
) -> dict[str, Any]:
    """Build the plan in the store, render every shape of notice once, draft public texts."""
    from ariane.notify.planner import build_plan
    from ariane.notify.words import Words, install_template, restore_template

    engine = case.engine()
    previous = {}
    for controller_id, path in sorted((templates or {}).items()):
        if controller_id not in known:
            raise ConfigError(f"--template {controller_id}: no such controller in this case")
        previous[controller_id] = install_template(case.directory, controller_id, path)
    try:
        document = build_plan(engine, case.subkey("notify ids"), patient_lists)
        words = Words(engine, case.directory)
        # Every shape of notice is rendered once now: a template's missing field or a
        # special category named fails the plan, not the send.
        for controller_ids, has_nir in engine.fetch(
            "SELECT DISTINCT controller_ids, has_nir FROM notify_notices WHERE channel IS NOT NULL"
        ):
            words.body(tuple(controller_ids), bool(has_nir), "0000-0000-0000")
    except BaseException:
        for controller_id, content in previous.items():  # a refused template is not kept
            restore_template(case.directory, controller_id, content)
        raise
    document["public_communications"] = _draft_public(case, words, document)
    return document


def approve(
    case: Case, database: Database, controller_id: str, actor: str, user_id: int | None = None
) -> dict[str, Any]:
    """Approve a controller's batch of notices (the CLI and the web portal call this); audited.

    ``actor`` says who approved (``cli``, ``user:12``); an unknown controller, or one with no
    notice planned, is a :class:`ConfigError`.
    """
    from ariane.notify import outbox
    from ariane.notify.planner import stored_plan

    engine = case.engine()
    if controller_id not in _controllers(engine):
        raise ConfigError(f"--controller {controller_id}: no such controller in this case")
    batch = stored_plan(engine)["batch"]
    if controller_id not in outbox.controllers_planned(database):
        raise ConfigError(
            f"--controller {controller_id}: no notice of this controller is planned "
            "(see ariane notify plan)"
        )
    newly = outbox.approve(database, controller_id, batch, user_id)
    _snapshot(engine, database)
    result = {"controller_id": controller_id, "batch": batch, "approved_now": newly}
    arguments: dict[str, Any] = {
        "controller": controller_id,
        "actor": actor,
        "database": database.backend,
    }
    if user_id is not None:
        arguments["user_id"] = user_id
    case.record("notify approve", arguments, outcome={"batch": batch, "approved_now": newly})
    return result


def batch_of(engine: Engine, database: Database, controller_id: str) -> dict[str, Any] | None:
    """A controller's batch as the portal shows it: its id, notices by channel, how many
    name other controllers too, and its approval (who, when) once given; None when the
    controller has no notice planned."""
    from ariane.notify import outbox
    from ariane.notify.planner import stored_plan

    if not engine.has_table("notify_plan"):
        return None
    figures = outbox.batch_figures(database, controller_id)
    if not any(figures[c] for c in ("email", "letter", "sms")):
        return None
    batch_id = stored_plan(engine)["batch"]
    return {
        "batch": batch_id,
        "notices": figures["email"] + figures["letter"] + figures["sms"],
        **figures,
        "approval": outbox.approval_of(database, controller_id, batch_id),
    }


def approve_batch(
    case_dir: Path, controller_id: str, *, database_url: str | None = None, actor: str = "cli"
) -> dict[str, Any]:
    """``notify approve``: open the case and its database, approve, close."""
    from ariane.ops.db import open_database

    with Case.open(case_dir) as case:
        database = open_database(case, database_url)
        try:
            return approve(case, database, controller_id, actor)
        finally:
            database.close()


def send(
    case_dir: Path,
    options: SendOptions,
    *,
    database_url: str | None = None,
    hand_over: Path | None = None,
    encrypt: Any = None,
    progress: Progress | None = None,
) -> SendOutcome:
    """``notify send``: send what is approved, then hand letters and SMS over if asked."""
    from ariane.notify.planner import stored_plan
    from ariane.notify.sender import SendOutcome
    from ariane.notify.sender import send as send_notices
    from ariane.ops.db import open_database
    from ariane.progress import SILENT

    outcome = SendOutcome()
    with Case.open(case_dir) as case:
        engine = case.engine()
        stored_plan(engine)  # nothing planned: a clear error before anything opens
        database = open_database(case, database_url)
        arguments = {
            "smtp": options.smtp.where if options.smtp else None,
            "security": options.smtp.security if options.smtp else None,
            "dkim": options.dkim is not None,
            "rate": options.rate,
            "database": database.backend,
            "letters": str(hand_over) if hand_over else None,
        }
        try:
            send_notices(case, database, options, outcome, progress or SILENT)
            if hand_over is not None:
                outcome.reconciled["handed_over"] = len(_hand_over(case, hand_over, encrypt))
        except BaseException as exc:
            outcome.stopped = outcome.stopped or type(exc).__name__
            raise
        finally:
            _snapshot(engine, database)
            database.close()
            case.record("notify send", arguments, outcome=outcome.as_dict())
    return outcome


#: What ``notify receipts`` counts: what the reports did, then what it could not use.
RECEIPT_COUNTS = (
    "messages", "reports", "delivered", "bounced", "letters", "relayed",
    "delayed", "unchanged", "unknown", "malformed", "not_reports",
)  # fmt: skip


def receipts(
    case_dir: Path, sources: list[Path], *, database_url: str | None = None
) -> dict[str, int]:
    """``notify receipts``: read delivery reports, mark their notices delivered or bounced.

    Counts only (:data:`RECEIPT_COUNTS`); reading the same reports again changes nothing.
    """
    from ariane.notify import outbox
    from ariane.notify.dsn import Malformed, NotAReport, messages, parse
    from ariane.notify.planner import stored_plan
    from ariane.ops.db import open_database

    tally = dict.fromkeys(RECEIPT_COUNTS, 0)
    reports = []
    for raw in messages(sources):  # every source read before anything changes
        tally["messages"] += 1
        try:
            report = parse(raw)
        except NotAReport:
            tally["not_reports"] += 1
            continue
        except Malformed:
            tally["malformed"] += 1
            continue
        tally["reports"] += 1
        reports.append((report.envelope_id, report.message_id, report.action))
    with Case.open(case_dir) as case:
        engine = case.engine()
        stored_plan(engine)

        def postal(notice_ids: list[str]) -> set[str]:
            return {
                row[0]
                for row in engine.fetch(
                    "SELECT notice_id FROM notify_notices WHERE postal "
                    "AND notice_id IN (SELECT unnest(?::VARCHAR[]))",
                    [notice_ids],
                )
            }

        database = open_database(case, database_url)
        try:
            for name, count in outbox.settle_reports(database, reports, postal).items():
                tally[name] += count
            _snapshot(engine, database)
        finally:
            database.close()
        case.record(
            "notify receipts",
            {"sources": [str(s) for s in sources], "database": database.backend},
            outcome=tally,
        )
    return tally


def status(case_dir: Path, *, database_url: str | None = None) -> dict[str, Any]:
    """``notify status``: the plan's counts and every controller's notices by status."""
    from ariane.notify import outbox
    from ariane.notify.planner import stored_plan
    from ariane.ops.db import open_database

    with Case.open(case_dir) as case:
        engine = case.engine()
        document = stored_plan(engine)
        database = open_database(case, database_url)
        try:
            counts = outbox.counts(database)
            waiting = outbox.channels_waiting(database)
            _snapshot(engine, database)
        finally:
            database.close()
        result = {
            "batch": document["batch"],
            "persons": document["persons"],
            "notices": document["notices"],
            "unreachable": document["unreachable"],
            "waiting": waiting,
            "controllers": {
                c: counts.get(c, dict.fromkeys(NOTICE_COUNTS, 0))
                for c in sorted(document["by_controller"])
            },  # fmt: skip
        }
        case.record("notify status", outcome={"waiting": waiting})
    return result


def notices_by_controller(engine: Engine) -> dict[str, dict[str, int]]:
    """The last counts a notify command saw, per controller (for ``summary --json``)."""
    if not engine.has_table("notify_counts"):
        return {}
    columns = ", ".join(NOTICE_COUNTS)
    return {
        row[0]: dict(zip(NOTICE_COUNTS, (int(v) for v in row[1:]), strict=True))
        for row in engine.fetch(f"SELECT controller_id, {columns} FROM notify_counts")
    }


def _snapshot(engine: Engine, database: Database) -> None:
    """Keep the outbox's counts in the store, so ``summary`` needs no database."""
    from ariane.notify import outbox

    counts = outbox.counts(database)
    engine.execute(
        "CREATE OR REPLACE TABLE notify_counts (controller_id VARCHAR, "
        + ", ".join(f"{name} BIGINT" for name in NOTICE_COUNTS)
        + ")"
    )
    for controller_id, entry in sorted(counts.items()):
        engine.execute(
            f"INSERT INTO notify_counts VALUES (?{', ?' * len(NOTICE_COUNTS)})",
            [controller_id, *(entry[name] for name in NOTICE_COUNTS)],
        )


def _controllers(engine: Engine) -> set[str]:
    from ariane.followup import controller_ids

    return set(controller_ids(engine))


def _draft_public(case: Case, words: Any, document: dict[str, Any]) -> list[str]:
    """Write the public communications (art. 34(3)(c)) the plan calls for; their controllers."""
    folder = case.directory / "notify" / "public"
    drafted = []
    for controller_id, entry in sorted(document["by_controller"].items()):
        if not entry["public_communication"]:
            continue
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = words.public(controller_id, entry["persons"], entry["unreachable"])
        (folder / f"{controller_id}.txt").write_text(text, encoding="utf-8")
        drafted.append(controller_id)
    return drafted


def _hand_over(case: Case, out_dir: Path, encrypt: Any) -> list[str]:
    """Write the finished letter and SMS batches not handed over yet, age-encrypted."""
    from ariane.notify.outbox import FALLBACK_SUFFIX
    from ariane.notify.sender import batches_of, reference

    if encrypt is None:
        raise ConfigError("--letters: give --recipient AGE_PUBLIC_KEY or set "
                          "ARIANE_EXPORT_PASSPHRASE")  # fmt: skip
    engine = case.engine()
    engine.execute("CREATE TABLE IF NOT EXISTS notify_handover (batch VARCHAR, out VARCHAR)")
    already = {row[0] for row in engine.fetch("SELECT batch FROM notify_handover")}

    def index_rows(_name: str, ids: list[str]) -> list[tuple[Any, ...]]:
        places = {
            row[0]: row[1:]
            for row in engine.fetch(
                "SELECT notice_id, postal_code, address[-1] FROM notify_notices "
                "WHERE notice_id IN (SELECT unnest(?::VARCHAR[]))",
                [[i.removesuffix(FALLBACK_SUFFIX) for i in ids]],
            )
        }
        return [(reference(i), *places.get(i.removesuffix(FALLBACK_SUFFIX), ("", ""))) for i in ids]

    names = batches_of(case).hand_over(Path(out_dir), encrypt, already, index_rows)
    for name in names:
        engine.execute("INSERT INTO notify_handover VALUES (?, ?)", [name, str(out_dir)])
    return names


def _counts_only(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "by_controller"} | {
        "controllers": len(document["by_controller"])
    }
