"""What a column's header says about its label, in French and English.

Headers are folded before matching (accents, case, camelCase, snake_case, punctuation:
``numeroSecu`` -> ``numero secu``, ``N° SS`` -> ``n ss``), then compared with the synonyms
below: whole header, then synonym phrases found inside it, then single tokens within one
small typo (``prenon``, ``telephonne``). A header is only supporting evidence: values decide
(:mod:`ariane.classify.columns`), so synonyms may be generous.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache

#: Headers that carry no meaning (headerless files, spreadsheet defaults).
_MEANINGLESS = re.compile(r"^(col|column|colonne|field|champ|unnamed|var|v|c)?\s*\d+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

#: The highest score of a vague synonym: it hints, values must confirm.
_VAGUE = 0.5

#: Words that qualify a header without changing what it holds ("nom du patient").
_FILLER = frozenset(
    [
        "patient",
        "patients",
        "pat",
        "client",
        "personne",
        "person",
        "individu",
        "assure",
        "beneficiaire",
        "the",
        "of",
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "d",
        "l",
        "a",
        "en",
        "au",
        "num",
        "no",
        "nr",
    ]
)

#: label -> synonyms (already folded: lower case, ascii, words separated by one space).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person.last_name": (
        "nom",
        "nom famille",
        "nom de famille",
        "nom naissance",
        "nom de naissance",
        "nom usage",
        "nom d usage",
        "nom marital",
        "nom jeune fille",
        "patronyme",
        "surname",
        "last name",
        "lastname",
        "family name",
        "familyname",
        "lname",
        "nom pat",
    ),
    "person.first_name": (
        "prenom",
        "prenoms",
        "first name",
        "firstname",
        "given name",
        "givenname",
        "forename",
        "fname",
        "prenom usuel",
        "christian name",
    ),
    "person.full_name": (
        "nom prenom",
        "nom complet",
        "identite",
        "full name",
        "fullname",
        "~name",
        "patient name",
        "nom et prenom",
        "prenom nom",
        "denomination patient",
    ),
    "person.sex": ("sexe", "sex", "genre", "gender", "civilite", "~titre", "~title", "sx"),
    "person.birth_date": (
        "date naissance",
        "date de naissance",
        "ddn",
        "dob",
        "naissance",
        "ne le",
        "nee le",
        "birth date",
        "birthdate",
        "date of birth",
        "birthday",
        "dte naiss",
        "date naiss",
        "dnaiss",
        "~birth",
    ),
    "contact.street": (
        "rue",
        "voie",
        "adresse 1",
        "adresse ligne 1",
        "ligne adresse",
        "street",
        "street address",
        "address 1",
        "address line 1",
        "address line",
        "street number",
        "numero rue",
        "num voie",
        "numero voie",
        "complement adresse",
        "adresse 2",
        "address 2",
        "address line 2",
        "lieu dit",
        "street name",
        "addr",
        "adr",
    ),
    "contact.postal_code": (
        "cp",
        "code postal",
        "codepostal",
        "postal code",
        "postcode",
        "zip",
        "zip code",
        "zipcode",
        "code post",
        "cpostal",
        "post code",
    ),
    "contact.city": (
        "ville",
        "commune",
        "localite",
        "city",
        "town",
        "suburb",
        "locality",
        "bureau distributeur",
        "municipality",
        "~lieu",
        "ville residence",
    ),
    "contact.address": (
        "adresse",
        "address",
        "adresse complete",
        "adresse postale",
        "full address",
        "postal address",
        "~domicile",
        "~residence",
        "home address",
    ),
    "contact.phone": (
        "tel",
        "telephone",
        "tel portable",
        "portable",
        "mobile",
        "gsm",
        "phone",
        "phone number",
        "telephone number",
        "cell",
        "cellphone",
        "tel fixe",
        "~fixe",
        "num tel",
        "numero telephone",
        "tel domicile",
        "contact tel",
    ),
    "contact.email": (
        "email",
        "e mail",
        "mail",
        "courriel",
        "adresse mail",
        "mel",
        "adresse email",
    ),
    "id.nir": (
        "nir",
        "n ss",
        "num ss",
        "numero ss",
        "nss",
        "secu",
        "num secu",
        "numero secu",
        "numero securite sociale",
        "securite sociale",
        "ssn",
        "social security",
        "social security number",
        "insee",
        "numero insee",
        "ins",
        "matricule ins",
        "nia",
        "no secu",
        "n secu",
        "immatriculation",
        "sec soc",
    ),
    "id.internal": (
        "~id",
        "identifiant",
        "ipp",
        "num dossier",
        "numero dossier",
        "dossier",
        "n dossier",
        "id patient",
        "patient id",
        "num patient",
        "numero patient",
        "record id",
        "mrn",
        "rec id",
        "~ref",
        "~reference",
        "code patient",
        "num echantillon",
        "numero echantillon",
        "echantillon",
        "sample id",
        "num demande",
        "numero demande",
        "~episode",
        "uid",
        "~key",
        "soc sec id",
        "n patient",
        "no patient",
        "~numero",
        "~code",
        "pk",
    ),
    "finance.iban": (
        "iban",
        "rib",
        "bic iban",
        "compte bancaire",
        "bank account",
        "coordonnees bancaires",
    ),
    "health.blood_group": (
        "groupe sanguin",
        "gs",
        "~groupe",
        "groupe rh",
        "rhesus",
        "groupe rhesus",
        "blood group",
        "blood type",
        "bloodtype",
        "abo",
        "grp sanguin",
        "gr sanguin",
    ),
    "health.visit_date": (
        "date visite",
        "date de visite",
        "derniere visite",
        "date derniere visite",
        "date prelevement",
        "date passage",
        "date dernier passage",
        "date examen",
        "date analyse",
        "visit date",
        "last visit",
        "date of visit",
        "sample date",
        "collection date",
        "date rdv",
        "date consultation",
        "~date",
        "dernier passage",
        "date demande",
        "date resultat",
        "~visit",
    ),
    "health.note": (
        "commentaire",
        "commentaires",
        "comment",
        "comments",
        "remarque",
        "remarques",
        "note",
        "notes",
        "observation",
        "observations",
        "obs",
        "infos",
        "~info",
        "renseignements cliniques",
        "rens cliniques",
        "informations",
        "memo",
        "texte libre",
        "free text",
        "remarks",
        "clinical notes",
        "commentaire 1",
        "commentaire 2",
        "notes medicales",
        "antecedents",
        "~historique",
        "~motif",
    ),
    "health.condition": (
        "diagnostic",
        "diagnosis",
        "pathologie",
        "pathology",
        "maladie",
        "~condition",
        "cim10",
        "cim 10",
        "code cim",
        "icd",
        "icd10",
        "icd 10",
        "ald",
        "affection",
        "code diagnostic",
    ),
    "health.pregnancy": (
        "grossesse",
        "enceinte",
        "pregnant",
        "pregnancy",
        "~terme",
        "date grossesse",
    ),
    "health.hiv": ("vih", "hiv", "statut vih", "hiv status", "serologie vih", "sida", "aids"),
    "health.test": (
        "examen",
        "examens",
        "analyse",
        "analyses",
        "~resultat",
        "resultats",
        "~result",
        "results",
        "test",
        "tests",
        "bilan",
        "~acte",
        "actes",
        "prescription",
        "~panel",
        "code acte",
        "nabm",
        "exam",
        "lab test",
    ),
    "insurance.insurer": (
        "mutuelle",
        "complementaire",
        "organisme complementaire",
        "amc",
        "assureur",
        "insurer",
        "insurance",
        "assurance",
        "nom mutuelle",
        "complementaire sante",
        "~caisse",
        "~organisme",
        "health insurer",
        "mutuelle sante",
    ),
    "insurance.member_id": (
        "num adherent",
        "numero adherent",
        "n adherent",
        "adherent",
        "numero mutuelle",
        "num mutuelle",
        "member id",
        "membership number",
        "policy number",
        "~policy",
        "num contrat",
        "numero contrat",
        "~contrat",
        "id mutuelle",
        "n contrat",
    ),
    "provider.physician": (
        "medecin",
        "medecin traitant",
        "prescripteur",
        "medecin prescripteur",
        "docteur",
        "dr",
        "physician",
        "doctor",
        "gp",
        "referring physician",
        "prescriber",
        "nom medecin",
        "mt",
        "praticien",
    ),
    "provider.rpps": ("rpps", "num rpps", "numero rpps", "id rpps", "rpps medecin"),
    "provider.adeli": ("adeli", "num adeli", "numero adeli"),
    "provider.finess": (
        "finess",
        "num finess",
        "numero finess",
        "code finess",
        "finess et",
        "finess ej",
    ),
    "provider.organisation": (
        "laboratoire",
        "labo",
        "lab",
        "laboratory",
        "etablissement",
        "~structure",
        "~site",
        "~centre",
        "raison sociale",
        "organisation",
        "organization",
        "facility",
        "clinic",
        "hopital",
        "lbm",
        "nom labo",
        "siret",
        "siren",
        "lab name",
    ),
    "other": (
        "state",
        "etat",
        "region",
        "pays",
        "country",
        "departement",
        "~statut",
        "~status",
        "age",
        "poids",
        "taille",
        "weight",
        "height",
        "montant",
        "amount",
        "prix",
        "price",
        "tarif",
        "total",
        "quantite",
        "quantity",
        "version",
        "created at",
        "updated at",
    ),
}

#: Words that, anywhere in a header, say whose value it is ("nom du medecin" is not the
#: patient's name, "nom mutuelle" is an insurer): they outweigh a person.* synonym.
_OWNERS: dict[str, str] = {
    "medecin": "provider.physician",
    "docteur": "provider.physician",
    "prescripteur": "provider.physician",
    "physician": "provider.physician",
    "doctor": "provider.physician",
    "praticien": "provider.physician",
    "mutuelle": "insurance.insurer",
    "assureur": "insurance.insurer",
    "insurer": "insurance.insurer",
    "laboratoire": "provider.organisation",
    "labo": "provider.organisation",
    "etablissement": "provider.organisation",
    "naissance": "person.birth_date",
    "naiss": "person.birth_date",
    "birth": "person.birth_date",
    "visite": "health.visit_date",
    "visit": "health.visit_date",
    "prelevement": "health.visit_date",
    "passage": "health.visit_date",
}


def fold(header: str) -> str:
    """Fold a header to lower-case ascii words: ``'N° SS'`` -> ``'n ss'``."""
    spaced = _CAMEL.sub(" ", header.strip())
    decomposed = unicodedata.normalize("NFKD", spaced)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub(" ", ascii_only.lower()).strip()


def is_meaningless(header: str) -> bool:
    """Whether a header says nothing (``col_3``, ``Unnamed: 2``, empty)."""
    folded = fold(header)
    return not folded or bool(_MEANINGLESS.match(folded))


@cache
def _synonym_index() -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """label -> [(words, highest score)]; ``~`` marks a vague synonym ('date', 'code')."""
    return {
        label: [
            (tuple(s.lstrip("~").split()), _VAGUE if s.startswith("~") else 1.0) for s in synonyms
        ]
        for label, synonyms in SYNONYMS.items()
    }


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _close(word: str, target: str) -> bool:
    """One small typo apart, for words long enough that a typo cannot make another word."""
    if len(word) < 5 or len(target) < 5 or abs(len(word) - len(target)) > 1:
        return False
    return SequenceMatcher(None, word, target).ratio() >= 0.8


def header_scores(header: str) -> dict[str, float]:
    """Score in 0..1 for every label the header may mean (labels it cannot mean omitted)."""
    if is_meaningless(header):
        return {}
    folded = fold(header)
    words = tuple(folded.split())
    meaningful = tuple(w for w in words if w not in _FILLER) or words
    scores: dict[str, float] = {}
    for label, phrases in _synonym_index().items():
        best = 0.0
        for phrase, ceiling in phrases:
            score = 0.0
            if phrase in (words, meaningful):
                score = 1.0
            elif _contains(words, phrase) or _contains(meaningful, phrase):
                # The more of the header the synonym explains, the surer.
                score = 0.55 + 0.4 * len(phrase) / len(meaningful)
            elif len(phrase) == 1 and any(_close(w, phrase[0]) for w in meaningful):
                score = 0.5 + 0.3 / len(meaningful)
            elif len(phrase) == len(meaningful) > 1 and all(
                w == p or _close(w, p) for w, p in zip(meaningful, phrase, strict=True)
            ):
                score = 0.85
            best = max(best, score * ceiling)
        if best:
            scores[label] = min(best, 1.0)
    for word in meaningful:
        owner = _OWNERS.get(word)
        if owner is None:
            continue
        # "finess_labo" is the lab's FINESS: a kind of value named beside the owner wins.
        named_kind = any(
            score >= 0.7 and not label.startswith("person.") and label != owner
            for label, score in scores.items()
        )
        if named_kind:
            if owner in scores:
                scores[owner] *= 0.6  # it says whose value it is, not what
        else:
            scores[owner] = max(scores.get(owner, 0.0), 0.9)
        for label in list(scores):
            if label.startswith("person.") and label != owner:
                scores[label] *= 0.5
    return scores
