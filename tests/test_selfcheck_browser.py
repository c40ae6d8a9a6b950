"""The self-check page in Debian's Chromium: works without JavaScript, axe finds nothing."""

import pytest

from browser_support import launched, require_browser, start_cli, stop, violations
from selfcheck_fixtures import build


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``ariane selfcheck serve`` as a real server on a free loopback port."""
    require_browser()
    root = tmp_path_factory.mktemp("selfcheck-browser")
    built = build(root)
    process, url, log = start_cli(["selfcheck", "serve", str(built.index_dir)], root / "serve.log")
    yield url, built, root
    stop(process, log)


@pytest.fixture(scope="module")
def browser():
    yield from launched()


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
    assert {rule for rule, _ in violations(browser, unlabelled)} >= {"html-has-lang", "label"}
    assert violations(browser, url + "/") == []
    assert violations(browser, url + "/", submit_error) == []
    assert violations(browser, url + "/", submit_answer) == []
