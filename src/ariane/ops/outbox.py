"""The notices outbox: claimed with leases, so that two senders never take the same notice.

Only the schema's side of issue 11 lives here: claiming. A sender claims a batch of
approved notices whose lease is free or expired; the lease says who holds them and until
when, and ``attempts`` counts the claims. What a sender does with a notice (send, record
the outcome, reconcile after a crash) belongs to ``ariane.notify``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, true

from ariane.ops.db import Database
from ariane.ops.models import Notice, utcnow

CLAIMABLE = "approved"


def claim(
    database: Database,
    batch_size: int,
    owner: str,
    lease_seconds: float,
    channels: tuple[str, ...] | None = None,
) -> list[str]:
    """Lease up to ``batch_size`` approved, unleased notices to ``owner``; their ids.

    ``channels`` restricts the claim (a sender without an SMTP server leaves emails be).
    """
    now = utcnow()
    # FOR UPDATE SKIP LOCKED on PostgreSQL: a concurrent claimer passes over these rows
    # instead of waiting for them. SQLite ignores it; there ``write()`` begins IMMEDIATE,
    # so claimers take turns and each sees the leases the last one wrote.
    query = (
        select(Notice)
        .where(
            Notice.status == CLAIMABLE,
            or_(Notice.lease_until.is_(None), Notice.lease_until < now),
            Notice.channel.in_(channels) if channels is not None else true(),
        )
        .order_by(Notice.notice_id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    with database.write() as session:
        notices = session.scalars(query).all()
        for notice in notices:
            notice.lease_owner = owner
            notice.lease_until = now + timedelta(seconds=lease_seconds)
            notice.attempts += 1
        return [notice.notice_id for notice in notices]
