"""Who may use which route: one guard, run before every route of the application.

Each route's handler is marked with a :class:`Policy` (:func:`allow`); :func:`guard` is the
one dependency every route has (the app sets it globally), and it decides everything in
one place, in this order:

1. a route without a policy answers 404 (fail closed: a route someone forgot is shut);
2. a public route passes; every other needs a live session (else 401, or the login page);
3. a role the policy does not name gets 404, as does the regulator on a person-level
   route: what one may not see does not exist for them;
4. a ``controller_id`` in the path must be a controller of the case and, for a
   controller's user, their own one, else 404 (never 403: ids cannot be probed);
5. a route that changes something reads its body (bounded, JSON or form) and checks its
   CSRF token: a token tied to the session, in the form or in an ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request

from ariane.ops import sessions
from ariane.ops.users import Account
from ariane.websafe import BodyError, read_fields, sign

SESSION_COOKIE = "ariane_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
RESPONDER = "responder"
CONTROLLER = "controller"
REGULATOR = "regulator"
EVERYONE = frozenset({RESPONDER, CONTROLLER, REGULATOR})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Policy:
    """Who may call a route, and what it does.

    ``roles`` empty: public (no login). ``personal``: answers person-level data (never to
    the regulator). ``writes``: changes something (a body is read and CSRF checked).
    """

    roles: frozenset[str] = frozenset()
    personal: bool = False
    writes: bool = False


class NotLoggedIn(Exception):
    """No live session: the API says 401, a page sends to the login form."""


@dataclass
class Access:
    """What the guard found: who (None on a public route), their session, the body read."""

    account: Account | None
    token: str | None = None
    csrf: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> Account:
        """The account (the guard lets no anonymous request reach a non-public route)."""
        if self.account is None:
            raise NotLoggedIn
        return self.account

    def sees(self, controller_id: str) -> bool:
        """Whether this user may see that controller."""
        account = self.user
        return account.role != CONTROLLER or account.controller_id == controller_id


def allow(*roles: str, personal: bool = False, writes: bool = False) -> Callable[[F], F]:
    """Mark a route's handler with its policy (no roles: public)."""
    policy = Policy(frozenset(roles), personal, writes)

    def mark(handler: F) -> F:
        handler.ariane_policy = policy  # type: ignore[attr-defined]
        return handler

    return mark


def policy_of(handler: Any) -> Policy | None:
    """The policy a handler was marked with, if any."""
    return getattr(handler, "ariane_policy", None)


def not_found() -> HTTPException:
    """The one answer to anything one may not see."""
    return HTTPException(404, "Page introuvable.")


async def guard(request: Request) -> Access:
    """The one dependency of every route (see the module's docstring)."""
    cached = getattr(request.state, "access", None)
    if cached is not None:
        return cached
    app = request.app
    policy = policy_of(request.scope.get("endpoint"))
    if policy is None:
        raise not_found()
    access = Access(None)
    if policy.roles:
        token = request.cookies.get(SESSION_COOKIE, "")
        account = (
            sessions.resume(app.state.database, token, app.state.settings.idle) if token else None
        )
        if account is None:
            raise NotLoggedIn
        if account.role not in policy.roles or (policy.personal and account.role == REGULATOR):
            raise not_found()
        access = Access(account, token, csrf_token(app.state.settings.secret, token))
        controller_id = request.path_params.get("controller_id")
        if controller_id is not None and (
            controller_id not in app.state.data.controller_ids or not access.sees(controller_id)
        ):
            raise not_found()
    if policy.writes:
        try:
            access.fields = await read_fields(
                request, app.state.settings.max_body, max_fields=40, empty_ok=True
            )
        except BodyError as bad:
            raise HTTPException(bad.status, bad.message) from None
        if access.token is not None and not _csrf_ok(access, request):
            raise HTTPException(
                403, "Le formulaire a expiré ou ne vient pas de ce site : rechargez la page."
            )
    request.state.access = access
    return access


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session (tied to it: useless with another session)."""
    return sign(secret, "csrf:" + session_token)


def _csrf_ok(access: Access, request: Request) -> bool:
    typed = request.headers.get(CSRF_HEADER) or access.fields.get(CSRF_FIELD)
    return isinstance(typed, str) and hmac.compare_digest(typed.encode(), access.csrf.encode())


#: A route's parameter that receives what the guard found (the same call, cached).
Guarded = Annotated[Access, Depends(guard)]
