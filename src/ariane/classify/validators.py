"""Checks on single values: does this string look like, or validate as, a given kind?

Each check takes a stripped, non-empty string and answers True or False; the column
scorer (:mod:`ariane.classify.columns`) turns their pass rates over a sample into labels.
Checksums come from real libraries (``python-stdnum`` for Luhn, SIREN, SIRET, IBAN;
``phonenumbers`` for phone numbers; :mod:`ariane.nir` for the NIR; :mod:`ariane.geo` for
postal codes and communes). Cheap regular expressions run first so the slow checks only
see plausible values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from stdnum import iban, luhn
from stdnum.fr import siren, siret

from ariane import excel, geo, nir
from ariane.classify import lexicon, reference
from ariane.classify.reference import fold
from ariane.resolve.phones import is_valid_french

_DIGITS_SEP = re.compile(r"[\s.\-/]")
_NINE_DIGITS = re.compile(r"^\d{9}$")
_FINESS = re.compile(r"^(?:\d{2}|2A|2B)\d{7}$")
_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
_PHONE_SHAPE = re.compile(r"^\+?[\d\s.\-()/]{8,20}$")
_POSTAL_SHAPE = re.compile(r"^[A-Z0-9]{3,5}(?: ?[A-Z0-9]{3})?$")
_BLOOD = re.compile(
    r"^(?:groupe\s*)?(?:A|B|AB|O|0)\s*(?:rh(?:esus)?\s*)?"
    r"(?:\+|-|pos(?:itif|itive)?|neg(?:atif|ative)?|\(\s*[+-]\s*\))?$",
    re.IGNORECASE,
)
_ICD10 = re.compile(r"^[A-Z]\d{2}(?:\.?[0-9A-Z]{1,4})?$", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")
_CIVILITY = re.compile(r"^(?:m|mr|mme|mlle|monsieur|madame|mademoiselle|mrs|ms)\.?\s+", re.I)
_PHYSICIAN = re.compile(
    r"^(?:dr|dre|dra|docteur|doctor|doctora|dott|dottore|dott\.?ssa|pr|professeur|prof)\b\.?\s*\S",
    re.IGNORECASE,
)
# Street types written out may open a street line alone ("rue des Lilas"); abbreviations
# that are also common words or titles ("Dr", "St", "Ch") count only after a number.
_STREET_WORDS = (
    r"rue|avenue|av|ave|bd|boulevard|bld|blvd|chemin|allee|place|impasse|route|rte|quai|"
    r"cours|square|residence|lotissement|lieu dit|hameau|passage|sentier|voie|villa|cite|"
    r"parvis|esplanade|promenade|faubourg|street|road|lane|drive|court|crescent|circuit|"
    r"close|parade|terrace|highway|grove|boulevarde|avenida|calle|strasse"
)
_STREET_ABBREVIATIONS = (
    r"r|ch|che|all|pl|imp|sq|res|lot|ld|ham|fg|st|rd|ln|dr|ct|cres|cct|tce|hwy|way|gr|pde|mail|view"
)
_STREET = re.compile(
    rf"^(?:\d+\s*(?:bis|ter|[a-d])?\s*,?\s+)?(?:{_STREET_WORDS})\s+\w"
    rf"|^\d+\s*(?:bis|ter|[a-d])?\s*,?\s+(?:{_STREET_ABBREVIATIONS})\s+\w"
    rf"|\w\s+(?:{_STREET_WORDS}|{_STREET_ABBREVIATIONS})$"
    rf"|^\d+\s*(?:bis|ter|[a-d])?,?\s+[a-z]",
)
_FULL_ADDRESS = re.compile(r"[a-z].*\b(?:\d{5}|\d{2} \d{3}|\d{4})\b")
#: "... 35310 Mordelles", "... 35000 RENNES CEDEX 9": a postal code and a town end the value.
_POSTAL_TOWN = re.compile(
    r"[a-z].*? (?:\d{5}|\d{2} \d{3}) ([a-z][a-z ]{1,45}?)(?: cedex(?: \d+)?)?$"
)
#: "Paris 15", "Lyon 3e", "Marseille 8eme arrondissement": a city with its arrondissement.
#: "..., Springfield 62704", "..., Les Loges 14240": the town before its postal code, as
#: English, German-speaking and many other countries write an address.
_TOWN_POSTAL = re.compile(r"[a-z].*?,? ([a-z][a-z ]{1,45}?) (?:\d{5}|\d{2} \d{3}|\d{4})$")
_ARRONDISSEMENT = re.compile(
    r"\s+\d{1,2}\s*(?:e|er|eme|ème)?(?:\s+arr(?:ondissement)?\.?)?$", re.IGNORECASE
)
_IDENTIFIER_LENGTH = 64
#: Runs of letters and digits between separators, a digit in any run (``K/000123`` too).
_IDENTIFIER = re.compile(r"^(?=[^ ]*\d)[A-Za-z0-9]+(?:[\-_/.:][A-Za-z0-9]+)*$")
_INTEGER = re.compile(r"^\d+$")
_LOINC = re.compile(r"^(\d{1,5})-(\d)$")
#: Lab units: a prefix, a quantity, per a volume, mass, time or count (UCUM-like spellings).
_UNIT = re.compile(
    r"^(?:%|‰|(?:10\^\d+|[mµunpfk]?(?:mol|g|ui|iu|u|l|eq|kat|osm|cells?|copies|g/dl)|mm|fl"
    r"|pg|mmhg|sec|s|min|h|ratio|titre|index|mosm)"
    r"(?:\s*/\s*(?:10\^\d+\s*)?[mµund]?(?:l|kg|g|h|24 ?h|min|mmol|mm3|ml|dl|s))*)$",
    re.IGNORECASE,
)
_NUMBER = r"-?\d+(?:[.,]\d+)?"
_MEASUREMENT = re.compile(
    rf"^(?:[<>≤≥]=?\s*{_NUMBER}|(?P<low>{_NUMBER})(?:\s*(?:-|–|à|to|a)\s*(?P<high>{_NUMBER}))?)$",
    re.IGNORECASE,
)
_RESULT_NUMBER = re.compile(rf"^{_NUMBER}$")
_DATE_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_DATE_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[ T].*)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTHS = {
    "jan": 1,
    "janv": 1,
    "janvier": 1,
    "january": 1,
    "fev": 2,
    "fevr": 2,
    "fevrier": 2,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "mars": 3,
    "march": 3,
    "avr": 4,
    "avril": 4,
    "apr": 4,
    "april": 4,
    "mai": 5,
    "may": 5,
    "juin": 6,
    "jun": 6,
    "june": 6,
    "juil": 7,
    "juillet": 7,
    "jul": 7,
    "july": 7,
    "aou": 8,
    "aout": 8,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "septembre": 9,
    "september": 9,
    "oct": 10,
    "octobre": 10,
    "october": 10,
    "nov": 11,
    "novembre": 11,
    "november": 11,
    "dec": 12,
    "decembre": 12,
    "december": 12,
}
_DATE_TEXT_DMY = re.compile(r"^(\d{1,2})(?:er)? ([a-z]+) (\d{4})(?: .*)?$")
_DATE_TEXT_MDY = re.compile(r"^([a-z]+) (\d{1,2}) (\d{4})$")
_SEX = frozenset(
    [
        "1",
        "2",
        "m",
        "f",
        "h",
        "homme",
        "femme",
        "masculin",
        "feminin",
        "male",
        "female",
        "man",
        "woman",
        "mr",
        "mme",
        "mlle",
        "monsieur",
        "madame",
        "mademoiselle",
        "mrs",
        "ms",
        "miss",
    ]
)
_YES_NO = frozenset(
    [
        "oui",
        "non",
        "o",
        "n",
        "y",
        "yes",
        "no",
        "0",
        "1",
        "true",
        "false",
        "vrai",
        "faux",
        "x",
        "positif",
        "negatif",
        "pos",
        "neg",
        "positive",
        "negative",
        "inconnu",
        "unknown",
        "nc",
    ]
)
_HIV_VALUES = re.compile(
    r"^(?:vih|hiv)(?:[ -]?[12])?\s*(?:\+|-|pos|neg|positif|negatif|positive|negative|detecte"
    r"|non detecte)?$|^(?:sero)?(?:positi|negati)(?:f|ve)s?$|^seropositi|^seroneg"
)
#: "Sérologie VIH : négatif", "HIV test = pos": a field name written into every value.
_HIV_PREFIX = re.compile(r"^[a-z0-9 /().-]{0,30}\b(?:vih|hiv)\b[a-z0-9 /().-]{0,20}?\s*[:=]\s*")
_HIV_ANSWERS = re.compile(
    r"^(?:\+|-|pos|neg|positif|negatif|positive|negative|positifs|negatifs|detecte|non detecte"
    r"|indetermine|douteux|non fait|en cours|a controler|oui|non|yes|no|inconnu|unknown)\.?$"
)
_PREGNANCY_VALUES = re.compile(
    r"^(?:enceinte|grossesse|pregnant|non enceinte|not pregnant)\b|^\d{1,2} ?(?:sa|sem|semaines|"
    r"weeks|wk)\b|^g\d ?p\d$|^(?:t1|t2|t3|1er trimestre|2e trimestre|3e trimestre)$"
)


def _lower_ascii(value: str) -> str:
    """Lower case without accents, punctuation kept (``VIH+`` stays ``vih+``)."""
    lowered = value.strip().lower()
    if lowered.isascii():  # nothing to decompose
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _digits(value: str) -> str:
    return _DIGITS_SEP.sub("", value)


def is_nir(value: str) -> bool:
    """A NIR with the right key (Corsica included)."""
    return nir.is_valid_nir(value)


def is_nir_shaped(value: str) -> bool:
    """Thirteen or fifteen characters laid out like a NIR, key not checked (masked, typed)."""
    text = nir.normalise(value)
    return bool(
        re.match(r"^[1278]\d{2}(?:0[1-9]|1[0-2]|[2-9]\d)(?:\d{2}|2A|2B)\d{6}(?:\d{2})?$", text)
    )


def is_finess(value: str) -> bool:
    """Nine characters, a département then a Luhn-checked number (2A/2B read as 20); or
    eight digits whose lost leading zero, put back, makes one (département 01-09)."""
    text = _digits(value).upper()
    if not _FINESS.match(text):
        return excel.finess_restored(text) is not None
    return luhn.is_valid(text.replace("2A", "20").replace("2B", "20"))


def is_rpps(value: str) -> bool:
    """Eleven digits with a Luhn key (RPPS numbers start with 1 or 8 for students)."""
    text = _digits(value)
    return len(text) == 11 and text.isdigit() and text[0] in "18" and luhn.is_valid(text)


def is_adeli(value: str) -> bool:
    """Nine digits, a département first, then profession and order; Luhn key."""
    text = _digits(value)
    return bool(_NINE_DIGITS.match(text)) and text[:2] != "00" and luhn.is_valid(text)


def is_siren_or_siret(value: str) -> bool:
    """A SIREN (9 digits) or SIRET (14 digits) with a valid Luhn key."""
    text = _digits(value)
    if len(text) == 14:
        return bool(siret.is_valid(text))
    return len(text) == 9 and bool(siren.is_valid(text))


def is_iban(value: str) -> bool:
    """An IBAN with a valid checksum (any country)."""
    text = value.replace(" ", "")
    return len(text) >= 14 and text[:2].isalpha() and bool(iban.is_valid(text))


def is_phone(value: str) -> bool:
    """A valid phone number, French (metropolitan or overseas) or international."""
    if not _PHONE_SHAPE.match(value) or sum(ch.isdigit() for ch in value) < 9:
        return False
    # A national number starts with 0, an international one with + or 00: nine bare
    # digits are an ADELI, a SIREN or a FINESS, not a phone number.
    if not value.lstrip("(").startswith(("0", "+")):
        return False
    # French, or of an overseas département dialled nationally (0590, 0696, ...).
    return is_valid_french(value)


def is_mobile_without_zero(value: str) -> bool:
    """A French mobile whose leading 0 a spreadsheet dropped: ``612345678``, ``6 12 34 56 78``."""
    text = _digits(value)
    return len(text) == 9 and text[0] in "67" and excel.phone_restored(text) is not None


def is_phone_without_zero(value: str) -> bool:
    """Any French number whose leading 0 a spreadsheet dropped (landlines too: ``299123456``)."""
    return excel.phone_restored(value) is not None


def is_nir_digits_lost(value: str) -> bool:
    """A NIR rounded by a spreadsheet to its first digits: ``2,85057E+14``."""
    return excel.nir_digits_lost(value)


def is_serial_date(value: str) -> bool:
    """An Excel serial number of a plausible date: ``31458`` (1986-02-14)."""
    found = excel.serial_date(value)
    return found is not None and found.year <= date.today().year + 1


def is_email(value: str) -> bool:
    """An e-mail address."""
    return bool(_EMAIL.match(value))


def is_french_postal_code(value: str) -> bool:
    """A postal code serving at least one French commune."""
    text = value.replace(" ", "")
    if len(text) == 4:
        return excel.postal_code_restored(text) is not None  # 01000 saved as 1000
    return len(text) == 5 and text.isdigit() and geo.is_postal_code(text)


def is_postal_code_shaped(value: str) -> bool:
    """Shaped like a postal code somewhere (4-5 digits, UK-like codes)."""
    return bool(_POSTAL_SHAPE.match(value.upper())) and any(ch.isdigit() for ch in value)


def is_commune(value: str) -> bool:
    """The name of a current or former French commune (an arrondissement number allowed)."""
    if geo.is_commune_name(value):
        return True
    city = _ARRONDISSEMENT.sub("", value)
    return city != value and geo.is_commune_name(city)


def is_blood_group(value: str) -> bool:
    """An ABO group with or without its Rhesus: ``A+``, ``O neg``, ``AB Rh-``."""
    return bool(_BLOOD.match(value.strip()))


def is_sex(value: str) -> bool:
    """A sex or civility code in French or English."""
    return fold(value) in _SEX


def is_yes_no(value: str) -> bool:
    """A boolean or polarity answer."""
    return fold(value) in _YES_NO


@lru_cache(maxsize=1 << 16)
def parse_date(value: str) -> date | None:
    """A calendar date written in a common format, else None.

    Day first unless the day cannot be one (``12/31/1985``); two-digit years pivot on
    the current year (``05`` -> 2005, ``85`` -> 1985); a time part is ignored.
    """
    text = value.strip()
    parts: tuple[int, int, int] | None = None
    if match := _DATE_ISO.match(text):
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif match := _DATE_DMY.match(text):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        if month > 12 >= day:
            day, month = month, day
        if len(match[3]) == 2:
            year += 2000 if year <= date.today().year % 100 else 1900
        parts = (year, month, day)
    elif match := _DATE_COMPACT.match(text):
        parts = (int(match[1]), int(match[2]), int(match[3]))
    else:
        folded = fold(text)
        if match := _DATE_TEXT_DMY.match(folded):
            month_number = _MONTHS.get(match[2])
            if month_number:
                parts = (int(match[3]), month_number, int(match[1]))
        elif match := _DATE_TEXT_MDY.match(folded):
            month_number = _MONTHS.get(match[1])
            if month_number:
                parts = (int(match[3]), month_number, int(match[2]))
    if parts is None or not 1890 <= parts[0] <= date.today().year + 1:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def is_date(value: str) -> bool:
    """A calendar date in a common format."""
    return parse_date(value) is not None


def is_first_name(value: str) -> bool:
    """A known first name, or several (``Jean-Pierre``, ``Marie Claire``): never a surname too.

    "Jean Martin" starts with a first name but is a whole name: every word must be one.
    """
    words = fold(value).split()
    firsts = reference.first_names()
    return bool(words) and _NAME.match(value) is not None and all(w in firsts for w in words)


def is_name_shaped(value: str) -> bool:
    """Letters, with spaces, hyphens or apostrophes only: shaped like a person's name."""
    return bool(_NAME.match(value)) and len(value) <= 40 and len(value.split()) <= 3


