"""What reading the lab exchange formats costs: HL7 v2, HPRIM Santé, FHIR Bundle and NDJSON.

    PYTHONPATH=src:tests .venv/bin/python benchmarks/bench_exchange.py [--patients 10000]

The messages are the tests' synthetic ones (``tests/hl7_messages.py``). For each format:
the file's size, the records read, and the CPU seconds of ``ariane.read.load`` (process time
of every thread, best of 2, so that a shared machine's load weighs less), per record; for
HL7 also the share of that spent in python-hl7's ``parse``, measured apart on the same
messages, and a message's records made with the reader's hand splitter and with python-hl7.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import hl7

from ariane.case import Case
from ariane.read import load
from ariane.read.hl7v2 import message_rows
from hl7_messages import hl7_log, hl7_message, people
from test_read_fhir import _observation, _patient
from test_read_hprim import _sante


def _files(folder: Path, count: int) -> dict[str, Path]:
    persons = people(count)
    paths = {
        "HL7 v2 log": folder / "log.hl7",
        "HPRIM Santé": folder / "results.hpr",
        "FHIR Bundle": folder / "bundle.json",
        "FHIR NDJSON": folder / "Observation.ndjson",
    }
    paths["HL7 v2 log"].write_bytes(hl7_log(persons)[0])
    paths["HPRIM Santé"].write_bytes(_sante(persons).encode("cp1252"))
    entries = [
        {"fullUrl": f"urn:uuid:u{p.number}", "resource": _patient(p, f"p{p.number}")}
        for p in persons
    ]
    entries += [
        {"resource": _observation(f"o{p.number}", f"urn:uuid:u{p.number}", p.hiv)} for p in persons
    ]
    paths["FHIR Bundle"].write_text(json.dumps({"resourceType": "Bundle", "entry": entries}))
    lines = [
        json.dumps(_observation(f"o{p.number}", f"Patient/p{p.number}", p.hiv)) for p in persons
    ]
    paths["FHIR NDJSON"].write_text("\n".join(lines) + "\n")
    return paths


def _cpu(path: Path) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(2):
        with Case.ephemeral() as case:
            start = time.process_time()
            summary = load(case.engine(), [path])
            best = min(best, time.process_time() - start)
            rows = summary.rows
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"Python {sys.version.split()[0]}, {args.patients:,} patients"
    )
    print("| format | size | records | CPU s | per record |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in _files(Path(folder), args.patients).items():
            seconds, rows = _cpu(path)
            size = path.stat().st_size / 2**20
            per = 1e6 * seconds / rows
            print(f"| {name} | {size:.1f} MiB | {rows:,} | {seconds:.2f} | {per:.0f} us |")
    messages = ["\r".join(s for s in hl7_message(p, 0, "X").split("\r") if s) for p in people(2000)]
    start = time.process_time()
    for message in messages:
        hl7.parse(message)
    per = (time.process_time() - start) / len(messages)
    print(f"python-hl7 parse alone: {1e6 * per:.0f} us per message")
    # A message's records, split by hand (the reader) and through python-hl7 (the oracle).
    segments = [message.split("\r") for message in messages]
    for library in (False, True):
        start = time.process_time()
        for texts in segments:
            message_rows(texts, library=library)
        per = (time.process_time() - start) / len(segments)
        how = "python-hl7" if library else "split by hand"
        print(f"message_rows, {how}: {1e6 * per:.0f} us per message")


if __name__ == "__main__":
    main()
