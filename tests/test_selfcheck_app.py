"""The self-check service in process: one answer for hit and miss, CSRF, errors, limits."""

import asyncio
import gc
import os
import re
import socket
import sys
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from ariane.selfcheck.app import ANSWER, Settings, create_app
from ariane.selfcheck.identifiers import nir_digest
from ariane.selfcheck.index import DigestIndex, read_hmac_key
from ariane.selfcheck.limits import Limit, Limits
from selfcheck_fixtures import build

#: Where the code of Python and of the installed packages lives (lines there are not traced).
LIBRARIES = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
UNLIMITED = Limits(Limit(10**9, 60), Limit(10**9, 60), Limit(10**9, 60))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("selfcheck-app"))


@pytest.fixture(scope="module")
def key(built):
    return read_hmac_key(built.hmac_key)


def _app(built, key, submit, limits=UNLIMITED, redis_url=None):
    return create_app(Settings(built.index_dir, key, limits, redis_url), submit)


def _absent_nir():
    from ariane.nir import make_nir

    return make_nir(2, 1999, 9, "99", "123", 456)


def _headers(response):
    return sorted((k, v) for k, v in response.headers.items() if k != "date")


def _form_token(client):
    page = client.get("/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_hit_and_miss_get_the_same_bytes(built, key):
    jobs = []
    hit, other = built.persons[0], built.persons[2]
    with TestClient(_app(built, key, jobs.append)) as client:
        requests = [
            {"nir": hit.nir, "birth_date": hit.birth_date.isoformat()},
            {"nir": _absent_nir(), "birth_date": "1999-09-09"},
            {"email": other.email},
            {"email": "personne.999@exemple.fr"},
            {"email": "personne.998@exemple.fr", "phone": other.phone},
        ]
        answers = [client.post("/check", json=body) for body in requests]
        token = _form_token(client)
        forms = [client.post("/check", data={"csrf_token": token, **body}) for body in requests[:2]]
    for group in (answers, forms):
        first = group[0]
        assert first.status_code == 200
        for response in group[1:]:
            assert response.status_code == first.status_code
            assert response.content == first.content
            assert _headers(response) == _headers(first)
    assert answers[0].json() == {"status": "received", "message": ANSWER}
    assert ANSWER in forms[0].text
    # The request path hands one job per accepted check: the person's entry for a hit,
    # the decoy for a miss (the phone on file is a hit even beside an unknown email).
    index = DigestIndex(built.index_dir, key)
    (entry,) = index.entries([nir_digest(key, hit.nir, hit.birth_date)])
    assert len(jobs) == 7
    assert jobs[0] == [entry] and jobs[1] == [index.decoy] and jobs[3] == [index.decoy]
    assert jobs[2] != [index.decoy] and jobs[4] == jobs[2]


def test_security_headers_everywhere(built, key):
    with TestClient(_app(built, key, lambda job: None)) as client:
        for response in (
            client.get("/"),
            client.post("/check", json={"email": "x@exemple.fr"}),
            client.post("/check", json={"email": "x"}),
            client.get("/openapi.json"),
        ):
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "script-src" not in csp and "unsafe-inline" not in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["cache-control"] == "no-store"
    assert "/check" in client.get("/openapi.json").json()["paths"]


def test_form_page_is_french_and_scriptless(built, key):
    with TestClient(_app(built, key, lambda job: None)) as client:
        page = client.get("/")
    assert '<html lang="fr">' in page.text
    assert "<script" not in page.text and " style=" not in page.text
    for field in ("nir", "birth_date", "email", "phone"):
        assert f'<label for="{field}">' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_form_post_without_csrf_is_refused(built, key):
    jobs = []
    person = built.persons[0]
    body = {"nir": person.nir, "birth_date": person.birth_date.isoformat()}
    with TestClient(_app(built, key, jobs.append)) as client:
        no_token = client.post("/check", data=body)
        client.get("/")  # a cookie, but a forged token in the form
        forged = client.post("/check", data={"csrf_token": "forged", **body})
        other = TestClient(_app(built, key, jobs.append))  # token of another server secret
        foreign_token = _form_token(other)
        foreign = client.post("/check", data={"csrf_token": foreign_token, **body})
    for response in (no_token, forged, foreign):
        assert response.status_code == 403
        assert "rechargez la page" in response.text
    assert jobs == []


def test_json_needs_its_content_type(built, key):
    jobs = []
    with TestClient(_app(built, key, jobs.append)) as client:
        plain = client.post(
            "/check", content=b'{"email": "a@exemple.fr"}', headers={"content-type": "text/plain"}
        )
        charset = client.post(
            "/check",
            content=b'{"email": "a@exemple.fr"}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]
    assert charset.status_code == 200
    assert len(jobs) == 1


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"nir": "299099912345600", "birth_date": "1999-09-09"}, "nir", "clé"),
        ({"nir": "2990999", "birth_date": "1999-09-09"}, "nir", "15 caractères"),
        ({"nir": "@NIR", "birth_date": "2021-02-30"}, "birth_date", "n'existe pas"),
        ({"email": "x" * 300}, "email", "trop long"),
        ({"email": "@EMAIL", "phone": "12"}, "phone", "téléphone"),
        ({"nir": "@NIR"}, "birth_date", "vont ensemble"),
        ({}, "nir", "Indiquez"),
    ],
)
def test_malformed_entries_say_what_to_fix(built, key, body, field, words):
    jobs = []
    person = built.persons[0]
    # The same mistake beside a person of the case and beside nobody: the same answer.
    known = {k: {"@NIR": person.nir, "@EMAIL": person.email}.get(v, v) for k, v in body.items()}
    unknown = {
        k: {"@NIR": _absent_nir(), "@EMAIL": "nul@exemple.fr"}.get(v, v) for k, v in body.items()
    }
    with TestClient(_app(built, key, jobs.append)) as client:
        first = client.post("/check", json=known)
        second = client.post("/check", json=unknown)
    assert first.status_code == 400 and first.json()["field"] == field
    assert words in first.json()["error"]
    assert first.content == second.content
    assert jobs == []


