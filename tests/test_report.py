"""Report: the files written, valid HTML, PDFs that render, drafts, and no personal data."""

import json
import re
import shutil
import subprocess
import zipfile

import html5lib
import pyarrow as pa
import pytest

from ariane import assess, report
from ariane.case import Case
from ariane.report import charts, figures
from ariane.report import map as departement_map
from test_assess_inputs import MARKER, add_aware_at, build

NEEDS_POPPLER = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdftoppm, pdftotext) not installed",
)
FACTS = """
[breach]
discovered_how = "signalement d'un journaliste"
measures_taken = "fichier retiré ; mots de passe changés"

[organisation]
name = "Éditeur de logiciels SA"
siren = "552100554"

[controllers.LAB01]
legal_representative = "Directrice du laboratoire"
contact_email = "dpo-lab01@example.invalid"
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One small case through assess and report (PDFs included), shared by the tests."""
    folder = tmp_path_factory.mktemp("report")
    facts = folder / "facts.toml"
    facts.write_text(FACTS, encoding="utf-8")
    with Case.ephemeral() as case:
        engine = case.engine()
        leak = build(engine, records=300, controllers=3, seed=11)
        # A registry name with markup: it must come out escaped.
        engine.execute(
            "UPDATE attribute_controllers SET name = 'Labo <b>A&B</b>' "
            "WHERE controller_id = 'LAB03'"
        )
        add_aware_at(engine, "2021-02-23T10:00:00+01:00")
        assess.assess(engine, facts)
        paths = report.write_reports(engine, folder / "out", pdf_workers=2)
        duties = {
            row[0]: row[1:]
            for row in engine.fetch(
                "SELECT controller_id, persons, records FROM assess_controllers"
            )
        }
        # Persons of each lab with a special-category mention, straight from the inputs.
        mentioned = dict(
            engine.fetch(
                "SELECT a.controller_id, count(DISTINCT r.person_id) FROM classify_mentions m "
                "JOIN resolve_records r USING (source_id, _record) "
                "JOIN attribute_records a USING (source_id, _record) "
                "WHERE r.person_id IS NOT NULL GROUP BY 1"
            )
        )
        duties = {k: (*v, mentioned.get(k, 0)) for k, v in duties.items()}
    return leak, folder / "out", paths, duties


def test_every_report_file_is_written(written):
    leak, out, paths, _ = written
    expected = {out / name for name in ("index.html", "index.pdf")}
    expected |= {out / name for name in ("other_bodies.html", "other_bodies.pdf")}
    expected |= {out / name for name in ("controllers.csv", "controllers.xlsx")}
    for controller_id in leak.controllers:
        folder = out / "controllers" / controller_id
        expected |= {folder / f"notification.{ext}" for ext in ("html", "pdf", "json")}
    assert set(paths) == expected
    assert all(p.stat().st_size > 0 for p in paths)


def test_html_is_valid_and_escaped(written):
    _, out, paths, _ = written
    parser = html5lib.HTMLParser(strict=True)
    for path in paths:
        if path.suffix == ".html":
            parser.parse(path.read_text(encoding="utf-8"))  # raises on any parse error
    lab3 = (out / "controllers" / "LAB03" / "notification.html").read_text(encoding="utf-8")
    assert "<b>A&B</b>" not in lab3
    assert "Labo &lt;b&gt;A&amp;B&lt;/b&gt;" in lab3


def test_no_personal_data_in_any_report_file(written):
    leak, _, paths, _ = written
    assert len(leak.secrets) > 100
    for path in paths:
        if path.suffix == ".pdf":
            if shutil.which("pdftotext") is None:
                continue
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
            ).stdout
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                text = "".join(book.read(n).decode("utf-8") for n in book.namelist())
        else:
            text = path.read_text(encoding="utf-8")
        assert MARKER not in text.upper(), path
        found = [secret for secret in leak.secrets if secret in text]
        assert found == [], path


