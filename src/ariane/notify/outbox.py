"""The notices' side of the outbox: load a plan, approve, record outcomes, reconcile.

The outbox (table ``notices`` of the operational database) holds ids, channels and
statuses, never contents or addresses. A notice's life::

    planned --approve (every controller it names)--> approved --claim (lease)--> in flight
    in flight --accepted by the SMTP server--> sent
    in flight --refused with 5xx--> bounced (+ a fallback letter notice, approved)
    in flight --rendered into a batch file, renamed into place--> letter (SMS: sent)
    sent --a delivery report says delivered--> delivered
    sent --a delivery report says failed--> bounced (+ a fallback letter notice, approved)

A sender that dies leaves notices in flight: approved, leased to a process that is gone.
:func:`reconcile` settles them before anything is claimed again: a letter or SMS found in a
finished batch file is recorded as done (never rendered twice); an email goes back to be
sent again with the same Message-ID (the idempotency key), since the server may have
accepted it just before the sender died.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ariane.errors import ConfigError
from ariane.ops.db import Database
from ariane.ops.models import Approval, Notice, utcnow

#: What ``summary --json`` and ``notify status`` count per controller.
COUNTED = ("planned", "approved", "sent", "delivered", "bounced", "letters")
FALLBACK_SUFFIX = "-letter"
_CHUNK = 500


def owner_name() -> str:
    """Who holds a lease: this host and process (so a restart can tell it is gone)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_gone(owner: str) -> bool:
    """Whether a lease's holder is a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's sender: its lease expires on its own
    if int(pid) == os.getpid():
        return True  # an earlier process that had this pid (reconcile runs before any claim)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def require_open_plan(database: Database) -> None:
    """:class:`ConfigError` once a batch is approved: from then on the plan is fixed."""
    with database.sessions() as session:
        started = session.scalar(
            select(func.count()).select_from(Notice).where(Notice.status != "planned")
        )
        approvals = session.scalar(select(func.count()).select_from(Approval))
    if started or approvals:
        raise ConfigError(
            "notify plan: a batch is already approved; the plan is fixed (see ariane notify status)"
        )


def load_plan(database: Database, rows: Iterable[tuple[str, str, list[str], str]]) -> int:
    """Put a plan's notices in the outbox as ``planned`` (replacing a plan not yet approved)."""
    require_open_plan(database)
    with database.write() as session:
        session.execute(delete(Notice))
        count = 0
        chunk: list[dict[str, Any]] = []
        for notice_id, person_key_hash, controller_ids, channel in rows:
            chunk.append(
                {"notice_id": notice_id, "person_key_hash": person_key_hash,
                 "controller_ids": list(controller_ids), "channel": channel,
                 "status": "planned", "attempts": 0, "updated_at": utcnow()}
            )  # fmt: skip
            if len(chunk) >= _CHUNK * 10:
                session.execute(insert(Notice), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            session.execute(insert(Notice), chunk)
            count += len(chunk)
    return count


def approve(database: Database, controller_id: str, batch: str, user_id: int | None) -> int:
    """Record a controller's approval of a batch; notices all of whose controllers approved
    become ``approved``. Returns how many did now (0 when approved already)."""
    with database.write() as session:
        try:
            with session.begin_nested():
                session.add(Approval(controller_id=controller_id, batch=batch,
                                     approved_by=user_id))  # fmt: skip
        except IntegrityError:
            return 0
        approved = set(
            session.scalars(select(Approval.controller_id).where(Approval.batch == batch))
        )
        ready = [
            notice_id
            for notice_id, controllers in session.execute(
                select(Notice.notice_id, Notice.controller_ids).where(Notice.status == "planned")
            )
            if controller_id in controllers and approved.issuperset(controllers)
        ]
        for start in range(0, len(ready), _CHUNK):
            session.execute(
                update(Notice)
                .where(
                    Notice.notice_id.in_(ready[start : start + _CHUNK]), Notice.status == "planned"
                )  # fmt: skip
                .values(status="approved", updated_at=utcnow())
            )
    return len(ready)


def batch_figures(database: Database, controller_id: str) -> dict[str, Any]:
    """A controller's notices by channel (``email``, ``letter``, ``sms``; fallback letters
    aside), and how many also name another controller (``shared``)."""
    figures: dict[str, Any] = {"email": 0, "letter": 0, "sms": 0, "shared": 0}
    with database.sessions() as session:
        rows = session.execute(
            select(cast(Notice.controller_ids, String), Notice.channel, func.count())
            .where(Notice.notice_id.not_like(f"%{FALLBACK_SUFFIX}"))
            .group_by(cast(Notice.controller_ids, String), Notice.channel)
        )  # fmt: skip
        for text, channel, count in rows:
            named = json.loads(text)
            if controller_id in named:
                figures[channel] += int(count)
                figures["shared"] += int(count) if len(named) > 1 else 0
    return figures


def approval_of(database: Database, controller_id: str, batch: str) -> dict[str, Any] | None:
    """Who approved a controller's batch and when (``user_id`` None: from the CLI), if it is."""
    from ariane.ops.models import User

    with database.sessions() as session:
        found = session.execute(
            select(Approval.approved_by, Approval.at, User.email)
            .outerjoin(User, User.id == Approval.approved_by)
            .where(Approval.controller_id == controller_id, Approval.batch == batch)
        ).first()
    if found is None:
        return None
    return {"user_id": found[0], "at": found[1], "email": found[2]}


def controllers_planned(database: Database) -> set[str]:
    """Every controller some notice of the outbox names."""
    with database.sessions() as session:
        return {
            c
            for (text,) in session.execute(select(cast(Notice.controller_ids, String)).distinct())
            for c in json.loads(text)
        }


def assign_message_ids(database: Database, notice_ids: list[str], domain: str) -> dict[str, str]:
    """The Message-ID of each email notice, fixed the first time it is about to be sent."""
    with database.write() as session:
        rows = session.execute(
            select(Notice.notice_id, Notice.message_id).where(Notice.notice_id.in_(notice_ids))
        ).all()
        found: dict[str, str] = {}
        for notice_id, message_id in rows:
            if message_id is None:
                message_id = f"<{notice_id}@{domain}>"
                session.execute(
                    update(Notice)
                    .where(Notice.notice_id == notice_id)
                    .values(message_id=message_id)
                )
            found[notice_id] = message_id
    return found


def record(database: Database, notice_ids: list[str], status: str) -> None:
    """Notices leave flight with an outcome (``sent``, ``letter``, ``delivered``)."""
    with database.write() as session:
        for start in range(0, len(notice_ids), _CHUNK):
            session.execute(
                update(Notice)
                .where(
                    Notice.notice_id.in_(notice_ids[start : start + _CHUNK]),
                    Notice.status == "approved",
                )  # fmt: skip
                .values(status=status, lease_owner=None, lease_until=None, updated_at=utcnow())
            )


def bounce(database: Database, notice_id: str, letter: bool) -> None:
    """An email refused for good: ``bounced``, and a letter in its place when one can go."""
    with database.write() as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status != "approved":
            return
        notice.status = "bounced"
        notice.lease_owner = notice.lease_until = None
        if letter:
            session.add(_fallback_letter(notice))


def _fallback_letter(email: Notice) -> Notice:
    """The letter that goes in place of a bounced email: approved, as its email was."""
    return Notice(
        notice_id=email.notice_id + FALLBACK_SUFFIX,
        person_key_hash=email.person_key_hash,
        controller_ids=list(email.controller_ids),
        channel="letter",
        status="approved",
        attempts=0,
    )


#: What a delivery report's action does to its notice (``relayed``, ``delayed``: nothing).
REPORTED = {"delivered": "delivered", "failed": "bounced"}


def settle_reports(
    database: Database,
    reports: list[tuple[str | None, str | None, str]],
    postal: Callable[[list[str]], set[str]],
) -> Counter[str]:
    """Apply delivery reports ``(envelope id, Message-ID, action)`` to their email notices.

    A notice is found by its id (the envelope id), else by its Message-ID. Only an email
    that went out can change: ``sent``, or ``approved`` with a Message-ID (in doubt after a
    crash: the report shows the server took it, and a sender that records it later changes
    nothing, since :func:`record` and :func:`bounce` only move ``approved`` notices).
    ``delivered`` and ``bounced`` are final: a report read again changes nothing. A bounced
    notice gets a letter in its place when ``postal`` (notice ids -> those with a postal
    address) says one can go. Returns counts: ``delivered``, ``bounced``, ``letters``,
    ``relayed``, ``delayed``, ``unchanged``, ``unknown`` (no email of this outbox went out
    with these ids).
    """
    found: Counter[str] = Counter()
    for start in range(0, len(reports), _CHUNK):
        bounced: list[Notice] = []
        chunk = reports[start : start + _CHUNK]
        with database.write() as session:
            by_id, by_message_id = _notices_named(session, chunk)
            for envelope_id, message_id, action in chunk:
                notice = _reported_notice(by_id, by_message_id, envelope_id, message_id)
                if notice is None:
                    found["unknown"] += 1
                elif notice.status in REPORTED.values():
                    found["unchanged"] += 1
                elif action not in REPORTED:
                    found[action] += 1
                else:
                    notice.status = REPORTED[action]
                    notice.lease_owner = notice.lease_until = None
                    notice.updated_at = utcnow()
                    found[notice.status] += 1
                    if notice.status == "bounced":
                        bounced.append(notice)
            with_address = postal([n.notice_id for n in bounced]) if bounced else set()
            for notice in bounced:
                if (
                    notice.notice_id in with_address
                    and session.get(Notice, notice.notice_id + FALLBACK_SUFFIX) is None
                ):
                    session.add(_fallback_letter(notice))
                    found["letters"] += 1
    return found


def _notices_named(
    session: Any, reports: list[tuple[str | None, str | None, str]]
) -> tuple[dict[str, Notice], dict[str, Notice]]:
    """The notices some report names, by id and by Message-ID (two queries a chunk)."""
    ids = {i for e, _m, _a in reports if e for i in (e, e.lower())}
    message_ids = {m for _e, m, _a in reports if m}
    by_id = {
        n.notice_id: n for n in session.scalars(select(Notice).where(Notice.notice_id.in_(ids)))
    }
    by_message_id = {
        n.message_id: n
        for n in session.scalars(select(Notice).where(Notice.message_id.in_(message_ids)))
    }
    return by_id, by_message_id


def _reported_notice(
    by_id: dict[str, Notice],
    by_message_id: dict[str, Notice],
    envelope_id: str | None,
    message_id: str | None,
) -> Notice | None:
    """The email notice a report names, if it went out (else None)."""
    notice = None
    if envelope_id:
        notice = by_id.get(envelope_id) or by_id.get(envelope_id.lower())
    if (notice is None or notice.message_id is None) and message_id:
        notice = by_message_id.get(message_id)
    if notice is None or notice.channel != "email" or notice.message_id is None:
        return None
    if notice.status not in ("approved", "sent", *REPORTED.values()):
        return None
    return notice


def release(database: Database, notice_ids: list[str]) -> None:
    """Give leased notices back (a temporary failure: they go at the next send)."""
    with database.write() as session:
        session.execute(
            update(Notice)
            .where(Notice.notice_id.in_(notice_ids), Notice.status == "approved")
            .values(lease_owner=None, lease_until=None)
        )


def reconcile(database: Database, done: dict[str, str]) -> dict[str, int]:
    """Settle notices left in flight by a sender that is gone; counts of what was found.

    ``done`` maps each notice found in a finished batch file (letters, SMS) to its status.
    """
    now = utcnow()
    found = {"letters_done": 0, "emails_in_doubt": 0, "released": 0}
    with database.write() as session:
        stranded = [
            (notice_id, channel, message_id)
            for notice_id, channel, message_id, owner, until in session.execute(
                select(
                    Notice.notice_id,
                    Notice.channel,
                    Notice.message_id,
                    Notice.lease_owner,
                    Notice.lease_until,
                ).where(Notice.status == "approved", Notice.lease_owner.is_not(None))
            )  # fmt: skip
            if until is None or until < now or owner_gone(owner or "")
        ]
        for notice_id, channel, message_id in stranded:
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if notice_id in done:
                values["status"] = done[notice_id]
                found["letters_done"] += 1
            elif channel == "email" and message_id is not None:
                found["emails_in_doubt"] += 1
            else:
                found["released"] += 1
            session.execute(update(Notice).where(Notice.notice_id == notice_id).values(values))
        # A batch file finished whose notices were recorded by nobody (the lease was
        # already released, e.g. expired): recorded now, never rendered again.
        settled = {s[0] for s in stranded}
        waiting = session.scalars(
            select(Notice.notice_id).where(
                Notice.status == "approved", Notice.channel.in_(("letter", "sms"))
            )
        )
        pending = [i for i in waiting if i in done and i not in settled]
        for start in range(0, len(pending), _CHUNK):
            part = pending[start : start + _CHUNK]
            for status in set(done[i] for i in part):
                result = session.execute(
                    update(Notice)
                    .where(
                        Notice.notice_id.in_([i for i in part if done[i] == status]),
                        Notice.status == "approved",
                    )  # fmt: skip
                    .values(status=status, lease_owner=None, lease_until=None)
                )
                found["letters_done"] += result.rowcount  # type: ignore[attr-defined]
    return found


def counts(database: Database) -> dict[str, dict[str, int]]:
    """Per controller, notices by status (``letter`` counted as ``letters``)."""
    result: dict[str, dict[str, int]] = {}
    with database.sessions() as session:
        rows = session.execute(
            select(cast(Notice.controller_ids, String), Notice.status, func.count())
            .group_by(cast(Notice.controller_ids, String), Notice.status)
        )  # fmt: skip
        for text, status, count in rows:
            name = "letters" if status == "letter" else status
            for controller_id in json.loads(text):
                entry = result.setdefault(controller_id, dict.fromkeys(COUNTED, 0))
                entry[name] += int(count)
    return result


def channels_waiting(database: Database) -> dict[str, int]:
    """Approved notices not yet sent, by channel."""
    with database.sessions() as session:
        return {
            channel: int(count)
            for channel, count in session.execute(
                select(Notice.channel, func.count())
                .where(Notice.status == "approved")
                .group_by(Notice.channel)
            )
        }
