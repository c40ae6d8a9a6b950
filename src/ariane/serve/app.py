"""The case's web application: an app factory over an open case and its operational database.

Pages are rendered on the server (Jinja2, in French) and made interactive with htmx
(vendored, no inline script); the JSON API is the contract's (CONTRACT.md, "Web API").
Every route has a policy and goes through :func:`~.access.guard`. Personal data never
appear in a URL (searches and reveals are POSTs), in a log, or in an error page; every
view of them is written to the case's audit log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy import String, cast, func, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from ariane import __version__
from ariane.assess.facts import catalogue
from ariane.errors import ConfigError
from ariane.ops import attempts, sessions
from ariane.ops.db import Database
from ariane.ops.models import NOTICE_STATUSES, Notice
from ariane.ops.users import verify_login
from ariane.report import notification
from ariane.report.map import departement_map
from ariane.serve import views
from ariane.serve.access import (
    CONTROLLER,
    CSRF_FIELD,
    EVERYONE,
    RESPONDER,
    SESSION_COOKIE,
    Access,
    Guarded,
    NotLoggedIn,
    allow,
    guard,
    not_found,
)
from ariane.serve.casedata import CaseData
from ariane.websafe import JSON, SecurityHeaders, double_submit_ok, media_type, sign

LOGIN_COOKIE = "ariane_login"
STATIC = {
    "htmx.min.js": "text/javascript",
    "serve.css": "text/css",
    "htmx.LICENSE": "text/plain",
}
WRONG_LOGIN = "Identifiants ou code incorrects."
STAFF = (RESPONDER, CONTROLLER)
NO_BATCH = (
    "Aucun avis à approuver : les avis aux personnes ne sont pas encore prévus "
    "(ariane notify plan)."
)
UNCONFIRMED = "Cochez la case de confirmation pour approuver le lot."


@dataclass
class Settings:
    """How the application runs."""

    behind_tls: bool = False
    idle: timedelta = sessions.IDLE
    max_body: int = 16 * 1024
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    login_limits: attempts.LoginLimits = field(default_factory=attempts.LoginLimits)


class LoginRequest(BaseModel):
    """Email, password and the current code of the authenticator app."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=256)
    otp: str = Field(max_length=16)


class Status(BaseModel):
    """A short answer."""

    status: str


class Problem(BaseModel):
    """What went wrong, in French; never a value typed or read."""

    error: str


class ControllerSummary(BaseModel):
    """One controller as ``summary --json`` gives it (fields may grow)."""

    model_config = {"extra": "allow"}
    controller_id: str
    name: str | None = None
    records: int | None = None
    persons: int | None = None
    severity: str | None = None
    notify_regulator: bool | None = None
    notify_persons: bool | None = None
    deadline: str | None = None
    informed_at: str | None = None
    overdue: bool | None = None
    notices: dict[str, int] | None = None


class Summary(BaseModel):
    """The ``summary --json`` document, restricted to what the user may see."""

    model_config = {"extra": "allow"}
    rows: int | None = None
    quarantined: int | None = None
    persons: int | None = None
    persons_interval: list[int] | None = None
    controllers: list[ControllerSummary] | None = None
    unattributed_records: int | None = None
    departements: list[str] | None = None
    regions: list[str] | None = None
    special_categories: dict[str, int] | None = None
    severity: dict[str, int] | None = None


class Person(BaseModel):
    """One affected person of a controller (personal data: audited on every call)."""

    person_id: int | str
    last_name: str | None = None
    first_name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    nir: str | None = None
    phone: str | None = None
    email: str | None = None
    postal_code: str | None = None
    commune_code: str | None = None
    records: int
    severity: str | None = None


class PersonsPage(BaseModel):
    """One page of a controller's affected persons."""

    controller_id: str
    page: int
    pages: int
    total: int
    persons: list[Person]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not logged in"},
    404: {"model": Problem, "description": "Not found, or not yours to see"},
}


