"""The ENISA (2013) severity of a breach for one person: ``SE = DPC x EI + CB``.

Pure arithmetic over an :class:`Exposure` (what the leak shows about the person), with one
French sentence per factor that a DPO can paste into the breach file. Everything here is
about kinds of data, never their values.

The health ladder of the method, applied to a laboratory's data: being on a lab's patient
list says "had a test" (1); a blood group is a routine result that reveals no disease (2);
a free-text clinical note with nothing recognised may hold more (2); a test for a specific
disease (3); an actual result or condition, e.g. an HIV, cancer, genetic, pregnancy or
treatment mention, of any polarity (4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntFlag


class Exposure(IntFlag):
    """What the leak shows about a person: one bit per kind of data (bitmask in SQL)."""

    NAME = 1 << 0
    NIR = 1 << 1
    STREET = 1 << 2
    LOCALITY = 1 << 3
    BIRTH_DATE = 1 << 4
    SEX = 1 << 5
    PHONE = 1 << 6
    EMAIL = 1 << 7
    INTERNAL_ID = 1 << 8
    IBAN = 1 << 9
    INSURER = 1 << 10
    MEMBER_ID = 1 << 11
    PHYSICIAN = 1 << 12
    ORGANISATION = 1 << 13
    BLOOD_GROUP = 1 << 14
    VISIT_DATE = 1 << 15
    NOTE = 1 << 16
    CONDITION = 1 << 17
    PREGNANCY_FIELD = 1 << 18
    HIV_FIELD = 1 << 19
    TEST = 1 << 20
    PATIENT = 1 << 21  # a record attributed to a health establishment (FINESS)
    MINOR = 1 << 22
    # Special-category mentions (classify_mentions), one bit each.
    HIV = 1 << 23
    PREGNANCY = 1 << 24
    CANCER = 1 << 25
    GENETIC = 1 << 26
    TREATMENT = 1 << 27


#: Bit of each special category of CONTRACT.md.
CATEGORY_BITS: dict[str, Exposure] = {
    "hiv": Exposure.HIV,
    "pregnancy": Exposure.PREGNANCY,
    "cancer": Exposure.CANCER,
    "genetic": Exposure.GENETIC,
    "treatment": Exposure.TREATMENT,
}

#: Bits set by a non-empty column of each label (CONTRACT.md's label table).
LABEL_BITS: dict[str, Exposure] = {
    "person.last_name": Exposure.NAME,
    "person.first_name": Exposure.NAME,
    "person.full_name": Exposure.NAME,
    "person.sex": Exposure.SEX,
    "person.birth_date": Exposure.BIRTH_DATE,
    "contact.street": Exposure.STREET,
    "contact.address": Exposure.STREET,
    "contact.postal_code": Exposure.LOCALITY,
    "contact.city": Exposure.LOCALITY,
    "contact.phone": Exposure.PHONE,
    "contact.email": Exposure.EMAIL,
    "id.nir": Exposure.NIR,
    "id.internal": Exposure.INTERNAL_ID,
    "finance.iban": Exposure.IBAN,
    "health.blood_group": Exposure.BLOOD_GROUP,
    "health.visit_date": Exposure.VISIT_DATE,
    "health.note": Exposure.NOTE,
    "health.condition": Exposure.CONDITION,
    "health.pregnancy": Exposure.PREGNANCY_FIELD,
    "health.hiv": Exposure.HIV_FIELD,
    "health.test": Exposure.TEST,
    "insurance.insurer": Exposure.INSURER,
    "insurance.member_id": Exposure.MEMBER_ID,
    "provider.physician": Exposure.PHYSICIAN,
    "provider.rpps": Exposure.PHYSICIAN,
    "provider.adeli": Exposure.PHYSICIAN,
    "provider.finess": Exposure.ORGANISATION,
    "provider.organisation": Exposure.ORGANISATION,
}

#: French names of the kinds of data, for reports and the regulator's form.
DATA_NAMES: dict[Exposure, str] = {
    Exposure.NAME: "nom et prénom",
    Exposure.NIR: "numéro de sécurité sociale (NIR)",
    Exposure.STREET: "adresse postale",
    Exposure.LOCALITY: "code postal ou commune",
    Exposure.BIRTH_DATE: "date de naissance",
    Exposure.SEX: "sexe",
    Exposure.PHONE: "numéro de téléphone",
    Exposure.EMAIL: "adresse électronique",
    Exposure.INTERNAL_ID: "identifiant interne (dossier, patient)",
    Exposure.IBAN: "coordonnées bancaires (IBAN)",
    Exposure.INSURER: "organisme complémentaire (mutuelle)",
    Exposure.MEMBER_ID: "numéro d'adhérent à la complémentaire",
    Exposure.PHYSICIAN: "médecin traitant ou prescripteur",
    Exposure.ORGANISATION: "établissement de santé",
    Exposure.BLOOD_GROUP: "groupe sanguin",
    Exposure.VISIT_DATE: "date de visite ou de prélèvement",
    Exposure.NOTE: "commentaires libres",
    Exposure.CONDITION: "diagnostic ou pathologie",
    Exposure.PREGNANCY_FIELD: "grossesse",
    Exposure.HIV_FIELD: "statut ou test VIH",
    Exposure.TEST: "examens prescrits ou résultats",
    Exposure.HIV: "mention du VIH",
    Exposure.PREGNANCY: "mention d'une grossesse",
    Exposure.CANCER: "mention d'un cancer",
    Exposure.GENETIC: "mention d'une maladie génétique",
    Exposure.TREATMENT: "mention d'un traitement",
}

CATEGORY_NAMES = {
    "hiv": "VIH",
    "pregnancy": "grossesse",
    "cancer": "cancer",
    "genetic": "maladie génétique",
    "treatment": "traitement",
}

BANDS = ("low", "medium", "high", "very_high")
BAND_NAMES = {"low": "faible", "medium": "moyenne", "high": "élevée", "very_high": "très élevée"}

_CONFIDENTIALITY = {"unknown_recipients": 0.5, "known_recipients": 0.25, "none": 0.0}
_LOSS = {"unrecoverable": 0.5, "recoverable": 0.25, "none": 0.0}


@dataclass(frozen=True)
class Circumstances:
    """The breach's circumstances (the same for every person)."""

    confidentiality: str = "unknown_recipients"
    integrity: str = "none"
    availability: str = "none"
    malicious: bool = True
    encrypted: bool = False