def is_full_name(value: str) -> bool:
    """Two to four name words, one of them a known first name (either order, ``DUPONT, Marie``)."""
    value = _CIVILITY.sub("", value)
    if value.count(",") == 1:
        value = re.sub(r"\s*,\s*", " ", value)
    if not _NAME.match(value):
        return False
    words = fold(value).split()
    firsts = reference.first_names()
    return 2 <= len(words) <= 4 and (words[0] in firsts or words[-1] in firsts)


def is_physician(value: str) -> bool:
    """A physician's name: ``Dr Martin``, ``Docteur J. Martin``, ``Pr. Durand``."""
    return bool(_PHYSICIAN.match(value.strip()))


def _has_phrase(value: str, phrases: tuple[str, ...] | frozenset[str]) -> bool:
    return reference.phrase_pattern(phrases).search(fold(value)) is not None


def is_organisation(value: str) -> bool:
    """The name of a lab or establishment (``Laboratoire X``, ``LBM``, ``CHU``...).

    Words of an analysis's name are not counted: ``Bilan biologique`` is a panel a lab is
    asked for, though ``biologique`` is also a word of lab names.
    """
    text = reference.phrase_pattern(reference.TESTS).sub(" ", fold(value))
    return reference.phrase_pattern(reference.ORGANISATION_WORDS).search(text) is not None


