"""The sender: a separate process that alone holds the private key and answers people.

The web process hands it entry numbers through a queue and returns at once; for a miss it
hands the decoy entry, which the sender decrypts like any other and then drops. The sender
works in ticks (one second by default): the jobs of a tick are answered together, in random
order, so its bursts of work (which slow the web process a little on a busy machine) come
with the clock, not right after a hit. The sender
answers only to the channel on file for the entry, in this order: the email address (by
SMTP, or into the outbox when no SMTP server is given), else the phone (an SMS to send,
into the outbox), else the postal address (a letter to print, into the outbox). A person
with none of these is pointed to the lab's DPO by the page itself.

Outbox files (``sms.sealed``, ``letters.sealed``, ``emails.sealed``) hold one base64 age
ciphertext per line, sealed to the sender's own key: :func:`read_outbox` opens them.
"""

from __future__ import annotations

import base64
import json
import logging
import multiprocessing
import os
import queue
import random
import secrets
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pyrage

from ariane.errors import ConfigError
from ariane.selfcheck.index import ContactStore, Controller, read_manifest

log = logging.getLogger("ariane.selfcheck")

#: Jobs waiting beyond this are dropped (the rate limits keep the queue far below it).
QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class SenderSettings:
    """Where the sender finds its key and index, and where answers go."""

    index_dir: Path
    sender_key: Path
    outbox: Path
    smtp: tuple[str, int] | None = None
    mail_from: str = "ne-pas-repondre@localhost"
    batch_seconds: float = 1.0


def load_identity(path: Path) -> pyrage.x25519.Identity:
    """The sender's age identity from its key file."""
    try:
        return pyrage.x25519.Identity.from_str(path.read_text().strip())
    except OSError:
        raise ConfigError(f"{path}: sender key file not found") from None
    except Exception:  # noqa: BLE001 - pyrage raises its own untyped errors
        raise ConfigError(f"{path}: not an age identity") from None


class Dispatcher:
    """The web side of the queue: start the sender process, submit jobs, stop it."""

    def __init__(self, settings: SenderSettings) -> None:
        context = multiprocessing.get_context("spawn")
        self._queue: Any = context.Queue(QUEUE_SIZE)
        self._process = context.Process(
            target=run, args=(self._queue, settings), name="ariane-selfcheck-sender", daemon=True
        )
        self.dropped = 0

    def start(self) -> None:
        """Start the sender process."""
        self._process.start()

    def submit(self, entries: list[int]) -> None:
        """Hand a job over without waiting (the same call for a hit and for a miss)."""
        try:
            self._queue.put_nowait(entries)
        except queue.Full:
            self.dropped += 1

    def stop(self, timeout: float = 30.0) -> None:
        """Let the sender finish the jobs queued, then stop it (once; later calls do nothing)."""
        if self._process.pid is None:
            return
        if self._process.is_alive():
            self._queue.put(None)
            self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._queue.close()
        self._queue.join_thread()


