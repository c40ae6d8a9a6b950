"""Users of the web application: created with a strong password and a TOTP second factor.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106); TOTP secrets are
sealed (:mod:`ariane.ops.sealing`). Neither is ever written in clear, logged or audited: the
new user's password and secret are shown once, by ``ariane users add``, and then only their
owner has them.
"""

from __future__ import annotations

import functools
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ariane.case import Case
from ariane.errors import ConfigError
from ariane.ops.db import Database, open_database
from ariane.ops.models import ROLES, User
from ariane.ops.sealing import seal, unseal

ISSUER = "Ariane"
# One TOTP step either side of now: a phone's clock a little off still logs in.
TOTP_WINDOW = 1
_HASHER = PasswordHasher()
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class NewUser:
    """A user just created, with the secrets to hand over once."""

    user_id: int
    email: str
    role: str
    controller_id: str | None
    password: str
    totp_secret: str

    @property
    def otpauth_uri(self) -> str:
        """The URI an authenticator app reads (as a QR code or pasted)."""
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.email, issuer_name=ISSUER)


@dataclass(frozen=True)
class Account:
    """Who logged in: what the web application needs to decide what they may see."""

    user_id: int
    email: str
    role: str
    controller_id: str | None


def add_user(
    case_dir: Path,
    email: str,
    role: str,
    controller: str | None = None,
    url: str | None = None,
) -> NewUser:
    """Create a user of a case's web application; audited without any secret."""
    email = normal_email(email)
    check_role(role, controller)
    with Case.open(case_dir) as case:
        if controller is not None and controller not in case_controllers(case):
            raise ConfigError(
                f"--controller {controller}: not a controller of this case (see ariane summary)"
            )
        database = open_database(case, url)
        try:
            user = create_user(database, email, role, controller)
        finally:
            database.close()
        case.record(
            "users add",
            arguments={"role": role, "controller": controller, "database": database.backend},
            outcome={"user_id": user.user_id},
        )
    return user


def normal_email(email: str) -> str:
    """The email as stored and compared: trimmed, lower case; a clear error when not one."""
    normal = email.strip().lower()
    if len(normal) > 254 or not _EMAIL.fullmatch(normal):
        raise ConfigError("EMAIL: not an email address")
    return normal


def check_role(role: str, controller: str | None) -> None:
    """A known role, and a controller exactly when the role is controller."""
    if role not in ROLES:
        raise ConfigError(f"--role {role}: choose one of {', '.join(ROLES)}")
    if role == "controller" and not controller:
        raise ConfigError("--role controller needs --controller ID (a controller of the case)")
    if role != "controller" and controller:
        raise ConfigError(f"--controller applies to --role controller only, not {role}")


def case_controllers(case: Case) -> set[str]:
    """The ids of the controllers the case knows (its registry, after attribute)."""
    engine = case.engine()
    if not engine.has_table("attribute_controllers"):
        raise ConfigError(f"{case.directory}: the case has no controllers yet (run it first)")
    return {row[0] for row in engine.fetch("SELECT controller_id FROM attribute_controllers")}


def create_user(database: Database, email: str, role: str, controller: str | None) -> NewUser:
    """Insert a user with a fresh password and TOTP secret; duplicate email is an error."""
    email = normal_email(email)
    check_role(role, controller)
    password = secrets.token_urlsafe(18)  # 144 bits
    totp_secret = pyotp.random_base32()  # 160 bits
    try:
        with database.write() as session:
            user = User(
                email=email,
                role=role,
                controller_id=controller,
                password_hash=_HASHER.hash(password),
                totp_secret_sealed=b"",
            )
            session.add(user)
            session.flush()  # the id is sealed in with the secret
            user.totp_secret_sealed = seal(database.totp_key, totp_secret, user.id)
            user_id = user.id
    except IntegrityError:
        raise ConfigError(f"{email}: already a user of this case") from None
    return NewUser(user_id, email, role, controller, password, totp_secret)


def verify_login(database: Database, email: str, password: str, otp: str) -> Account | None:
    """The account when password and one-time code are right, else None (same work either way).

    argon2 runs even for an unknown or disabled email (against a dummy hash), so the time
    taken does not say which emails are users. A code is accepted once: its time step is
    recorded, and a replay of it (or an older one) fails.
    """
    try:
        email = normal_email(email)
    except ConfigError:
        email = ""
    with database.sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
        usable = user is not None and not user.disabled
        hashed = user.password_hash if user is not None and usable else _dummy_hash()
        right = _password_matches(hashed, password)
        if user is None or not usable or not right:
            return None
        account = Account(user.id, user.email, user.role, user.controller_id)
        secret = unseal(database.totp_key, user.totp_secret_sealed, user.id)
        rehash = _HASHER.check_needs_rehash(user.password_hash)
    step = _matching_step(secret, otp) if secret else None
    if step is None:
        return None
    with database.write() as session:
        # Conditional, so that two requests with the same code cannot both pass.
        changes: dict[str, object] = {"totp_last_step": step}
        if rehash:
            changes["password_hash"] = _HASHER.hash(password)
        done = session.execute(
            update(User)
            .where(
                User.id == account.user_id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(changes)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
    return account


def _password_matches(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _matching_step(secret: str, otp: str) -> int | None:
    code = otp.replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(18))
