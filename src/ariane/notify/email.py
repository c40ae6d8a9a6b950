"""Notices by email: one message per notice, DKIM-signed, at a steady pace.

The Message-ID of a notice is fixed in the outbox before its first attempt and reused for
any resend: receivers (and people) can tell a resend after a crash from a new message.
A refusal for good (5xx to the recipient or to the message) is a bounce: the notice falls
back to a letter. When the server offers DSN (RFC 3461), each message asks for a delivery
report on success and on failure (``NOTIFY=SUCCESS,FAILURE``), with the headers only
(``RET=HDRS``) and the notice's id as envelope id (``ENVID``: a keyed hash, no personal
data); ``ariane notify receipts`` reads the reports (:mod:`~ariane.notify.dsn`).
A temporary failure (4xx, a server that hangs past the timeout, a dropped connection)
stops the run with a clear error; the notices not sent stay approved, to go at the next
``notify send``.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate
from pathlib import Path

from ariane.errors import ConfigError
from ariane.smtp import SmtpSettings, connect

#: Headers the DKIM signature covers (RFC 6376 5.4.1's recommended set, as present).
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                  b"content-type", b"content-transfer-encoding")  # fmt: skip


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_CRLF = compat32.clone(linesep="\r\n")


class Bounced(Exception):
    """The server refused this message for good (5xx)."""


class Stalled(Exception):
    """The server failed for now (4xx, timeout, dropped connection): stop, retry later."""


@dataclass(frozen=True)
class DkimKey:
    """A DKIM signing key: selector, domain (the From's) and the PEM private key."""

    selector: str
    domain: str
    private_key: bytes

    @classmethod
    def load(cls, path: Path, selector: str, domain: str) -> DkimKey:
        """Read the PEM key; a clear error when it is missing or not a key."""
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"--dkim-key {path}: cannot read it ({exc.strerror})") from None
        if b"PRIVATE KEY" not in pem:
            raise ConfigError(f"--dkim-key {path}: not a PEM private key")
        return cls(selector, domain, pem)

    def sign(self, message: bytes) -> bytes:
        """The ``DKIM-Signature:`` header line for ``message`` (relaxed/relaxed)."""
        import dkim

        try:
            return bytes(
                dkim.sign(
                    message,
                    self.selector.encode(),
                    self.domain.encode(),
                    self.private_key,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=list(SIGNED_HEADERS),
                )
            )
        except dkim.DKIMException as exc:
            raise ConfigError(f"--dkim-key: cannot sign ({type(exc).__name__})") from None


def message(notice_to: str, mail_from: str, subject: str, body: str, message_id: str) -> bytes:
    """The notice as an email (plain text, UTF-8, quoted-printable), CRLF line ends."""
    # The compat32 policy writes headers as given (Ariane builds them), about ten times
    # faster than the default policy's parsing registry.
    email = MIMEText(body, "plain", _UTF8)  # type: ignore[arg-type]  # a Charset works too
    email["From"] = mail_from
    email["To"] = notice_to
    email["Subject"] = Header(subject, "utf-8").encode()
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id
    return email.as_bytes(policy=_CRLF)


def domain_of(mail_from: str) -> str:
    """The domain of the sending address (the Message-ID's and DKIM's)."""
    address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        raise ConfigError(f"--mail-from {mail_from!r}: not an email address")
    return domain.lower()


def dsn_options(envelope_id: str | None) -> tuple[list[str], list[str]]:
    """The MAIL and RCPT parameters asking for delivery reports (RFC 3461)."""
    if not envelope_id:
        return [], []
    plain = envelope_id.replace("-", "")
    if not (plain.isascii() and plain.isalnum()) or len(envelope_id) > 100:
        raise ValueError("an envelope id is letters, digits and '-', 100 at most")
    return [f"ENVID={envelope_id}", "RET=HDRS"], ["NOTIFY=SUCCESS,FAILURE"]


class Mailer:
    """One SMTP connection, reopened as needed, sending at most ``rate`` messages a second."""

    def __init__(
        self, settings: SmtpSettings, mail_from: str, dkim_key: DkimKey | None, rate: float
    ) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self.dkim_key = dkim_key
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._smtp: smtplib.SMTP | None = None
        self._dsn = False

    def send(self, recipient: str, raw: bytes, envelope_id: str | None = None) -> None:
        """Hand one message to the server; :class:`Bounced` or :class:`Stalled` when not.

        ``envelope_id`` (letters, digits and ``-`` only) asks a server that offers DSN for
        delivery reports naming it.
        """
        if self.dkim_key is not None:
            raw = self.dkim_key.sign(raw) + raw
        self._pace()
        if self._smtp is None:
            self._smtp = connect(self.settings)
            self._dsn = self._smtp.has_extn("dsn")
        envelope_from = self.mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
        mail_options, rcpt_options = dsn_options(envelope_id) if self._dsn else ([], [])
        try:
            refused = self._smtp.sendmail(
                envelope_from, [recipient], raw, mail_options, rcpt_options
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            self._after_refusal()
            if all(code >= 500 for code in codes):
                raise Bounced from None
            raise Stalled(f"recipient deferred ({codes[0]})") from None
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            raise ConfigError(
                f"--smtp {self.settings.where}: the server refuses the sender "
                f"--mail-from ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            self._after_refusal()
            if exc.smtp_code >= 500:
                raise Bounced from None
            raise Stalled(f"server answered {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.close()
            raise Stalled(f"{type(exc).__name__}") from None
        if refused:  # only one recipient: refused means raised above; kept for clarity
            raise Bounced

    def _after_refusal(self) -> None:
        # A refused transaction leaves the session usable after RSET; if not, reconnect.
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def _pace(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if self._next > now:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval

    def close(self) -> None:
        """Say goodbye to the server (or just drop the connection)."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None
