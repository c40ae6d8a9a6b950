"""Delivery reports (RFC 3464 DSNs) read back from the sender's mailbox.

``notify send`` asks a server that offers DSN for a report on success and on failure,
naming the notice's id as envelope id. The reports come back to ``--mail-from`` as
``multipart/report; report-type=delivery-status`` messages; this module reads them from an
mbox file, a Maildir or ``.eml`` files (the standard library's :mod:`mailbox` and
:mod:`email`, nothing else), and tells what each one says:

- which notice: the per-message field ``Original-Envelope-Id`` (the notice's id), else the
  ``Message-ID`` of the headers the report returns (``text/rfc822-headers`` or
  ``message/rfc822``), itself fixed per notice in the outbox;
- what happened: the per-recipient ``Action``. ``failed`` wins over anything else a report
  says; ``delivered`` and ``expanded`` (delivered to the address given, then forwarded)
  are a delivery; ``relayed`` (passed to a system that will not report) and ``delayed``
  change nothing.

Nothing of a report is printed or kept: its addresses and diagnostic texts are read only
to be dropped. A message that is not a delivery report, or one that cannot be read, is
counted and skipped.
"""

from __future__ import annotations

import email
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from ariane.errors import ConfigError

#: RFC 3464 actions, and the one a report with several recipients stands for (first wins).
ACTIONS = ("failed", "delivered", "expanded", "relayed", "delayed")
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_HEADER_TYPES = ("text/rfc822-headers", "message/global-headers")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Report:
    """What one delivery report says: which notice (either id may be missing), what happened."""

    envelope_id: str | None
    message_id: str | None
    action: str


class NotAReport(Exception):
    """Mail that is no delivery status notification (an auto-reply, a person's answer)."""


class Malformed(Exception):
    """A delivery status notification that cannot be read (no status part, no action)."""


def messages(sources: list[Path]) -> Iterator[bytes]:
    """The raw messages of each source in turn: mbox file, Maildir, ``.eml`` file or folder."""
    for source in sources:
        path = Path(source)
        if path.is_dir():
            if (path / "cur").is_dir() and (path / "new").is_dir():
                yield from _mailbox(mailbox.Maildir(path, factory=None, create=False), path)
            else:
                for child in sorted(path.iterdir()):
                    if child.is_file() and child.suffix.lower() == ".eml":
                        yield _read(child)
        elif path.is_file():
            with open(path, "rb") as handle:
                head = handle.read(5)
            if head == b"From ":
                yield from _mailbox(mailbox.mbox(path, factory=None, create=False), path)
            else:
                yield _read(path)
        else:
            raise ConfigError(f"notify receipts {path}: no such file or folder")


def _mailbox(box: mailbox.Mailbox, path: Path) -> Iterator[bytes]:
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    except OSError as exc:
        raise ConfigError(f"notify receipts {path}: cannot read it ({exc.strerror})") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"notify receipts {path}: cannot read it ({exc.strerror})") from None


def parse(raw: bytes) -> Report:
    """The report a message holds; :class:`NotAReport` or :class:`Malformed` when none."""
    message = email.message_from_bytes(raw)
    if (
        message.get_content_type() != "multipart/report"
        or str(message.get_param("report-type", "")).lower() != "delivery-status"
    ):
        raise NotAReport
    try:
        return _report(message)
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        # Hostile or broken MIME: one more report that cannot be read, never a traceback.
        raise Malformed(type(exc).__name__) from None


def _report(message: Message) -> Report:
    if not message.is_multipart():
        raise Malformed("no parts")
    parts = [p for p in message.get_payload() if isinstance(p, Message)]
    status = next((p for p in parts if p.get_content_type() in _STATUS_TYPES), None)
    if status is None:
        raise Malformed("no delivery-status part")
    blocks = _blocks(status)
    if len(blocks) < 2:
        raise Malformed("no per-recipient fields")
    actions = {_first_word(b.get("Action")) for b in blocks[1:]}
    action = next((a for a in ACTIONS if a in actions), None)
    if action is None:
        raise Malformed("no known action")
    envelope_id = _xtext(_first_word(blocks[0].get("Original-Envelope-Id"), lower=False))
    return Report(
        envelope_id or None,
        _returned_message_id(parts),
        "delivered" if action == "expanded" else action,
    )


def _blocks(status: Message) -> list[Message]:
    """The groups of fields of a delivery-status part (per message, then per recipient)."""
    payload = status.get_payload()
    if isinstance(payload, list):  # the email package splits message/delivery-status
        return [b for b in payload if isinstance(b, Message)]
    raw = status.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    groups = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    return [HeaderParser().parsestr(group) for group in groups if group.strip()]


def _returned_message_id(parts: list[Message]) -> str | None:
    """The Message-ID of the returned message (its headers, or all of it)."""
    for part in parts[1:]:
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        elif kind in _HEADER_TYPES:
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
            headers = HeaderParser().parsestr(text)
        else:
            continue
        if isinstance(headers, Message) and headers.get("Message-ID"):
            value = str(headers.get("Message-ID")).strip()
            return value if value.startswith("<") else f"<{value.strip('<>')}>"
    return None


def _first_word(value: object, lower: bool = True) -> str:
    word = str(value or "").strip().split(None, 1)
    text = word[0].rstrip(";") if word else ""
    return text.lower() if lower else text


def _xtext(value: str) -> str:
    """An xtext (RFC 3461: ``+HH`` escapes) decoded."""
    return _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
