"""Header synonyms per label: French and English, then the languages of neighbouring exports.

Every synonym is already folded (lower case, ascii, words separated by one space); a
leading ``~`` marks a vague one (``date``, ``code``) that only hints. Headers are also
tried in the singular (:mod:`ariane.classify.headers`), so singular synonyms suffice.
"""

from __future__ import annotations

#: Words that qualify a header without changing what it holds ("nom du patient").
FILLER = frozenset(
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
        "maiden name",
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
        "conclusion",  # FHIR DiagnosticReport.conclusion
        "compte rendu",
        "report text",
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
        "loinc",
        "code loinc",
        "code analyse",
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
        "member",
        "member number",
        "membership",
        "membership number",
        "subscriber id",
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
        "sending application",  # HL7 v2 message headers
        "receiving application",
        "message type",
        "message control id",
        "control id",
    ),
}

#: Registry numbers with a checksum but no label of their own: a header naming one says
#: which nine- or fourteen-digit number a column holds when the keys cannot (every
#: Luhn-keyed FINESS number is also a valid SIREN).
REGISTRY_NUMBERS = (
    "siren",
    "siret",
    "tva",
    "vat",
    "ust idnr",
    "ust id",
    "partita iva",
    "cif",
    "kvk",
    "company number",
    "business number",
)

