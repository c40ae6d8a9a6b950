"""Write the incident report and each controller's regulator notification draft.

Public entry point: :func:`write_reports`. Reads the tables of every earlier stage (through
:mod:`ariane.report.figures`, which lets only counts and categories out) and writes, under
the case's ``report/`` folder::

    index.html, index.pdf                          the incident report
    other_bodies.html, other_bodies.pdf            drafts for the ARS, ANSSI, a complaint
    controllers.csv, controllers.xlsx              each controller's figures
    controllers/<controller_id>/notification.{html,pdf,json}

The case's ``report`` command writes each version in its own folder, ``report/vN``
(:mod:`ariane.report.versions`); a later version's drafts are complementary notifications.

Reports are in French: they go to French controllers and to the CNIL. Reports hold counts
and categories, never a person's data.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from ariane.assess import assumptions, circumstances_of, enisa
from ariane.assess.facts import DEFAULT_ZONE, parse_instant
from ariane.display import finalize, json_text
from ariane.errors import StageNotBuiltError
from ariane.progress import SILENT, Progress
from ariane.report import charts, notification, tables, versions
from ariane.report import map as departement_map
from ariane.report.figures import CaseFigures, ControllerFigures, collect
from ariane.report.versions import Edition

if TYPE_CHECKING:
    from ariane.engine import Engine
    from ariane.report.pdf import PdfQueue

__all__ = ["Edition", "schema", "write_reports"]


def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped with Ariane: ``notification`` or ``summary``."""
    from importlib.resources import files

    text = files("ariane.report").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_reports(
    engine: Engine,
    out_dir: Path,
    progress: Progress = SILENT,
    *,
    pdf: bool = True,
    pdf_workers: int | None = None,
    edition: Edition | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Write every report file; return their paths.

    ``pdf=False`` writes only HTML and JSON; ``pdf_workers`` processes render the PDFs
    (default: one per CPU, at most four; 1 renders in this process). ``edition`` says
    which version this is and what it follows (default: a first version, no case);
    ``now`` is the moment deadlines are judged at (default: the current time).
    """
    edition = edition or Edition()
    out_dir = Path(out_dir)
    if not engine.has_table("assess_controllers"):
        raise StageNotBuiltError("reports need the assess stage: run it first")
    pdfs = None
    if pdf:
        from ariane.report.pdf import PdfQueue, default_workers

        # Started first, so that the workers load WeasyPrint while the figures are counted.
        pdfs = PdfQueue(pdf_workers if pdf_workers is not None else default_workers())
    try:
        written = _write_documents(engine, out_dir, progress, pdfs, edition, now)
        if pdfs is not None:
            with progress.task("Rendering PDF reports") as task:
                written += pdfs.finish()
                task.advance()
    finally:
        if pdfs is not None:
            pdfs.close()
    return written


def _write_documents(
    engine: Engine,
    out_dir: Path,
    progress: Progress,
    pdfs: PdfQueue | None,
    edition: Edition,
    now: datetime | None,
) -> list[Path]:
    """Write the HTML, JSON and table files, queue their PDFs, keep the version's snapshot."""
    figures = collect(engine, now)
    environment = _environment()
    provenance = edition.provenance(figures.generated_at)
    context = {**_common_context(figures), "provenance": provenance}
    written: list[Path] = []
    folders = controller_folders([c.controller_id for c in figures.controllers])
    with progress.task("Writing reports", total=len(figures.controllers) + 1) as task:
        out_dir.mkdir(parents=True, exist_ok=True)
        links = {cid: f"controllers/{folder}/notification.html" for cid, folder in folders.items()}
        html = environment.get_template("index.html.j2").render(
            **context, **_index_context(figures), links=links
        )
        written.append(_write_html(out_dir / "index.html", html, pdfs))
        html = environment.get_template("other_bodies.html.j2").render(
            **context,
            by_region=_by_region(figures),
            aware_at=_zoned(figures.facts.aware_at()),
            to_complete_html="« à compléter »",
        )
        written.append(_write_html(out_dir / "other_bodies.html", html, pdfs))
        task.advance()
        template = environment.get_template("notification.html.j2")
        for controller in figures.controllers:
            folder = out_dir / "controllers" / folders[controller.controller_id]
            folder.mkdir(parents=True, exist_ok=True)
            draft = _draft(figures, controller, edition)
            document = {**draft.as_json(), "provenance": provenance}
            json_path = folder / "notification.json"
            json_path.write_text(
                json_text(json.dumps(document, ensure_ascii=False, indent=2)) + "\n",
                encoding="utf-8",
            )
            written.append(json_path)
            html = template.render(
                **context,
                c=controller,
                draft=draft,
                display=notification.display,
                missing_labels=[f.label for s in draft.sections for f in s.fields if f.missing],
            )
            written.append(_write_html(folder / "notification.html", html, pdfs))
            task.advance()
        written += tables.write_tables(figures, out_dir, provenance)
    versions.keep_version(engine, edition, figures)
    return written


def _draft(
    figures: CaseFigures, controller: ControllerFigures, edition: Edition
) -> notification.Draft:
    """The controller's draft: initial, or complementary to its first version."""
    first = edition.initial_of(controller.controller_id)
    if first is None:
        return notification.build(figures, controller)
    own = figures.facts.controller(controller.controller_id)
    initial = {
        "version": first.version,
        "cnil_reference": own.cnil_reference or None,
        "notified_at": own.notified_at or None,
    }
    changes = versions.changes_since(first, figures, controller.controller_id)
    return notification.build(figures, controller, initial=initial, changes=changes)


def controller_folders(controller_ids: list[str]) -> dict[str, str]:
    """A safe, distinct folder name for each controller id (ids come from a registry file)."""
    folders: dict[str, str] = {}
    taken: set[str] = set()
    for controller_id in controller_ids:
        base = _UNSAFE.sub("_", controller_id).strip("._") or "controller"
        name, number = base, 1
        while name.lower() in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name.lower())
        folders[controller_id] = name
    return folders