def is_insurer(value: str) -> bool:
    """A complementary insurer's name (a mutuelle) or a public scheme."""
    return _has_phrase(value, reference.INSURERS)


def is_test(value: str) -> bool:
    """An analysis a lab orders, or a result word."""
    return _has_phrase(value, reference.TESTS)


def is_icd10(value: str) -> bool:
    """An ICD-10 (CIM-10) code: ``C50``, ``B20.1``, ``O09``."""
    return bool(_ICD10.match(value.strip()))


def is_condition(value: str) -> bool:
    """An ICD-10 code or a common chronic condition written out."""
    return is_icd10(value) or _has_phrase(value, reference.CONDITIONS)


def is_hiv_value(value: str) -> bool:
    """An HIV status or test answer (``VIH+``, ``séronégatif``, ``Sérologie VIH : négatif``)."""
    text = _lower_ascii(value)
    if _HIV_VALUES.match(text):
        return True
    prefix = _HIV_PREFIX.match(text)
    return prefix is not None and bool(_HIV_ANSWERS.match(text[prefix.end() :].strip()))


def is_pregnancy_value(value: str) -> bool:
    """A pregnancy status (``enceinte``, ``12 SA``, ``G2P1``, ``T2``)."""
    return bool(_PREGNANCY_VALUES.match(fold(value)))


