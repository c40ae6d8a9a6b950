"""Kill a sender with SIGKILL at random moments, start it again, until everything is sent.

Shared by ``test_notify_crash.py`` (a few hundred notices) and ``bench_notify.py`` (5,000).
What is checked afterwards (:func:`check`): no notice lost (every email's Message-ID was
received, every letter is on a page of a finished batch), no letter twice, and each email
received twice was received with the same Message-ID, at most once per kill.
"""

from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


@dataclass
class CrashResult:
    """What the runs did and what was found after them."""

    kills: int
    runs: int
    notices: int
    emails_received: int
    emails_twice: int
    emails_lost: int
    letters_twice: int
    letters_lost: int
    other_message_id: int
    seconds: float


def sender_command(case_dir: Path, port: int, letter_batch: int) -> list[str]:
    """``ariane notify send`` as a process of its own."""
    return [sys.executable, "-c", "from ariane.cli import main; main()", "notify", "send",
            str(case_dir), "--smtp", f"127.0.0.1:{port}", "--smtp-security", "none",
            "--rate", "0", "--letter-batch", str(letter_batch), "--quiet"]  # fmt: skip


def kill_and_resume(
    case_dir: Path, port: int, kills: int, seed: int, *, letter_batch: int,
    window: tuple[float, float] = (0.5, 4.0),
) -> tuple[int, int]:  # fmt: skip
    """Start the sender and SIGKILL it ``kills`` times at random moments; then let one run
    finish. Returns (kills done, runs)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    rng = random.Random(seed)
    done = runs = 0
    command = sender_command(case_dir, port, letter_batch)
    while done < kills:
        runs += 1
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)  # fmt: skip
        try:
            process.wait(rng.uniform(*window))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            done += 1
            continue
        if process.returncode != 0:
            raise RuntimeError(f"sender failed: {process.stderr.read().decode()[-300:]}")
        break  # it finished before the kill: everything is sent
    runs += 1
    final = subprocess.run(command, env=env, capture_output=True, check=False)
    if final.returncode != 0:
        raise RuntimeError(f"last sender failed: {final.stderr.decode()[-300:]}")
    return done, runs


def check(
    channels: dict[str, str], received: list[bytes], letter_batches: dict[str, list[str]],
    outbox_message_ids: dict[str, str], kills: int, runs: int, seconds: float,
) -> CrashResult:  # fmt: skip
    """Count losses and repeats against the plan (``channels``: notice id -> channel)."""
    ids = Counter()
    by_recipient: dict[str, set[str]] = {}
    for raw in received:
        message = email.message_from_bytes(raw)
        ids[message["Message-ID"]] += 1
        by_recipient.setdefault(message["To"], set()).add(message["Message-ID"])
    expected = {outbox_message_ids.get(i) for i, c in channels.items() if c == "email"}
    on_pages = Counter(i for batch in letter_batches.values() for i in batch)
    letters = [i for i, c in channels.items() if c == "letter"]
    return CrashResult(
        kills=kills,
        runs=runs,
        notices=len(channels),
        emails_received=len(received),
        emails_twice=sum(n - 1 for n in ids.values() if n > 1),
        emails_lost=sum(1 for m in expected if m is None or ids[m] == 0),
        letters_twice=sum(n - 1 for n in on_pages.values() if n > 1),
        letters_lost=sum(1 for i in letters if on_pages[i] == 0),
        other_message_id=sum(len(m) - 1 for m in by_recipient.values() if len(m) > 1),
        seconds=seconds,
    )


def run(root: Path, emails: int, letters: int, kills: int, seed: int,
        letter_batch: int, window: tuple[float, float] = (0.5, 4.0)) -> CrashResult:  # fmt: skip
    """Plan, kill and resume against a sink, and check; everything under ``root``.

    ``window`` bounds the seconds a sender runs before its kill: a short one leaves work
    for every kill on a fast machine (a sender that finishes early ends the kills)."""
    from sqlalchemy import select

    from ariane.case import Case
    from ariane.notify.sender import batches_of
    from ariane.ops.db import open_database
    from ariane.ops.models import Notice
    from notify_fixtures import synthetic_plan
    from smtp_sink import Running

    case_dir = root / "case"
    channels = synthetic_plan(case_dir, emails, letters)
    started = time.monotonic()
    with Running(root / "received") as sink:
        done, runs = kill_and_resume(
            case_dir, sink.port, kills, seed, letter_batch=letter_batch, window=window
        )
        received = sink.received()
    seconds = time.monotonic() - started
    with Case.open(case_dir) as case:
        batches = {name: m["ids"] for name, m in batches_of(case).manifests()}
        database = open_database(case)
        try:
            with database.sessions() as session:
                rows = session.execute(select(Notice.notice_id, Notice.message_id, Notice.status))
                message_ids = {}
                statuses = Counter()
                for notice_id, message_id, status in rows:
                    statuses[status] += 1
                    if message_id:
                        message_ids[notice_id] = message_id
        finally:
            database.close()
    result = check(channels, received, batches, message_ids, done, runs, seconds)
    if statuses != Counter({"sent": emails, "letter": letters}):
        raise AssertionError(f"outbox statuses after the last run: {dict(statuses)}")
    return result
