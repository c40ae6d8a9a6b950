"""``ariane serve DIR``: open the case and its operational database, run the web application.

Loopback only unless told the server is behind TLS (a reverse proxy that terminates
HTTPS): session cookies then carry ``Secure``. Uvicorn's access log is off: a URL and a
client address beside a time are more than this server should keep.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from ariane.errors import ConfigError
from ariane.websafe import run_server

LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``serve`` was told."""

    case_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    database: str | None = None
    behind_tls: bool = False
    memory_limit: str | None = None


def check_host(host: str, behind_tls: bool) -> None:
    """Refuse a host other than loopback unless the server is behind TLS."""
    if behind_tls or host in LOOPBACK_NAMES:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"--host {host}: not a loopback address; serve it behind a TLS proxy and add "
            "--behind-tls (the login and personal data must never travel in clear)"
        )


def serve(options: ServeOptions) -> None:
    """Run the web application until interrupted."""
    from ariane.case import Case
    from ariane.ops.db import open_database
    from ariane.serve.app import Settings, create_app
    from ariane.serve.casedata import CaseData

    check_host(options.host, options.behind_tls)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("ariane.serve")
    with Case.open(options.case_dir, memory_limit=options.memory_limit) as case:
        database = open_database(case, options.database)
        try:
            data = CaseData(case)
            app = create_app(data, database, Settings(behind_tls=options.behind_tls))
            case.record(
                "serve",
                {"host": options.host, "port": options.port, "database": database.backend},
            )
            log.info("serving the case on http://%s:%d", options.host, options.port)
            run_server(app, options.host, options.port)
        finally:
            database.close()
