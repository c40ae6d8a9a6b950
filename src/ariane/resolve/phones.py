"""Phone numbers in E.164: SQL for the common metropolitan shapes, ``phonenumbers`` for
the rest (overseas départements, foreign numbers, odd spellings)."""

from __future__ import annotations

import phonenumbers

# Overseas départements and collectivities dial a national 0 like the metropole, but their
# numbers belong to other country codes (+590, +594, +596, +262, +508).
OVERSEAS_REGIONS = ("GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF")
# National prefixes of those numbers: they skip the SQL fast path.
_OVERSEAS_PREFIX = r"^0(59[046]|26[239]|639|69[0-7]|508)"


def digits(column: str) -> str:
    """The digits of a phone field, a leading '+' kept, '(0)' dropped."""
    return f"regexp_replace(replace({column}, '(0)', ''), '[^0-9+]', '', 'g')"


def fast_e164(d: str) -> str:
    """E.164 for metropolitan French numbers from :func:`digits` output, else NULL."""
    return (
        "CASE "
        f"WHEN regexp_full_match({d}, '\\+33[1-9][0-9]{{8}}') THEN {d} "
        f"WHEN regexp_full_match({d}, '(0033|33)[1-9][0-9]{{8}}') "
        f"THEN '+33' || right({d}, 9) "
        f"WHEN regexp_matches({d}, '{_OVERSEAS_PREFIX}') THEN NULL "
        f"WHEN regexp_full_match({d}, '0[1-9][0-9]{{8}}') THEN '+33' || right({d}, 9) "
        # Nine digits: a spreadsheet dropped the leading zero.
        f"WHEN regexp_full_match({d}, '[1-79][0-9]{{8}}') THEN '+33' || {d} "
        "END"
    )


def is_valid_french(number: str) -> bool:
    """Whether ``phonenumbers`` holds a number valid in France or an overseas département
    (dialled nationally: 06..., 0690..., or with its country code)."""
    for region in ("FR", *OVERSEAS_REGIONS):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            return False
    return False


# National prefix (4 digits) -> the region whose numbers it last proved to be: numbers of
# one overseas département then parse once instead of once per region.
_REGION_OF_PREFIX: dict[str, str] = {}


def e164(value: str | None) -> str | None:
    """E.164 form of a phone number read as French (or overseas), else None."""
    if not value:
        return None
    known = _REGION_OF_PREFIX.get(value[:4])
    regions: tuple[str, ...] = ("FR", *OVERSEAS_REGIONS)
    if known:
        regions = (known, *(r for r in regions if r != known))
    for region in regions:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            if not value.startswith("+"):
                _REGION_OF_PREFIX[value[:4]] = region
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if value.startswith("+"):
            break  # the number names its own country: no other region applies
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number):
        # Possible but unknown to the metadata (a new range): kept, consistently formatted.
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
