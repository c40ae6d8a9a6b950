"""The public self-check web service: an app factory over an index and its settings.

Handlers read the request and call :class:`~.service.SelfCheck`; ``POST /check`` answers
the same bytes, hit or miss (prepared once, here). What differs, the sending, happens in
the sender's process afterwards. Errors depend only on what was typed. Nothing typed is
ever logged.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field

from ariane import __version__
from ariane.selfcheck import identifiers
from ariane.selfcheck.index import DigestIndex
from ariane.selfcheck.limits import Limiter, Limits, MemoryLimiter, RedisLimiter
from ariane.selfcheck.service import Refusal, SelfCheck
from ariane.websafe import (
    FORM,
    BodyError,
    SecurityHeaders,
    double_submit_ok,
    media_type,
    read_fields,
    sign,
)

log = logging.getLogger("ariane.selfcheck")

#: The one answer, whatever the outcome (CONTRACT.md, "Self-check").
ANSWER = (
    "Votre demande est enregistrée. Si vos données sont concernées, un message vous est "
    "envoyé aux coordonnées que votre laboratoire détient."
)
CSRF_COOKIE = "ariane_csrf"
CSRF_FIELD = "csrf_token"


@dataclass
class Settings:
    """What the service needs: the index, its HMAC key, limits, and where to count them."""

    index_dir: Path
    hmac_key: bytes
    limits: Limits = field(default_factory=Limits)
    redis_url: str | None = None
    max_body: int = 2048
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))


class CheckRequest(BaseModel):
    """Identifiers to check: ``nir`` with ``birth_date``, or ``email`` (``phone`` optional)."""

    nir: str | None = Field(None, max_length=identifiers.MAX_FIELD)
    birth_date: str | None = Field(
        None, max_length=identifiers.MAX_FIELD, json_schema_extra={"format": "date"}
    )
    email: str | None = Field(None, max_length=identifiers.MAX_FIELD)
    phone: str | None = Field(None, max_length=identifiers.MAX_FIELD)


class CheckAnswer(BaseModel):
    """The one answer to every accepted check."""

    status: str = "received"
    message: str = ANSWER


class Problem(BaseModel):
    """What to fix in the request (``field`` names the field at fault, when one is)."""

    error: str
    field: str | None = None


def create_app(
    settings: Settings,
    submit: Callable[[list[int]], None],
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """The self-check app over ``settings.index_dir``; ``submit`` hands jobs to the sender.

    ``on_shutdown`` runs when the server stops (``serve`` stops the sender there: uvicorn
    re-raises SIGTERM once it has shut down, so code after it would never run).
    """
    index = DigestIndex(settings.index_dir, settings.hmac_key)
    pages = Environment(
        loader=PackageLoader("ariane.selfcheck", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    labs = index.controllers
    stylesheet = resources.files("ariane.selfcheck").joinpath("static/selfcheck.css").read_bytes()
    answer_html = (
        pages.get_template("answer.html")
        .render(heading="Demande enregistrée", message=ANSWER, kind="information", controllers=labs)
        .encode()
    )
    answer_json = CheckAnswer().model_dump_json().encode()
    limiter: Limiter = RedisLimiter(settings.redis_url) if settings.redis_url else MemoryLimiter()
    service = SelfCheck(index, settings.hmac_key, settings.limits, limiter, submit)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if isinstance(limiter, RedisLimiter):
            await limiter.ping()
        else:
            log.warning(
                "no --redis: rate limits are counted in this process only "
                "(use Redis when running more than one process)"
            )
        try:
            yield
        finally:
            await limiter.close()
            if on_shutdown is not None:
                on_shutdown()

    app = FastAPI(
        title="Ariane self-check",
        version=__version__,
        description="Lets a person learn whether they are concerned by a leak; the answer "
        "goes only to a contact channel already on file.",
        docs_url=None,  # the docs pages load scripts from elsewhere: not on this service
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeaders)

    def form_page(request: Request, status: int = 200, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(32)
        body = pages.get_template("form.html").render(
            csrf_token=token, error=error, controllers=labs
        )
        response = HTMLResponse(body, status_code=status)
        response.set_cookie(
            CSRF_COOKIE,
            f"{token}.{sign(settings.csrf_secret, token)}",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @app.get("/", response_class=HTMLResponse, summary="The self-check form")
    async def form(request: Request) -> Response:
        """The form page (plain HTML, works without JavaScript)."""
        return form_page(request)

    @app.get("/static/selfcheck.css", include_in_schema=False)
    async def css() -> Response:
        return Response(stylesheet, media_type="text/css")

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        """``{"status": "ok"}``."""
        return {"status": "ok"}

    @app.post(
        "/check",
        summary="Check whether one's data are concerned",
        response_model=CheckAnswer,
        responses={
            200: {"content": {"text/html": _HTML}},
            400: _problem("Something typed must be fixed"),
            403: _problem("Form post without a valid CSRF token"),
            415: _problem("Neither JSON nor a form"),
            429: _problem("Too many checks; retry later"),
            503: _problem("The rate limits cannot be counted (Redis unreachable)"),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": CheckRequest.model_json_schema()},
                    FORM: {"schema": _form_schema()},
                },
            }
        },
    )
    async def check(request: Request) -> Response:
        """Always the same 200 answer; the outcome goes only to a channel on file."""
        is_form = media_type(request) == FORM
        try:
            try:
                fields = await read_fields(request, settings.max_body, too_long=400)
            except BodyError as bad:
                raise Refusal(bad.status, bad.message) from None
            if is_form and not _csrf_ok(settings.csrf_secret, request, fields.get(CSRF_FIELD)):
                raise Refusal(
                    403,
                    "Le formulaire a expiré ou ne vient pas de ce site : "
                    "rechargez la page et envoyez-le de nouveau.",
                )
            await service.check(fields, request.client.host if request.client else "unknown")
        except Refusal as refused:
            response = _refusal(refused, is_form, form_page, request)
            if refused.retry_after:
                response.headers["retry-after"] = str(refused.retry_after)
            return response
        if is_form:
            return Response(answer_html, media_type="text/html; charset=utf-8")
        return Response(answer_json, media_type="application/json")

    return app


def _refusal(
    refused: Refusal, is_form: bool, form_page: Callable[..., Response], request: Request
) -> Response:
    if is_form:
        return form_page(request, refused.status, refused.message)
    return JSONResponse(
        Problem(error=refused.message, field=refused.field).model_dump(),
        status_code=refused.status,
    )


_HTML = {"schema": {"type": "string"}}


def _problem(description: str) -> dict[str, Any]:
    """An error answer: JSON to a JSON post, the form page again to a form post."""
    return {"model": Problem, "description": description, "content": {"text/html": _HTML}}


def _form_schema() -> dict[str, Any]:
    schema = CheckRequest.model_json_schema()
    schema["properties"][CSRF_FIELD] = {"type": "string", "maxLength": 100}
    schema["required"] = [CSRF_FIELD]
    return schema


def _csrf_ok(secret: bytes, request: Request, typed: object) -> bool:
    return double_submit_ok(secret, request.cookies.get(CSRF_COOKIE, ""), typed)