def _write_html(path: Path, html: str, pdfs: PdfQueue | None) -> Path:
    path.write_text(html, encoding="utf-8")
    if pdfs is not None:
        pdfs.submit(path, path.with_suffix(".pdf"))
    return path


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("ariane.report", "templates"),
        autoescape=True,
        # Names from the registry or the data: no control character reaches the file.
        finalize=finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["n"] = charts.format_count
    return environment


def _french_time(moment: datetime | None) -> str:
    """« 26/02/2021 10:00 » in the moment's own offset (French time for Ariane's clock)."""
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


def _offset(moment: datetime | None) -> str:
    """« UTC+01:00 »: the offset the time was given in."""
    return f"UTC{moment.isoformat()[-6:]}" if moment else ""


def _zoned(moment: datetime | None) -> str:
    """« 23/02/2021 10:00 (UTC+01:00) »."""
    return f"{_french_time(moment)} ({_offset(moment)})" if moment else ""


def _common_context(figures: CaseFigures) -> dict[str, Any]:
    return {
        "f": figures,
        "generated": _french_time(figures.generated_at.astimezone(DEFAULT_ZONE)),
        "band_names": enisa.BAND_NAMES,
        "to_complete": notification.TO_COMPLETE,
        "cb_text": enisa.cb(circumstances_of(figures.facts))[1],
        "assumed": [_ASSUMED_NAMES[name] for name in assumptions(figures.facts)],
        "clock_rows": {c.controller_id: _clock_row(c) for c in figures.controllers},
    }


#: What grading assumed, in French, for a fact nobody stated.
_ASSUMED_NAMES = {
    "confidentiality": "données accessibles à un nombre inconnu de destinataires",
    "integrity": "pas de perte d'intégrité",
    "availability": "pas de perte de disponibilité",
    "malicious": "acte malveillant",
    "encrypted": "données non chiffrées",
}


def _clock_row(controller: ControllerFigures) -> dict[str, str]:
    """A controller's clock as the report's table shows it."""
    clock = controller.clock
    if clock is None or not controller.persons:
        return {"informed": "", "deadline": "", "state": "", "css": ""}
    if not controller.notify_regulator:
        state, css = "pas de notification requise", ""
    elif clock.notified_at is not None:
        state = "notifiée" + (" hors délai" if clock.late else "")
        css = "late" if clock.late else "done"
    elif clock.deadline is None:
        state, css = "responsable pas encore informé", "waiting"
    elif clock.overdue:
        state, css = "échéance dépassée", "late"
    else:
        state, css = "en cours", ""
    return {
        "informed": _french_time(clock.informed_at),
        "deadline": _zoned(clock.deadline),
        "state": state,
        "css": css,
    }