def test_oversized_and_broken_bodies(built, key):
    with TestClient(_app(built, key, lambda job: None)) as client:
        huge = client.post("/check", json={"email": "a" * 10_000 + "@exemple.fr"})
        broken = client.post(
            "/check", content=b"{not json", headers={"content-type": "application/json"}
        )
        listed = client.post("/check", json=["a@exemple.fr"])
        token = _form_token(client)
        form_error = client.post("/check", data={"csrf_token": token, "nir": "1"})
    assert huge.status_code == 400 and "trop longue" in huge.json()["error"]
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]
    assert listed.status_code == 400
    assert form_error.status_code == 400 and 'role="alert"' in form_error.text
    assert "<form" in form_error.text  # the form again, to correct


async def _burst(app, bodies_by_ip):
    """Send every request at once (one client per IP); return the status codes."""
    clients = {
        ip: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(ip, 1234)), base_url="http://t"
        )
        for ip in bodies_by_ip
    }
    try:
        responses = await asyncio.gather(
            *(
                clients[ip].post("/check", json=body)
                for ip, bodies in bodies_by_ip.items()
                for body in bodies
            )
        )
    finally:
        for client in clients.values():
            await client.aclose()
    return [r.status_code for r in responses], responses


def _limit_cases(prefix):
    return [
        # (limits, requests by IP, accepted)
        (Limits(Limit(5, 60), Limit(10**6, 60), Limit(10**6, 60), prefix + ":a"),
         {"10.0.0.1": [{"email": f"p{i}@exemple.fr"} for i in range(30)]}, 5),
        (Limits(Limit(10**6, 60), Limit(3, 60), Limit(10**6, 60), prefix + ":b"),
         {f"10.0.1.{i}": [{"email": "meme@exemple.fr"}] * 3 for i in range(8)}, 3),
        (Limits(Limit(10**6, 60), Limit(10**6, 60), Limit(12, 60), prefix + ":c"),
         {f"10.0.2.{i}": [{"email": f"q{i}.{j}@exemple.fr"} for j in range(5)]
          for i in range(8)}, 12),
    ]  # fmt: skip


