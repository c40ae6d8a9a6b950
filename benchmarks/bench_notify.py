"""Notices: letters rendered per second, emails per second to a local SMTP server, and the
exactly-once check under SIGKILL at full size (5,000 notices, >= 20 kills).

    PYTHONPATH=src python benchmarks/bench_notify.py [--plan 400000] [--sample-controllers 1]
        [--emails 5000] [--crash 5000 --kills 20] [--json]

Letters: a plan of ``--plan`` letters over 20 controllers (the 2021 case's ~400,000 letters
by default) is put in a case; the controllers in ``--sample-controllers`` approve, and
``ariane notify send`` renders what they approved in a child process, whose wall time, CPU
time and peak memory (ru_maxrss) are measured; the full run is extrapolated from the rate,
as the machine is shared. Emails: ``--emails`` notices sent to aiosmtpd (a process of its
own, writing each message to disk before it answers) with no rate limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import notify_crash  # noqa: E402
from notify_fixtures import synthetic_plan  # noqa: E402
from smtp_sink import Running  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def _child(command: list[str]) -> dict[str, float]:
    """Run a command; its wall time, CPU time (with its workers') and peak memory: of the
    largest process (ru_maxrss) and of the whole process tree (sampled every 0.2 s)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    stop.set()
    sampler.join()
    wall = time.monotonic() - started
    if status != 0:
        raise RuntimeError(process.stderr.read().decode()[-400:])  # type: ignore[union-attr]
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024, "peak_tree_mib": peak[0] / 2**20,
            "stdout": process.stdout.read().decode()}  # type: ignore[union-attr]  # fmt: skip


def _approve(case_dir: Path, controllers: list[str]) -> int:
    from ariane import notify

    return sum(notify.approve_batch(case_dir, c)["approved_now"] for c in controllers)


def _send(case_dir: Path, *extra: str) -> dict[str, float]:
    command = [sys.executable, "-c", "from ariane.cli import main; main()", "notify", "send",
               str(case_dir), "--json", "--quiet", *extra]  # fmt: skip
    figures = _child(command)
    figures.update(json.loads(str(figures.pop("stdout"))))
    return figures


def letters(root: Path, plan: int, sample_controllers: int) -> dict[str, object]:
    """Render the approved sample of a ``plan``-letter case; rate and extrapolation."""
    case_dir = root / "letters"
    started = time.monotonic()
    synthetic_plan(case_dir, 0, plan, controllers=20, approve=False)
    prepared = time.monotonic() - started
    approved = _approve(case_dir, [f"C{c:02d}" for c in range(sample_controllers)])
    figures = _send(case_dir)
    rate = figures["letters"] / figures["wall_s"]
    return {
        "plan_letters": plan, "approved_sample": approved, "prepare_s": round(prepared, 1),
        "letters": figures["letters"], "files": figures["letter_files"],
        "wall_s": round(figures["wall_s"], 1), "cpu_s": round(figures["cpu_s"], 1),
        "letters_per_s": round(rate, 1), "peak_rss_mib": round(figures["peak_rss_mib"]),
        "peak_tree_mib": round(figures["peak_tree_mib"]),
        "cpu_ms_per_letter": round(figures["cpu_s"] / figures["letters"] * 1000, 2),
        "extrapolated_full_min": round(plan / rate / 60, 1),
        # On two free cores the CPU work splits over both (the layout is in two workers).
        "extrapolated_full_min_2_free_cores": round(
            plan * figures["cpu_s"] / figures["letters"] / 2 / 60, 1),
    }  # fmt: skip


def emails(root: Path, count: int) -> dict[str, object]:
    """Send ``count`` emails to a local aiosmtpd without a rate limit."""
    case_dir = root / "emails"
    synthetic_plan(case_dir, count, 0)
    with Running(root / "received") as sink:
        figures = _send(case_dir, "--smtp", f"127.0.0.1:{sink.port}", "--smtp-security",
                        "none", "--rate", "0")  # fmt: skip
        received = len(sink.received())
    return {"emails": figures["emails"], "received": received,
            "wall_s": round(figures["wall_s"], 1),
            "emails_per_s": round(figures["emails"] / figures["wall_s"], 1),
            "peak_rss_mib": round(figures["peak_rss_mib"])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=int, default=400_000)
    parser.add_argument("--sample-controllers", type=int, default=1)
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--crash", type=int, default=5_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }
    with tempfile.TemporaryDirectory(prefix="ariane-bench-notify-") as folder:
        root = Path(folder)
        os.environ["ARIANE_KEY_DIR"] = str(root / "keys")
        if args.emails:
            results["emails"] = emails(root, args.emails)
            print("emails", results["emails"], flush=True)
        if args.crash:
            crash = notify_crash.run(root / "crash", emails=args.crash // 2,
                                     letters=args.crash - args.crash // 2, kills=args.kills,
                                     seed=2021, letter_batch=100)  # fmt: skip
            results["crash"] = crash.__dict__
            print("crash", results["crash"], flush=True)
        if args.plan:
            results["letters"] = letters(root, args.plan, args.sample_controllers)
            print("letters", results["letters"], flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
