"""``ariane serve`` in Debian's Chromium: log in with the second factor, browse, fill facts,
search, export; htmx works under the CSP (no violation reported); axe finds nothing."""

import json

import pyotp
import pyrage
import pytest
from typer.testing import CliRunner

from ariane.cli import app
from browser_support import launched, require_browser, start_cli, stop, violations
from serve_fixtures import build_case

PASSPHRASE = "une phrase assez longue"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A case, a controller's user made by ``ariane users add --json``, the server running."""
    require_browser()
    root = tmp_path_factory.mktemp("serve-browser")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("ARIANE_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    leak = build_case(root / "case", records=300, controllers=3)
    users = {}
    for email, role, controller in [
        ("cert@example.org", "responder", None),
        ("dpo@lab.example", "controller", leak.controllers[0]),
    ]:
        extra = ["--controller", controller] if controller else []
        result = CliRunner().invoke(
            app, ["users", "add", str(root / "case"), email, "--role", role, *extra, "--json"]
        )
        assert result.exit_code == 0, result.output
        users[role] = json.loads(result.stdout)
    process, url, log = start_cli(["serve", str(root / "case")], root / "serve.log")
    yield url, leak, users, root
    stop(process, log)
    monkeypatch.undo()


@pytest.fixture(scope="module")
def browser():
    yield from launched()


def _log_in(page, url, user, step=0):
    page.goto(url + "/login")
    page.get_by_label("Adresse électronique").fill(user["email"])
    page.get_by_label("Mot de passe").fill(user["password"])
    totp = pyotp.TOTP(user["totp_secret"])
    import time

    page.get_by_label("Code à usage unique").fill(totp.at(time.time() + step * totp.interval))
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def test_a_controller_logs_in_fills_facts_searches_and_exports(served, browser, tmp_path):
    url, leak, users, root = served
    mine = leak.controllers[0]
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else 0)
    _log_in(page, url, users["controller"])
    assert page.url == f"{url}/controllers/{mine}"
    assert page.get_attribute("html", "lang") == "fr"
    # The persons list comes in by htmx, when asked for (each view is audited).
    page.get_by_role("link", name="Afficher la liste des personnes").click()
    page.locator("#liste-personnes table").wait_for()
    assert page.url == f"{url}/controllers/{mine}"
    assert "personne(s)" in page.locator("#liste-personnes caption").inner_text()
    # Facts: the same code as `ariane facts set`.
    page.get_by_label("Référence CNIL").fill("CNIL-2021-0042")
    page.get_by_role("button", name="Enregistrer les faits").click()
    page.get_by_role("status").wait_for()
    assert "1 fait(s) enregistré(s)" in page.get_by_role("status").inner_text()
    assert page.get_by_label("Référence CNIL").input_value() == "CNIL-2021-0042"
    # Search by htmx: the term goes in the POST body, never in the address.
    page.get_by_role("link", name="Afficher la liste des personnes").click()
    page.locator("#liste-personnes table").wait_for()
    first_name = page.locator("#liste-personnes tbody tr td").nth(1).inner_text()
    page.get_by_label("Rechercher (nom, prénom, identifiant, NIR, courriel ou téléphone)").fill(
        first_name
    )
    page.get_by_role("button", name="Rechercher").click()
    page.locator("#liste-personnes caption", has_text="trouvée").wait_for()
    assert first_name in page.locator("#liste-personnes").inner_text()
    assert first_name not in page.url
    # Export: an age file only the passphrase opens.
    page.get_by_label("ou phrase secrète (12 caractères au moins)").fill(PASSPHRASE)
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger l'export chiffré").click()
    saved = tmp_path / "export.age"
    download.value.save_as(saved)
    plain = pyrage.passphrase.decrypt(saved.read_bytes(), PASSPHRASE).decode()
    assert plain.startswith("person_id,last_name")
    # Another lab's page does not exist for this user.
    answer = page.goto(f"{url}/controllers/{leak.controllers[1]}")
    assert answer.status == 404
    assert csp_errors == []
    context.close()
    served_log = (root / "serve.log").read_text()
    assert first_name not in served_log


def test_axe_finds_no_violation_on_any_page(served, browser):
    url, leak, users, _ = served
    assert violations(browser, url + "/login") == []
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, url, users["responder"], step=1)
    state = context.storage_state()
    context.close()
    for path in ["/", "/controllers", f"/controllers/{leak.controllers[1]}", "/columns", "/audit"]:
        found = violations(
            browser,
            url + path,
            lambda p: p.wait_for_load_state("networkidle"),
            storage_state=state,
        )
        assert found == [], path
