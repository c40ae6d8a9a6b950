"""Send the approved notices, exactly once: letters, SMS batches, then emails.

Before anything is claimed, the notices a dead sender left in flight are reconciled
(:func:`ariane.notify.outbox.reconcile`). Emails go one at a time, each recorded ``sent``
as soon as the server accepted it; letters and SMS go in batch files
(:mod:`~ariane.notify.letters`), recorded when the file is in place. The only notice that
can leave twice is an email the server accepted in the instant before the sender died,
and it leaves again with the same Message-ID.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ariane.case import Case
from ariane.errors import ConfigError
from ariane.notify import email as mail
from ariane.notify import outbox
from ariane.notify.letters import Batches, Letter, render_letters, sms_csv
from ariane.notify.words import SUBJECT, Words
from ariane.ops.db import Database
from ariane.ops.outbox import claim
from ariane.progress import SILENT, Progress
from ariane.smtp import SmtpSettings

LETTER_BATCH = 500
#: Processes laying letters out at once, and batches each renders before it is replaced.
RENDER_WORKERS = max(1, min(2, os.cpu_count() or 1))
BATCHES_PER_WORKER = 2
SMS_BATCH = 5_000
EMAIL_BATCH = 50
#: Seconds a claim is held; a sender that dies is noticed sooner on its own host.
LEASE_SECONDS = 900.0
ROW_FIELDS = ("notice_id", "controller_ids", "last_name", "first_name", "has_nir",
              "email", "phone", "address", "postal_code", "postal")  # fmt: skip


@dataclass
class SendOptions:
    """How to send: the SMTP server (none: letters and SMS only), sender, DKIM, pace."""

    smtp: SmtpSettings | None = None
    mail_from: str = "ne-pas-repondre@localhost.localdomain"
    dkim: mail.DkimKey | None = None
    rate: float = 10.0
    issued: date = field(default_factory=date.today)
    letter_batch: int = LETTER_BATCH


@dataclass
class SendOutcome:
    """What one run did (counts only)."""

    reconciled: dict[str, int] = field(default_factory=dict)
    emails: int = 0
    bounced: int = 0
    letters: int = 0
    letter_files: int = 0
    sms: int = 0
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the audit log and ``--json``."""
        return dict(self.__dict__)


def reference(notice_id: str) -> str:
    """The reference a person quotes to the DPO: the notice id's first 12 digits."""
    head = notice_id[:12].upper()
    return f"{head[:4]}-{head[4:8]}-{head[8:12]}"


def batches_of(case: Case) -> Batches:
    """The case's batch files (letters and SMS), sealed with a key of their own."""
    return Batches(case.directory / "notify" / "batches", case.subkey("notify batches"))


def send(
    case: Case,
    database: Database,
    options: SendOptions,
    outcome: SendOutcome,
    progress: Progress = SILENT,
) -> SendOutcome:
    """Reconcile, then send every approved notice the options allow; fills ``outcome``."""
    batches = batches_of(case)
    batches.clean()
    outcome.reconciled = outbox.reconcile(database, batches.finished())
    sender = _Sender(case, database, options, outcome, batches)
    try:
        # Letters and SMS first: a mail server that fails does not hold them back.
        sender.letters(progress)
        sender.sms()
        if options.smtp is not None:
            sender.emails(progress)
            if sender.outcome.bounced:
                sender.letters(progress)  # the bounced emails' letters
    finally:
        sender.close()
    return outcome


class _Worker:
    """One process laying letters out, one batch at a time, replaced after
    ``BATCHES_PER_WORKER`` batches: Typst keeps its layout cache for the life of a process.

    The replacing is done here rather than by ``ProcessPoolExecutor(max_tasks_per_child=)``,
    which in Python 3.11 can stop replacing its workers and hang when batches wait in its
    queue (CPython issue gh-115634).
    """

    def __init__(self) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.batches = 0

    def submit(self, letters: list[Letter], issued: date) -> Future[bytes]:
        if self.pool is None or self.batches == BATCHES_PER_WORKER:
            self.stop(wait=False)
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            self.batches = 0
        self.batches += 1
        return self.pool.submit(render_letters, letters, issued)

    def stop(self, wait: bool) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None