def _check_limits(built, key, redis_url):
    async def scenario():
        for limits, bodies_by_ip, accepted in _limit_cases(f"test:{uuid.uuid4().hex}"):
            app = _app(built, key, lambda job: None, limits, redis_url)
            async with app.router.lifespan_context(app):
                codes, responses = await _burst(app, bodies_by_ip)
            total = sum(len(b) for b in bodies_by_ip.values())
            assert codes.count(200) == accepted, limits
            assert codes.count(429) == total - accepted
            refused = next(r for r in responses if r.status_code == 429)
            assert int(refused.headers["retry-after"]) >= 1
            assert "Trop de demandes" in refused.json()["error"]

    asyncio.run(scenario())


def test_limits_hold_under_a_burst_in_process(built, key):
    _check_limits(built, key, None)


def _redis_url():
    url = "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means no usable server
        if os.environ.get("ARIANE_REQUIRE_SERVICES") == "1":
            pytest.fail("Redis at 127.0.0.1:6379 is required (ARIANE_REQUIRE_SERVICES=1)")
        pytest.skip("no Redis server at 127.0.0.1:6379")
    return url


def test_limits_hold_under_a_burst_in_redis(built, key):
    _check_limits(built, key, _redis_url())


def _traced_checks(app, bodies):
    """What the service executes for each check in turn, as one list of events per check.

    Every Python function called (its file and name), every built-in called (its name:
    HMAC, the searches of the index), and every line run outside the standard library and
    the installed packages (Ariane's code, and this file's): for a given
    piece of code, the events of a request are the work it does, and do not depend on the
    machine's load. A leak by timing needs some of that work to differ.
    """

    def profile(frame, event, arg):
        if event == "c_call":
            events.append(("builtin", getattr(arg, "__qualname__", repr(arg))))

    def trace(frame, event, arg):
        code = frame.f_code
        events.append(("call", code.co_filename.rsplit("site-packages/", 1)[-1], code.co_name))
        return None if code.co_filename.startswith(LIBRARIES) else lines

    def lines(frame, event, arg):
        if event == "line":
            events.append(("line", frame.f_code.co_name, frame.f_lineno))
        return lines

    async def scenario():
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client,
        ):
            for body in bodies[:4]:  # warm-up: caches filled, counters of this IP started
                await client.post("/check", json=body)
            traced = []
            for body in bodies[4:]:
                events.clear()
                gc.collect()
                gc.disable()  # a collection would run finalizers: work of earlier requests
                sys.setprofile(profile)
                sys.settrace(trace)
                try:
                    response = await client.post("/check", json=body)
                finally:
                    sys.settrace(None)
                    sys.setprofile(None)
                    gc.enable()
                assert response.status_code == 200
                traced.append(list(events))
            return traced

    events: list[tuple] = []
    return asyncio.run(scenario())


def _hit_and_miss_pairs(built):
    """Checks in pairs (a hit, then a miss of the same kind), each identifier seen once."""
    with_email = [p for p in built.persons if p.email]
    phone_only = [p for p in built.persons if p.phone and not p.email]
    warm_up = [
        {"email": with_email[0].email},
        {"email": "personne.900@exemple.fr"},
        {"nir": built.persons[1].nir, "birth_date": built.persons[1].birth_date.isoformat()},
        {"nir": _absent_nir(), "birth_date": "1999-09-09"},
    ]
    pairs = [
        ({"email": with_email[1].email}, {"email": "personne.901@exemple.fr"}),
        ({"email": with_email[2].email}, {"email": "personne.902@exemple.fr"}),
        (
            {"nir": built.persons[3].nir, "birth_date": built.persons[3].birth_date.isoformat()},
            {"nir": built.persons[5].nir, "birth_date": "1999-09-09"},  # a real NIR, wrong date
        ),
        (
            {"email": "personne.903@exemple.fr", "phone": phone_only[0].phone},
            # The same national prefix: phones.e164 remembers the region of a prefix.
            {"email": "personne.904@exemple.fr", "phone": "06 12 34 56 99"},
        ),
    ]
    return warm_up, pairs


