"""What every Ariane web service does the same way: headers, CSRF tokens, bounded bodies.

Shared by the public self-check (:mod:`ariane.selfcheck.app`) and the case's web
application (:mod:`ariane.serve.app`): security headers on every response (no inline script,
no framing, no referrer), signed CSRF tokens, and request bodies read within a size bound,
as JSON or a form, with a clear 4xx when they are neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
log = logging.getLogger("ariane.web")
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
     b"object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
]  # fmt: skip


class BodyError(Exception):
    """A request body that cannot be read: its HTTP status and a French message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SecurityHeaders:
    """Pure ASGI middleware, outermost: the same security headers on every response, and
    an unexpected error turned into a bare 500, logged bare.

    Starlette's own error handler re-raises after answering, so the server would print the
    exception, and an exception's text may hold a value of a record (a validation error
    quotes its input). Here only its type and the route's template are logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:  # noqa: BLE001 - nothing of it may reach a log or a client
            where = getattr(scope.get("route"), "path", "?")
            log.error("internal error on %s %s: %s", scope.get("method"), where, type(exc).__name__)
            if started:
                return
            await with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"error": "Erreur interne."}'})


def sign(secret: bytes, token: str) -> str:
    """An HMAC-SHA256 of ``token`` under ``secret``, URL-safe base64."""
    digest = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def double_submit_ok(secret: bytes, cookie: str, typed: object) -> bool:
    """Signed double submit: the cookie is ``token.signature``, the form carries ``token``."""
    token, _, signature = cookie.partition(".")
    if not token or not isinstance(typed, str):
        return False
    return hmac.compare_digest(signature, sign(secret, token)) and hmac.compare_digest(
        typed.encode(), token.encode()
    )


def media_type(request: Request) -> str:
    """The request's content type, without parameters, lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_fields(
    request: Request,
    max_body: int,
    max_fields: int = 10,
    too_long: int = 413,
    empty_ok: bool = False,
) -> dict[str, Any]:
    """The request's fields from JSON or a form, within ``max_body`` bytes.

    Raises :class:`BodyError`: ``too_long`` (413) when over the bound, 400 when unreadable,
    415 when neither JSON nor a form. ``empty_ok``: no body at all is no field.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise BodyError(too_long, too_big(max_body))
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise BodyError(too_long, too_big(max_body))
    media = media_type(request)
    if empty_ok and not body and not media:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "La demande doit être encodée en UTF-8.") from None
    if media == JSON:
        try:
            fields = json.loads(text)
        except ValueError:
            raise BodyError(400, "Le corps de la demande n'est pas du JSON valide.") from None
        if not isinstance(fields, dict):
            raise BodyError(400, "Le corps de la demande doit être un objet JSON.")
        return fields
    if media == FORM:
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=max_fields)
        except ValueError:
            raise BodyError(400, "Le formulaire envoyé a trop de champs.") from None
        return {name: values[0] for name, values in parsed.items()}
    raise BodyError(
        415, "Envoyez la demande en JSON (application/json) ou depuis le formulaire de la page."
    )


def too_big(max_body: int) -> str:
    """The message of a body over the bound."""
    return f"La demande est trop longue ({max_body} octets au plus) : raccourcissez les champs."


def run_server(app: ASGIApp, host: str, port: int) -> None:
    """Run ``app`` under uvicorn until interrupted, with no access log and no server header.

    An access log puts a URL and a client address beside a time: more than these services
    should keep.
    """
    import uvicorn

    uvicorn.run(
        app, host=host, port=port, access_log=False, server_header=False, log_level="warning"
    )
