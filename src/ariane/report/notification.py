"""A controller's draft notification to the regulator (CNIL), field by field.

The sections follow every item of the CNIL's online breach notification form (GDPR
art. 33(3)): nature, timing and reasons for delay, persons and records, minors and
vulnerable persons, categories of data, likely consequences, measures, whether and how
persons were informed (or the art. 34(3) exemption), cross-border, DPO and contact, other
bodies told, and the reference of an initial notification. Every field the case can answer
is filled, from the registry, the facts and the counts; every other one is unknown.

One :class:`Draft` gives the HTML, the PDF and the JSON, so the three never disagree. Its
values are typed: None for unknown, booleans, numbers, codes, ISO 8601 instants; only the
HTML turns them into French (« à compléter », « oui », dates), through :func:`display`.
The JSON's shape is published in ``schemas/notification.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ariane.assess import enisa
from ariane.assess.facts import Facts, parse_instant
from ariane.report.charts import format_count
from ariane.report.figures import CaseFigures, ControllerFigures

TO_COMPLETE = "à compléter"
NOT_APPLICABLE = "sans objet"
SCHEMA_VERSION = 1

#: French words for the codes a draft holds, used only to display them.
CHOICE_NAMES: dict[str, str] = {
    "unknown_recipients": "perte de confidentialité : données accessibles à un nombre "
    "inconnu de destinataires",
    "known_recipients": "perte de confidentialité : données accessibles à des destinataires connus",
    "none": "aucune",
    "recoverable": "récupérable",
    "unrecoverable": "irrécupérable",
    "initial": "initiale",
    "complementary": "complémentaire",
    "no": "non",
    "planned": "prévue",
    "yes": "oui",
    "exempt": "exemptée (art. 34(3))",
    **enisa.BAND_NAMES,
    **enisa.CATEGORY_NAMES,
    **{bit.name.lower(): name for bit, name in enisa.DATA_NAMES.items() if bit.name},
    "patients": "patients",
}


@dataclass
class Field:
    """One field of the form: a stable key, its French label, its typed value and kind.

    Kinds: text, instant (ISO 8601), bool, count, choice (a code), codes (a list of codes),
    counts (code -> count), lines (list of sentences), share (0..1), factors.
    """

    key: str
    label: str
    value: Any
    kind: str = "text"
    applicable: bool = True

    @property
    def missing(self) -> bool:
        """Whether the case could not answer it (and it applies)."""
        return self.applicable and self.value in (None, "", [])


@dataclass
class Section:
    """One section of the form."""

    key: str
    title: str
    fields: list[Field] = field(default_factory=list)

    def add(
        self, key: str, label: str, value: Any, kind: str = "text", *, applicable: bool = True
    ) -> None:
        """Add a field; an empty text or list is unknown (None in JSON)."""
        empty = value is None or value == "" or value == []
        self.fields.append(Field(key, label, None if empty else value, kind, applicable))


@dataclass
class Draft:
    """The draft notification of one controller."""

    controller: ControllerFigures
    sections: list[Section]
    notification_type: str = "initial"
    initial: dict[str, Any] | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def to_complete(self) -> list[str]:
        """Keys (``section.field``) the organisation still has to fill in."""
        return [f"{s.key}.{f.key}" for s in self.sections for f in s.fields if f.missing]

    def as_json(self) -> dict[str, Any]:
        """The draft as a typed JSON document (see notification.schema.json)."""
        clock = self.controller.clock
        return {
            "schema_version": SCHEMA_VERSION,
            "form": "cnil_breach_notification",
            "status": "draft",
            "controller_id": self.controller.controller_id,
            "notification_type": self.notification_type,
            "initial_notification": self.initial,
            "changes": self.changes,
            "deadline": clock.deadline.isoformat() if clock and clock.deadline else None,
            "overdue": bool(clock and clock.overdue),
            "sections": {
                s.key: {f.key: f.value if f.applicable else None for f in s.fields}
                for s in self.sections
            },
            "labels": {
                s.key: {"title": s.title, **{f.key: f.label for f in s.fields}}
                for s in self.sections
            },
            "to_complete": self.to_complete,
        }


def display(item: Field) -> Any:
    """A field's value as the French HTML shows it (strings, lists or label -> value)."""
    value = item.value
    if not item.applicable:
        return NOT_APPLICABLE
    if value is None:
        return TO_COMPLETE
    if item.kind == "bool":
        return "oui" if value else "non"
    if item.kind == "instant":
        return parse_instant(value).strftime("%d/%m/%Y %H:%M (UTC%z)")
    if item.kind == "choice":
        return CHOICE_NAMES.get(value, value)
    if item.kind == "codes":
        return [CHOICE_NAMES.get(v, v) for v in value]
    if item.kind == "counts":
        return {CHOICE_NAMES.get(k, k): format_count(v) for k, v in value.items()}
    if item.kind == "share":
        return f"{value:.0%}".replace("%", " %")
    if item.kind == "factors":
        return [
            f"{format_count(f['persons'])} personnes : DPC {_num(f['dpc'])} × EI {_num(f['ei'])}"
            f" + CB {_num(f['cb'])} = {_num(f['score'])}, gravité {enisa.BAND_NAMES[f['band']]}"
            for f in value
        ]
    if item.kind == "changes":
        return [f"{c['name']} : {_change_text(c['old'])} → {_change_text(c['new'])}" for c in value]
    return value


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _change_text(value: Any) -> str:
    if value is None:
        return TO_COMPLETE
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def consequences(controller: ControllerFigures) -> list[str]:
    """Likely consequences for the persons, from the kinds of data exposed."""
    mask = controller.exposure
    found = []
    if mask & (enisa.Exposure.NIR | enisa.Exposure.BIRTH_DATE):
        found.append("usurpation d'identité et fraude aux prestations sociales")
    if mask & (enisa.Exposure.PHONE | enisa.Exposure.EMAIL | enisa.Exposure.STREET):
        found.append(
            "hameçonnage et escroqueries crédibles, appuyés sur de vraies informations "
            "médicales ou administratives"
        )
    health = (
        enisa.Exposure.BLOOD_GROUP
        | enisa.Exposure.NOTE
        | enisa.Exposure.CONDITION
        | enisa.Exposure.TEST
    )
    if any(controller.categories.values()) or mask & health:
        found.append(
            "divulgation d'informations de santé, avec risque de discrimination, "
            "d'atteinte à la réputation et de détresse morale"
        )
    if mask & enisa.Exposure.IBAN:
        found.append("fraude bancaire (prélèvements frauduleux)")
    return found