def create_app(data: CaseData, database: Database, settings: Settings) -> FastAPI:
    """The application over an open case (``data``) and its operational database."""
    pages = Environment(
        loader=PackageLoader("ariane.serve", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    pages.filters["count"] = views.count
    pages.filters["moment"] = views.moment
    pages.globals["band_names"] = views.BAND_NAMES
    static = {
        name: resources.files("ariane.serve").joinpath(f"static/{name}").read_bytes()
        for name in STATIC
    }
    login_key = sign(settings.secret, "login attempts").encode()
    app = FastAPI(
        title="Ariane",
        version=__version__,
        description="The case's web application: responders, controllers, the regulator.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard)],
    )
    app.state.data = data
    app.state.database = database
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)

    def render(
        request: Request, name: str, access: Access | None = None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        account = access.account if access else None
        body = pages.get_template(name).render(
            user=account,
            csrf=access.csrf if access else "",
            csrf_field=CSRF_FIELD,
            fragment=request.headers.get("hx-request") == "true",
            **context,
        )
        return HTMLResponse(body, status_code=status)

    def audit(access: Access, command: str, arguments: dict[str, Any], **outcome: Any) -> None:
        data.record(command, {**arguments, "user_id": access.user.user_id}, outcome)

    # -- errors: French, short, never a value ---------------------------------------------

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/healthz"

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _exc: NotLoggedIn) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "Connexion nécessaire."}, status_code=401)
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"hx-redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.status_code < 500 else "Erreur interne."
        if exc.status_code == 404:
            message = "Page introuvable."
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        access = getattr(request.state, "access", None)
        return render(request, "error.html", access, exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI would echo what was sent ("input"): never here.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ConfigError)
    async def refused(request: Request, exc: ConfigError) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    # -- public --------------------------------------------------------------------------

    @app.get("/healthz", summary="Liveness", response_model=Status)
    @allow()
    async def healthz() -> dict[str, str]:
        """``{"status": "ok"}``, no login."""
        return {"status": "ok"}

    @app.get("/static/{name}", include_in_schema=False)
    @allow()
    async def static_file(name: str) -> Response:
        if name not in static:
            raise not_found()
        return Response(
            static[name],
            media_type=STATIC[name],
            headers={"cache-control": "public, max-age=3600"},
        )

    def login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", status=status, login_token=token, error=error)
        response.set_cookie(
            LOGIN_COOKIE,
            f"{token}.{sign(settings.secret, token)}",
            httponly=True,
            samesite="strict",
            secure=settings.behind_tls,
            path="/",
        )
        return response

    def log_in(request: Request, fields: dict[str, Any]) -> tuple[str | None, int]:
        """A new session's token, or None and the status to answer."""
        email, password, otp = (
            str(fields.get(k) or "")[:256] for k in ("email", "password", "otp")
        )
        address = request.client.host if request.client else "unknown"
        if attempts.blocked(database, login_key, email, address, settings.login_limits):
            return None, 429
        account = verify_login(database, email, password, otp)
        attempts.note(
            database, login_key, email, address, account is not None, settings.login_limits
        )
        if account is None:
            return None, 401
        return sessions.start(database, account.user_id), 200

    def with_session(response: Response, token: str) -> Response:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=settings.behind_tls,
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    @allow()
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @app.post("/login", include_in_schema=False)
    @allow(writes=True)
    def login_submit(request: Request, access: Guarded) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not double_submit_ok(settings.secret, cookie, access.fields.get(CSRF_FIELD)):
            return login_page(request, 403, "Le formulaire a expiré : saisissez de nouveau.")
        token, status = log_in(request, access.fields)
        if token is None:
            message = WRONG_LOGIN if status == 401 else "Trop d'essais : réessayez plus tard."
            return login_page(request, status, message)
        return with_session(RedirectResponse("/", status_code=303), token)

    @app.post(
        "/api/session",
        summary="Log in",
        response_model=Status,
        responses={
            400: {"model": Problem, "description": "Not a login request"},
            401: {"model": Problem, "description": "Wrong email, password or code"},
            413: {"model": Problem, "description": "Body too long"},
            415: {"model": Problem, "description": "Not JSON"},
            429: {"model": Problem, "description": "Too many failed logins; retry later"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": LoginRequest.model_json_schema()}},
            }
        },
    )
    @allow(writes=True)
    def api_session(request: Request, access: Guarded) -> Response:
        """Email, password and TOTP code -> a session cookie (HttpOnly, SameSite=Strict)."""
        if media_type(request) != JSON:
            # A cross-site form cannot send JSON: refusing forms here is the CSRF defence.
            raise HTTPException(415, "Envoyez la demande en JSON (application/json).")
        try:
            LoginRequest.model_validate(access.fields)
        except ValueError:
            raise HTTPException(400, "Attendu : email, password et otp (texte).") from None
        token, status = log_in(request, access.fields)
        if token is None:
            message = WRONG_LOGIN if status == 401 else "Trop d'essais : réessayez plus tard."
            return JSONResponse({"error": message}, status_code=status)
        return with_session(JSONResponse({"status": "ok"}), token)

    # -- pages -----------------------------------------------------------------------------

    @app.post("/logout", include_in_schema=False)
    @allow(*EVERYONE, writes=True)
    def logout(access: Guarded) -> Response:
        if access.token:
            sessions.revoke(database, access.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @allow(*EVERYONE)
    def overview(request: Request, access: Guarded) -> Response:
        account = access.user
        if account.role == CONTROLLER:
            return RedirectResponse(f"/controllers/{account.controller_id}", status_code=303)
        figures = data.figures()
        summary = data.summary()
        notices = notice_counts(database)
        svg, legend = data.cached(
            "map",
            lambda: departement_map(
                figures.persons_by_departement, {c.departement for c in figures.controllers}
            ),
        )
        return render(
            request,
            "overview.html",
            access,
            figures=figures,
            summary=summary,
            rows=views.controller_rows(summary, figures, notices),
            map_svg=svg,
            legend=legend,
            categories=views.categories(summary),
        )

    @app.get("/controllers", response_class=HTMLResponse, include_in_schema=False)
    @allow(*EVERYONE)
    def controllers_page(
        request: Request,
        access: Guarded,
        sort: str = Query("deadline", max_length=20),
        order: str = Query("asc", pattern="^(asc|desc)$"),
        q: str = Query("", max_length=100),
    ) -> Response:
        rows = views.controller_rows(data.summary(), data.figures(), notice_counts(database))
        rows = [r for r in rows if access.sees(r["controller_id"])]
        rows = views.filter_sort(rows, q, sort, order == "desc")
        template = "controllers_table.html" if views.is_fragment(request) else "controllers.html"
        return render(
            request, template, access, rows=rows, sort=sort, order=order, q=q,
            columns=views.SORTABLE,
        )  # fmt: skip

    @app.get("/controllers/{controller_id}", response_class=HTMLResponse, include_in_schema=False)
    @allow(*EVERYONE)
    def controller_page(request: Request, controller_id: str, access: Guarded) -> Response:
        return controller_view(request, controller_id, access)

    def controller_view(
        request: Request,
        controller_id: str,
        access: Access,
        status: int = 200,
        message: str | None = None,
        error: str | None = None,
    ) -> Response:
        figures = data.figures()
        controller = next(c for c in figures.controllers if c.controller_id == controller_id)
        summary = data.summary()
        row = next(
            r
            for r in views.controller_rows(summary, figures, notice_counts(database))
            if r["controller_id"] == controller_id
        )
        draft = notification.build(figures, controller)
        staff = access.user.role in STAFF
        batch = data.notice_batch(database, controller_id)
        facts = views.fact_fields(figures.facts, controller_id) if staff else []
        return render(
            request,
            "controller.html",
            access,
            status=status,
            row=row,
            controller=controller,
            draft=draft,
            facts=facts,
            versions=data.versions(),
            staff=staff,
            batch=batch,
            message=message,
            error=error,
            display=notification.display,
        )

    @app.post("/controllers/{controller_id}/approve", include_in_schema=False)
    @allow(*STAFF, writes=True)
    def approve_notices(request: Request, controller_id: str, access: Guarded) -> Response:
        """``ariane notify approve`` from the portal: the controller's own user or a responder."""
        if data.notice_batch(database, controller_id) is None:
            return approval_answer(request, controller_id, access, 400, error=NO_BATCH)
        if access.fields.get("confirm") != "yes":
            return approval_answer(request, controller_id, access, 400, error=UNCONFIRMED)
        result = data.approve_notices(database, controller_id, access.user.user_id)
        message = (
            f"Lot approuvé : {views.count(result['approved_now'])} avis prêts à partir."
            if result["approved_now"]
            else "Ce lot était déjà approuvé : rien n'a changé."
        )
        return approval_answer(request, controller_id, access, message=message)

    def approval_answer(
        request: Request,
        controller_id: str,
        access: Access,
        status: int = 200,
        message: str | None = None,
        error: str | None = None,
    ) -> Response:
        if not views.is_fragment(request):
            return controller_view(request, controller_id, access, status, message, error)
        # htmx swaps no 4xx answer in: a refusal comes back as the fragment, its error shown.
        return render(
            request, "approval.html", access, controller_id=controller_id,
            batch=data.notice_batch(database, controller_id), staff=True,
            approval_message=message, approval_error=error,
        )  # fmt: skip

    @app.post("/controllers/{controller_id}/facts", include_in_schema=False)
    @allow(*STAFF, writes=True)
    def set_facts(request: Request, controller_id: str, access: Guarded) -> Response:
        names = catalogue(controller=True)
        assignments = [
            f"{name}={str(access.fields.get(name) or '').strip()}"
            for name in names
            if name in access.fields
        ]
        try:
            changes = data.set_facts(controller_id, assignments, access.user.user_id)
        except ConfigError as bad:
            return controller_view(request, controller_id, access, 400, error=str(bad))
        message = f"{len(changes)} fait(s) enregistré(s)." if changes else "Aucun changement."
        return controller_view(request, controller_id, access, message=message)

    def persons_fragment(
        request: Request, controller_id: str, access: Access, page: int, query: str | None
    ) -> Response:
        found = data.persons(controller_id, page, query)
        audit(
            access,
            "serve persons",
            {"controller": controller_id, "page": found.page, "search": bool(query)},
            persons=len(found.rows),
        )
        return render(
            request, "persons.html", access, found=found, controller_id=controller_id,
            query=query or "",
        )  # fmt: skip

    @app.get("/controllers/{controller_id}/persons", include_in_schema=False)
    @allow(*STAFF, personal=True)
    def persons_page(
        request: Request,
        controller_id: str,
        access: Guarded,
        page: int = Query(1, ge=1, le=1_000_000),
    ) -> Response:
        return persons_fragment(request, controller_id, access, page, None)

    @app.post("/controllers/{controller_id}/persons", include_in_schema=False)
    @allow(*STAFF, personal=True, writes=True)
    def persons_search(request: Request, controller_id: str, access: Guarded) -> Response:
        query = str(access.fields.get("q") or "")[:100]
        page = str(access.fields.get("page") or "1")
        number = int(page) if page.isdigit() and len(page) < 8 else 1
        return persons_fragment(request, controller_id, access, number, query)

    @app.post("/controllers/{controller_id}/export", include_in_schema=False)
    @allow(*STAFF, personal=True, writes=True)
    def export(request: Request, controller_id: str, access: Guarded) -> Response:
        from ariane.followup import seal_persons

        passphrase = str(access.fields.get("passphrase") or "")
        recipient = str(access.fields.get("recipient") or "").strip() or None
        if recipient is None and len(passphrase) < 12:
            return controller_view(
                request, controller_id, access, 400,
                error="Donnez une clé publique age, ou une phrase secrète de 12 caractères "
                "au moins.",
            )  # fmt: skip
        rows = data.export_rows(controller_id)
        try:
            sealed, how = seal_persons(rows, recipient, None if recipient else passphrase)
        except ConfigError as bad:
            return controller_view(request, controller_id, access, 400, error=str(bad))
        audit(
            access,
            "export",
            {
                "controller": controller_id,
                "encryption": how,
                "recipient": recipient,
                "via": "serve",
            },
            persons=len(rows),
            sha256=hashlib.sha256(sealed).hexdigest(),
        )
        return Response(
            sealed,
            media_type="application/octet-stream",
            headers={"content-disposition": f'attachment; filename="{controller_id}.csv.age"'},
        )

    @app.get("/columns", response_class=HTMLResponse, include_in_schema=False)
    @allow(RESPONDER)
    def columns(request: Request, access: Guarded) -> Response:
        quarantined = data.summary().get("quarantined") or 0
        return render(
            request,
            "columns.html",
            access,
            columns=data.columns(),
            quarantine=data.quarantine(),
            quarantined=quarantined,
        )

    def reveal(request: Request, access: Access, what: str, index: int) -> Response:
        """One hidden value shown to a responder, audited; 404 when there is none."""
        value = data.column_example(index) if what == "column example" else None
        if what == "quarantined record":
            value = data.quarantined_raw(index)
        if value is None:
            raise not_found()
        audit(access, "serve reveal", {"what": what, "index": index}, shown=1)
        return render(request, "revealed.html", access, value=value)

    @app.post("/columns/{index}/reveal", include_in_schema=False)
    @allow(RESPONDER, personal=True, writes=True)
    def reveal_column(request: Request, index: int, access: Guarded) -> Response:
        return reveal(request, access, "column example", index)

    @app.post("/quarantine/{index}/reveal", include_in_schema=False)
    @allow(RESPONDER, personal=True, writes=True)
    def reveal_quarantined(request: Request, index: int, access: Guarded) -> Response:
        return reveal(request, access, "quarantined record", index)

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    @allow(RESPONDER)
    def audit_log(
        request: Request, access: Guarded, page: int = Query(1, ge=1, le=1_000_000)
    ) -> Response:
        return render(request, "audit.html", access, found=data.audit_entries(page))

    # -- the JSON API ------------------------------------------------------------------------

    def visible_summary(access: Access) -> dict[str, Any]:
        document = data.summary()
        notices = notice_counts(database)
        for controller in document.get("controllers") or []:
            controller["notices"] = {
                **dict.fromkeys(NOTICE_STATUSES, 0),
                **notices.get(controller["controller_id"], {}),
            }
        if access.user.role != CONTROLLER:
            return document
        return views.restricted_summary(document, access.user.controller_id or "")

    @app.get("/api/summary", response_model=Summary, responses=_ERRORS)
    @allow(*EVERYONE)
    def api_summary(access: Guarded) -> dict[str, Any]:
        """The ``summary --json`` document, restricted to what the user may see."""
        return visible_summary(access)

    @app.get("/api/controllers", response_model=list[ControllerSummary], responses=_ERRORS)
    @allow(*EVERYONE)
    def api_controllers(access: Guarded) -> list[dict[str, Any]]:
        """The controllers the user may see, as in ``summary``'s ``controllers``."""
        return list(visible_summary(access).get("controllers") or [])

    @app.get(
        "/api/controllers/{controller_id}", response_model=ControllerSummary, responses=_ERRORS
    )
    @allow(*EVERYONE)
    def api_controller(controller_id: str, access: Guarded) -> dict[str, Any]:
        """One controller, or 404 when the user may not see it."""
        for controller in visible_summary(access).get("controllers") or []:
            if controller["controller_id"] == controller_id:
                return dict(controller)
        raise not_found()

    @app.get(
        "/api/controllers/{controller_id}/persons",
        response_model=PersonsPage,
        responses=_ERRORS,
    )
    @allow(*STAFF, personal=True)
    def api_persons(
        controller_id: str,
        access: Guarded,
        page: int = Query(1, ge=1, le=1_000_000),
    ) -> dict[str, Any]:
        """A page of the controller's affected persons (audited)."""
        found = data.persons(controller_id, page)
        audit(
            access,
            "serve persons",
            {"controller": controller_id, "page": found.page, "api": True},
            persons=len(found.rows),
        )
        return {
            "controller_id": controller_id,
            "page": found.page,
            "pages": found.pages,
            "total": found.total,
            "persons": found.rows,
        }

    return app


def notice_counts(database: Database) -> dict[str, dict[str, int]]:
    """Notices per controller and status, from the operational database (``ariane notify``)."""
    counts: dict[str, dict[str, int]] = {}
    ids = cast(Notice.controller_ids, String)
    with database.sessions() as session:
        rows = session.execute(
            select(ids, Notice.status, func.count()).group_by(ids, Notice.status)
        ).all()
    for listed, status, number in rows:
        for controller_id in json.loads(listed or "[]"):
            own = counts.setdefault(controller_id, {})
            own[status] = own.get(status, 0) + int(number)
    return counts
