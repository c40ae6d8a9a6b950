"""A controller's draft notification to the regulator (CNIL), field by field.

The sections follow the CNIL's online breach notification form (GDPR art. 33): every field
the case can answer is filled, from the registry, the facts file and the counts; every
other field holds :data:`TO_COMPLETE`. The same :class:`Draft` gives the HTML, the PDF and
the JSON, so the three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ariane.assess import enisa
from ariane.assess.facts import ControllerFacts, Facts, parse_instant
from ariane.report.charts import format_count
from ariane.report.figures import CaseFigures, ControllerFigures

TO_COMPLETE = "à compléter"
_YES_NO = {True: "oui", False: "non"}
_CONFIDENTIALITY = {
    "unknown_recipients": "perte de confidentialité : données accessibles à un nombre "
    "inconnu de destinataires",
    "known_recipients": "perte de confidentialité : données accessibles à des destinataires connus",
    "none": "pas de perte de confidentialité connue",
}
_LOSS = {"none": None, "recoverable": "récupérable", "unrecoverable": "irrécupérable"}


@dataclass
class Field:
    """One field of the form: a stable key, its French label and its value."""

    key: str
    label: str
    value: Any

    @property
    def missing(self) -> bool:
        """Whether the case could not answer it."""
        return self.value == TO_COMPLETE


@dataclass
class Section:
    """One section of the form."""

    key: str
    title: str
    fields: list[Field] = field(default_factory=list)

    def add(self, key: str, label: str, value: Any) -> None:
        """Add a field; empty values become « à compléter »."""
        empty = value is None or value == "" or value == []
        self.fields.append(Field(key, label, TO_COMPLETE if empty else value))


@dataclass
class Draft:
    """The draft notification of one controller."""

    controller: ControllerFigures
    sections: list[Section]

    @property
    def to_complete(self) -> list[str]:
        """Keys (``section.field``) the organisation still has to fill in."""
        return [f"{s.key}.{f.key}" for s in self.sections for f in s.fields if f.missing]

    def as_json(self) -> dict[str, Any]:
        """The draft as a JSON document: section -> field -> value."""
        return {
            "form": "CNIL - notification d'une violation de données personnelles (art. 33 RGPD)",
            "status": "projet",
            "controller_id": self.controller.controller_id,
            "sections": {s.key: {f.key: f.value for f in s.fields} for s in self.sections},
            "labels": {
                s.key: {"title": s.title, **{f.key: f.label for f in s.fields}}
                for s in self.sections
            },
            "to_complete": self.to_complete,
        }


def _instant(text: str) -> str:
    """A facts time in French, keeping the offset the user gave."""
    if not text:
        return ""
    moment = parse_instant(text)
    return moment.strftime("%d/%m/%Y %H:%M (UTC%z)")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d/%m/%Y %H:%M (UTC%z)") if moment else ""


def consequences(controller: ControllerFigures) -> list[str]:
    """Likely consequences for the persons, from the kinds of data exposed."""
    kinds = set(controller.data_kinds)
    names = enisa.DATA_NAMES
    found = []
    if names[enisa.Exposure.NIR] in kinds or names[enisa.Exposure.BIRTH_DATE] in kinds:
        found.append("usurpation d'identité et fraude aux prestations sociales")
    if kinds & {
        names[enisa.Exposure.PHONE],
        names[enisa.Exposure.EMAIL],
        names[enisa.Exposure.STREET],
    }:
        found.append(
            "hameçonnage et escroqueries crédibles, appuyés sur de vraies informations "
            "médicales ou administratives"
        )
    if any(controller.categories.values()) or kinds & {
        names[enisa.Exposure.BLOOD_GROUP],
        names[enisa.Exposure.NOTE],
        names[enisa.Exposure.CONDITION],
        names[enisa.Exposure.TEST],
    }:
        found.append(
            "divulgation d'informations de santé, avec risque de discrimination, "
            "d'atteinte à la réputation et de détresse morale"
        )
    if names[enisa.Exposure.IBAN] in kinds:
        found.append("fraude bancaire (prélèvements frauduleux)")
    return found


def build(figures: CaseFigures, controller: ControllerFigures) -> Draft:
    """Fill the form for one controller from the case's figures and facts."""
    facts: Facts = figures.facts
    breach = facts.breach
    own = facts.controllers.get(controller.controller_id, ControllerFacts())
    org = facts.organisation
    processor = org.role == "processor"

    kind = Section("notification", "Type de notification")
    kind.add(
        "type",
        "Notification initiale ou complémentaire",
        "complémentaire" if breach.notification == "complementary" else "initiale",
    )

    body = Section("organisme", "Organisme responsable du traitement")
    body.add("name", "Raison sociale", controller.name)
    body.add("siren", "Numéro SIREN", own.siren or controller.siren)
    body.add("finess", "Numéro FINESS", controller.finess)
    body.add(
        "address",
        "Adresse",
        " ".join(p for p in (controller.address, controller.postal_code, controller.city) if p),
    )
    body.add("legal_representative", "Représentant légal", own.legal_representative)
    body.add("contact_name", "Personne à contacter (DPO ou autre)", own.contact_name)
    body.add("contact_email", "Courriel du contact", own.contact_email or controller.dpo_email)
    body.add("contact_phone", "Téléphone du contact", own.contact_phone)

    sub = Section("sous_traitant", "Sous-traitant à l'origine de l'information")
    sub.add("name", "Sous-traitant", org.name if processor else "sans objet")
    sub.add("siren", "SIREN du sous-traitant", org.siren if processor else "sans objet")
    sub.add(
        "informed",
        "Obligation du sous-traitant (art. 33(2))",
        "le sous-traitant informe le responsable de traitement dans les meilleurs délais"
        if controller.processor_informs
        else "sans objet",
    )

    dates = Section("chronologie", "Chronologie")
    dates.add("started_at", "Date de début de la violation", _instant(breach.started_at))
    dates.add("ended_at", "Date de fin de la violation", _instant(breach.ended_at))
    dates.add("aware_at", "Date de prise de connaissance", _instant(breach.aware_at))
    dates.add(
        "deadline",
        "Échéance de notification (prise de connaissance + 72 h)",
        _when(figures.deadline) if controller.notify_regulator else "sans objet",
    )
    dates.add("discovered_how", "Circonstances de la découverte", breach.discovered_how)

    nature = Section("nature", "Nature de la violation")
    losses = [_CONFIDENTIALITY[breach.confidentiality]]
    for name, value in (("intégrité", breach.integrity), ("disponibilité", breach.availability)):
        if _LOSS[value]:
            losses.append(f"perte d'{name} {_LOSS[value]}")
    nature.add("type", "Type de violation", losses)
    nature.add("description", "Description", breach.nature)
    nature.add("origin", "Origine de l'incident", breach.origin)
    nature.add("cause", "Cause", breach.cause)
    nature.add("malicious", "Acte malveillant", _YES_NO[breach.malicious])

    data = Section("donnees", "Données concernées")
    data.add("categories", "Catégories de données", controller.data_kinds)
    data.add(
        "special_categories",
        "Données de santé mentionnées (personnes concernées)",
        {enisa.CATEGORY_NAMES[c]: n for c, n in controller.categories.items() if n}
        or "aucune mention reconnue",
    )
    data.add("records", "Nombre approximatif d'enregistrements", controller.records)
    data.add("encrypted", "Données chiffrées", _YES_NO[breach.encrypted])

    people = Section("personnes", "Personnes concernées")
    people.add("categories", "Catégories de personnes", ["patients"] if controller.finess else [])
    people.add("persons", "Nombre approximatif de personnes", controller.persons)
    people.add(
        "cross_border",
        "Personnes dans d'autres États de l'UE (transfrontalier)",
        _YES_NO[breach.cross_border],
    )

    risk = Section("consequences", "Conséquences et gravité")
    risk.add(
        "consequences",
        "Conséquences probables pour les personnes",
        breach.consequences or consequences(controller),
    )
    risk.add(
        "severity",
        "Gravité (méthode ENISA, la plus élevée parmi les personnes)",
        enisa.BAND_NAMES.get(controller.severity or "", ""),
    )
    risk.add(
        "severity_explanation",
        "Justification de la gravité la plus élevée (DPC, EI, CB, résultat)",
        list(controller.severity_explanation.values()),
    )
    risk.add(
        "persons_by_band",
        "Personnes par niveau de gravité",
        {enisa.BAND_NAMES[b]: n for b, n in controller.bands.items()},
    )

    measures = Section("mesures", "Mesures")
    measures.add("taken", "Mesures prises", own.measures_taken or breach.measures_taken)
    measures.add("proposed", "Mesures envisagées", breach.measures_proposed)
    measures.add(
        "persons_informed",
        "Information des personnes (art. 34)",
        _persons_duty(controller, breach.encrypted),
    )
    return Draft(controller, [kind, body, sub, dates, nature, data, people, risk, measures])


def _persons_duty(controller: ControllerFigures, encrypted: bool) -> str:
    if controller.notify_persons:
        return (
            f"requise : risque élevé pour {format_count(controller.persons_to_notify)} "
            "personnes ; "
            "les informer sans délai, en termes clairs et simples"
        )
    if encrypted:
        return "non requise : données chiffrées, inintelligibles pour les tiers (art. 34(3)(a))"
    return "non requise : pas de risque élevé évalué"
