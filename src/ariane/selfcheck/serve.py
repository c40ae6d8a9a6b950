"""``selfcheck serve``: the web service and its sender process, run together under uvicorn.

The web process reads the index's digests and the HMAC key; the sender process (started
here, stopped when the server stops) alone reads the sender key. Uvicorn's access log is
off: a URL or a client address beside a time is already more than this service should keep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ariane.errors import ConfigError
from ariane.selfcheck.index import hmac_key_path, read_hmac_key, read_manifest, sender_key_path
from ariane.selfcheck.limits import Limits, RedisLimiter
from ariane.selfcheck.sender import Dispatcher, SenderSettings, load_identity
from ariane.smtp import parse_smtp
from ariane.websafe import run_server


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``selfcheck serve`` was told."""

    index_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    smtp: str | None = None
    mail_from: str = "ne-pas-repondre@localhost"
    hmac_key: Path | None = None
    sender_key: Path | None = None
    outbox: Path | None = None
    limits: Limits = field(default_factory=Limits)


def sender_settings(options: ServeOptions) -> SenderSettings:
    """The sender's settings, with the default places of its key and outbox."""
    index_dir = options.index_dir
    return SenderSettings(
        index_dir=index_dir,
        sender_key=options.sender_key or sender_key_path(index_dir),
        outbox=options.outbox or index_dir.with_name(index_dir.name + ".outbox"),
        smtp=parse_smtp(options.smtp),
        mail_from=options.mail_from,
    )


def serve(options: ServeOptions) -> None:
    """Run the self-check service until interrupted."""
    from ariane.selfcheck.app import Settings, create_app

    manifest = read_manifest(options.index_dir)
    key = read_hmac_key(options.hmac_key or hmac_key_path(options.index_dir))
    senders = sender_settings(options)
    load_identity(senders.sender_key)  # fail now, not in the sender process, on a bad key
    if options.outbox is not None and options.outbox.resolve().is_relative_to(
        options.index_dir.resolve()
    ):
        raise ConfigError(f"{options.outbox}: the outbox must be outside the index directory")
    if options.redis_url:
        RedisLimiter.check_reachable(options.redis_url)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(options.index_dir, key, options.limits, options.redis_url)
    dispatcher = Dispatcher(senders)
    app = create_app(settings, dispatcher.submit, on_shutdown=dispatcher.stop)
    dispatcher.start()
    logging.getLogger("ariane.selfcheck").info(
        "self-check over %d entries on http://%s:%d",
        manifest["entries"],
        options.host,
        options.port,
    )
    try:
        run_server(app, options.host, options.port)
    finally:
        dispatcher.stop()
