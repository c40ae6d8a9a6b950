"""What the pages show, shaped from the case's figures: rows, labels, filters, restrictions.

Pure functions over the summary document and :class:`~ariane.report.figures.CaseFigures`:
no query, no request. Only counts and controllers' own (public) details go through here;
person-level fields are the persons table's alone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import Request

from ariane.assess.enisa import BAND_NAMES, CATEGORY_NAMES
from ariane.assess.facts import Facts, catalogue
from ariane.report.charts import format_count
from ariane.report.figures import CaseFigures

BAND_ORDER = {"low": 0, "medium": 1, "high": 2, "very_high": 3}
#: Columns of the controllers' table one may sort by, and their French headers.
SORTABLE = {
    "name": "Responsable",
    "departement": "Département",
    "persons": "Personnes",
    "records": "Enregistrements",
    "severity": "Gravité",
    "deadline": "Échéance",
    "status": "État",
}
FACT_LABELS = {
    "legal_representative": "Représentant légal",
    "contact_name": "Contact (nom)",
    "contact_email": "Contact (courriel)",
    "contact_phone": "Contact (téléphone)",
    "siren": "SIREN",
    "dpo_designation": "Désignation du DPO",
    "measures_taken": "Mesures prises",
    "informed_at": "Informé par le sous-traitant le",
    "notified_at": "Notifié à la CNIL le",
    "cnil_reference": "Référence CNIL",
    "delay_reasons": "Raisons du retard",
    "persons_informed": "Personnes informées",
    "persons_informed_how": "Comment les personnes sont informées",
    "minors": "Mineurs concernés",
    "vulnerable_persons": "Personnes vulnérables",
    "other_bodies": "Autres organismes informés",
}
CHOICE_LABELS = {"no": "non", "planned": "prévue", "yes": "oui", "exempt": "exemptée"}

__all__ = ["BAND_NAMES", "count", "moment"]


def count(value: Any) -> str:
    """A count in French typography."""
    return format_count(int(value or 0))


def moment(value: Any) -> str:
    """« 26/02/2021 10:00 (UTC+01:00) » from an ISO text or a datetime; « — » when unknown."""
    if not value:
        return "—"
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return f"{when.strftime('%d/%m/%Y %H:%M')} (UTC{when.isoformat()[-6:]})"


def is_fragment(request: Request) -> bool:
    """Whether htmx asked for part of a page."""
    return request.headers.get("hx-request") == "true"


def status_of(controller: dict[str, Any]) -> str:
    """The state of a controller's notification, in French."""
    if controller.get("notified_at"):
        return "notifiée"
    if not controller.get("notify_regulator"):
        return "pas de notification due"
    if controller.get("overdue"):
        return "en retard"
    if not controller.get("informed_at"):
        return "à informer"
    return "délai en cours"


def controller_rows(
    summary: dict[str, Any], figures: CaseFigures, notices: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """One row per controller: figures, clock, state, notices by status."""
    details = {c.controller_id: c for c in figures.controllers}
    rows = []
    for entry in summary.get("controllers") or []:
        cid = entry["controller_id"]
        detail = details.get(cid)
        rows.append(
            {
                **entry,
                "city": detail.city if detail else "",
                "departement": detail.departement if detail else "",
                "departement_name": detail.departement_name if detail else "",
                "status": status_of(entry),
                "notices": notices.get(cid, {}),
            }
        )
    return rows


def filter_sort(
    rows: list[dict[str, Any]], query: str, sort: str, descending: bool
) -> list[dict[str, Any]]:
    """Rows whose name, id, town or département contain ``query``, sorted by ``sort``."""
    wanted = _fold(query)
    if wanted:
        rows = [
            r
            for r in rows
            if wanted
            in _fold(" ".join(str(r.get(k) or "") for k in ("name", "controller_id", "city")))
            + " "
            + str(r.get("departement") or "")
        ]
    key = sort if sort in SORTABLE else "deadline"

    def value(row: dict[str, Any]) -> tuple[int, Any]:
        if key == "severity":
            return (0, BAND_ORDER.get(row.get("severity") or "", -1))
        found = row.get(key)
        if found is None or found == "":
            return (1, "")  # unknown last
        return (0, found if isinstance(found, (int, float)) else _fold(str(found)))

    known = sorted((r for r in rows if value(r)[0] == 0), key=value, reverse=descending)
    return known + [r for r in rows if value(r)[0] == 1]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def categories(summary: dict[str, Any]) -> list[tuple[str, int]]:
    """(French name, persons) of each special category."""
    found = summary.get("special_categories") or {}
    return [(CATEGORY_NAMES.get(k, k), int(v)) for k, v in found.items()]


def fact_fields(facts: Facts, controller_id: str) -> list[dict[str, Any]]:
    """The facts form of one controller: name, label, kind, choices, current value."""
    current = asdict(facts.controller(controller_id))
    fields = []
    for name, spec in catalogue(controller=True).items():
        value = current.get(name)
        if spec.kind == "bool":
            text = "" if value is None else ("true" if value else "false")
            choices = [("", "inconnu"), ("true", "oui"), ("false", "non")]
        else:
            text = "" if value is None else str(value)
            choices = [("", "inconnu")] + [(c, CHOICE_LABELS.get(c, c)) for c in spec.choices]
        fields.append(
            {
                "name": name,
                "label": FACT_LABELS.get(name, name),
                "kind": spec.kind,
                "choices": choices if spec.kind in ("bool", "choice") else [],
                "value": text,
            }
        )
    return fields


def restricted_summary(document: dict[str, Any], controller_id: str) -> dict[str, Any]:
    """The summary a controller's user sees: its own controller, no other's counts.

    Case-wide totals would tell a lab about the others: they are left out (null), and the
    few that can be its own (persons) are its own.
    """
    own = [c for c in document.get("controllers") or [] if c["controller_id"] == controller_id]
    restricted: dict[str, Any] = dict.fromkeys(document, None)
    restricted["controllers"] = own
    if own:
        restricted["persons"] = own[0].get("persons")
    return restricted
