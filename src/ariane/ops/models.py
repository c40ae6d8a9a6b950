"""The tables of the operational database: ids, statuses and hashes, never personal data.

A user's own login email is kept (it is how they log in, not leak data); everything else
that could identify someone is a hash (sessions, login attempts, persons in the outbox) or
encrypted (TOTP secrets). A change here needs a new migration in ``migrations/versions``;
``tests/test_ops.py`` checks that the migrated schema and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("responder", "controller", "regulator")
CHANNELS = ("email", "letter", "sms")
NOTICE_STATUSES = ("planned", "approved", "sent", "delivered", "bounced", "letter")


def utcnow() -> datetime:
    """Now, in UTC, aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC instant on every backend (SQLite keeps no zone: UTC is implied)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the operational database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


# Named constraints, so that a later migration can alter them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every operational table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}


class User(Base):
    """Someone who logs in: a responder, a controller's DPO, or the regulator."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    controller_id: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # AES-GCM under a key derived from the case key; see ariane.ops.secrets.
    totp_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The last TOTP time step accepted, so that a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled: Mapped[bool] = mapped_column(default=False)


class LoginSession(Base):
    """A server-side session; the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


class LoginAttempt(Base):
    """One login attempt, for rate limiting: keyed hashes of who and from where."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index(None, "email_hash", "at"),
        Index(None, "address_hash", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)


class Approval(Base):
    """A controller's approval of one batch of notices (nothing leaves before it)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("controller_id", "batch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    controller_id: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """One notice to one person in the outbox: ids and statuses, never contents or addresses."""

    __tablename__ = "notices"
    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("status", NOTICE_STATUSES),
        Index(None, "status", "lease_until"),
    )

    notice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_key_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Every controller the person was found in: one notice names them all.
    controller_ids: Mapped[list[str]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # The idempotency key of an email: a resend after a crash reuses it.
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
