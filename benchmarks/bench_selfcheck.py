"""Benchmark: checks per second and p99 latency of ``ariane selfcheck serve`` with Redis.

A real server (uvicorn, rate limits in Redis, the sender process running) on loopback,
loaded by a client in another process: keep-alive connections posting JSON checks, half
hits and half misses, each connection waiting for its answer before the next (a closed
loop). Bounded: a short warm-up, then ``--seconds`` of measured load.
Goal (issue 13): >= 2,000 checks/s with p99 <= 50 ms on 2 cores.

With ``--timing N``, instead: whether a hit can be told from a miss by its response time.
One keep-alive connection posts N hits and N misses, shuffled, one at a time, to the same
server; the figures are the medians, their difference, and a two-sample Kolmogorov-Smirnov
test of the two sets of times (a small p-value says the two distributions differ). The
tests check the cause instead, without a clock: a hit and a miss run the same operations
(tests/test_selfcheck_app.py::test_hit_and_miss_do_the_same_work).

    .venv/bin/python benchmarks/bench_selfcheck.py [--seconds 10] [--connections 32]
    .venv/bin/python benchmarks/bench_selfcheck.py --timing 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from selfcheck_fixtures import build  # noqa: E402

REDIS = "redis://127.0.0.1:6379/0"
HIGH = "1000000000/60"  # limits counted in Redis as in production, but never reached here


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of a process and of its live children, from /proc."""

    def own(process: int) -> float:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return own(pid), sum(own(child) for child in children)


def _request(port: int, body: dict[str, str]) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST /check HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def _connection(port, requests, until, warm_until, latencies, statuses):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    while (now := time.perf_counter()) < until:
        started = now
        writer.write(requests[i % len(requests)])
        i += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        if started >= warm_until:
            latencies.append(time.perf_counter() - started)
            statuses[int(head[9:12])] = statuses.get(int(head[9:12]), 0) + 1
    writer.close()


def _load(port, requests, connections, warmup, seconds, results) -> None:
    """The client process: ``connections`` closed loops for warm-up + measured seconds."""

    async def main():
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        start = time.perf_counter()
        warm_until, until = start + warmup, start + warmup + seconds
        await asyncio.gather(
            *(
                _connection(port, requests[c::connections], until, warm_until, latencies, statuses)
                for c in range(connections)
            )
        )
        results.put((latencies, statuses))

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _timing(port: int, hits: list[bytes], misses: list[bytes], samples: int) -> None:
    """Response times of ``samples`` hits and as many misses, shuffled; print the figures."""
    from scipy.stats import ks_2samp

    order = [("hit", hits[i % len(hits)]) for i in range(samples)]
    order += [("miss", misses[i % len(misses)]) for i in range(samples)]
    random.Random(13).shuffle(order)
    times: dict[str, list[float]] = {"hit": [], "miss": []}
    with socket.create_connection(("127.0.0.1", port)) as connection:
        answers = connection.makefile("rb")

        def post(request: bytes) -> None:
            connection.sendall(request)
            length = 0
            while (line := answers.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answers.read(length)

        for _, request in order[:500]:  # warm-up
            post(request)
        for kind, request in order:
            started = time.perf_counter()
            post(request)
            times[kind].append(time.perf_counter() - started)
    result = ks_2samp(times["hit"], times["miss"])
    hit, miss = (sorted(times[kind]) for kind in ("hit", "miss"))
    median = {
        kind: values[len(values) // 2] * 1e6 for kind, values in (("hit", hit), ("miss", miss))
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{samples:,} hits and {samples:,} misses, shuffled, one connection, one at a time")
    print(f"median: hit {median['hit']:.0f} us, miss {median['miss']:.0f} us, "
          f"difference {median['hit'] - median['miss']:+.0f} us; "
          f"p90: hit {hit[len(hit) * 9 // 10] * 1e6:.0f} us, "
          f"miss {miss[len(miss) * 9 // 10] * 1e6:.0f} us")  # fmt: skip
    print(f"Kolmogorov-Smirnov: statistic {result.statistic:.4f}, p-value {result.pvalue:.3g}")


def main() -> None:
    """Build a case and its index, serve it, load it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timing", type=int, metavar="N", help="compare N hits and N misses")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-selfcheck-") as folder:
        built = build(Path(folder))
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        server = subprocess.Popen(
            [sys.executable, "-c", "from ariane.cli import main; main()", "selfcheck", "serve",
             str(built.index_dir), "--port", str(port), "--redis", REDIS,
             "--limit-ip", HIGH, "--limit-identifier", HIGH, "--limit-overall", HIGH],
            env=env,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            emails = [p.email for p in built.persons if p.email]
            if args.timing:
                hits = [_request(port, {"email": email}) for email in emails]
                misses = [
                    _request(port, {"email": f"personne.{100 + i}@exemple.fr"})
                    for i in range(len(emails))
                ]  # the same length as the hits' addresses: the same bytes to parse
                _timing(port, hits, misses, args.timing)
                return
            bodies = []
            for i in range(2000):
                hit = {"email": emails[i % len(emails)]}
                bodies += [hit, {"email": f"absent.{i}@exemple.fr"}]
            requests = [_request(port, body) for body in bodies]
            results: multiprocessing.Queue = multiprocessing.Queue()
            client = multiprocessing.Process(
                target=_load,
                args=(port, requests, args.connections, args.warmup, args.seconds, results),
            )
            client.start()
            time.sleep(args.warmup)
            cpu_before = _cpu_seconds(server.pid)
            latencies, statuses = results.get()
            cpu_after = _cpu_seconds(server.pid)
            web, sender = (a - b for a, b in zip(cpu_after, cpu_before, strict=True))
            client.join()
        finally:
            server.terminate()
            server.wait(120)  # the sender answers every queued check before it stops
    latencies.sort()
    count = len(latencies)
    rate = count / args.seconds
    p50 = latencies[count // 2] * 1000
    p99 = latencies[int(count * 0.99)] * 1000
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"connections {args.connections}, measured {args.seconds:.0f} s: {count:,} checks, "
          f"statuses {statuses}")  # fmt: skip
    print(f"checks/s {rate:,.0f} (target >= 2,000); p50 {p50:.1f} ms; p99 {p99:.1f} ms "
          "(target <= 50 ms)")  # fmt: skip
    print(f"CPU per check: web process {web / count * 1e6:.0f} us, sender process "
          f"{sender / count * 1e6:.0f} us ({count / (web + sender):,.0f} checks per "
          "CPU-second of both)")  # fmt: skip


if __name__ == "__main__":
    main()
