"""SMTP connections shared by the notices and the self-check's answers.

One place decides how Ariane talks to a mail server: ``HOST:PORT``, the security
(``starttls``: upgrade and refuse a server that cannot; ``tls``: TLS from the first byte,
port 465; ``none``: plain, for a relay on the same machine only), and authentication
(``ARIANE_SMTP_USER`` / ``ARIANE_SMTP_PASSWORD``, never on the command line where ``ps``
shows it). Errors name the server, never a recipient.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from dataclasses import dataclass

from ariane.errors import ConfigError

SECURITIES = ("starttls", "tls", "none")
#: Seconds a silent server is given before the connection is abandoned.
TIMEOUT = 30.0


def parse_smtp(value: str | None) -> tuple[str, int] | None:
    """``'127.0.0.1:2525'`` -> ``('127.0.0.1', 2525)``."""
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--smtp {value!r}: expected HOST:PORT")
    return host, int(port)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect: server, security, credentials and patience."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = TIMEOUT
    #: CA bundle to trust besides the system's (a private relay's own certificate).
    cafile: str | None = None

    @classmethod
    def from_options(
        cls, smtp: str, security: str = "starttls", timeout: float = TIMEOUT
    ) -> SmtpSettings:
        """Settings from ``--smtp HOST:PORT`` and the environment's credentials."""
        address = parse_smtp(smtp)
        if address is None:
            raise ConfigError("--smtp: give HOST:PORT")
        if security not in SECURITIES:
            raise ConfigError(f"--smtp-security {security}: choose one of {', '.join(SECURITIES)}")
        return cls(
            address[0],
            address[1],
            security,
            os.environ.get("ARIANE_SMTP_USER") or None,
            os.environ.get("ARIANE_SMTP_PASSWORD") or None,
            timeout,
            os.environ.get("ARIANE_SMTP_CAFILE") or None,
        )

    @property
    def where(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, secured and authenticated connection; :class:`ConfigError` when it cannot be."""
    context = ssl.create_default_context(cafile=settings.cafile)
    smtp: smtplib.SMTP | None = None
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        smtp.ehlo()
        if settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise ConfigError(
                    f"--smtp {settings.where}: the server offers no STARTTLS "
                    "(use --smtp-security tls, or none for a relay on this machine)"
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
    except ConfigError:
        _close(smtp)
        raise
    except smtplib.SMTPAuthenticationError:
        _close(smtp)
        raise ConfigError(
            f"--smtp {settings.where}: authentication refused (ARIANE_SMTP_USER/PASSWORD)"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        _close(smtp)
        raise ConfigError(
            f"--smtp {settings.where}: cannot connect ({type(exc).__name__})"
        ) from None
    return smtp


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    with contextlib.suppress(OSError):
        smtp.close()