@NEEDS_POPPLER
def test_pdfs_render_with_their_headings(written, tmp_path):
    _, out, paths, _ = written
    headings = {
        "index.pdf": [
            "Rapport d'incident",
            "Gravité pour les personnes",
            "Répartition",
            "Responsables de traitement et obligations",
        ],
        "other_bodies.pdf": ["Agence régionale de santé", "ANSSI", "Dépôt de plainte"],
        "notification.pdf": [
            "Projet de notification",
            "Type de notification",
            "Organisme responsable du traitement",
            "Mesures",
        ],
    }
    for path in (p for p in paths if p.suffix == ".pdf"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "20",
                "-f",
                "1",
                "-l",
                "1",
                str(path),
                str(tmp_path / f"{path.parent.name}-{path.stem}"),
            ],
            check=True,
            capture_output=True,
        )
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        # pdftotext may render the apostrophe as a typographic one.
        text = text.replace("\u2019", "'")
        for heading in headings[path.name]:
            assert heading in text, (path, heading)
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) == len([p for p in paths if p.suffix == ".pdf"])
    assert all(png.stat().st_size > 1_000 for png in pngs)


def test_notification_draft_is_filled_from_counts_and_facts(written):
    leak, out, _, duties = written
    lab1 = json.loads((out / "controllers" / "LAB01" / "notification.json").read_text())
    lab2 = json.loads((out / "controllers" / "LAB02" / "notification.json").read_text())
    sections = lab1["sections"]
    assert sections["persons"]["persons"] == duties["LAB01"][0]
    assert sections["data"]["records"] == duties["LAB01"][1]
    assert sections["controller"]["legal_representative"] == "Directrice du laboratoire"
    assert sections["controller"]["contact_email"] == "dpo-lab01@example.invalid"
    assert sections["processor"]["name"] == "Éditeur de logiciels SA"
    assert sections["timeline"]["discovered_how"] == "signalement d'un journaliste"
    assert "nir" in sections["data"]["categories"]
    # Nobody said whether the data was encrypted or the act malicious: unknown, not "no".
    assert sections["data"]["encrypted"] is None
    assert sections["nature"]["malicious"] is None
    assert sections["persons"]["cross_border"] is None
    assert {"data.encrypted", "nature.malicious", "persons.cross_border"} <= set(
        lab1["to_complete"]
    )
    assert "controller.legal_representative" not in lab1["to_complete"]
    assert "controller.legal_representative" in lab2["to_complete"]
    assert lab2["sections"]["controller"]["contact_email"] == "dpo@lab2.example"  # registry
    assert "timeline.started_at" in lab1["to_complete"]
    assert sections["timeline"]["started_at"] is None
    assert sections["timeline"]["aware_at"] == "2021-02-23T10:00:00+01:00"
    # The processor has not told LAB01 yet: its own 72 hours have not started.
    assert lab1["deadline"] is None and lab1["overdue"] is False
    assert lab1["notification_type"] == "initial" and lab1["initial_notification"] is None
    assert set(lab1["labels"]) == set(sections)
    explanation = sections["consequences"]["severity_explanation"]
    assert [line[:3] for line in explanation] == ["DPC", "EI ", "CB ", "SE "]
    bands = sections["consequences"]["persons_by_band"]
    assert sum(bands.values()) == duties["LAB01"][0]
    assert sum(f["persons"] for f in sections["consequences"]["factors"]) <= duties["LAB01"][0]
    persons, _, mentioned = duties["LAB01"]
    assert mentioned > 0  # the fixture mentions categories
    assert sections["consequences"]["special_share"] == round(mentioned / persons, 4)
    assert lab1["provenance"]["report_version"] == 1


def test_index_has_the_credited_map_and_the_links(written):
    leak, out, _, _ = written
    index = (out / "index.html").read_text(encoding="utf-8")
    assert departement_map.CREDIT.replace("'", "&#39;") in index
    # Every département once, and the 3 controllers' départements again, outlined on top.
    assert index.count("<path") == len(departement_map.codes()) + 3
    for controller_id in leak.controllers:
        assert f'href="controllers/{controller_id}/notification.html"' in index


def test_controller_folders_are_safe_and_distinct():
    folders = report.controller_folders(["../etc", "a/b", "a_b", "", "LAB01"])
    assert folders == {
        "../etc": "etc",
        "a/b": "a_b",
        "a_b": "a_b_2",
        "": "controller",
        "LAB01": "LAB01",
    }


def test_map_colours_by_persons():
    svg, legend = departement_map.departement_map({"35": 1000, "29": 1}, {"35"})
    assert legend[0].low == 1 and legend[-1].high == 1000
    assert f'fill="{legend[-1].colour}"' in svg and f'fill="{legend[0].colour}"' in svg
    assert 'stroke="#1a1a1a"' in svg


