"""Benchmark: ``ariane serve`` over a case of the 2021 size (491,840 records, 28 labs).

The case's stage tables are built in code (as bench_report.py does) and graded by the real
assess stage, once, cached under /tmp (``--cache``). Then:

1. server time per page and API call: each route asked ``--repeat`` times in process
   (Starlette's test client: the ASGI app's own time, no network), p50 and p95;
2. the persons list: random pages of the largest controller, p95;
3. 50 concurrent users on loopback (uvicorn in a thread): each runs the same walk of
   pages and API calls; every answer must be 200.

Goals (issue 10): p95 <= 150 ms per page and API call, persons p95 <= 100 ms, no error.

    ARIANE_KEY_DIR=/tmp/ariane-bench-serve/keys \\
      .venv/bin/python benchmarks/bench_serve.py [--rows 491840] [--users 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("ARIANE_KEY_DIR", "/tmp/ariane-bench-serve/keys")

import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from ariane.ops import sessions  # noqa: E402
from ariane.serve.access import SESSION_COOKIE  # noqa: E402
from serve_fixtures import add_users, build_case, open_app  # noqa: E402


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _case(cache: Path, rows: int, labs: int) -> Path:
    case_dir = cache / f"case-{rows}-{labs}"
    if not (case_dir / "case.json").exists():
        Path(os.environ["ARIANE_KEY_DIR"]).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build_case(case_dir, records=rows, controllers=labs, keep_secrets=False)
        print(f"built the case in {time.perf_counter() - started:.1f} s")
    (case_dir / "ops.sqlite").unlink(missing_ok=True)
    for extra in ("ops.sqlite-wal", "ops.sqlite-shm"):
        (case_dir / extra).unlink(missing_ok=True)
    return case_dir


#: CPU milliseconds of the last request (this process, every thread: DuckDB's too).
_CPU: list[float] = []


def _timed(client: TestClient, method: str, path: str, **kw) -> float:
    """Wall milliseconds of one request (its CPU milliseconds go to ``_CPU``)."""
    cpu = time.process_time()
    started = time.perf_counter()
    response = client.request(method, path, **kw)
    elapsed = time.perf_counter() - started
    _CPU.append((time.process_time() - cpu) * 1000)
    if response.status_code != 200:
        raise SystemExit(f"{method} {path}: {response.status_code}")
    return elapsed * 1000


def main() -> None:
    """Build or reuse the case, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=491_840)
    parser.add_argument("--labs", type=int, default=28)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--walks", type=int, default=4, help="walks per concurrent user")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ariane-bench-serve"))
    args = parser.parse_args()
    case_dir = _case(args.cache, args.rows, args.labs)
    started = time.perf_counter()
    app, case, database = open_app(case_dir)
    opened = time.perf_counter() - started
    data = app.state.data
    biggest = max(data.summary()["controllers"], key=lambda c: c["persons"])
    cid = biggest["controller_id"]
    users = add_users(database, data.controller_ids)
    client = TestClient(app)
    client.cookies.set(SESSION_COOKIE, sessions.start(database, users.responder.user_id))
    csrf = app.state.settings.secret
    from ariane.serve.access import csrf_token

    token = csrf_token(csrf, client.cookies[SESSION_COOKIE])
    routes = [
        ("GET", "/api/summary", {}),
        ("GET", "/api/controllers", {}),
        ("GET", f"/api/controllers/{cid}", {}),
        ("GET", f"/api/controllers/{cid}/persons?page=3", {}),
        ("GET", "/", {}),
        ("GET", "/controllers?sort=persons&order=desc", {}),
        ("GET", f"/controllers/{cid}", {}),
        ("GET", f"/controllers/{cid}/persons?page=2", {}),
        ("POST", f"/controllers/{cid}/persons", {"data": {"q": "mar", "csrf_token": token}}),
        ("GET", "/columns", {}),
        ("GET", "/audit", {}),
        ("GET", "/healthz", {}),
    ]
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(
        f"{platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"case of {args.rows:,} records, {args.labs} labs; opened (persons table) in "
        f"{opened:.1f} s; largest lab {cid}: {biggest['persons']:,} persons"
    )
    print(f"{'route':58} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8}")
    worst = 0.0
    for method, path, kw in routes:
        for _ in range(2):
            _timed(client, method, path, **kw)  # warm: caches, first queries
        _CPU.clear()
        times = [_timed(client, method, path, **kw) for _ in range(args.repeat)]
        worst = max(worst, _p(times, 0.95))
        print(
            f"{method + ' ' + path:58} {statistics.median(times):8.1f} {_p(times, 0.95):8.1f} "
            f"{statistics.median(_CPU):8.1f} {_p(_CPU, 0.95):8.1f}"
        )
    pages = max(1, -(-biggest["persons"] // 50))
    rng = random.Random(7)
    _CPU.clear()
    persons = [
        _timed(client, "GET", f"/api/controllers/{cid}/persons?page={rng.randint(1, pages)}")
        for _ in range(args.repeat * 3)
    ]
    print(
        f"persons list, random pages of {pages:,}: p50 {statistics.median(persons):.1f} ms, "
        f"p95 {_p(persons, 0.95):.1f} ms (CPU p50 {statistics.median(_CPU):.1f}, "
        f"p95 {_p(_CPU, 0.95):.1f} ms)"
    )
    print(f"worst p95 over pages and API calls: {worst:.1f} ms")
    _load(app, database, users, cid, args.users, args.walks)
    case.close()
    database.close()


def _load(app, database, users, cid: str, count: int, walks: int) -> None:
    """``count`` users at once on loopback, each walking the pages ``walks`` times."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    mine = [users.controllers[cid].user_id, users.responder.user_id, users.regulator.user_id]
    tokens = [sessions.start(database, mine[n % len(mine)]) for n in range(count)]
    walk = ["/api/summary", "/controllers", f"/controllers/{cid}", "/api/controllers"]
    persons = [f"/api/controllers/{cid}/persons?page={n}" for n in (1, 2, 3)]

    def user(n: int) -> tuple[int, int, list[float]]:
        ok = bad = 0
        times = []
        paths = walk + (persons if n % len(mine) != 2 else [])
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", cookies={SESSION_COOKIE: tokens[n]}, timeout=60
        ) as http:
            for _ in range(walks):
                for path in paths:
                    started = time.perf_counter()
                    status = http.get(path).status_code
                    times.append((time.perf_counter() - started) * 1000)
                    ok, bad = (ok + 1, bad) if status == 200 else (ok, bad + 1)
        return ok, bad, times

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(user, range(count)))
    wall = time.perf_counter() - started
    server.should_exit = True
    thread.join(30)
    ok = sum(r[0] for r in results)
    bad = sum(r[1] for r in results)
    times = [t for r in results for t in r[2]]
    print(
        f"{count} concurrent users on loopback: {ok + bad:,} requests in {wall:.1f} s "
        f"({(ok + bad) / wall:.0f}/s), {bad} errors; client-side p50 "
        f"{statistics.median(times):.0f} ms, p95 {_p(times, 0.95):.0f} ms"
    )


if __name__ == "__main__":
    main()
