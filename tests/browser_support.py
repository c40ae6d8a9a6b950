"""Shared by the browser tests: Debian's Chromium, axe-core, a CLI server on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run"]  # fmt: skip


def require_browser() -> None:
    """Skip (or fail under ARIANE_REQUIRE_SERVICES=1) without Chromium or Playwright."""
    missing = None
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        missing = "Debian's chromium is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("ARIANE_REQUIRE_SERVICES") == "1":
            pytest.fail(missing)
        pytest.skip(missing)


def launched():
    """Debian's Chromium under Playwright, for a module's ``browser`` fixture (a generator)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def start_cli(arguments: list[str], log_path: Path, timeout: float = 120):
    """``ariane ARGUMENTS --port P`` as a real server; (process, url, log handle)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-c", "from ariane.cli import main; main()", *arguments,
         "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log.close()
                pytest.fail(f"{arguments[0]} did not start: " + log_path.read_text())
            time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}", log


def stop(process, log) -> None:
    """Stop a server started by :func:`start_cli`."""
    process.terminate()
    process.wait(30)
    log.close()


def violations(browser, url, action=None, storage_state=None):
    """axe-core's violations on ``url`` (after ``action(page)``), as (rule, targets)."""
    # Playwright injects axe as an inline script: the page's CSP (rightly) forbids that.
    context = browser.new_context(bypass_csp=True, storage_state=storage_state)
    page = context.new_page()
    page.goto(url)
    if action:
        action(page)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    context.close()
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
