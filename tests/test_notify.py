"""notify: plan, words, approval, send (email, letters, SMS), status, on a case run end to end.

Expected counts come from how ``notify_fixtures`` built the leak (channel by ``i % 4``,
every fifth person in two labs), never from Ariane's own counters.
"""

import base64
import datetime as dt
import email
import ipaddress
import json
import re
import shutil
from collections import Counter

import dkim
import pyrage
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from ariane import notify, pipeline
from ariane.case import Case
from ariane.classify.lexicon import categories_in
from ariane.cli import app
from ariane.errors import ConfigError
from ariane.notify.email import DkimKey
from ariane.notify.sender import SendOptions, batches_of
from ariane.smtp import SmtpSettings
from notify_fixtures import COMMENT, build
from smtp_sink import Running

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("notify"))


@pytest.fixture
def case_dir(built, tmp_path, monkeypatch):
    """A fresh copy of the built case (its own outbox and batch files)."""
    monkeypatch.setenv("ARIANE_KEY_DIR", str(built.case_dir.parent / "keys"))
    copy = tmp_path / "case"
    shutil.copytree(built.case_dir, copy)
    return copy


def _expected_channels(built):
    return Counter(p.channel for p in built.persons)


def _notices(case_dir):
    with Case.open(case_dir) as case:
        return case.engine().fetch(
            "SELECT notice_id, controller_ids, channel, email FROM notify_notices"
        )


def _approve_all(case_dir, document):
    for controller_id in sorted(document["by_controller"]):
        notify.approve_batch(case_dir, controller_id)


# -- plan ----------------------------------------------------------------------------------


def test_plan_gives_one_notice_per_person_naming_each_of_its_labs(built, case_dir):
    document = notify.plan(case_dir)
    expected = _expected_channels(built)
    assert document["persons"] == len(built.persons)
    assert document["by_channel"] == {c: expected[c] for c in ("email", "letter", "sms")}
    assert document["unreachable"] == expected[None]
    assert document["notices"] == len(built.persons) - expected[None]
    assert document["several_controllers"] == sum(1 for p in built.persons if len(p.labs) > 1)
    for index in range(3):
        mine = [p for p in built.persons if index in p.labs]
        entry = document["by_controller"][built.lab_id(index)]
        assert entry["persons"] == len(mine)
        assert entry["unreachable"] == sum(1 for p in mine if p.channel is None)
    # Person by person: the labs named are exactly the labs the person was written in.
    by_email = {row[3]: row for row in _notices(case_dir) if row[2] == "email"}
    for person in built.persons:
        if person.channel == "email":
            row = by_email[person.email]
            assert row[1] == sorted(built.lab_id(i) for i in person.labs)


def test_patient_list_overrides_the_leaks_contact_details(built, case_dir, tmp_path):
    unreachable = [p for p in built.persons if p.channel is None and 0 in p.labs][:2]
    listing = tmp_path / "patients.csv"
    listing.write_text(
        "NIR;Courriel;Téléphone\n"
        + "".join(f"{p.nir};nouveau.{p.number}@exemple.org;\n" for p in unreachable)
        + "1234;perdu@exemple.org;\n",  # not a NIR: set aside, counted
        encoding="utf-8",
    )
    document = notify.plan(case_dir, patient_lists={built.lab_id(0): listing})
    expected = _expected_channels(built)
    assert document["patient_lists"] == {
        "rows": 3,
        "matched": 2,
        "quarantined": {"no valid NIR": 1},
    }
    assert document["by_channel"]["email"] == expected["email"] + 2
    assert document["unreachable"] == expected[None] - 2
    emails = {row[3] for row in _notices(case_dir)}
    assert {f"nouveau.{p.number}@exemple.org" for p in unreachable} <= emails


def test_public_communication_drafted_when_many_are_unreachable(built, case_dir):
    document = notify.plan(case_dir)
    # A quarter of each lab's persons is unreachable: above the 10 % share.
    assert sorted(document["public_communications"]) == sorted(built.lab_id(i) for i in range(3))
    text = (case_dir / "notify" / "public" / f"{built.lab_id(0)}.txt").read_text()
    assert "34(3)(c)" in text and not categories_in(text)


# -- words ---------------------------------------------------------------------------------