@dataclass(frozen=True)
class Severity:
    """One person's grade: the three factors, the score, its band and why."""

    dpc: float
    ei: float
    cb: float
    score: float
    band: str
    explanation: dict[str, str]

    def explanation_json(self) -> str:
        """The explanation as the JSON kept in ``assess_persons``."""
        return json.dumps(self.explanation, ensure_ascii=False)


def band(score: float) -> str:
    """The ENISA band of a score: low < 2 <= medium < 3 <= high < 4 <= very high."""
    # Factors are multiples of 0.25, exact in binary: no rounding slack is needed.
    if score >= 4:
        return "very_high"
    if score >= 3:
        return "high"
    if score >= 2:
        return "medium"
    return "low"


def categories(exposure: int) -> list[str]:
    """The special categories mentioned, in CONTRACT.md's order."""
    return [name for name, bit in CATEGORY_BITS.items() if exposure & bit]


def data_names(exposure: int) -> list[str]:
    """French names of the kinds of data exposed (patient/minor flags are not data kinds)."""
    return [name for bit, name in DATA_NAMES.items() if exposure & bit]


def dpc(exposure: int) -> tuple[float, str]:
    """Data processing context, 1 to 4, and why."""
    e = Exposure(exposure)
    level, reason = 1.0, "données d'identification ou de contact (données simples : 1)"
    steps: list[tuple[bool, float, str]] = [
        (
            bool(e & (Exposure.PATIENT | Exposure.VISIT_DATE)),
            1.0,
            "figurer dans les données d'un laboratoire révèle qu'un examen a été pratiqué "
            "(examen courant : 1)",
        ),
        (
            bool(e & Exposure.BLOOD_GROUP),
            2.0,
            "groupe sanguin : donnée de santé issue d'un examen courant, qui ne révèle ni "
            "maladie ni traitement (niveau santé 4 abaissé à 2)",
        ),
        (
            bool(e & Exposure.NOTE),
            2.0,
            "commentaire clinique libre sans mention reconnue, qui peut contenir des "
            "informations de santé (2)",
        ),
        (
            bool(e & (Exposure.IBAN)),
            3.0,
            "coordonnées bancaires : données financières (3)",
        ),
        (
            bool(e & (Exposure.TEST | Exposure.HIV_FIELD)),
            3.0,
            "examen ciblant une maladie précise (3)",
        ),
        (
            bool(e & (Exposure.CONDITION | Exposure.PREGNANCY_FIELD)),
            4.0,
            "diagnostic ou état de santé renseigné (résultat ou pathologie : 4)",
        ),
    ]
    for applies, value, why in steps:
        if applies and value >= level:
            level, reason = value, why
    mentioned = categories(exposure)
    if mentioned:
        names = ", ".join(CATEGORY_NAMES[c] for c in mentioned)
        level, reason = (
            4.0,
            f"mention de : {names} (catégorie particulière, art. 9 RGPD ; qu'elle dise un "
            "test ou un résultat, elle peut révéler l'état de santé : 4)",
        )
    text = f"DPC {_number(level)} : {reason}"
    if e & Exposure.MINOR and level < 4:
        level += 1
        text += " ; personne mineure, donc vulnérable (+1)"
    return level, text + "."


