"""Server-side login sessions: the cookie carries a random token, the table only its hash.

A session ends when revoked (logout), when idle longer than ``idle``, or at its fixed
expiry, whichever comes first; a disabled user's sessions stop at once. A stolen copy of
the table opens no session: it holds SHA-256 digests of the tokens, not the tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update

from ariane.ops.db import Database
from ariane.ops.models import LoginSession, User, utcnow
from ariane.ops.users import Account

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)


def token_hash(token: str) -> str:
    """What the table keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(database: Database, user_id: int, lifetime: timedelta = LIFETIME) -> str:
    """Open a session for a user who just logged in; the token, for the cookie only."""
    token = secrets.token_urlsafe(32)
    with database.write() as session:
        session.add(
            LoginSession(id_hash=token_hash(token), user_id=user_id, expires_at=utcnow() + lifetime)
        )
    return token


def resume(database: Database, token: str, idle: timedelta = IDLE) -> Account | None:
    """The account behind a live session token (and mark it seen), else None."""
    now = utcnow()
    with database.write() as session:
        row = session.get(LoginSession, token_hash(token))
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or row.revoked or user.disabled:
            return None
        if now >= row.expires_at or now - row.last_seen > idle:
            return None
        row.last_seen = now
        return Account(user.id, user.email, user.role, user.controller_id)


def revoke(database: Database, token: str) -> None:
    """End a session (logout); an unknown token is already ended."""
    with database.write() as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == token_hash(token))
            .values(revoked=True)
        )
