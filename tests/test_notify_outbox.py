"""The notices outbox on both backends (SQLite embedded; PostgreSQL, skipped when absent
unless ARIANE_REQUIRE_SERVICES=1): approval gates, leases, reconciliation after a crash."""

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ariane import notify
from ariane.case import Case
from ariane.errors import ConfigError
from ariane.notify import outbox
from ariane.ops.db import open_database
from ariane.ops.models import Notice, utcnow
from ariane.ops.outbox import claim
from notify_fixtures import synthetic_plan
from test_ops import postgres_url, url  # noqa: F401 - fixtures shared with the ops tests


@pytest.fixture
def planned(tmp_path, url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path / "keys"))
    case_dir = tmp_path / "case"
    channels = synthetic_plan(case_dir, 40, 30, database_url=url, approve=False)
    with Case.open(case_dir) as case:
        database = open_database(case, url)
    yield case_dir, database, channels, url
    database.close()


def _statuses(database):
    with database.sessions() as session:
        return dict(session.execute(select(Notice.notice_id, Notice.status)).all())


def _controllers(database):
    with database.sessions() as session:
        return dict(session.execute(select(Notice.notice_id, Notice.controller_ids)).all())


def test_a_notice_is_approved_only_when_every_controller_it_names_approved(planned):
    case_dir, database, channels, _url = planned
    named = _controllers(database)
    assert claim(database, 100, "me", 60) == []  # nothing approved: nothing to claim
    with Case.open(case_dir) as case:
        with pytest.raises(ConfigError, match="no such controller"):
            notify.approve(case, database, "C99", "test")
        notify.approve(case, database, "C00", "test")
    statuses = _statuses(database)
    approved = {i for i, s in statuses.items() if s == "approved"}
    assert approved == {i for i, c in named.items() if c == ["C00"]}
    with Case.open(case_dir) as case:
        notify.approve(case, database, "C01", "user:7")
        notify.approve(case, database, "C02", "test")
    assert set(_statuses(database).values()) == {"approved"}
    with pytest.raises(ConfigError, match="already approved"):
        outbox.load_plan(database, [])
    audit = (case_dir / "audit.jsonl").read_text()
    assert audit.count('"notify approve"') == 3 and '"actor": "user:7"' in audit


def test_two_senders_never_claim_the_same_notice(planned):
    case_dir, database, channels, _url = planned
    with Case.open(case_dir) as case:
        for controller_id in ("C00", "C01", "C02"):
            notify.approve(case, database, controller_id, "test")
    taken: list[list[str]] = [[], [], [], []]

    def sender(k):
        while ids := claim(database, 3, f"sender-{k}", 60):
            taken[k].extend(ids)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken for i in ids]
    assert sorted(every) == sorted(channels)  # each once, none left


def test_reconcile_settles_what_a_dead_sender_left_in_flight(planned):
    case_dir, database, channels, _url = planned
    with Case.open(case_dir) as case:
        for controller_id in ("C00", "C01", "C02"):
            notify.approve(case, database, controller_id, "test")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    owner = f"{outbox.owner_name().split(':')[0]}:{dead.stdout.strip()}:x"
    ids = claim(database, 100, owner, 600)  # a live-looking lease, held by a process gone
    emails = [i for i in ids if channels[i] == "email"]
    letters = [i for i in ids if channels[i] == "letter"]
    outbox.assign_message_ids(database, emails[:5], "labo.example")  # tried: in doubt
    # One letter batch was finished before the crash; the others were not.
    done = dict.fromkeys(letters[:10], "letter")
    # Another host's live lease is not touched.
    with database.write() as session:
        session.execute(update(Notice).where(Notice.notice_id == letters[-1])
                        .values(lease_owner="elsewhere:1:x",
                                lease_until=utcnow() + timedelta(minutes=5)))  # fmt: skip
    found = outbox.reconcile(database, done)
    assert found == {"letters_done": 10, "emails_in_doubt": 5,
                     "released": len(ids) - 10 - 5 - 1}  # fmt: skip
    statuses = _statuses(database)
    assert {statuses[i] for i in letters[:10]} == {"letter"}
    again = claim(database, 1000, "next", 60)
    assert sorted(again) == sorted(set(ids) - set(letters[:10]) - {letters[-1]})
    with database.sessions() as session:
        kept = session.scalars(select(Notice.message_id).where(Notice.notice_id.in_(emails[:5])))
        assert all(m == f"<{i}@labo.example>" for i, m in zip(sorted(emails[:5]), sorted(kept),
                                                              strict=True))  # fmt: skip


def test_counts_per_controller_add_up(planned):
    case_dir, database, channels, _url = planned
    counts = outbox.counts(database)
    named = _controllers(database)
    for controller_id, entry in counts.items():
        assert entry["planned"] == sum(1 for c in named.values() if controller_id in c)
        assert entry["sent"] == entry["letters"] == 0


def test_a_delivery_report_settles_an_email_in_doubt_and_a_late_record_keeps_it(planned):
    case_dir, database, channels, _url = planned
    with Case.open(case_dir) as case:
        for controller_id in ("C00", "C01", "C02"):
            notify.approve(case, database, controller_id, "test")
    emails = sorted(i for i, c in channels.items() if c == "email")
    tried, untried = emails[:3], emails[3]
    outbox.assign_message_ids(database, tried, "labo.example")  # in doubt: maybe accepted
    reports = [
        (tried[0], None, "delivered"),
        (None, f"<{tried[1]}@labo.example>", "failed"),  # by Message-ID alone
        (tried[2], None, "relayed"),
        (untried, None, "delivered"),  # never went out: no report can be about it
    ]
    found = outbox.settle_reports(database, reports, lambda ids: set(ids))
    assert found == {"delivered": 1, "bounced": 1, "letters": 1, "relayed": 1, "unknown": 1}
    outbox.record(database, tried, "sent")  # the sender that took them comes back
    statuses = _statuses(database)
    assert statuses[tried[0]] == "delivered" and statuses[tried[1]] == "bounced"
    assert statuses[tried[2]] == "sent" and statuses[untried] == "approved"
    assert statuses[tried[1] + outbox.FALLBACK_SUFFIX] == "approved"
    again = outbox.settle_reports(database, reports, lambda ids: set(ids))
    assert again == {"unchanged": 2, "relayed": 1, "unknown": 1}