def _first_difference(hit, miss):
    """Where two traces part, for the failure message."""
    parted = (i for i, (a, b) in enumerate(zip(hit, miss, strict=False)) if a != b)
    at = next(parted, min(len(hit), len(miss)))
    return f"event {at}: hit {hit[at - 2 : at + 3]}, miss {miss[at - 2 : at + 3]}"


def test_hit_and_miss_do_the_same_work(built, key):
    """No timing oracle, told without a clock: a hit and a miss run the same operations.

    The same functions, built-ins (HMAC digests, index searches) and lines of Ariane, in
    the same order and the same number; only the entry handed to the sender differs. The
    response times themselves are compared in ``benchmarks/bench_selfcheck.py --timing``.
    """
    warm_up, pairs = _hit_and_miss_pairs(built)
    jobs = []
    app = _app(built, key, jobs.append)
    traced = _traced_checks(app, warm_up + [body for pair in pairs for body in pair])
    decoy = DigestIndex(built.index_dir, key).decoy
    handed = jobs[len(warm_up) :]
    assert len(handed) == 2 * len(pairs)
    for number, pair in enumerate(pairs):
        hit, miss = traced[2 * number], traced[2 * number + 1]
        assert handed[2 * number] != [decoy] and handed[2 * number + 1] == [decoy], pair
        if hit != miss:
            message = _first_difference(hit, miss) if len(hit) == len(miss) else ""
            pytest.fail(
                f"{pair}: {len(hit)} events for the hit, {len(miss)} for the miss {message}"
            )
    # The trace saw the work that matters: the digests, the searches, the hand-over.
    first = traced[0]
    called = {(e[1].rsplit("/", 1)[-1], e[2]) for e in first if e[0] == "call"}
    assert {("service.py", "check"), ("index.py", "entries"), ("limits.py", "wait")} <= called
    assert any(e[0] == "builtin" and e[1] == "hmac_digest" for e in first)
    assert sum(e == ("builtin", "ndarray.searchsorted") for e in first) >= 2


def test_the_work_comparison_sees_an_enumerating_index(built, key, monkeypatch):
    """The comparison above fails when the lookup leaks: a scan that stops at the match."""

    def enumerate_until_found(self, digests):
        found = []
        for digest in digests:
            for position, stored in enumerate(self._digests.tolist()):
                if stored == digest:
                    found.append(int(self._entries[position]))
                    break
        return found

    monkeypatch.setattr(DigestIndex, "entries", enumerate_until_found)
    warm_up, pairs = _hit_and_miss_pairs(built)
    checks = warm_up + [body for pair in pairs for body in pair]
    traced = _traced_checks(_app(built, key, lambda job: None), checks)
    # Summed over every pair: each build draws its own key, so one hit's digest may sort
    # last and its scan walk the whole index too (seen once in a full run: 3,299 events
    # against 3,297, the hit's two more being its append); every hit sorting last is not.
    hits, misses = traced[0::2], traced[1::2]
    assert sum(map(len, hits)) < sum(map(len, misses))  # the misses walked the whole index


def test_nothing_typed_is_logged(built, key, caplog):
    person = built.persons[0]
    bodies = [
        {"nir": person.nir, "birth_date": person.birth_date.isoformat()},
        {"email": person.email, "phone": person.phone},
        {"nir": person.nir[:13] + "00", "birth_date": "1990-02-30"},
        {"email": "personne.404@exemple.fr"},
    ]
    caplog.set_level("DEBUG")
    with TestClient(_app(built, key, lambda job: None)) as client:
        for body in bodies:
            client.post("/check", json=body)
            client.post("/check", data=body)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "rate limits are counted in this process only" in logged  # logging was captured
    for body in bodies:
        for value in body.values():
            assert value not in logged
            assert value.replace(" ", "") not in logged


def test_without_its_redis_the_service_refuses_rather_than_counts_nothing(built, key):
    with socket.socket() as probe:  # a port with nobody behind it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jobs = []
    app = _app(built, key, jobs.append, Limits(), f"redis://127.0.0.1:{port}/0")
    client = TestClient(app)  # no lifespan: as if Redis went away after the server started
    response = client.post("/check", json={"email": "a@exemple.fr"})
    assert response.status_code == 503
    assert "indisponible" in response.json()["error"]
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert jobs == []
