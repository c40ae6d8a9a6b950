"""A case, its users and a test client for ``ariane serve`` (shared by the serve tests).

The case's stage tables are built in code (:mod:`test_assess_inputs`), graded by the real
assess stage: what was put in is known (persons, controllers, the secrets to grep for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyotp

from ariane import assess
from ariane.case import Case
from ariane.ops.db import Database, open_database
from ariane.ops.users import NewUser, create_user
from test_assess_inputs import Leak, add_aware_at, build

AWARE_AT = "2021-02-23T10:00:00+01:00"
STAGES = ("read", "classify", "resolve", "attribute", "assess")


def build_case(case_dir: Path, records: int = 400, controllers: int = 4, **options) -> Leak:
    """A graded case of ``records`` records over ``controllers`` labs."""
    with Case.create(case_dir) as case:
        engine = case.engine()
        leak = build(engine, records=records, controllers=controllers, **options)
        add_aware_at(engine, AWARE_AT)
        assess.assess(engine)
        engine.execute("CREATE TABLE case_stages (stage VARCHAR, completed_at TIMESTAMPTZ)")
        for stage in STAGES:
            engine.execute("INSERT INTO case_stages VALUES (?, ?)", [stage, datetime.now(UTC)])
        case.record("run", {"built": "serve_fixtures"})
    return leak


@dataclass
class Users:
    """One user of each kind; ``controllers`` maps a controller id to its user."""

    responder: NewUser
    regulator: NewUser
    controllers: dict[str, NewUser]


def add_users(database: Database, controller_ids: list[str]) -> Users:
    """A responder, a regulator, and one user per controller."""
    return Users(
        create_user(database, "responder@cert.example", "responder", None),
        create_user(database, "cnil@regulator.example", "regulator", None),
        {
            cid: create_user(database, f"dpo-{cid.lower()}@lab.example", "controller", cid)
            for cid in controller_ids
        },
    )


def code(user: NewUser, offset: int = 0) -> str:
    """The TOTP code of ``user`` now (or ``offset`` steps later)."""
    totp = pyotp.TOTP(user.totp_secret)
    return totp.at(datetime.now(UTC).timestamp() + offset * totp.interval)


def open_app(case_dir: Path, url: str | None = None, **settings):
    """The app over an open case: (app, case, database); close the case and database after."""
    from ariane.serve.app import Settings, create_app
    from ariane.serve.casedata import CaseData

    case = Case.open(case_dir)
    database = open_database(case, url)
    app = create_app(CaseData(case), database, Settings(**settings))
    return app, case, database


class Steps:
    """TOTP codes are single use: each login of a user takes the next time step."""

    def __init__(self) -> None:
        self.used: dict[int, int] = {}

    def next(self, user: NewUser) -> str:
        """A code not used yet for this user (a later step, within the accepted window)."""
        offset = self.used.get(user.user_id, -1) + 1
        if offset > 1:
            raise RuntimeError("more than two logins per user within one TOTP step")
        self.used[user.user_id] = offset
        return code(user, offset)


def login(client, user: NewUser, otp: str) -> None:
    """Log ``client`` in as ``user`` through the API (asserting it worked)."""
    response = client.post(
        "/api/session", json={"email": user.email, "password": user.password, "otp": otp}
    )
    assert response.status_code == 200, response.text