def test_no_rendered_notice_names_a_special_category(built, case_dir, tmp_path):
    notify.plan(case_dir)
    from ariane.notify.sender import reference
    from ariane.notify.words import Words

    with Case.open(case_dir) as case:
        words = Words(case.engine(), case.directory)
        rows = case.engine().fetch(
            "SELECT notice_id, controller_ids, has_nir FROM notify_notices "
            "WHERE channel IS NOT NULL"
        )
        bodies = [words.body(tuple(c), h, reference(i)) for i, c, h in rows]
        sms = [words.sms(tuple(c), reference(i)) for i, c, _h in rows]
    assert len(bodies) == len(built.persons) - _expected_channels(built)[None]
    for text in bodies + sms:
        assert not categories_in(text)
        assert "VIH" not in text and "grossesse" not in text.lower()
        assert "des données de santé" in text or "données de santé" in text
    letter = bodies[0]
    for item in (
        "Ce qui s'est passé",
        "Ce que cela peut entraîner",
        "Ce que vous pouvez faire",
        "délégué à la protection des données",
        "numéro de sécurité sociale",
        "Le fichier a été retiré",
    ):
        assert item in letter
    assert COMMENT.split(",")[0] not in letter


def test_a_template_naming_a_category_or_missing_a_field_is_refused(built, case_dir, tmp_path):
    naming = tmp_path / "naming.txt.j2"
    naming.write_text("Bonjour, votre sérologie VIH figure dans le fichier. {{ reference }}")
    with pytest.raises(ConfigError, match="special category"):
        notify.plan(case_dir, templates={built.lab_id(0): naming})
    missing = tmp_path / "missing.txt.j2"
    missing.write_text("Bonjour {{ patient_name }}, {{ reference }}")
    with pytest.raises(ConfigError, match="patient_name"):
        notify.plan(case_dir, templates={built.lab_id(1): missing})
    with pytest.raises(ConfigError, match="no such controller"):
        notify.plan(case_dir, templates={"LAB99": missing})


# -- approval ------------------------------------------------------------------------------


