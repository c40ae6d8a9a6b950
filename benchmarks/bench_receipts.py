"""Delivery reports read per second by ``ariane notify receipts`` (an mbox of Postfix DSNs).

    PYTHONPATH=src python benchmarks/bench_receipts.py [--reports 20000] [--json]

A case holding only a plan of ``--reports`` emails (``notify_fixtures.synthetic_plan``),
all recorded sent; one Postfix-style report per email in one mbox file (one in ten a
failure, the rest deliveries; the returned headers carry the Message-ID), read twice: the
first read moves every notice, the second (a replay) moves none. Wall and CPU time of each.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from notify_fixtures import synthetic_plan  # noqa: E402

REPORT = """From: MAILER-DAEMON@mx1.exemple.fr (Mail Delivery System)
Subject: Successful Mail Delivery Report
To: ne-pas-repondre@labo.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B{n}/mx1.exemple.fr"
Message-Id: <2021030110{n:06d}.3A1B22C0F5@mx1.exemple.fr>

This is a MIME-encapsulated message.

--B{n}/mx1.exemple.fr
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.exemple.fr.

--B{n}/mx1.exemple.fr
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.exemple.fr
X-Postfix-Queue-ID: 3A1B22C0F5
Original-Envelope-Id: {notice_id}
Arrival-Date: Mon,  1 Mar 2021 10:14:58 +0100 (CET)

Final-Recipient: rfc822; p{n}@exemple.fr
Original-Recipient: rfc822;p{n}@exemple.fr
Action: {action}
Status: {status}
Remote-MTA: dns; mail.exemple.fr
Diagnostic-Code: smtp; {status} done

--B{n}/mx1.exemple.fr
Content-Description: Delivered Message Headers
Content-Type: text/rfc822-headers

From: ne-pas-repondre@labo.example
To: p{n}@exemple.fr
Subject: Information importante
Message-ID: <{notice_id}@labo.example>

--B{n}/mx1.exemple.fr--
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from ariane import notify
    from ariane.case import Case
    from ariane.notify import outbox
    from ariane.ops.db import open_database

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.environ["ARIANE_KEY_DIR"] = str(root / "keys")
        channels = synthetic_plan(root / "case", args.reports, 0)
        ids = sorted(channels)
        with Case.open(root / "case") as case:
            database = open_database(case)
            outbox.assign_message_ids(database, ids, "labo.example")
            outbox.record(database, ids, "sent")
            database.close()
        box = mailbox.mbox(root / "reports.mbox")
        box.lock()
        for n, notice_id in enumerate(ids):
            failed = n % 10 == 0
            box.add(
                REPORT.format(
                    n=n,
                    notice_id=notice_id,
                    action="failed" if failed else "delivered",
                    status="5.1.1" if failed else "2.0.0",
                )
            )
        box.flush()
        box.unlock()
        box.close()
        runs = {}
        for name in ("first", "replay"):
            wall, cpu = time.perf_counter(), time.process_time()
            tally = notify.receipts(root / "case", [root / "reports.mbox"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs[name] = {
                "seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "reports_per_second": round(args.reports / wall),
                "counts": tally,
            }
    result = {
        "reports": args.reports,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        **runs,
    }
    if args.json:
        print(json.dumps(result))
        return
    for name, run in runs.items():
        counts = run["counts"]
        print(
            f"{name}: {args.reports:,} reports in {run['seconds']} s "
            f"({run['reports_per_second']:,}/s, CPU {run['cpu_seconds']} s): "
            f"{counts['delivered']:,} delivered, {counts['bounced']:,} bounced, "
            f"{counts['unchanged']:,} unchanged"
        )
    print(f"load average {result['load_average']}")


if __name__ == "__main__":
    main()