def run(jobs: Any, settings: SenderSettings) -> None:
    """The sender process: answer each job until told to stop (``None``)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    identity = load_identity(settings.sender_key)
    store = ContactStore(settings.index_dir)
    controllers = {
        c["controller_id"]: Controller(**c)
        for c in read_manifest(settings.index_dir)["controllers"]
    }
    settings.outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    outbox = Outbox(settings.outbox, identity.to_public())
    parent = os.getppid()
    shuffle = random.SystemRandom().shuffle
    stopping = False
    while not stopping:
        batch, stopping = _collect(jobs, settings.batch_seconds)
        if not batch and os.getppid() != parent:  # the web process died without stopping us
            return
        # Answered together, in random order, at the end of the tick: the sender's busy
        # moments follow the clock, not the moment a hit came in.
        shuffle(batch)
        for entry in (entry for job in batch for entry in job):
            document = json.loads(pyrage.decrypt(store.sealed(entry), [identity]))
            if "decoy" in document:
                continue
            try:
                answer(document, controllers, settings, outbox)
            except (OSError, smtplib.SMTPException) as exc:
                # Never the address: only that one answer failed, and why in general terms.
                log.warning("an answer could not be delivered (%s)", type(exc).__name__)


def _collect(jobs: Any, seconds: float) -> tuple[list[list[int]], bool]:
    """The jobs queued during one tick; and whether the stop signal came."""
    batch: list[list[int]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            job = jobs.get(timeout=left)
        except queue.Empty:
            break
        if job is None:
            return batch, True
        batch.append(job)
    return batch, False


class Outbox:
    """Append-only files of sealed lines, one per answer to hand to a gateway or printer."""

    def __init__(self, folder: Path, recipient: pyrage.x25519.Recipient) -> None:
        self.folder = folder
        self._recipient = recipient

    def append(self, channel: str, document: dict[str, Any]) -> None:
        """Seal ``document`` and append it to ``<channel>.sealed``."""
        sealed = pyrage.encrypt(
            json.dumps(document, ensure_ascii=False).encode(), [self._recipient]
        )
        with open(self.folder / f"{channel}.sealed", "a", encoding="ascii") as handle:
            handle.write(base64.b64encode(sealed).decode() + "\n")


def read_outbox(path: Path, identity: pyrage.x25519.Identity) -> list[dict[str, Any]]:
    """Open an outbox file with the sender's identity."""
    if not path.exists():
        return []
    return [
        json.loads(pyrage.decrypt(base64.b64decode(line), [identity]))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def answer(
    document: dict[str, Any],
    controllers: dict[str, Controller],
    settings: SenderSettings,
    outbox: Outbox,
) -> str | None:
    """Answer one matching entry on its channel on file; return the channel used."""
    labs = [controllers[c] for c in document.get("controllers", []) if c in controllers]
    reference = secrets.token_hex(4).upper()
    if document.get("email"):
        message = email_message(document["email"], labs, reference, settings.mail_from)
        if settings.smtp is None:
            outbox.append("emails", {"to": document["email"], "message": message.as_string()})
        else:
            host, port = settings.smtp
            with smtplib.SMTP(host, port, timeout=30) as smtp:
                if smtp.has_extn("starttls"):
                    smtp.starttls()
                smtp.send_message(message)
        return "email"
    if document.get("phone"):
        outbox.append("sms", {"to": document["phone"], "text": sms_text(labs, reference)})
        return "sms"
    if document.get("address"):
        outbox.append(
            "letters",
            {"address": document["address"], "text": letter_text(labs, reference)},
        )
        return "letter"
    return None


def _labs_lines(labs: list[Controller]) -> list[str]:
    if not labs:
        return ["- le laboratoire n'est pas encore identifié ; il vous écrira dès qu'il le sera."]
    return [
        f"- {lab.name}"
        + (f" ; délégué à la protection des données : {lab.dpo_email}" if lab.dpo_email else "")
        for lab in labs
    ]


def letter_text(labs: list[Controller], reference: str) -> str:
    """The answer, in French plain language (email and letter)."""
    return "\n".join(
        [
            "Bonjour,",
            "",
            "Une vérification a été demandée avec des informations qui correspondent aux "
            "vôtres. Vos données figurent dans le fichier de laboratoires d'analyses qui a "
            "été diffusé sans autorisation. Le ou les laboratoires qui détiennent vos "
            "données :",
            *_labs_lines(labs),
            "",
            "Ce message vous est adressé aux coordonnées que votre laboratoire détient. Nous "
            "ne vous demanderons jamais votre numéro de sécurité sociale, vos codes ni un "
            "paiement : méfiez-vous de tout message qui le ferait en citant cette fuite.",
            "Si vous n'avez pas demandé cette vérification, vous n'avez rien à faire.",
            "Pour toute question, écrivez au délégué à la protection des données de votre "
            f"laboratoire en citant la référence {reference}.",
        ]
    )


def email_message(to: str, labs: list[Controller], reference: str, sender: str) -> EmailMessage:
    """The answer by email, to the address on file."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Fuite de données de laboratoires : vos données sont concernées"
    message.set_content(letter_text(labs, reference))
    return message


def sms_text(labs: list[Controller], reference: str) -> str:
    """The answer by SMS (short: the lab and the reference)."""
    names = ", ".join(lab.name for lab in labs) or "votre laboratoire"
    return (
        f"Vos données figurent dans la fuite de données de laboratoires ({names}). "
        f"Questions : DPO du laboratoire, référence {reference}. "
        "Nous ne demandons jamais de code ni de paiement."
    )