def is_street(value: str) -> bool:
    """A street line: a number and a street type (``12 rue des Lilas``, ``4 Wattle St``)."""
    folded = fold(value)
    return bool(_STREET.search(folded)) and not _FULL_ADDRESS.search(folded)


def is_address(value: str) -> bool:
    """A whole address in one field: a street line, a postal code and a town."""
    folded = fold(value)
    match = _FULL_ADDRESS.search(folded) if _STREET.search(folded) else None
    if match is not None and match.end() < len(folded):
        return True
    # No street type ("Appt 4, 12 rue...", "La Ville Hervé 35310 Mordelles"): a French
    # postal code followed by a real commune is an address.
    town = _POSTAL_TOWN.search(folded)
    if town is not None and is_commune(town[1]):
        return True
    # The town then the postal code: a street line before them (a four-digit code could
    # be a year after a word: "le 12 mars 2021").
    return _STREET.search(folded) is not None and _TOWN_POSTAL.search(folded) is not None


def is_loinc(value: str) -> bool:
    """A LOINC test code: up to five digits, a dash, a mod-10 check digit (``2345-7``)."""
    found = _LOINC.match(value)
    return found is not None and luhn.checksum(found[1] + found[2]) == 0


def is_unit(value: str) -> bool:
    """A unit of a lab result: ``mmol/L``, ``µg/L``, ``%``, ``10^9/L``, ``mUI/mL``."""
    return bool(_UNIT.match(value.strip()))