def _band_chart(bands: dict[str, int]) -> Any:
    return charts.bar_chart(
        [(enisa.BAND_NAMES[b], bands.get(b, 0)) for b in enisa.BANDS],
        title="Personnes par niveau de gravité",
        colours=[charts.BAND_COLOURS[b] for b in enisa.BANDS],
    )


def _index_context(figures: CaseFigures) -> dict[str, Any]:
    drawable = departement_map.codes()
    outlined = {c.departement for c in figures.controllers if c.departement}
    svg, legend = departement_map.departement_map(
        {k: v for k, v in figures.persons_by_departement.items() if k in drawable}, outlined
    )
    names = dict(figures.departements)
    from ariane import geo

    places = geo.referential()
    ranked = sorted(figures.persons_by_departement.items(), key=lambda item: -item[1])
    return {
        "band_chart": _band_chart(figures.bands),
        "category_chart": charts.bar_chart(
            [(enisa.CATEGORY_NAMES[c], n) for c, n in figures.categories.items()],
            title="Personnes par catégorie particulière",
        ),
        "controller_chart": charts.bar_chart(
            [(_short(c.name), c.persons) for c in _by_persons(figures.controllers)],
            title="Personnes concernées par responsable de traitement",
            width=680,
        ),
        "map_svg": svg,
        "legend": legend,
        "credit": departement_map.CREDIT,
        "overseas": [
            (k, v) for k, v in sorted(figures.persons_by_departement.items()) if k not in drawable
        ],
        "top_departements": [
            (code, names.get(code) or places.departement_name(code) or "", count)
            for code, count in ranked[:12]
        ],
        "incident": _incident(figures),
        "to_notify": figures.persons_to_notify,
        "notices": sum(c.persons_to_notify for c in figures.controllers),
        "regulator_count": sum(c.notify_regulator for c in figures.controllers),
        "duty": figures.duty,
        "not_informed": [
            c
            for c in figures.controllers
            if figures.duty and c.controller_id in figures.duty.not_informed
        ],
        "overdue": [c for c in figures.controllers if c.clock and c.clock.overdue],
        "late": [
            (c, figures.facts.controller(c.controller_id).delay_reasons)
            for c in figures.controllers
            if c.clock and (c.clock.overdue or c.clock.late)
        ],
        "aware_at": _zoned(figures.facts.aware_at()),
    }


def _incident(figures: CaseFigures) -> list[tuple[str, str]]:
    """The facts of the incident, as stated (empty: to complete, never a default)."""
    breach = figures.facts.breach
    aware_at = figures.facts.aware_at()
    return [
        ("Nature", breach.nature),
        ("Découverte", breach.discovered_how),
        ("Prise de connaissance", _zoned(aware_at)),
        ("Début", _zoned(parse_instant(breach.started_at)) if breach.started_at else ""),
        ("Fin", _zoned(parse_instant(breach.ended_at)) if breach.ended_at else ""),
        ("Origine et cause", " ; ".join(p for p in (breach.origin, breach.cause) if p)),
        ("Acte malveillant", _yes_no(breach.malicious)),
        ("Données chiffrées", _yes_no(breach.encrypted)),
        ("Personnes dans d'autres États de l'UE", _yes_no(breach.cross_border)),
        ("Mesures prises", breach.measures_taken),
        ("Mesures envisagées", breach.measures_proposed),
        ("Autres organismes informés", breach.other_bodies),
    ]


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("oui" if value else "non")


def _by_region(
    figures: CaseFigures,
) -> list[tuple[str, str, list[ControllerFigures]]]:
    """Concerned controllers by région (each ARS is regional), unplaced ones last."""
    groups: dict[tuple[str, str], list[ControllerFigures]] = {}
    for controller in figures.controllers:
        if controller.persons:
            key = (controller.region, controller.region_name or "région inconnue")
            groups.setdefault(key, []).append(controller)
    return [(code, name, found) for (code, name), found in sorted(groups.items())]


def _by_persons(controllers: list[ControllerFigures]) -> list[ControllerFigures]:
    return sorted(controllers, key=lambda c: (-c.persons, c.controller_id))


def _short(label: str, limit: int = 48) -> str:
    # Lab names often share a long prefix: keep enough to tell them apart.
    return label if len(label) <= limit else label[: limit - 1] + "…"