class _Sender:
    def __init__(
        self,
        case: Case,
        database: Database,
        options: SendOptions,
        outcome: SendOutcome,
        batches: Batches,
    ) -> None:
        self.engine = case.engine()
        self.database = database
        self.options = options
        self.outcome = outcome
        self.batches = batches
        self.words = Words(self.engine, case.directory)
        self.owner = outbox.owner_name()
        self.mailer: mail.Mailer | None = None

    def rows(self, notice_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The store's rows of these notices (a fallback letter reads its email's row)."""
        base = {i: i.removesuffix(outbox.FALLBACK_SUFFIX) for i in notice_ids}
        found = {
            row[0]: dict(zip(ROW_FIELDS, row, strict=True))
            for row in self.engine.fetch(
                f"SELECT {', '.join(ROW_FIELDS)} FROM notify_notices "
                "WHERE notice_id IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(set(base.values()))],
            )
        }
        missing = [i for i in notice_ids if base[i] not in found]
        if missing:
            outbox.release(self.database, notice_ids)
            raise ConfigError(
                f"notice {missing[0]}: in the outbox but not in the case's plan; "
                "was the outbox shared with another case? (--database)"
            )
        return {i: found[base[i]] for i in notice_ids}

    def body(self, row: dict[str, Any], notice_id: str) -> str:
        return self.words.body(tuple(row["controller_ids"]), bool(row["has_nir"]),
                               reference(notice_id))  # fmt: skip

    # -- email ---------------------------------------------------------------------------

    def emails(self, progress: Progress) -> None:
        assert self.options.smtp is not None
        self.mailer = mail.Mailer(
            self.options.smtp, self.options.mail_from, self.options.dkim, self.options.rate
        )
        domain = mail.domain_of(self.options.mail_from)
        with progress.task("sending emails") as task:
            while ids := claim(self.database, EMAIL_BATCH, self.owner, LEASE_SECONDS, ("email",)):
                message_ids = outbox.assign_message_ids(self.database, ids, domain)
                rows = self.rows(ids)
                for position, notice_id in enumerate(ids):
                    row = rows[notice_id]
                    raw = mail.message(
                        row["email"],
                        self.options.mail_from,
                        SUBJECT,
                        self.body(row, notice_id),
                        message_ids[notice_id],
                    )
                    try:  # fmt: skip
                        self.mailer.send(row["email"], raw, envelope_id=notice_id)
                    except mail.Bounced:
                        outbox.bounce(self.database, notice_id, letter=bool(row["postal"]))
                        self.outcome.bounced += 1
                        continue
                    except (mail.Stalled, ConfigError) as exc:
                        outbox.release(self.database, ids[position:])
                        self.outcome.stopped = str(exc) or type(exc).__name__
                        if isinstance(exc, ConfigError):
                            raise
                        raise ConfigError(
                            f"--smtp {self.options.smtp.where}: the server failed for now "
                            f"({exc}); {self.outcome.emails} emails sent, the others wait for "
                            "the next notify send"
                        ) from None
                    except BaseException:
                        outbox.release(self.database, ids[position:])
                        raise
                    outbox.record(self.database, [notice_id], "sent")
                    self.outcome.emails += 1
                    task.advance()

    # -- letters and SMS -----------------------------------------------------------------

    def letters(self, progress: Progress) -> None:
        """Render the approved letters in worker processes, batch by batch.

        Each of the ``RENDER_WORKERS`` slots holds one batch at a time, and the next batch is
        read and worded here while the workers lay theirs out, so that both cores stay busy.
        """
        size = self.options.letter_batch
        slots = [_Worker() for _ in range(RENDER_WORKERS)]
        pending: dict[Future[bytes], tuple[_Worker, list[str]]] = {}
        ready: tuple[list[str], list[Letter]] | None = None
        claimed_all = False
        try:
            with progress.task("rendering letters") as task:
                while True:
                    if ready is None and not claimed_all:
                        ready = self._next_batch(size)
                        claimed_all = ready is None
                    busy = {slot for slot, _ in pending.values()}
                    idle = [slot for slot in slots if slot not in busy]
                    if ready is not None and idle:
                        ids, letters = ready
                        ready = None
                        pending[idle[0].submit(letters, self.options.issued)] = (idle[0], ids)
                        continue
                    if not pending:
                        break
                    finished, _running = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        _slot, ids = pending.pop(future)
                        self.batches.write("letters", ids, future.result())
                        outbox.record(self.database, ids, "letter")
                        self.outcome.letters += len(ids)
                        self.outcome.letter_files += 1
                        task.advance(len(ids))
        except BaseException:
            for ids in [ids for _, ids in pending.values()] + ([ready[0]] if ready else []):
                outbox.release(self.database, ids)
            for slot in slots:
                slot.stop(wait=False)
            raise
        for slot in slots:
            slot.stop(wait=True)

    def _next_batch(self, size: int) -> tuple[list[str], list[Letter]] | None:
        """The next approved letters, claimed and worded; None when there are none left."""
        ids = claim(self.database, size, self.owner, LEASE_SECONDS, ("letter",))
        if not ids:
            return None
        try:
            rows = self.rows(ids)
            return ids, [self.letter(rows[i], i) for i in ids]
        except BaseException:
            outbox.release(self.database, ids)
            raise

    def letter(self, row: dict[str, Any], notice_id: str) -> Letter:
        names = [self.words.controllers[c].name for c in row["controller_ids"]]
        first = self.words.controllers[row["controller_ids"][0]]
        sender = [*names[:3], *(["et autres"] if len(names) > 3 else []),
                  f"Contact : {first.contact}"]  # fmt: skip
        person = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
        address = [person, *row["address"]]
        return Letter(notice_id, sender, address, reference(notice_id),
                      self.body(row, notice_id))  # fmt: skip

    def sms(self) -> None:
        while ids := claim(self.database, SMS_BATCH, self.owner, LEASE_SECONDS, ("sms",)):
            try:
                rows = self.rows(ids)
                lines = [
                    (reference(i), rows[i]["phone"],
                     self.words.sms(tuple(rows[i]["controller_ids"]), reference(i)))
                    for i in ids
                ]  # fmt: skip
                self.batches.write("sms", ids, sms_csv(lines))
            except BaseException:
                outbox.release(self.database, ids)
                raise
            outbox.record(self.database, ids, "sent")
            self.outcome.sms += len(ids)

    def close(self) -> None:
        if self.mailer is not None:
            self.mailer.close()