def is_measurement(value: str) -> bool:
    """A measured number or a range of them, never a plain integer (a count, an id may be
    one): ``5,4``, ``0.27-4.20``, ``< 5``, ``3,9 - 5,8``."""
    text = value.strip()
    found = _MEASUREMENT.match(text)
    if found is None or text.isdigit():
        return False
    low, high = found["low"], found["high"]
    if high is None or not (low.isdigit() and high.isdigit()):
        return True
    # Two integers joined by a dash are a range only when short and rising ("45-104"):
    # "2021-12345" or "2021-07" are codes and months.
    return len(low) <= 4 and len(high) <= 4 and not high.startswith("0") and int(low) < int(high)


def is_result_number(value: str) -> bool:
    """A single measured value: ``5,4``, ``78``, ``-1.5``."""
    return bool(_RESULT_NUMBER.match(value.strip()))


_KVNR = re.compile(r"[A-Z][0-9]{9}")
_HEALTH_CARD = re.compile(r"80[0-9]{14,18}")


def is_kvnr(value: str) -> bool:
    """A German statutory insurance number (*Krankenversichertennummer*): a letter, eight
    digits and a check digit; the letter as its two-digit rank, then the digits weighted
    1, 2, 1, 2..., the digits of the products summed, modulo 10."""
    text = value.strip().upper()
    if not _KVNR.fullmatch(text):
        return False
    digits = f"{ord(text[0]) - 64:02d}{text[1:9]}"
    total = sum(sum(divmod(int(d) * (1 + i % 2), 10)) for i, d in enumerate(digits))
    return total % 10 == int(text[9])