#: Words that, anywhere in a header, say whose value it is ("nom du medecin" is not the
#: patient's name, "nom mutuelle" is an insurer): they outweigh a person.* synonym.
OWNERS: dict[str, str] = {
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

#: Spanish, Italian, Portuguese, German and Dutch headers (exports of foreign software,
#: cross-border patients), and English words the lists above miss.
ABROAD: dict[str, str] = {  # label -> synonyms separated by "|"
    "person.last_name": (
        "apellido|apellidos|primer apellido|cognome|apelido|sobrenome|nachname|"
        "familienname|zuname|achternaam|familienaam|family names"
    ),
    "person.first_name": (
        "nombre|nombres|nome|nomi|primeiro nome|nome proprio|vorname|vornamen|voornaam|"
        "voornamen|roepnaam|given names|first names"
    ),
    "person.full_name": (
        "nombre completo|nome completo|nome e cognome|cognome e nome|nombre y apellidos|"
        "vollstandiger name|volledige naam|naam"
    ),
    "person.sex": ("sexo|sesso|genero|geschlecht|geslacht|sexe patient"),
    "person.birth_date": (
        "fecha de nacimiento|fecha nacimiento|f nacimiento|nacimiento|data di nascita|"
        "data nascita|data de nascimento|nascimento|geburtsdatum|geboren|geb datum|"
        "geboortedatum|geboren op|date naissance|born"
    ),
    "contact.street": (
        "calle|direccion|domicilio|via|indirizzo|rua|strasse|str|anschrift|straat|"
        "straatnaam|huisnummer|adres|line1|line 1"
    ),
    "contact.postal_code": (
        "codigo postal|cod postal|cap|codice postale|codigo postal|plz|postleitzahl|"
        "postcode|postnummer"
    ),
    "contact.city": (
        "ciudad|localidad|municipio|poblacion|citta|comune|localita|cidade|concelho|"
        "localidade|ort|stadt|wohnort|gemeente|woonplaats|plaats"
    ),
    "contact.address": (
        "direccion completa|indirizzo completo|morada|endereco|adresse komplett|"
        "volledig adres|residence address|address line full"
    ),
    "contact.phone": (
        "telefono|movil|celular|cellulare|telemovel|telefone|telefon|handy|mobiel|"
        "telefoon|telefoonnummer|tel no|phone no|mobile no|contact number|cell phone"
    ),
    "contact.email": (
        "correo|correo electronico|posta elettronica|e mail adresse|emailadres|mail adres|"
        "email address"
    ),
    "id.nir": (
        "numero seguridad social|numero de seguridad social|seguridad social|nss|"
        "numero previdenza|previdenza|codice previdenza|seguranca social|"
        "numero seguranca social|niss|sozialversicherungsnummer|sv nummer|"
        "versicherungsnummer|sofinummer|bsn|ss no|social security no|"
        "national insurance number|nino|numero insee|num insee|n insee|"
        "~numero identification|national id"
    ),
    "id.internal": (
        "numero historia|historia clinica|n historia|numero cartella|cartella|n processo|"
        "processo|numero processo|patientennummer|fallnummer|patientnummer|dossiernummer|"
        "case number|chart number|episode id|same patient as|merged into|replaced by"
    ),
    "finance.iban": ("cuenta bancaria|conto corrente|bankverbindung|rekeningnummer"),
    "health.blood_group": ("grupo sanguineo|gruppo sanguigno|blutgruppe|bloedgroep|abo rh"),
    "health.visit_date": (
        "fecha visita|fecha de visita|ultima visita|data visita|data prelievo|"
        "data da consulta|besuchsdatum|untersuchungsdatum|bezoekdatum|last seen|seen on|"
        "encounter date|admission date|date seen"
    ),
    "health.note": (
        "observaciones|comentarios|notas|osservazioni|note cliniche|annotazioni|"
        "observacoes|comentarios clinicos|bemerkungen|bemerkung|anmerkungen|kommentar|"
        "notizen|befund|opmerkingen|opmerking|aantekeningen|clinical note|"
        "consultation notes|progress notes|medical notes|clinical comments|"
        "clinical information|clinical info"
    ),
    "health.condition": (
        "diagnostico|diagnosi|diagnose|krankheit|ziekte|enfermedad|malattia|doenca|"
        "problem list|conditions"
    ),
    "health.pregnancy": (
        "embarazo|embarazada|gravidanza|incinta|gravidez|schwanger|schwangerschaft|"
        "zwanger|zwangerschap"
    ),
    "health.hiv": ("vih sida|hiv test|statut serologique vih|sierologia hiv"),
    "health.test": (
        "analisis|prueba|analisi|esame|esami|analise|exame|laborwert|untersuchung|"
        "onderzoek|test ordered|lab result"
    ),
    "insurance.insurer": (
        "aseguradora|seguro|mutua|assicurazione|seguradora|krankenkasse|"
        "krankenversicherung|versicherung|zorgverzekeraar|verzekeraar|health insurance|"
        "insurance company|mutuel|mutual insurance|supplementary insurer"
    ),
    "insurance.member_id": (
        "numero afiliado|n afiliado|afiliado|numero poliza|n adherent|versichertennummer|"
        "polisnummer|"
        "insurance number|insurance id"
    ),
    "provider.physician": (
        "medico|medico de cabecera|medico curante|medico di base|medico di famiglia|"
        "medico de familia|arzt|hausarzt|behandelnder arzt|huisarts|arts|"
        "general practitioner|family doctor|referring doctor|attending physician"
    ),
    "provider.organisation": (
        "laboratorio|clinica|hospital|ospedale|labor|krankenhaus|klinik|ziekenhuis|"
        "laboratorium|practice|surgery name"
    ),
}


#: Words of the analyses list that are results, not names of an analysis.
_RESULT_WORDS = frozenset(
    ["positif", "negatif", "positive", "negative", "normal", "anormal", "cours", "resultat"]
    + ["detecte"]
)


def _analyses() -> tuple[str, ...]:
    """Analyses named as headers ("Glycémie (g/L)", "HbA1c"): the column holds a result.

    Two-letter codes (TP, VS) are left out: alone in a header they could mean anything.
    """
    from ariane.classify.reference import TESTS

    return tuple(t for t in TESTS if len(t) > 2 and not set(t.split()) & _RESULT_WORDS)


def _merged() -> dict[str, tuple[str, ...]]:
    merged = dict(SYNONYMS)
    for label, words in ABROAD.items():
        extra = tuple(w for w in words.split("|") if w not in merged[label])
        merged[label] = merged[label] + extra
    # An analysis another label already claims ("sérologie VIH" is the HIV field) stays there.
    claimed = {w.lstrip("~") for words in merged.values() for w in words}
    merged["health.test"] += tuple(a for a in _analyses() if a not in claimed)
    return merged


SYNONYMS = _merged()

#: Owner words of the other languages ("nombre del medico" is the physician's name).
OWNERS.update(
    {
        "medico": "provider.physician",
        "arzt": "provider.physician",
        "hausarzt": "provider.physician",
        "huisarts": "provider.physician",
        "gp": "provider.physician",
        "nacimiento": "person.birth_date",
        "nascita": "person.birth_date",
        "geburt": "person.birth_date",
        "geboorte": "person.birth_date",
        "aseguradora": "insurance.insurer",
        "krankenkasse": "insurance.insurer",
    }
)
