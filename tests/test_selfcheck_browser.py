"""The self-check page in Debian's Chromium: works without JavaScript, axe finds nothing."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfcheck_fixtures import build

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run"]  # fmt: skip


def _require_browser():
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``ariane selfcheck serve`` as a real server on a free loopback port."""
    _require_browser()
    root = tmp_path_factory.mktemp("selfcheck-browser")
    built = build(root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - closed after the server stops
    process = subprocess.Popen(
        [sys.executable, "-c", "from ariane.cli import main; main()", "selfcheck", "serve",
         str(built.index_dir), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("selfcheck serve did not start: " + (root / "serve.log").read_text())
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", built, root
    process.terminate()
    process.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_form_works_without_javascript(server, browser):
    url, built, root = server
    person = built.persons[0]
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    page.goto(url + "/")
    assert page.get_attribute("html", "lang") == "fr"
    page.get_by_label("Numéro de sécurité sociale").fill(person.nir)
    page.get_by_label("Date de naissance").fill(person.birth_date.strftime("%d/%m/%Y"))
    page.get_by_role("button", name="Vérifier").click()
    page.wait_for_load_state()
    assert page.url == url + "/check"
    assert "si vos données sont concernées, un message vous est envoyé" in (
        page.locator("main").inner_text().lower()
    )
    # A mistake comes back as the form with what to fix, and the form still works.
    page.goto(url + "/")
    page.get_by_label("Numéro de sécurité sociale").fill(person.nir[:13] + "00")
    page.get_by_label("Date de naissance").fill("1990-02-30")
    page.get_by_role("button", name="Vérifier").click()
    assert "clé" in page.get_by_role("alert").inner_text()
    context.close()
    served = (root / "serve.log").read_text()
    assert person.nir not in served and person.nir[:13] not in served  # nothing typed logged


def _violations(browser, url, action=None):
    # Playwright injects axe as an inline script: the page's CSP (rightly) forbids that.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(url)
    if action:
        action(page)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    context.close()
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]


def test_axe_finds_no_violation(server, browser):
    url, built, _ = server

    def submit_error(page):
        page.get_by_label("Adresse électronique").fill("pas-une-adresse")
        page.get_by_role("button", name="Vérifier").click()
        page.get_by_role("alert").wait_for()

    def submit_answer(page):
        page.get_by_label("Adresse électronique").fill("personne.0@exemple.fr")
        page.get_by_role("button", name="Vérifier").click()
        page.get_by_role("status").wait_for()

    # The harness can fail: a page with an unlabelled field and no language is reported.
    unlabelled = "data:text/html,<title>t</title><input id=x>"
    assert {rule for rule, _ in _violations(browser, unlabelled)} >= {"html-has-lang", "label"}
    assert _violations(browser, url + "/") == []
    assert _violations(browser, url + "/", submit_error) == []
    assert _violations(browser, url + "/", submit_answer) == []
