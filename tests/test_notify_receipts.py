"""notify receipts: delivery reports (RFC 3464) read back, notices delivered or bounced.

The reports are built here with the email package as Postfix and Exim write them (their
subjects, texts, fields and parts), around the messages a real SMTP server (aiosmtpd,
offering DSN) accepted from ``notify send``. Expected counts come from which reports were
built, per person of ``notify_fixtures``, never from Ariane's counters.
"""

import email
import json
import mailbox
import shutil
from collections import Counter
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

import pytest
from typer.testing import CliRunner

from ariane import notify, pipeline
from ariane.case import Case
from ariane.cli import app
from ariane.notify.sender import SendOptions
from ariane.smtp import SmtpSettings
from notify_fixtures import build
from smtp_sink import Running

runner = CliRunner()
SENDER = "ne-pas-repondre@labo.example"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("receipts"))


@pytest.fixture
def sent(built, tmp_path, monkeypatch):
    """A copy of the case, planned, approved, its emails accepted by a server offering DSN.

    Returns (case_dir, {recipient: (notice id, raw message as received)}, envelopes).
    """
    monkeypatch.setenv("ARIANE_KEY_DIR", str(built.case_dir.parent / "keys"))
    case_dir = tmp_path / "case"
    shutil.copytree(built.case_dir, case_dir)
    document = notify.plan(case_dir)
    for controller_id in sorted(document["by_controller"]):
        notify.approve_batch(case_dir, controller_id)
    with Running(tmp_path / "mail", "--dsn") as sink:
        options = SendOptions(
            smtp=SmtpSettings.from_options(f"127.0.0.1:{sink.port}", "none"),
            mail_from=SENDER,
            rate=0,
        )
        notify.send(case_dir, options)
        received = sink.received()
        envelopes = sink.envelopes()
    with Case.open(case_dir) as case:
        ids = dict(case.engine().fetch(
            "SELECT email, notice_id FROM notify_notices WHERE channel = 'email'"))  # fmt: skip
    by_recipient = {}
    for raw in received:
        to = email.message_from_bytes(raw)["To"]
        by_recipient[to] = (ids[to], raw)
    return case_dir, by_recipient, envelopes


def _emailed(built):
    return [p for p in built.persons if p.channel == "email"]


# -- reports as the two common MTAs write them ------------------------------------------------


