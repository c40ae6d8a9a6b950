"""Login rate limits, counted in the operational database (``login_attempts``).

Every attempt is kept as keyed hashes of the email typed and of the client address, never
either in clear. Before checking a password, the server counts the recent failures for
that email and from that address; over a limit, the login is refused (429) without even
looking at the password, so guessing stays slow whatever the attacker parallelises. Several
server processes share the counts, since they share the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from ariane.ops.db import Database
from ariane.ops.models import LoginAttempt, utcnow


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per email and per address within ``window``."""

    per_email: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def keyed(key: bytes, text: str) -> str:
    """The keyed hash (HMAC-SHA256) the table keeps instead of ``text``."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def blocked(database: Database, key: bytes, email: str, address: str, limits: LoginLimits) -> bool:
    """Whether recent failures for this email or from this address exceed the limits."""
    since = utcnow() - limits.window
    failed = (LoginAttempt.at >= since) & LoginAttempt.succeeded.is_(False)
    with database.sessions() as session:
        by_email = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(failed, LoginAttempt.email_hash == keyed(key, email.strip().lower()))
        )
        by_address = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(failed, LoginAttempt.address_hash == keyed(key, address))
        )
    return (by_email or 0) >= limits.per_email or (by_address or 0) >= limits.per_address


def note(
    database: Database,
    key: bytes,
    email: str,
    address: str,
    succeeded: bool,
    limits: LoginLimits,
) -> None:
    """Record one attempt; attempts older than the window are of no use and are dropped."""
    with database.write() as session:
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - limits.window))
        session.add(
            LoginAttempt(
                email_hash=keyed(key, email.strip().lower()),
                address_hash=keyed(key, address),
                succeeded=succeeded,
            )
        )
