"""``ariane serve``: roles and tenants on every route, logins, sessions, forms, hostile input.

Isolation is checked by enumerating the application's routes, so a route added later is
checked too. The case is built in code (serve_fixtures); what each lab holds is known from
the build, and the persons' own values (``leak.secrets``) are what must never reach the
regulator nor another lab.
"""

import csv
import io
import json
import re
from datetime import timedelta

import pyrage
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from ariane.errors import ConfigError
from ariane.ops.db import open_database
from ariane.ops.models import LoginSession, utcnow
from ariane.ops.users import create_user
from ariane.serve.access import SESSION_COOKIE, csrf_token, guard, policy_of
from ariane.serve.run import check_host
from serve_fixtures import build_case, code, open_app
from test_ops import _postgres_schema

PERSON_ROUTES_SAMPLE = {"index": "0", "name": "serve.css"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """(app, database, leak, case_dir) over one case, on each operational backend."""
    root = tmp_path_factory.mktemp("serve")
    keys = tmp_path_factory.mktemp("keys")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("ARIANE_KEY_DIR", str(keys))
    url = None
    admin = schema = None
    if request.param == "postgresql":
        admin, schema, url = _postgres_schema()
    leak = build_case(root / "case")
    app, case, database = open_app(root / "case", url)
    yield app, database, leak, root / "case"
    case.close()
    database.close()
    if admin is not None:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
    monkeypatch.undo()


_serial = iter(range(10**6))


def _client(app, database, role, controller=None):
    """A client logged in as a new user of ``role`` (a fresh TOTP secret: a fresh code)."""
    n = next(_serial)
    user = create_user(database, f"{role}-{n}@example.org", role, controller)
    client = TestClient(app)
    response = client.post(
        "/api/session", json={"email": user.email, "password": user.password, "otp": code(user)}
    )
    assert response.status_code == 200, response.text
    client.headers["x-csrf-token"] = csrf_token(
        app.state.settings.secret, client.cookies[SESSION_COOKIE]
    )
    return client, user


def _routes(app, logout=False):
    """The app's routes; logout last, when asked for (it ends the session)."""
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    return (
        sorted(routes, key=lambda r: r.path == "/logout")
        if logout
        else [r for r in routes if r.path != "/logout"]
    )


def _fill(path: str, controller_id: str) -> str:
    path = path.replace("{controller_id}", controller_id)
    for name, value in PERSON_ROUTES_SAMPLE.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(client, method, path):
    if method == "POST":
        fields = {"q": "a", "page": "1", "passphrase": "x" * 16}
        return client.post(path, data=fields, follow_redirects=False)
    return client.request(method, path, follow_redirects=False)


PERSON_KEYS = {"last_name", "first_name", "birth_date", "nir", "phone", "email", "person_id"}


def _keys(document) -> set:
    """Every key at any depth of a JSON document."""
    if isinstance(document, dict):
        return set(document) | set().union(*(_keys(v) for v in document.values()))
    if isinstance(document, list):
        return set().union(*(_keys(v) for v in document))
    return set()


def _audit(case_dir):
    return [json.loads(line) for line in (case_dir / "audit.jsonl").read_text().splitlines()]


def test_every_route_has_a_policy_and_goes_through_the_guard(served):
    app, *_ = served
    routes = _routes(app, logout=True)
    assert len(routes) >= 15
    for route in routes:
        assert policy_of(route.endpoint) is not None, route.path
        calls = [d.call for d in route.dependant.dependencies]
        assert guard in calls, route.path


def test_a_controllers_user_gets_404_on_every_route_of_another_controller(served):
    app, database, leak, _ = served
    mine, other = leak.controllers[0], leak.controllers[1]
    client, _ = _client(app, database, "controller", mine)
    checked = 0
    for route in _routes(app):
        policy = policy_of(route.endpoint)
        for method in route.methods:
            if "{controller_id}" in route.path:
                answer = _call(client, method, _fill(route.path, other))
                assert answer.status_code == 404, (method, route.path, answer.status_code)
                assert other not in answer.text
                own = _call(client, method, _fill(route.path, mine))
                expected = 404 if "controller" not in policy.roles else None
                if expected:
                    assert own.status_code == 404, route.path
                else:
                    assert own.status_code in (200, 303, 400), (route.path, own.status_code)
                checked += 1
            elif policy.roles and "controller" not in policy.roles:
                assert _call(client, method, _fill(route.path, mine)).status_code == 404
                checked += 1
            elif policy.roles and method == "GET":
                answer = client.get(_fill(route.path, mine), follow_redirects=True)
                assert answer.status_code == 200, route.path
                for foreign in leak.controllers[1:]:
                    assert foreign not in answer.text, (route.path, foreign)
                checked += 1
    assert checked >= 12
    # By page number too: any page of another lab's persons is 404.
    for page in (1, 2, 999):
        url = f"/api/controllers/{other}/persons?page={page}"
        assert client.get(url).status_code == 404


def test_the_regulator_never_receives_a_person_level_field(served):
    app, database, leak, _ = served
    client, _ = _client(app, database, "regulator")
    cid = leak.controllers[0]
    seen = 0
    for route in _routes(app):
        policy = policy_of(route.endpoint)
        for method in route.methods:
            answer = _call(client, method, _fill(route.path, cid))
            if policy.personal:
                assert answer.status_code == 404, route.path
            for secret in leak.secrets:
                assert secret not in answer.text, (route.path, "leaks a person's value")
            if answer.headers.get("content-type", "").startswith("application/json"):
                assert not _keys(answer.json()) & PERSON_KEYS, route.path
            seen += 1
    assert seen >= 15
    assert len(leak.secrets) > 100


def test_the_responder_pages_through_persons_and_every_view_is_audited(served):
    app, database, leak, case_dir = served
    client, user = _client(app, database, "responder")
    cid = leak.controllers[0]
    first = client.get(f"/api/controllers/{cid}/persons?page=1").json()
    assert first["total"] > 50 and len(first["persons"]) == 50
    ids = []
    for page in range(1, first["pages"] + 1):
        ids += [
            p["person_id"]
            for p in client.get(f"/api/controllers/{cid}/persons?page={page}").json()["persons"]
        ]
    assert len(ids) == len(set(ids)) == first["total"]
    views = [e for e in _audit(case_dir) if e["command"] == "serve persons"]
    mine = [e for e in views if e["arguments"]["user_id"] == user.user_id]
    assert len(mine) == first["pages"] + 1
    text = (case_dir / "audit.jsonl").read_text()
    assert not any(secret in text for secret in leak.secrets)
    # The persons of each lab, all labs together, are the persons the build attributed.
    everyone = set()
    for controller in leak.controllers:
        total = client.get(f"/api/controllers/{controller}/persons").json()["total"]
        assert total > 0
        everyone.add(controller)
    assert everyone == set(leak.controllers)


def test_a_search_goes_by_post_and_never_into_a_url(served):
    app, database, leak, _ = served
    client, _ = _client(app, database, "responder")
    cid = leak.controllers[0]
    person = client.get(f"/api/controllers/{cid}/persons").json()["persons"][0]
    name = person["last_name"]
    answer = client.post(f"/controllers/{cid}/persons", data={"q": name, "page": "1"})
    assert answer.status_code == 200
    assert name in answer.text and str(person["person_id"]) in answer.text
    assert name not in str(answer.url)
    total = int(
        re.search(r"([\d\u202f]+) personne\(s\) trouvée", answer.text)[1].replace("\u202f", "")
    )
    assert total >= 1
    # A short term: as many as the lab's persons whose last or first name starts with it.
    everyone = []
    first_page = client.get(f"/api/controllers/{cid}/persons").json()
    for page in range(1, first_page["pages"] + 1):
        everyone += client.get(f"/api/controllers/{cid}/persons?page={page}").json()["persons"]
    term = name[:2].lower()
    expected = sum(
        1
        for p in everyone
        if (p["last_name"] or "").lower().startswith(term)
        or (p["first_name"] or "").lower().startswith(term)
    )
    found = client.post(f"/controllers/{cid}/persons", data={"q": term, "page": "99"})
    caption = re.search(
        r"([\d\u202f]+) personne\(s\) trouvée\(s\) · page (\d+) sur (\d+)", found.text
    )
    assert int(caption[1].replace("\u202f", "")) == expected
    assert caption[2] == caption[3] == str(-(-expected // 50))  # past the end: the last page
    # A GET with the term in the query string is not a search: the term is ignored.
    plain = client.get(f"/controllers/{cid}/persons", params={"q": name})
    assert "trouvée" not in plain.text


def test_facts_set_through_the_form_land_in_the_case_and_the_audit(served):
    app, database, leak, case_dir = served
    cid = leak.controllers[1]
    client, user = _client(app, database, "controller", cid)
    answer = client.post(
        f"/controllers/{cid}/facts",
        data={
            "informed_at": "2021-02-24T09:00:00+01:00",
            "cnil_reference": "REF-42",
            "persons_informed": "planned",
        },
    )
    assert answer.status_code == 200 and "3 fait(s) enregistré(s)" in answer.text
    summary = client.get(f"/api/controllers/{cid}").json()
    assert summary["informed_at"].startswith("2021-02-24T09:00")
    assert summary["deadline"].startswith("2021-02-27T09:00")
    entry = [e for e in _audit(case_dir) if e["command"] == "facts set"][-1]
    assert entry["arguments"]["controller"] == cid
    assert entry["arguments"]["user_id"] == user.user_id
    # A bad value changes nothing and says what is wrong.
    bad = client.post(
        f"/controllers/{cid}/facts", data={"informed_at": "mardi", "cnil_reference": "X"}
    )
    assert bad.status_code == 400
    assert (
        client.get(f"/api/controllers/{cid}").json()["informed_at"].startswith("2021-02-24T09:00")
    )


def test_the_export_is_encrypted_and_holds_every_person_of_the_lab(served):
    app, database, leak, case_dir = served
    cid = leak.controllers[2]
    client, _ = _client(app, database, "controller", cid)
    total = client.get(f"/api/controllers/{cid}/persons").json()["total"]
    answer = client.post(f"/controllers/{cid}/export", data={"passphrase": "a long enough secret"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].endswith('.csv.age"')
    assert not any(secret.encode() in answer.content for secret in leak.secrets[:200])
    plain = pyrage.passphrase.decrypt(answer.content, "a long enough secret").decode()
    rows = list(csv.reader(io.StringIO(plain)))
    assert len(rows) == total + 1
    assert _audit(case_dir)[-1]["command"] == "export"
    assert _audit(case_dir)[-1]["outcome"]["persons"] == total
    short = client.post(f"/controllers/{cid}/export", data={"passphrase": "short"})
    assert short.status_code == 400


def test_quarantined_values_are_hidden_until_a_responder_reveals_one(served):
    app, database, leak, case_dir = served
    client, _ = _client(app, database, "responder")
    page = client.get("/columns")
    assert page.status_code == 200 and "Révéler" in page.text
    assert not any(secret in page.text for secret in leak.secrets)
    before = len(_audit(case_dir))
    shown = client.post("/columns/0/reveal", headers={"hx-request": "true"})
    assert shown.status_code == 200 and "<code" in shown.text
    assert _audit(case_dir)[-1]["command"] == "serve reveal"
    assert len(_audit(case_dir)) == before + 1
    assert client.post("/columns/99999/reveal").status_code == 404
    # The build quarantined three records whose raw bytes are "x".
    assert "3 enregistrement(s) en quarantaine" in page.text
    raw = client.post("/quarantine/2/reveal", headers={"hx-request": "true"})
    assert raw.status_code == 200 and '<code class="revele">x</code>' in raw.text
    assert _audit(case_dir)[-1]["arguments"]["what"] == "quarantined record"
    assert client.post("/quarantine/3/reveal").status_code == 404
    controller, _ = _client(app, database, "controller", leak.controllers[0])
    assert controller.post("/columns/0/reveal").status_code == 404


def test_cookies_and_headers(served):
    app, database, *_ = served
    user = create_user(database, "cookies@example.org", "responder", None)
    client = TestClient(app)
    answer = client.post(
        "/api/session", json={"email": user.email, "password": user.password, "otp": code(user)}
    )
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    headers = client.get("/healthz").headers
    assert "script-src" not in headers["content-security-policy"]  # default-src 'self' only
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    page = client.get("/")
    assert "<script>" not in page.text and " on" not in re.sub(r"<[^>]*>", "", "")  # no handlers
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert not re.search(r"\son[a-z]+=", page.text)


def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(served):
    app, database, leak, case_dir = served
    cid = leak.controllers[3]
    client, user = _client(app, database, "responder")
    before = json.dumps(client.get(f"/api/controllers/{cid}").json())
    audit_before = len(_audit(case_dir))
    huge = client.post(
        f"/controllers/{cid}/facts",
        content=b"a=" + b"x" * 100_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413
    wrong_type = client.post(
        f"/controllers/{cid}/facts", content=b"<x/>", headers={"content-type": "application/xml"}
    )
    assert wrong_type.status_code == 415
    no_csrf = TestClient(app, cookies={SESSION_COOKIE: client.cookies[SESSION_COOKIE]})
    forged = no_csrf.post(f"/controllers/{cid}/facts", data={"cnil_reference": "FORGED"})
    assert forged.status_code == 403
    wrong_csrf = no_csrf.post(
        f"/controllers/{cid}/facts", data={"cnil_reference": "FORGED", "csrf_token": "x"}
    )
    assert wrong_csrf.status_code == 403
    assert json.dumps(client.get(f"/api/controllers/{cid}").json()) == before
    assert len(_audit(case_dir)) == audit_before
    assert client.post("/api/session", data={"email": "a"}).status_code == 415
    assert (
        client.post(
            "/api/session", content=b"[1]", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    assert (
        client.post("/api/session", json={"email": 1, "password": [], "otp": {}}).status_code == 400
    )
    assert client.get("/api/controllers/x/persons?page=abc").status_code in (404, 422)
    assert "abc" not in client.get(f"/api/controllers/{cid}/persons?page=abc").text


def test_replayed_expired_and_logged_out_sessions_are_refused(served):
    app, database, *_ = served
    client, user = _client(app, database, "responder")
    token = client.cookies[SESSION_COOKIE]
    assert client.get("/api/summary").status_code == 200
    assert client.post("/logout", follow_redirects=False).status_code == 303
    replay = TestClient(app, cookies={SESSION_COOKIE: token})
    assert replay.get("/api/summary").status_code == 401
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"
    other, _ = _client(app, database, "responder")
    idle = other.cookies[SESSION_COOKIE]
    from ariane.ops.sessions import token_hash

    with database.write() as session:
        session.execute(
            update(LoginSession)
            .where(LoginSession.id_hash == token_hash(idle))
            .values(last_seen=utcnow() - timedelta(hours=1))
        )
    assert other.get("/api/summary").status_code == 401
    assert (
        TestClient(app, cookies={SESSION_COOKIE: "forged"}).get("/api/summary").status_code == 401
    )


def test_a_replayed_code_and_brute_force_are_refused(served):
    app, database, *_ = served
    user = create_user(database, "target@example.org", "responder", None)
    client = TestClient(app)
    first = code(user)
    body = {"email": user.email, "password": user.password, "otp": first}
    assert client.post("/api/session", json=body).status_code == 200
    assert client.post("/api/session", json=body).status_code == 401  # same code again
    wrong = {**body, "password": "guess", "otp": code(user, 1)}
    answers = [client.post("/api/session", json=wrong).status_code for _ in range(6)]
    # The replayed code was the first failure: four more, then every try is refused.
    assert answers == [401] * 4 + [429] * 2
    right = {**body, "otp": code(user, 1)}
    assert client.post("/api/session", json=right).status_code == 429  # still blocked
    unknown = client.post(
        "/api/session", json={"email": "nobody@x.org", "password": "p", "otp": "123456"}
    )
    assert unknown.status_code == 401 and unknown.json() == {
        "error": "Identifiants ou code incorrects."
    }


def test_the_login_form_needs_its_token(served):
    app, database, *_ = served
    user = create_user(database, "form@example.org", "responder", None)
    client = TestClient(app)
    page = client.get("/login")
    stale = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    fields = {"email": user.email, "password": user.password, "otp": code(user)}
    refused = client.post("/login", data=fields)
    assert refused.status_code == 403 and "expiré" in refused.text
    # The refusal gives a fresh form (and cookie): the old token no longer matches.
    token = re.search(r'name="csrf_token" value="([^"]+)"', refused.text)[1]
    assert token != stale
    answer = client.post("/login", data={**fields, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and SESSION_COOKIE in answer.cookies


def test_the_audit_log_is_verified_again_when_another_writer_touched_it(tmp_path):
    from ariane.case import Case
    from ariane.errors import AuditError

    with Case.create(tmp_path / "case") as case:
        case.record("one")
        case.record("two")  # from this process's own tail, no re-read
        with open(case.audit_path, "a", encoding="utf-8") as log:
            log.write('{"seq": 2, "forged": true}\n')
        with pytest.raises(AuditError):
            case.record("three")


def test_serve_refuses_a_public_host_unless_behind_tls(tmp_path):
    check_host("127.0.0.1", False)
    check_host("::1", False)
    check_host("localhost", False)
    check_host("0.0.0.0", True)
    with pytest.raises(ConfigError, match="--behind-tls"):
        check_host("0.0.0.0", False)
    from typer.testing import CliRunner

    from ariane.cli import app

    result = CliRunner().invoke(app, ["serve", str(tmp_path), "--host", "192.0.2.1"])
    assert result.exit_code != 0 and "--behind-tls" in result.output
    assert "Traceback" not in result.output


def test_behind_tls_cookies_are_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path / "keys"))
    build_case(tmp_path / "case", records=60, controllers=2)
    app, case, database = open_app(tmp_path / "case", behind_tls=True)
    try:
        user = create_user(database, "tls@example.org", "responder", None)
        answer = TestClient(app, base_url="https://testserver").post(
            "/api/session", json={"email": user.email, "password": user.password, "otp": code(user)}
        )
        assert "Secure" in answer.headers["set-cookie"]
    finally:
        case.close()
        database.close()
    _ = open_database


def test_notice_counts_come_from_the_outbox(served):
    from ariane.ops.models import Notice

    app, database, leak, _ = served
    cid, other = leak.controllers[0], leak.controllers[1]
    statuses = ["planned", "planned", "sent", "delivered"]
    with database.write() as session:
        for n, status in enumerate(statuses):
            session.add(
                Notice(
                    notice_id=f"notice-{n}",
                    person_key_hash=f"{n:064d}",
                    controller_ids=[cid, other] if n == 0 else [cid],
                    channel="email",
                    status=status,
                )
            )
    client, _ = _client(app, database, "regulator")
    mine = client.get(f"/api/controllers/{cid}").json()["notices"]
    assert mine["planned"] == 2 and mine["sent"] == 1 and mine["delivered"] == 1
    assert client.get(f"/api/controllers/{other}").json()["notices"]["planned"] == 1
    page = client.get(f"/controllers/{cid}").text
    assert (
        '<td class="n">2</td><td class="n">0</td><td class="n">1</td><td class="n">1</td>' in page
    )


def test_an_unknown_address_is_the_same_404_as_a_forbidden_one(served):
    app, database, leak, _ = served
    client, _ = _client(app, database, "controller", leak.controllers[0])
    unknown = client.get("/no/such/page")
    forbidden = client.get(f"/api/controllers/{leak.controllers[1]}")
    missing = client.get("/api/controllers/NOPE")
    assert unknown.status_code == forbidden.status_code == missing.status_code == 404
    assert forbidden.json() == missing.json() == {"error": "Page introuvable."}
    assert "Page introuvable." in unknown.text


def test_the_audit_page_lists_the_log_newest_first(served):
    app, database, leak, case_dir = served
    client, _ = _client(app, database, "responder")
    client.get(f"/api/controllers/{leak.controllers[0]}/persons")
    entries = _audit(case_dir)
    page = client.get("/audit").text
    seqs = [int(n) for n in re.findall(r'<tr><td class="n">(\d+)</td>', page)]
    assert seqs == [e["seq"] for e in reversed(entries)][:100]
    last = -(-len(entries) // 100)
    tail = client.get(f"/audit?page={last}").text
    assert re.findall(r'<tr><td class="n">(\d+)</td>', tail)[-1] == "0"


def test_an_unexpected_error_is_a_bare_500_and_logs_no_value(served, caplog, monkeypatch):
    app, database, *_ = served
    client, _ = _client(app, database, "responder")

    def broken():
        raise ValueError("DUPONT 1850775123456")  # what a record's value could look like

    monkeypatch.setattr(app.state.data, "summary", broken)
    with caplog.at_level("ERROR"):
        answer = client.get("/api/summary")
    assert answer.status_code == 500 and answer.json() == {"error": "Erreur interne."}
    assert answer.headers["x-frame-options"] == "DENY"
    assert "DUPONT" not in caplog.text and "ValueError" in caplog.text
    assert "/api/summary" in caplog.text


# -- approval of a controller's batch of notices (ariane notify approve, from the portal) ------


def _plan_notices(case_dir, url, controllers):
    """A plan of six notices over three labs, in the store and the outbox: lab 0 has two
    emails, one letter, and one SMS it shares with lab 1; lab 1 has one email of its own."""
    from ariane.case import Case
    from ariane.notify import outbox

    c0, c1, c2 = controllers[:3]
    notices = [("n1", [c0], "email"), ("n2", [c0], "email"), ("n3", [c0], "letter"),
               ("n4", [c0, c1], "sms"), ("n5", [c1], "email"), ("n6", [c2], "letter")]  # fmt: skip
    with Case.open(case_dir) as case:
        engine = case.engine()
        engine.execute("CREATE TABLE notify_plan (document VARCHAR)")
        engine.execute("INSERT INTO notify_plan VALUES (?)",
                       [json.dumps({"batch": "lot-essai", "by_controller": {}})])  # fmt: skip
        database = open_database(case, url)
        try:
            outbox.load_plan(
                database, [(i, f"{n:064d}", c, ch) for n, (i, c, ch) in enumerate(notices)]
            )
        finally:
            database.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def portal(request, tmp_path_factory):
    """(app, database, leak, case_dir) over a case whose notices are planned, not approved."""
    root = tmp_path_factory.mktemp("portal")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    url = admin = schema = None
    if request.param == "postgresql":
        admin, schema, url = _postgres_schema()
    leak = build_case(root / "case")
    _plan_notices(root / "case", url, leak.controllers)
    app, case, database = open_app(root / "case", url)
    yield app, database, leak, root / "case"
    case.close()
    database.close()
    if admin is not None:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
    monkeypatch.undo()


def _outbox(database):
    from sqlalchemy import select

    from ariane.ops.models import Approval, Notice

    with database.sessions() as session:
        statuses = dict(session.execute(select(Notice.notice_id, Notice.status)).all())
        approvals = session.execute(
            select(Approval.controller_id, Approval.approved_by).order_by(Approval.id)
        ).all()
    return statuses, [tuple(a) for a in approvals]


def test_only_staff_of_the_lab_may_approve_and_only_with_the_form_token(portal):
    app, database, leak, case_dir = portal
    c0, c1 = leak.controllers[0], leak.controllers[1]
    before = _outbox(database)
    audit_before = len(_audit(case_dir))
    approve = f"/controllers/{c0}/approve"
    other_lab, _ = _client(app, database, "controller", c1)
    assert other_lab.post(approve, data={"confirm": "yes"}).status_code == 404
    regulator, _ = _client(app, database, "regulator")
    assert regulator.post(approve, data={"confirm": "yes"}).status_code == 404
    page = regulator.get(f"/controllers/{c0}").text
    assert "Lot d'avis aux personnes" in page and "Approuver le lot" not in page
    own, _ = _client(app, database, "controller", c0)
    no_csrf = TestClient(app, cookies={SESSION_COOKIE: own.cookies[SESSION_COOKIE]})
    assert no_csrf.post(approve, data={"confirm": "yes"}).status_code == 403
    forged = no_csrf.post(approve, data={"confirm": "yes", "csrf_token": "x"})
    assert forged.status_code == 403
    unconfirmed = own.post(approve, data={})
    assert unconfirmed.status_code == 400 and "Cochez la case" in unconfirmed.text
    swapped = own.post(approve, data={}, headers={"hx-request": "true"})  # htmx: shown in place
    assert swapped.text.startswith('<div id="approbation"') and "Cochez la case" in swapped.text
    assert _outbox(database) == before
    assert len(_audit(case_dir)) == audit_before


def test_a_lab_approves_its_batch_in_the_portal_once_and_it_is_audited(portal):
    app, database, leak, case_dir = portal
    c0, c1 = leak.controllers[0], leak.controllers[1]
    client, user = _client(app, database, "controller", c0)
    page = client.get(f"/controllers/{c0}").text
    section = page[page.index('id="approbation"') :]
    # Before: the batch's figures, as planned (2 emails, 1 letter, 1 SMS shared with lab 1).
    figures = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", section)[:6]
    assert figures == [("Lot", "lot-essai"), ("Avis prévus", "4"), ("Courriels", "2"),
                       ("Courriers", "1"), ("SMS", "1"),
                       ("Nommant aussi un autre responsable", "1")]  # fmt: skip
    assert 'hx-post="/controllers/' + c0 + '/approve"' in section
    assert f'name="csrf_token" value="{client.headers["x-csrf-token"]}"' in section

    answer = client.post(
        f"/controllers/{c0}/approve", data={"confirm": "yes"}, headers={"hx-request": "true"}
    )
    assert answer.status_code == 200
    assert answer.text.startswith('<div id="approbation"')  # the fragment htmx swaps in
    assert "3 avis prêts à partir" in answer.text and user.email in answer.text
    statuses, approvals = _outbox(database)
    assert [i for i, s in sorted(statuses.items()) if s == "approved"] == ["n1", "n2", "n3"]
    assert statuses["n4"] == "planned"  # it names lab 1 too, which has not approved
    assert approvals == [(c0, user.user_id)]
    entry = [e for e in _audit(case_dir) if e["command"] == "notify approve"][-1]
    assert entry["arguments"]["controller"] == c0
    assert entry["arguments"]["user_id"] == user.user_id
    assert entry["arguments"]["actor"] == f"user:{user.user_id}"
    assert entry["outcome"]["approved_now"] == 3
    page = client.get(f"/controllers/{c0}").text
    assert "Approuvé le" in page and user.email in page and "Approuver le lot" not in page

    # Again (another tab, a double click): nothing changes, the first approval stands.
    again = client.post(f"/controllers/{c0}/approve", data={"confirm": "yes"})
    assert again.status_code == 200 and "déjà approuvé" in again.text
    assert _outbox(database) == (statuses, approvals)

    # A responder approves lab 1's batch: its email, and the SMS both labs now approved.
    responder, staff = _client(app, database, "responder")
    assert responder.post(f"/controllers/{c1}/approve", data={"confirm": "yes"}).status_code == 200
    statuses, approvals = _outbox(database)
    assert statuses["n4"] == statuses["n5"] == "approved" and statuses["n6"] == "planned"
    assert approvals == [(c0, user.user_id), (c1, staff.user_id)]
    mine = client.get(f"/api/controllers/{c0}").json()["notices"]
    assert mine["approved"] == 4 and mine["planned"] == 0
    seen = _client(app, database, "regulator")[0].get(f"/controllers/{c0}").text
    assert "Approuvé le" in seen and user.email not in seen  # when, not who