def _headers_of(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n", "\n") + "\n"


def _status_part(per_message: dict, per_recipient: dict) -> MIMEBase:
    part = MIMEBase("message", "delivery-status")
    blocks = []
    for fields in (per_message, per_recipient):
        block = Message()
        for name, value in fields.items():
            block[name] = value
        blocks.append(block)
    part.set_payload(blocks)
    return part


def postfix_report(raw: bytes, action: str, envelope_id: str | None) -> bytes:
    """A Postfix DSN (bounce or success notice) about the message ``raw``, headers only."""
    to = email.message_from_bytes(raw)["To"]
    failed = action == "failed"
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx1.exemple.fr (Mail Delivery System)"
    report["Subject"] = (
        "Undelivered Mail Returned to Sender" if failed else "Successful Mail Delivery Report"
    )
    report["To"] = SENDER
    report["Auto-Submitted"] = "auto-replied"
    report["Date"] = formatdate()
    report["Message-Id"] = "<20210301101500.3A1B22C0F5@mx1.exemple.fr>"
    notification = MIMEText(
        "This is the mail system at host mx1.exemple.fr.\n\n"
        + (
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n\n"
            f"<{to}>: host mail.exemple.fr[192.0.2.25] said: 550 5.1.1\n"
            f"    <{to}>: Recipient address rejected: User unknown (in reply to RCPT TO)\n"
            if failed
            else "Your message was successfully delivered to the destination(s)\n"
            f"listed below.\n\n<{to}>: delivery via mail.exemple.fr[192.0.2.25]:25: 250 2.0.0 Ok\n"
        ),
        "plain",
        "us-ascii",
    )
    notification["Content-Description"] = "Notification"
    report.attach(notification)
    per_message = {
        "Reporting-MTA": "dns; mx1.exemple.fr",
        "X-Postfix-Queue-ID": "3A1B22C0F5",
        "X-Postfix-Sender": f"rfc822; {SENDER}",
    }
    if envelope_id:
        per_message["Original-Envelope-Id"] = envelope_id
    per_message["Arrival-Date"] = "Mon,  1 Mar 2021 10:14:58 +0100 (CET)"
    status = _status_part(
        per_message,
        {
            "Final-Recipient": f"rfc822; {to}",
            "Original-Recipient": f"rfc822;{to}",
            "Action": action,
            "Status": {"failed": "5.1.1", "delayed": "4.4.1"}.get(action, "2.0.0"),
            "Remote-MTA": "dns; mail.exemple.fr",
            "Diagnostic-Code": "smtp; 550 5.1.1 User unknown" if failed else "smtp; 250 2.0.0 Ok",
        },
    )
    status["Content-Description"] = "Delivery report"
    report.attach(status)
    headers = MIMEText(_headers_of(raw), "rfc822-headers", "us-ascii")
    headers["Content-Description"] = (
        "Undelivered Message Headers" if failed else "Delivered Message Headers"
    )
    report.attach(headers)
    return report.as_bytes()


def exim_report(raw: bytes, action: str) -> bytes:
    """An Exim DSN about ``raw``, the whole message returned, no envelope id (a relay
    on the way dropped it): only the returned Message-ID tells which notice."""
    to = email.message_from_bytes(raw)["To"]
    original = email.message_from_bytes(raw)
    failed = action == "failed"
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <Mailer-Daemon@mx2.exemple.net>"
    report["To"] = SENDER
    report["References"] = original["Message-ID"]
    report["Subject"] = (
        "Mail delivery failed: returning message to sender"
        if failed
        else "Delivery Status Notification"
    )
    report["Auto-Submitted"] = "auto-replied"
    report["Message-Id"] = "<E1lGk2q-0003Zt-9B@mx2.exemple.net>"
    report["Date"] = formatdate()
    report.attach(
        MIMEText(
            "This message was created automatically by mail delivery software.\n\n"
            + (
                "A message that you sent could not be delivered to one or more of its\n"
                "recipients. This is a permanent error. The following address(es) failed:\n\n"
                f"  {to}\n    host mail.exemple.net [192.0.2.26]\n"
                "    SMTP error from remote mail server after RCPT TO:\n"
                "    550 5.1.1 User unknown\n"
                if failed
                else "Your message has been successfully delivered to the following "
                f"address(es)\n\n  {to}\n"
            ),
            "plain",
            "us-ascii",
        )
    )
    report.attach(
        _status_part(
            {"Reporting-MTA": "dns; mx2.exemple.net"},
            {
                "Action": action,
                "Final-Recipient": f"rfc822;{to}",
                "Status": "5.0.0" if failed else "2.0.0",
                "Remote-MTA": "dns; mail.exemple.net",
                "Diagnostic-Code": "smtp; 550 5.1.1 User unknown"
                if failed
                else "smtp; 250 OK id=1lGk2q-0003Zt-9B",
            },
        )
    )
    report.attach(MIMEMessage(original))
    return report.as_bytes()


def _not_a_report() -> bytes:
    answer = MIMEText("Je suis absent jusqu'au 15 mars.", "plain", "utf-8")
    answer["From"] = "personne.0@exemple.fr"
    answer["Subject"] = "Réponse automatique"
    return answer.as_bytes()


def _malformed() -> bytes:
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx1.exemple.fr"
    report.attach(MIMEText("The status part is missing.", "plain", "us-ascii"))
    return report.as_bytes()


def _mbox(path, messages):
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.close()
    return path


def _maildir(path, messages):
    box = mailbox.Maildir(path)
    for raw in messages:
        box.add(raw)
    box.close()
    return path


def _by_controller(built, outcomes):
    """Expected counts per controller: ``outcomes`` maps a person's number to a status."""
    counts = {built.lab_id(i): Counter() for i in range(3)}
    for person in built.persons:
        if person.number in outcomes:
            for lab in person.labs:
                counts[built.lab_id(lab)][outcomes[person.number]] += 1
    return counts


# -- the tests -------------------------------------------------------------------------------


def test_the_sender_asks_a_dsn_server_for_reports_naming_each_notice(built, sent):
    _case_dir, by_recipient, envelopes = sent
    assert len(envelopes) == len(by_recipient) == len(_emailed(built))
    # aiosmtpd upper-cases the parameters it reports.
    expected = {notice_id.upper() for notice_id, _raw in by_recipient.values()}
    envids = [o for e in envelopes for o in e["mail"] if o.startswith("ENVID=")]
    assert sorted(envids) == sorted(f"ENVID={i}" for i in expected)
    for envelope in envelopes:
        assert "RET=HDRS" in envelope["mail"]
        assert envelope["rcpt"] == ["NOTIFY=SUCCESS,FAILURE"]
    for _notice_id, raw in by_recipient.values():  # the envelope id is no personal data
        assert b"ENVID" not in raw


def test_reports_from_postfix_and_exim_in_mbox_maildir_and_eml(built, sent, tmp_path):
    case_dir, by_recipient, _ = sent
    people = _emailed(built)
    assert len(people) >= 8
    raw = {p.number: by_recipient[p.email][1] for p in people}
    notice = {p.number: by_recipient[p.email][0] for p in people}
    a, b, c, d, e, f, g = (p.number for p in people[:7])
    mbox = _mbox(
        tmp_path / "bounces.mbox",
        [
            postfix_report(raw[a], "delivered", notice[a]),
            postfix_report(raw[b], "failed", notice[b]),  # a late bounce, after the 250
            _not_a_report(),
            postfix_report(raw[e], "relayed", notice[e]),
        ],
    )
    maildir = _maildir(
        tmp_path / "Maildir",
        [
            exim_report(raw[c], "failed"),
            exim_report(raw[d], "delivered"),
            postfix_report(raw[f], "delayed", notice[f]),
            _malformed(),
        ],
    )
    loose = tmp_path / "loose"
    loose.mkdir()
    unknown = raw[g].replace(notice[g].encode(), b"f" * 32)  # a Message-ID never sent
    (loose / "1.eml").write_bytes(postfix_report(unknown, "failed", "0" * 32))
    (loose / "2.eml").write_bytes(postfix_report(raw[g], "delivered", notice[g]))
    (loose / "notes.txt").write_text("not mail")

    tally = notify.receipts(case_dir, [mbox, maildir, loose])
    assert tally == {
        "messages": 10, "reports": 8, "delivered": 3, "bounced": 2, "letters": 2,
        "relayed": 1, "delayed": 1, "unchanged": 0, "unknown": 1,
        "malformed": 1, "not_reports": 1,
    }  # fmt: skip
    outcomes = {a: "delivered", d: "delivered", g: "delivered", b: "bounced", c: "bounced"}
    outcomes |= {p.number: "sent" for p in people if p.number not in outcomes}
    expected = _by_controller(built, outcomes)
    status = notify.status(case_dir)
    summary = pipeline.summary(case_dir)
    in_summary = {c["controller_id"]: c["notices"] for c in summary["controllers"]}
    for controller_id, counts in expected.items():
        for name in ("delivered", "bounced"):
            assert status["controllers"][controller_id][name] == counts[name], name
            assert in_summary[controller_id][name] == counts[name], name
    # The late bounces' letters wait for the next send (the persons have an address).
    assert status["waiting"] == {"letter": 2}

    # Read again: nothing changes.
    again = notify.receipts(case_dir, [mbox, maildir, loose])
    assert again["unchanged"] == 5 and again["delivered"] == again["bounced"] == 0
    assert again["letters"] == 0 and again["unknown"] == 1
    assert notify.status(case_dir)["controllers"] == status["controllers"]

    outcome = notify.send(case_dir, SendOptions())
    assert outcome.letters == 2 and outcome.emails == 0
    assert notify.status(case_dir)["waiting"] == {}


def test_cli_receipts_prints_counts_only_and_refuses_a_missing_source(built, sent, tmp_path):
    case_dir, by_recipient, _ = sent
    person = _emailed(built)[0]
    notice_id, raw = by_recipient[person.email]
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.eml").write_bytes(postfix_report(raw, "failed", notice_id))
    result = runner.invoke(app, ["notify", "receipts", str(case_dir), str(folder)])
    assert result.exit_code == 0, result.output
    assert "1 bounced" in result.output
    assert "@" not in result.output and person.last_name not in result.output
    replay = runner.invoke(app, ["notify", "receipts", str(case_dir), str(folder), "--json"])
    counts = json.loads(replay.output)
    assert counts["unchanged"] == 1 and counts["bounced"] == 0
    missing = runner.invoke(app, ["notify", "receipts", str(case_dir), str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    audit = (case_dir / "audit.jsonl").read_text()
    assert person.email not in audit and "notify receipts" in audit


def test_a_report_for_an_email_refused_at_send_time_changes_nothing(built, tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY_DIR", str(built.case_dir.parent / "keys"))
    case_dir = tmp_path / "case"
    shutil.copytree(built.case_dir, case_dir)
    document = notify.plan(case_dir)
    for controller_id in sorted(document["by_controller"]):
        notify.approve_batch(case_dir, controller_id)
    refused = _emailed(built)[0]
    with Running(tmp_path / "mail", "--dsn", "--refuse", refused.email) as sink:
        options = SendOptions(
            smtp=SmtpSettings.from_options(f"127.0.0.1:{sink.port}", "none"), rate=0
        )
        assert notify.send(case_dir, options).bounced == 1
    with Case.open(case_dir) as case:
        notice_id = case.engine().fetch(
            "SELECT notice_id FROM notify_notices WHERE email = ?", [refused.email]
        )[0][0]
    # The relay that refused it reports the failure too: already bounced, one letter only.
    raw = (
        f"From: {SENDER}\r\nTo: {refused.email}\r\n"
        f"Message-ID: <{notice_id}@localhost.localdomain>\r\n\r\nBonjour\r\n"
    ).encode()
    report = postfix_report(raw, "failed", None)  # found by its Message-ID
    (tmp_path / "r.eml").write_bytes(report)
    tally = notify.receipts(case_dir, [tmp_path / "r.eml"])
    assert tally["unchanged"] == 1 and tally["letters"] == 0
    assert notify.status(case_dir)["waiting"] == {}


def test_broken_reports_are_counted_never_a_traceback():
    from ariane.notify.dsn import Malformed, NotAReport, parse

    raw = b"From: MAILER-DAEMON@mx1.exemple.fr\r\nMessage-ID: <x@y>\r\n\r\nBonjour\r\n"
    report = postfix_report(raw, "failed", "a" * 32)
    assert parse(report).action == "failed"
    assert parse(report).envelope_id == "a" * 32 and parse(report).message_id == "<x@y>"
    truncated = report[: report.index(b"Action:")]
    broken = [
        truncated,  # cut before the per-recipient fields
        report.replace(b"Action: failed", b"Action: vanished"),
        report.replace(b"message/delivery-status", b"text/plain"),
        b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno parts",
    ]
    for message in broken:
        with pytest.raises(Malformed):
            parse(message)
    for message in (b"", b"\x00\xff" * 100, _not_a_report(), b"Subject: x\r\n\r\nhello"):
        with pytest.raises(NotAReport):
            parse(message)
