"""A real SMTP server for the notify tests: aiosmtpd, run as its own process by the tests.

    python tests/smtp_sink.py --port N --store DIR [--tls CERT KEY] [--auth USER:PASSWORD]
                              [--refuse SUBSTRING] [--hang] [--dsn]

Every message accepted is written to ``DIR/<n>.eml`` and flushed to disk *before* the
server answers 250: what the folder holds is exactly what the server accepted. ``--refuse``
answers 550 to any recipient containing SUBSTRING (a bounce); ``--hang`` accepts TCP
connections and never says a word (a server that hangs). ``--dsn`` offers the DSN extension
(RFC 3461), which aiosmtpd does not implement: its parameters (ENVID, RET, NOTIFY, ORCPT)
are accepted, and the MAIL and RCPT parameters of each message are written beside it, in
``DIR/<n>.envelope.json`` (aiosmtpd upper-cases them).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DSN_PARAMETERS = ("ENVID", "RET", "NOTIFY", "ORCPT")


class Sink:
    """Accept and store; refuse recipients that match."""

    def __init__(self, store: Path, refuse: str | None, dsn: bool = False) -> None:
        self.store = store
        self.refuse = refuse
        self.dsn = dsn
        self.numbers = itertools.count()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        session.host_name = hostname
        if self.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:  # fmt: skip
        if self.refuse and self.refuse in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        path = self.store / f"{next(self.numbers):07d}-{os.getpid()}.eml"
        if self.dsn:
            options = {"mail": envelope.mail_options, "rcpt": envelope.rcpt_options}
            path.with_suffix(".envelope.json").write_text(json.dumps(options))
        with open(path.with_suffix(".tmp"), "wb") as handle:
            handle.write(envelope.original_content or envelope.content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(path.with_suffix(".tmp"), path)
        return "250 2.0.0 accepted"


class DsnSMTP(SMTP):
    """aiosmtpd's server, taking the DSN parameters it would refuse (555) as read."""

    def _getparams(self, params: Any) -> Any:
        found = super()._getparams(params)
        if found is not None:
            for name in DSN_PARAMETERS:
                found.pop(name, None)
        return found


class DsnController(Controller):
    def factory(self) -> SMTP:
        return DsnSMTP(self.handler, **self.SMTP_kwargs)


def _hang(port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    held = []
    while True:
        connection, _ = listener.accept()
        held.append(connection)  # never answered, never closed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--tls", nargs=2)
    parser.add_argument("--auth")
    parser.add_argument("--refuse")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--dsn", action="store_true")
    args = parser.parse_args()
    if args.hang:
        _hang(args.port)
        return
    args.store.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.tls)
        options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")

        def check(server: Any, session: Any, envelope: Any, mechanism: str,
                  data: Any) -> AuthResult:  # fmt: skip
            good = isinstance(data, LoginPassword) and (
                data.login.decode(), data.password.decode()) == (user, password)  # fmt: skip
            return AuthResult(success=good, handled=False)

        options.update(authenticator=check, auth_required=True)
    kind = DsnController if args.dsn else Controller
    controller = kind(Sink(args.store, args.refuse, args.dsn), hostname="127.0.0.1",
                      port=args.port, **options)  # fmt: skip
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set():
        time.sleep(0.2)
    controller.stop()


if __name__ == "__main__":
    main()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Running:
    """The sink in its own process: ``with Running(store, ...) as sink: sink.port``."""

    def __init__(self, store: Path | None, *options: str) -> None:
        self.store = store
        self.options = options
        self.port = free_port()
        self.process: Any = None

    def __enter__(self) -> Running:
        import subprocess
        import sys

        command = [sys.executable, str(Path(__file__)), "--port", str(self.port), *self.options]
        if self.store is not None:
            command += ["--store", str(self.store)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except Exception:  # noqa: BLE001 - a sink that will not stop is killed
            self.process.kill()

    def received(self) -> list[bytes]:
        """Every message accepted, in the order accepted."""
        if self.store is None or not self.store.exists():
            return []
        return [path.read_bytes() for path in sorted(self.store.glob("*.eml"))]

    def envelopes(self) -> list[dict[str, list[str]]]:
        """The MAIL and RCPT parameters of every message accepted (``--dsn`` only)."""
        if self.store is None or not self.store.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.store.glob("*.envelope.json"))]