def ei(exposure: int, encrypted: bool = False) -> tuple[float, str]:
    """Ease of identification, 0.25 to 1, and why."""
    e = Exposure(exposure)
    if encrypted:
        return 0.25, (
            "EI 0,25 (négligeable) : les données étaient chiffrées et la clé n'est pas compromise."
        )
    name = bool(e & Exposure.NAME)
    contacts = bool(e & (Exposure.PHONE | Exposure.EMAIL))
    if e & Exposure.NIR:
        value, why = 1.0, "le NIR identifie directement la personne"
        if name:
            why = "nom et NIR identifient directement la personne"
    elif name and e & Exposure.STREET:
        value, why = 1.0, "nom et adresse postale identifient directement la personne"
    elif name and (contacts or e & (Exposure.BIRTH_DATE | Exposure.LOCALITY)):
        value, why = 0.75, "nom avec coordonnées, date de naissance ou commune"
    elif name:
        value, why = 0.5, "nom seul (homonymes possibles)"
    elif contacts or e & Exposure.STREET:
        value, why = 0.5, "coordonnées sans nom : identification possible mais indirecte"
    elif (e & Exposure.BIRTH_DATE) and (e & Exposure.LOCALITY):
        value, why = 0.5, "date de naissance et commune, sans nom"
    else:
        value, why = 0.25, "aucun identifiant direct (identifiants internes tout au plus)"
    names = {1.0: "maximale", 0.75: "importante", 0.5: "limitée", 0.25: "négligeable"}
    return value, f"EI {_number(value)} ({names[value]}) : {why}."


def cb(circumstances: Circumstances) -> tuple[float, str]:
    """Circumstances of the breach, added to every person's score, and why."""
    parts = []
    total = 0.0
    conf = _CONFIDENTIALITY[circumstances.confidentiality]
    if conf:
        total += conf
        who = "inconnu" if conf == 0.5 else "connu"
        parts.append(
            f"perte de confidentialité vers un nombre {who} de destinataires (+{_number(conf)})"
        )
    for loss_name, kind in (
        ("intégrité", circumstances.integrity),
        ("disponibilité", circumstances.availability),
    ):
        loss = _LOSS[kind]
        if loss:
            total += loss
            how = "irrécupérable" if loss == 0.5 else "récupérable"
            parts.append(f"perte d'{loss_name} {how} (+{_number(loss)})")
    if circumstances.malicious:
        total += 0.5
        parts.append("intention malveillante (+0,5)")
    if not parts:
        return 0.0, "CB 0 : aucune circonstance aggravante."
    return total, f"CB {_number(total)} : " + " ; ".join(parts) + "."


def grade(exposure: int, circumstances: Circumstances) -> Severity:
    """``SE = DPC x EI + CB`` for one person's exposure, with its band and explanation."""
    dpc_value, dpc_text = dpc(exposure)
    ei_value, ei_text = ei(exposure, circumstances.encrypted)
    cb_value, cb_text = cb(circumstances)
    score = dpc_value * ei_value + cb_value
    grade_band = band(score)
    total = (
        f"SE = {_number(dpc_value)} × {_number(ei_value)} + {_number(cb_value)} = "
        f"{_number(score)} : gravité {BAND_NAMES[grade_band]}."
    )
    return Severity(
        dpc_value,
        ei_value,
        cb_value,
        score,
        grade_band,
        {"dpc": dpc_text, "ei": ei_text, "cb": cb_text, "se": total},
    )


def _number(value: float) -> str:
    """French decimal notation: 0,75; 4."""
    return f"{value:g}".replace(".", ",")