def test_bar_chart_scales_and_escapes():
    svg = charts.bar_chart([("a<b", 10), ("c", 5), ("d", 0)], title="t&t")
    assert "a&lt;b" in svg and "t&amp;t" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([0-9.]+)"', str(svg))]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert charts.format_count(1234567) == "1\u202f234\u202f567"


def test_reports_without_pdf_and_without_awareness(tmp_path):
    with Case.ephemeral() as case:
        engine = case.engine()
        build(engine, records=50, controllers=2, seed=3)
        engine.append(
            "classify_mentions",
            pa.table(
                {
                    "source_id": pa.array([1], pa.int32()),
                    "_record": pa.array([1], pa.int64()),
                    "column_name": ["commentaire"],
                    "category": ["hiv"],
                }
            ),
        )
        assess.assess(engine)
        paths = report.write_reports(engine, tmp_path, pdf=False)
    assert not [p for p in paths if p.suffix == ".pdf"]
    draft = json.loads((tmp_path / "controllers" / "LAB01" / "notification.json").read_text())
    assert draft["deadline"] is None
    assert "timeline.aware_at" in draft["to_complete"]
    assert "à compléter" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_pdfs_in_process_and_worker_failures_are_reported(tmp_path):
    from ariane.errors import ConfigError
    from ariane.report.pdf import PdfQueue

    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body><h1>Titre</h1></body></html>", encoding="utf-8")
    local = PdfQueue(1)
    local.submit(page, tmp_path / "local.pdf")
    assert local.finish() == [tmp_path / "local.pdf"]
    assert (tmp_path / "local.pdf").read_bytes().startswith(b"%PDF")

    workers = PdfQueue(2)
    workers.submit(page, tmp_path / "one.pdf")
    workers.submit(tmp_path / "missing.html", tmp_path / "two.pdf")
    with pytest.raises(ConfigError, match="PDF rendering failed: FileNotFoundError"):
        workers.finish()
    assert (tmp_path / "one.pdf").exists()


def test_reports_need_the_assess_stage(tmp_path):
    from ariane.errors import StageNotBuiltError

    with Case.ephemeral() as case, pytest.raises(StageNotBuiltError, match="assess"):
        report.write_reports(case.engine(), tmp_path)


def test_a_person_at_two_labs_is_one_person_to_notify_and_two_notices():
    with Case.ephemeral() as case:
        engine = case.engine()
        build(engine, records=200, controllers=2, seed=5, duplicate_rate=0.0)
        add_aware_at(engine, "2021-02-23T10:00:00+01:00")
        assess.assess(engine)
        before = figures.collect(engine)
        notices_before = sum(c.persons_to_notify for c in before.controllers)
        assert before.persons_to_notify == notices_before  # everyone at one lab
        # Give one notified person of LAB01 a second record at LAB02 (same exposure).
        person, source_id, record = engine.fetch(
            "SELECT e.person_id, e.source_id, e._record FROM assess_exposure e "
            "JOIN assess_persons p USING (person_id) "
            "WHERE e.controller_id = 'LAB01' AND p.band IN ('high', 'very_high') LIMIT 1"
        )[0]
        engine.execute(
            "INSERT INTO assess_exposure SELECT source_id, _record + 1000000, person_id, "
            "'LAB02', exposure FROM assess_exposure WHERE source_id = ? AND _record = ?",
            [source_id, record],
        )
        pairs = engine.fetch(
            "SELECT count(*) FROM (SELECT DISTINCT e.controller_id, e.person_id "
            "FROM assess_exposure e JOIN assess_persons p USING (person_id) "
            "WHERE p.band IN ('high', 'very_high') AND e.controller_id IS NOT NULL)"
        )[0][0]
        assert pairs == notices_before + 1  # one more (lab, person) notice...
        after = figures.collect(engine)
        assert after.persons_to_notify == before.persons_to_notify  # ...but the same person
        assert person is not None


def test_other_bodies_page_groups_controllers_by_region(written):
    leak, out, _, duties = written
    page = (out / "other_bodies.html").read_text(encoding="utf-8")
    assert "L.1111-8-2" in page and "323-1" in page
    for controller_id in leak.controllers:
        if duties[controller_id][0]:
            assert f"({controller_id})" in page
    assert MARKER not in page.upper()
