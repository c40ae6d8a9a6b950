"""Answers reach only the channel on file: a real SMTP server (aiosmtpd) and the outbox."""

import mailbox
import socket
import subprocess
import sys
import time
from email.header import decode_header, make_header

import pyrage
import pytest
from fastapi.testclient import TestClient

from ariane.selfcheck.app import Settings, create_app
from ariane.selfcheck.index import read_hmac_key
from ariane.selfcheck.limits import Limit, Limits
from ariane.selfcheck.sender import Dispatcher, read_outbox
from ariane.selfcheck.serve import ServeOptions, sender_settings
from selfcheck_fixtures import build

UNLIMITED = Limits(Limit(10**9, 60), Limit(10**9, 60), Limit(10**9, 60))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("selfcheck-smtp"))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(tmp_path):
    """aiosmtpd in its own process, storing what it receives in a Maildir."""
    port = _free_port()
    maildir = tmp_path / "maildir"
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("aiosmtpd did not start")
            time.sleep(0.1)
    yield port, maildir
    server.terminate()
    server.wait(10)


def _received(maildir):
    if not maildir.exists():
        return []
    return list(mailbox.Maildir(str(maildir), create=False))


def test_answers_go_only_to_the_channel_on_file(built, smtp_server, tmp_path):
    port, maildir = smtp_server
    options = ServeOptions(built.index_dir, smtp=f"127.0.0.1:{port}", outbox=tmp_path / "out")
    dispatcher = Dispatcher(sender_settings(options))
    dispatcher.start()
    by_email = built.persons[0]  # email, phone and address on file
    by_nir = built.persons[2]  # email and phone on file
    sms = built.persons[1]  # phone and address, no email
    letter = built.persons[3]  # address only
    nobody = built.persons[-1]  # no contact at all
    typed = "intrus@exemple.org"
    app = create_app(Settings(built.index_dir, read_hmac_key(built.hmac_key), UNLIMITED),
                     dispatcher.submit)  # fmt: skip
    try:
        with TestClient(app) as client:
            for body in (
                {"email": by_email.email},
                # A typed address beside a NIR on file: the answer goes to the address on file.
                {"nir": by_nir.nir, "birth_date": by_nir.birth_date.isoformat(), "email": typed},
                {"email": "personne.404@exemple.fr"},  # a miss
                {"email": typed},  # a typed address that is nobody's
                {"nir": sms.nir, "birth_date": sms.birth_date.isoformat()},
                {"nir": letter.nir, "birth_date": letter.birth_date.isoformat()},
                {"nir": nobody.nir, "birth_date": nobody.birth_date.isoformat()},
            ):
                assert client.post("/check", json=body).status_code == 200
    finally:
        dispatcher.stop()  # the sender finishes every queued job first
    messages = _received(maildir)
    recipients = sorted(m["To"] for m in messages)
    assert recipients == sorted([by_email.email, by_nir.email])
    lab_name, dpo = built.controllers[by_email.controller_id]
    first = next(m for m in messages if m["To"] == by_email.email)
    text = first.get_payload(decode=True).decode()
    assert lab_name in text and dpo in text
    assert by_email.nir not in text and by_email.email not in text
    assert "vos données sont concernées" in str(make_header(decode_header(first["Subject"])))

    identity = pyrage.x25519.Identity.from_str(built.sender_key.read_text().strip())
    texts = read_outbox(tmp_path / "out" / "sms.sealed", identity)
    assert [t["to"] for t in texts] == [sms.phone_e164]
    letters = read_outbox(tmp_path / "out" / "letters.sealed", identity)
    assert [entry["address"] for entry in letters] == [[letter.street, "35000 Rennes"]]
    assert not (tmp_path / "out" / "emails.sealed").exists()  # SMTP took every email
    for path in (tmp_path / "out").iterdir():  # the outbox is sealed too
        content = path.read_bytes()
        assert sms.phone_e164.encode() not in content and b"Lilas" not in content