def is_health_card(value: str) -> bool:
    """The number of a health insurance card under ISO/IEC 7812 (issuers of health care
    begin with 80, then the country: 80250 France, 80756 Switzerland, 80276 Germany, as
    on a European Health Insurance Card), 16 to 20 digits with a Luhn key."""
    text = value.replace(" ", "").replace("-", "")
    return bool(_HEALTH_CARD.fullmatch(text)) and luhn.is_valid(text)


def is_member_card(value: str) -> bool:
    """A number that only an insurer issues to its members: a German insurance number or
    a health insurance card number."""
    return is_kvnr(value) or is_health_card(value)


def is_identifier(value: str) -> bool:
    """A code with at least one digit and no spaces: ``P000123``, ``LAB-2021-004``,
    ``urn:uuid:6f1c...`` (a FHIR reference: 45 characters)."""
    return len(value) <= _IDENTIFIER_LENGTH and bool(_IDENTIFIER.match(value))


def is_integer(value: str) -> bool:
    """Digits only."""
    return bool(_INTEGER.match(value))


def is_free_text(value: str) -> bool:
    """Words with spaces, or short words and punctuation: what people type in a comment."""
    if len(value.split()) < 3 and _NAME.match(value):
        return False
    return _letters(value, 2)


def _letters(value: str, wanted: int) -> bool:
    """Whether ``value`` holds at least ``wanted`` letters (stops as soon as it does)."""
    for ch in value:
        if ch.isalpha():
            wanted -= 1
            if wanted <= 0:
                return True
    return wanted <= 0


def forget_values() -> None:
    """Empty the per-value caches, so no sampled value outlives the classification."""
    parse_date.cache_clear()
    fold.cache_clear()
    lexicon.categories_in.cache_clear()


#: Every check, by the name the column evidence reports.
CHECKS: dict[str, Callable[[str], bool]] = {
    "nir": is_nir,
    "nir_shape": is_nir_shaped,
    "finess": is_finess,
    "rpps": is_rpps,
    "adeli": is_adeli,
    "siren": is_siren_or_siret,
    "iban": is_iban,
    "phone": is_phone,
    "mobile_without_zero": is_mobile_without_zero,
    "phone_without_zero": is_phone_without_zero,
    "nir_digits_lost": is_nir_digits_lost,
    "serial_date": is_serial_date,
    "email": is_email,
    "postal_code_fr": is_french_postal_code,
    "postal_code_shape": is_postal_code_shaped,
    "commune": is_commune,
    "blood_group": is_blood_group,
    "sex": is_sex,
    "yes_no": is_yes_no,
    "date": is_date,
    "first_name": is_first_name,
    "name_shape": is_name_shaped,
    "full_name": is_full_name,
    "physician": is_physician,
    "organisation": is_organisation,
    "insurer": is_insurer,
    "test": is_test,
    "icd10": is_icd10,
    "condition": is_condition,
    "hiv_value": is_hiv_value,
    "pregnancy_value": is_pregnancy_value,
    "street": is_street,
    "address": is_address,
    "loinc": is_loinc,
    "unit": is_unit,
    "measurement": is_measurement,
    "result_number": is_result_number,
    "identifier": is_identifier,
    "member_card": is_member_card,
    "integer": is_integer,
    "free_text": is_free_text,
}
