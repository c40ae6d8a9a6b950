"""The self-check service in process: one answer for hit and miss, CSRF, errors, limits."""

import asyncio
import os
import random
import re
import socket
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from scipy.stats import ks_2samp

from ariane.selfcheck.app import ANSWER, Settings, create_app
from ariane.selfcheck.identifiers import nir_digest
from ariane.selfcheck.index import DigestIndex, read_hmac_key
from ariane.selfcheck.limits import Limit, Limits
from ariane.selfcheck.sender import Dispatcher
from ariane.selfcheck.serve import ServeOptions, sender_settings
from selfcheck_fixtures import build

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


def test_timing_of_hit_and_miss_is_indistinguishable(built, key, tmp_path):
    """Two-sample Kolmogorov-Smirnov over 2,000 hits and 2,000 misses, interleaved."""
    options = ServeOptions(built.index_dir, outbox=tmp_path / "outbox")
    dispatcher = Dispatcher(sender_settings(options))
    dispatcher.start()
    with_email = [p for p in built.persons if p.email]
    hits = [{"email": with_email[i % len(with_email)].email} for i in range(2000)]
    misses = [{"email": f"personne.{100 + i % 900}@exemple.fr"} for i in range(2000)]
    order = [("hit", b) for b in hits] + [("miss", b) for b in misses]
    random.Random(13).shuffle(order)
    times = {"hit": [], "miss": []}
    try:
        with TestClient(_app(built, key, dispatcher.submit)) as client:
            for _kind, body in order[:200]:  # warm up
                client.post("/check", json=body)
            for kind, body in order:
                start = time.perf_counter()
                response = client.post("/check", json=body)
                times[kind].append(time.perf_counter() - start)
                assert response.status_code == 200
    finally:
        dispatcher.stop()
    result = ks_2samp(times["hit"], times["miss"])
    print(f"KS over {len(times['hit'])} hits and {len(times['miss'])} misses: {result}")
    assert result.pvalue > 0.01, (result, sorted(times["hit"])[1000], sorted(times["miss"])[1000])


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