def test_nothing_leaves_before_approval_and_unknown_controller_is_refused(built, case_dir):
    document = notify.plan(case_dir)
    outcome = notify.send(case_dir, SendOptions())
    assert (outcome.letters, outcome.sms, outcome.emails) == (0, 0, 0)
    assert not (case_dir / "notify" / "batches").exists()
    result = runner.invoke(app, ["notify", "approve", str(case_dir), "--controller", "LAB99"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --controller LAB99: no such controller in this case"
    ]
    # One lab approves: only the notices naming that lab alone may leave.
    first = built.lab_id(0)
    approved = notify.approve_batch(case_dir, first)
    only_first = [p for p in built.persons if p.labs == (0,) and p.channel]
    assert approved["approved_now"] == len(only_first)
    assert notify.approve_batch(case_dir, first)["approved_now"] == 0  # twice: no-op
    outcome = notify.send(case_dir, SendOptions())
    assert outcome.letters + outcome.sms == sum(1 for p in only_first if p.channel != "email")
    _approve_all(case_dir, document)
    audit = (case_dir / "audit.jsonl").read_text()
    assert audit.count('"notify approve"') == 1 + 1 + 3
    assert '"actor": "cli"' in audit


# -- send ----------------------------------------------------------------------------------


def _self_signed(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _dkim_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return pem, record


def test_send_over_starttls_with_auth_and_dkim_then_hand_over(
    built, case_dir, tmp_path, monkeypatch
):
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("ARIANE_SMTP_CAFILE", str(cert))
    monkeypatch.setenv("ARIANE_SMTP_USER", "ariane")
    monkeypatch.setenv("ARIANE_SMTP_PASSWORD", "s3cret")
    pem, record = _dkim_key()
    document = notify.plan(case_dir)
    _approve_all(case_dir, document)
    expected = _expected_channels(built)
    identity = pyrage.x25519.Identity.generate()
    with Running(
        tmp_path / "mail", "--tls", str(cert), str(key), "--auth", "ariane:s3cret"
    ) as sink:
        options = SendOptions(
            smtp=SmtpSettings.from_options(f"127.0.0.1:{sink.port}", "starttls", 10),
            mail_from="Laboratoires <notices@labo.example>",
            dkim=DkimKey("sel1", "labo.example", pem),
            rate=50,
        )
        outcome = notify.send(
            case_dir,
            options,
            hand_over=tmp_path / "printer",
            encrypt=lambda b: pyrage.encrypt(b, [identity.to_public()]),
        )
        received = sink.received()
    assert (outcome.emails, outcome.letters, outcome.sms) == (
        expected["email"],
        expected["letter"],
        expected["sms"],
    )
    assert sorted(email.message_from_bytes(r)["To"] for r in received) == sorted(
        p.email for p in built.persons if p.channel == "email"
    )

    def dns(name, timeout=5):
        return record if name == b"sel1._domainkey.labo.example." else None

    for raw in received:
        assert dkim.verify(raw, dnsfunc=dns)
        assert not dkim.verify(raw.replace(b"Bonjour", b"Bonsoir"), dnsfunc=dns)
    ids = {email.message_from_bytes(r)["Message-ID"] for r in received}
    assert len(ids) == len(received) and all(i.endswith("@labo.example>") for i in ids)

    # Letters: one page per notice, for the printer only encrypted, with an index.
    files = sorted((tmp_path / "printer").iterdir())
    pdfs = [f for f in files if f.name.startswith("letters-")]
    index = [f for f in files if f.name.startswith("index-")]
    assert len(pdfs) == 1 and len(index) == 1
    pdf = pyrage.decrypt(pdfs[0].read_bytes(), [identity])
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == expected["letter"]
    rows = pyrage.decrypt(index[0].read_bytes(), [identity]).decode().splitlines()
    assert len(rows) == 1 + expected["letter"]
    assert [r.split(",")[1] for r in rows[1:]] == [str(n) for n in range(1, len(rows))]
    for path in files:  # nothing in clear for the printer
        assert b"rue des Lilas" not in path.read_bytes()
    for path in (case_dir / "notify" / "batches").iterdir():  # nor in the case
        assert b"rue des Lilas" not in path.read_bytes() and b"Lilas" not in path.read_bytes()

    status = notify.status(case_dir)
    totals = Counter()
    for counts in status["controllers"].values():
        totals.update(counts)
    assert status["waiting"] == {}
    summary = pipeline.summary(case_dir)
    first = next(c for c in summary["controllers"] if c["controller_id"] == built.lab_id(0))
    mine = [p for p in built.persons if 0 in p.labs]
    assert first["notices"]["letters"] == sum(1 for p in mine if p.channel == "letter")
    assert first["notices"]["sent"] == sum(1 for p in mine if p.channel in ("email", "sms"))
    # No name, address or email of a person anywhere in the audit log or the outbox.
    audit = (case_dir / "audit.jsonl").read_text()
    outbox_bytes = (case_dir / "ops.sqlite").read_bytes()
    for person in built.persons:
        for value in (person.email, person.street, person.nir):
            if value:
                assert value not in audit and value.encode() not in outbox_bytes
    # A second send sends nothing again.
    again = notify.send(case_dir, SendOptions())
    assert (again.emails, again.letters, again.sms) == (0, 0, 0)


def test_a_refused_recipient_bounces_to_a_letter(built, case_dir, tmp_path):
    document = notify.plan(case_dir)
    _approve_all(case_dir, document)
    refused = next(p for p in built.persons if p.channel == "email")  # has an address too
    expected = _expected_channels(built)
    with Running(tmp_path / "mail", "--refuse", refused.email) as sink:
        options = SendOptions(
            smtp=SmtpSettings.from_options(f"127.0.0.1:{sink.port}", "none"), rate=0
        )
        outcome = notify.send(case_dir, options)
        received = sink.received()
    assert outcome.bounced == 1
    assert len(received) == expected["email"] - 1
    assert outcome.letters == expected["letter"] + 1
    status = notify.status(case_dir)
    assert sum(c["bounced"] for c in status["controllers"].values()) >= 1
    assert status["waiting"] == {}


def _send_cli(case_dir, port, *extra):
    arguments = ["notify", "send", str(case_dir), "--smtp", f"127.0.0.1:{port}"]
    return runner.invoke(app, [*arguments, "--smtp-security", "none", *extra])


def test_a_hanging_or_absent_server_is_a_clear_error_and_nothing_is_lost(built, case_dir, tmp_path):
    document = notify.plan(case_dir)
    _approve_all(case_dir, document)
    expected = _expected_channels(built)
    with Running(None, "--hang") as hanging:
        result = _send_cli(case_dir, hanging.port, "--smtp-timeout", "1")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --smtp 127.0.0.1:")
    assert "@" not in result.output  # no address in the message
    status = notify.status(case_dir)
    assert status["waiting"] == {"email": expected["email"]}  # nothing lost, nothing sent
    from smtp_sink import free_port

    result = _send_cli(case_dir, free_port())
    assert result.exit_code == 2 and "cannot connect" in result.output
    with Running(tmp_path / "mail") as sink:
        result = _send_cli(case_dir, sink.port, "--rate", "0", "--json")
        received = sink.received()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["emails"] == expected["email"]
    assert len(received) == expected["email"]  # each once, after the failures
    # The first run (whose SMTP server hung) sent the letters and SMS already: none twice.
    with Case.open(case_dir) as case:
        pages = Counter(i for _n, m in batches_of(case).manifests() for i in m["ids"])
    assert sum(pages.values()) == expected["letter"] + expected["sms"]
    assert max(pages.values()) == 1


def test_starttls_is_required_unless_told_otherwise(built, case_dir, tmp_path):
    document = notify.plan(case_dir)
    _approve_all(case_dir, document)
    with Running(tmp_path / "mail") as sink:  # a server without STARTTLS
        options = SendOptions(smtp=SmtpSettings.from_options(f"127.0.0.1:{sink.port}"))
        with pytest.raises(ConfigError, match="STARTTLS"):
            notify.send(case_dir, options)
        assert sink.received() == []


def test_cli_plan_and_status_print_counts_only(built, case_dir):
    before = runner.invoke(app, ["notify", "approve", str(case_dir), "--controller",
                                 built.lab_id(0)])  # fmt: skip
    assert before.exit_code == 4 and "notify plan" in before.output  # nothing planned yet
    planned = runner.invoke(app, ["notify", "plan", str(case_dir), "--json"])
    assert planned.exit_code == 0, planned.output
    document = json.loads(planned.output)
    assert document["persons"] == len(built.persons)
    bad = runner.invoke(app, ["notify", "plan", str(case_dir), "--controller-patients",
                              f"LAB99={case_dir / 'none.csv'}"])  # fmt: skip
    assert bad.exit_code == 2 and bad.output.startswith("error: --controller-patients LAB99")
    approved = runner.invoke(app, ["notify", "approve", str(case_dir), "--controller",
                                   built.lab_id(1)])  # fmt: skip
    assert approved.exit_code == 0 and "notices ready to send" in approved.output
    status = runner.invoke(app, ["notify", "status", str(case_dir), "--json"])
    counts = json.loads(status.output)["controllers"]
    alone = [p for p in built.persons if p.labs == (1,) and p.channel]
    assert counts[built.lab_id(1)]["approved"] == len(alone)
    table = runner.invoke(app, ["notify", "status", str(case_dir)])
    assert table.exit_code == 0 and built.lab_id(2) in table.output
    for output in (planned.output, status.output, table.output):
        for person in built.persons:
            assert person.last_name not in output and person.nir not in output
    fixed = runner.invoke(app, ["notify", "plan", str(case_dir), "--json"])
    assert fixed.exit_code == 2 and "the plan is fixed" in fixed.output
    again = json.loads(runner.invoke(app, ["notify", "status", str(case_dir), "--json"]).output)
    assert again["batch"] == document["batch"] and again["controllers"] == counts


def test_a_letter_longer_than_one_page_is_refused():
    from ariane.notify.letters import Letter, render_letters

    def letter(paragraphs):
        body = "\n\n".join(["Bonjour,"] + ["Un paragraphe de la lettre. " * 12] * paragraphs)
        return Letter("n1", ["Laboratoire"], ["NOM Prénom", "1 rue", "35000 Rennes"], "R", body)

    pdf = render_letters([letter(3), letter(3)], dt.date(2021, 3, 1))
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 2
    with pytest.raises(ConfigError, match="more than one page"):
        render_letters([letter(3), letter(60)], dt.date(2021, 3, 1))