def build(
    figures: CaseFigures,
    controller: ControllerFigures,
    *,
    initial: dict[str, Any] | None = None,
    changes: list[dict[str, Any]] | None = None,
) -> Draft:
    """Fill the form for one controller from the case's figures and facts.

    ``initial`` names the notification this one follows (its report version and CNIL
    reference): given, the draft is a complementary notification listing ``changes``.
    """
    facts: Facts = figures.facts
    breach = facts.breach
    own = facts.controller(controller.controller_id)
    org = facts.organisation
    processor = org.role == "processor"
    clock = controller.clock
    kind = "complementary" if initial is not None else "initial"

    notice = Section("notification", "Type de notification")
    notice.add("type", "Notification initiale ou complémentaire", kind, "choice")
    notice.add(
        "initial_reference",
        "Référence CNIL de la notification initiale",
        (initial or {}).get("cnil_reference"),
        applicable=initial is not None,
    )
    notice.add(
        "initial_version",
        "Version du projet de la notification initiale",
        (initial or {}).get("version"),
        "count",
        applicable=initial is not None,
    )
    notice.add(
        "changes",
        "Ce qui a changé depuis la notification initiale",
        changes or None,
        "changes",
        applicable=initial is not None,
    )

    body = Section("controller", "Organisme responsable du traitement")
    body.add("name", "Raison sociale", controller.name)
    body.add("siren", "Numéro SIREN", own.siren or controller.siren)
    body.add("finess", "Numéro FINESS", controller.finess)
    body.add(
        "address",
        "Adresse",
        " ".join(p for p in (controller.address, controller.postal_code, controller.city) if p),
    )
    body.add("legal_representative", "Représentant légal", own.legal_representative)
    body.add(
        "dpo_designation",
        "Numéro de désignation du délégué à la protection des données (DPO)",
        own.dpo_designation,
    )
    body.add("contact_name", "Personne à contacter (DPO ou autre)", own.contact_name)
    body.add("contact_email", "Courriel du contact", own.contact_email or controller.dpo_email)
    body.add("contact_phone", "Téléphone du contact", own.contact_phone)

    sub = Section("processor", "Sous-traitant à l'origine de l'information (art. 33(2))")
    sub.add("name", "Sous-traitant", org.name, applicable=processor)
    sub.add("siren", "SIREN du sous-traitant", org.siren, applicable=processor)
    sub.add(
        "dpo_designation",
        "Numéro de désignation du DPO du sous-traitant",
        org.dpo_designation,
        applicable=processor,
    )
    sub.add(
        "informed_at",
        "Date à laquelle le sous-traitant a informé le responsable",
        own.informed_at,
        "instant",
        applicable=processor,
    )

    dates = Section("timeline", "Chronologie et délais")
    dates.add("started_at", "Date de début de la violation", breach.started_at, "instant")
    dates.add("ended_at", "Date de fin de la violation", breach.ended_at, "instant")
    dates.add(
        "aware_at",
        "Prise de connaissance par le sous-traitant" if processor else "Prise de connaissance",
        breach.aware_at,
        "instant",
    )
    dates.add(
        "controller_aware_at",
        "Prise de connaissance par le responsable de traitement",
        clock.aware_at.isoformat() if clock and clock.aware_at else None,
        "instant",
    )
    dates.add(
        "deadline",
        "Échéance de notification (prise de connaissance du responsable + 72 h)",
        clock.deadline.isoformat() if clock and clock.deadline else None,
        "instant",
        applicable=controller.notify_regulator,
    )
    dates.add(
        "overdue",
        "Échéance dépassée sans notification",
        bool(clock and clock.overdue),
        "bool",
        applicable=controller.notify_regulator,
    )
    dates.add("notified_at", "Date de notification à la CNIL", own.notified_at, "instant")
    late = bool(clock and (clock.overdue or clock.late))
    dates.add(
        "delay_reasons",
        "Motifs du retard (art. 33(1))",
        own.delay_reasons or (breach.delay_reasons if processor else ""),
        applicable=late,
    )
    dates.add("discovered_how", "Circonstances de la découverte", breach.discovered_how)

    nature = Section("nature", "Nature de la violation")
    nature.add("confidentiality", "Perte de confidentialité", breach.confidentiality, "choice")
    nature.add("integrity", "Perte d'intégrité", breach.integrity, "choice")
    nature.add("availability", "Perte de disponibilité", breach.availability, "choice")
    nature.add("description", "Description", breach.nature)
    nature.add("origin", "Origine de l'incident", breach.origin)
    nature.add("cause", "Cause", breach.cause)
    nature.add("malicious", "Acte malveillant", breach.malicious, "bool")

    data = Section("data", "Données concernées")
    data.add("categories", "Catégories de données", controller.data_codes, "codes")
    data.add(
        "special_categories",
        "Données de santé mentionnées (personnes concernées par catégorie)",
        {c: n for c, n in controller.categories.items() if n},
        "counts",
    )
    data.add("records", "Nombre approximatif d'enregistrements", controller.records, "count")
    data.add(
        "encrypted", "Données chiffrées (inintelligibles pour les tiers)", breach.encrypted, "bool"
    )

    people = Section("persons", "Personnes concernées")
    people.add(
        "categories", "Catégories de personnes", ["patients"] if controller.finess else [], "codes"
    )
    people.add("persons", "Nombre approximatif de personnes", controller.persons, "count")
    people.add(
        "minors_counted",
        "Personnes mineures selon la date de naissance",
        controller.minors,
        "count",
    )
    people.add("minors", "Des mineurs sont concernés (déclaré)", own.minors, "bool")
    people.add(
        "vulnerable_persons",
        "Des personnes vulnérables sont concernées (déclaré)",
        own.vulnerable_persons,
        "bool",
    )
    people.add(
        "cross_border",
        "Personnes dans d'autres États de l'UE (transfrontalier)",
        breach.cross_border,
        "bool",
    )

    risk = Section("consequences", "Conséquences et gravité")
    risk.add(
        "likely",
        "Conséquences probables pour les personnes",
        [breach.consequences] if breach.consequences else consequences(controller),
        "lines",
    )
    risk.add(
        "severity",
        "Gravité la plus élevée parmi les personnes (ENISA)",
        controller.severity,
        "choice",
    )
    risk.add(
        "persons_by_band",
        "Personnes par niveau de gravité",
        dict(controller.bands),
        "counts",
    )
    risk.add(
        "special_share",
        "Part des personnes avec une donnée de catégorie particulière (art. 9)",
        controller.special_share,
        "share",
    )
    risk.add(
        "factors",
        "Facteurs de gravité (personnes par combinaison DPC, EI, CB)",
        controller.factors[:6],
        "factors",
    )
    risk.add(
        "severity_explanation",
        "Justification de la gravité la plus élevée (DPC, EI, CB, résultat)",
        list(controller.severity_explanation.values()),
        "lines",
    )

    measures = Section("measures", "Mesures")
    measures.add("taken", "Mesures prises", own.measures_taken or breach.measures_taken)
    measures.add("proposed", "Mesures envisagées", breach.measures_proposed)

    told = Section("persons_informed", "Information des personnes (art. 34)")
    told.add("required", "Information requise (risque élevé)", controller.notify_persons, "bool")
    told.add(
        "persons_to_notify",
        "Personnes à informer",
        controller.persons_to_notify,
        "count",
        applicable=controller.notify_persons,
    )
    told.add("status", "Personnes informées", own.persons_informed, "choice")
    told.add(
        "how",
        "Comment (canal, date) ou motif d'exemption (art. 34(3))",
        own.persons_informed_how or _exemption(controller, breach.encrypted),
    )

    others = Section("other_bodies", "Autres organismes informés")
    others.add(
        "told",
        "ARS, CERT Santé (art. L.1111-8-2 CSP), ANSSI, dépôt de plainte…",
        " ; ".join(p for p in (breach.other_bodies, own.other_bodies) if p),
    )

    sections = [notice, body, sub, dates, nature, data, people, risk, measures, told, others]
    return Draft(controller, sections, kind, initial, changes or [])


def _exemption(controller: ControllerFigures, encrypted: bool | None) -> str:
    if not controller.notify_persons and encrypted:
        return "données chiffrées, inintelligibles pour les tiers (art. 34(3)(a))"
    return ""
