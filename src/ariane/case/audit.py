"""The case's audit log: append-only JSON lines, each entry holding the hash of the last.

Every command run on a case appends what was done, when, and the SHA-256 of its inputs.
Editing, removing or reordering any entry breaks the chain, and :func:`verify` says where.
The log holds no personal data: commands, file names, digests, counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane.errors import AuditError

GENESIS = "0" * 64


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditReport:
    """Outcome of a verification."""

    entries: int
    head: str


@dataclass(frozen=True)
class Tail:
    """Where the log ended after this process's last append: next seq, last hash, size."""

    seq: int
    head: str
    size: int


def append(
    log: Path,
    command: str,
    arguments: dict[str, Any] | None = None,
    inputs: Iterable[Path] = (),
    outcome: dict[str, Any] | None = None,
    tail: Tail | None = None,
) -> dict[str, Any]:
    """Append one entry to ``log`` and return it.

    The chain is verified before appending, unless ``tail`` says where this process's own
    last append left it and the file has not changed size since (a server appending on
    every page would otherwise read its whole log each time).
    """
    if tail is not None and log.exists() and log.stat().st_size == tail.size:
        previous, seq = tail.head, tail.seq
    elif log.exists():
        report = verify(log)
        previous, seq = report.head, report.entries
    else:
        previous, seq = GENESIS, 0
    entry: dict[str, Any] = {
        "seq": seq,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "arguments": arguments or {},
        "inputs": [{"path": str(p), "sha256": file_sha256(p)} for p in inputs],
        "outcome": outcome or {},
        "prev": previous,
    }
    entry["hash"] = _entry_hash(entry)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
    return entry


def verify(log: Path) -> AuditReport:
    """Check every entry's hash and link; raise :class:`AuditError` naming the first bad line."""
    previous = GENESIS
    count = 0
    for number, line in enumerate(_lines(log), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AuditError(f"{log} line {number}: not a JSON entry") from None
        if not isinstance(entry, dict):
            raise AuditError(f"{log} line {number}: not a JSON object")
        if entry.get("seq") != count:
            raise AuditError(f"{log} line {number}: sequence number out of order")
        if entry.get("prev") != previous:
            raise AuditError(f"{log} line {number}: does not follow the previous entry")
        if entry.get("hash") != _entry_hash(entry):
            raise AuditError(f"{log} line {number}: entry altered (hash mismatch)")
        previous = entry["hash"]
        count += 1
    return AuditReport(entries=count, head=previous)


def _lines(log: Path) -> Iterable[str]:
    try:
        with open(log, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield line
    except FileNotFoundError:
        raise AuditError(f"{log}: audit log not found") from None
    except UnicodeDecodeError:
        raise AuditError(f"{log}: audit log is not UTF-8 text") from None
