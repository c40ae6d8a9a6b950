"""The Splink model of a person: which fields are compared how, which pairs are scored,
which pairs train it. Only the fields present in the leak take part.
"""

from __future__ import annotations

from typing import Any

#: Identifiers compared as typed, a slip apart: a social-security number that is no NIR,
#: and a person key found from the data (:mod:`ariane.classify.keys`).
TYPED_IDENTIFIERS = ("foreign_id", "person_key")
#: The dialect the custom SQL below is written in; Splink transpiles it for its backend.
SQL_DIALECT = "duckdb"


class _Levels:
    """Splink's level library, with custom levels read as DuckDB SQL (so Spark runs them)."""

    def __init__(self, library: Any) -> None:
        self._library = library

    def CustomLevel(self, sql: str, label: str | None = None) -> Any:  # noqa: N802 (Splink's name)
        return self._library.CustomLevel(sql, label, base_dialect_str=SQL_DIALECT)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._library, name)


def comparisons_for(present: set[str]) -> list[Any]:
    import splink.comparison_level_library as splink_levels
    import splink.comparison_library as cl

    cll = _Levels(splink_levels)

    comparisons: list[Any] = []
    if "nir" in present:
        comparisons.append(cl.ExactMatch("nir"))
    for identifier in TYPED_IDENTIFIERS:
        if identifier in present:
            # No key to catch typos here: one slip is a level of its own.
            comparisons.append(cl.DamerauLevenshteinAtThresholds(identifier, [1]))
    if "last_name" in present:
        comparisons.append(
            _names_comparison(cll, cl, "last_name_alt" in present, "first_name" in present)
        )
    if "birth_date" in present:
        comparisons.append(_birth_comparison(cll, cl, "nir_birth" in present))
    if "sex" in present:
        comparisons.append(cl.ExactMatch("sex"))
    if "phone" in present:
        comparisons.append(cl.ExactMatch("phone"))
    if "email" in present:
        # Exact only: a user name alone (jean.dupont@ at another provider) follows from
        # the names, and would count the same evidence twice for namesakes.
        comparisons.append(cl.ExactMatch("email"))
    if "internal_id" in present and "person_key" not in present:
        # A person key is usually the same column: its evidence would count twice.
        comparisons.append(cl.ExactMatch("internal_id"))
    address: list[str] = [f for f in ("street", "postal_code", "town") if f in present]
    if address:
        comparisons.append(_address_comparison(cll, cl, address))
    return comparisons


def _birth_comparison(cll: Any, cl: Any, with_nir_birth: bool) -> Any:
    """Birth dates; where one side has none, the year and month its NIR gives."""
    dates = cl.DateOfBirthComparison("birth_date", input_is_string=False)
    if not with_nir_birth:
        return dates
    levels = dates.create_comparison_levels()
    year_month = "coalesce(nir_birth_{0}, strftime(birth_date_{0}, '%y%m'))"
    return cl.CustomComparison(
        [
            cll.CustomLevel(
                "(birth_date_l IS NULL AND nir_birth_l IS NULL) "
                "OR (birth_date_r IS NULL AND nir_birth_r IS NULL)"
            ).configure(is_null_level=True),
            *levels[1:-1],  # the date levels: NULL (so skipped) where a date is missing
            cll.CustomLevel(
                f"{year_month.format('l')} = {year_month.format('r')}", "same year and month"
            ),
            cll.ElseLevel(),
        ],
        output_column_name="birth_date",
    )


def _names_comparison(cll: Any, cl: Any, with_alt: bool, with_first: bool) -> Any:
    """First and last names together, so that swapped or married names score as such."""
    levels: list[Any] = [
        cll.CustomLevel("last_name_l IS NULL OR last_name_r IS NULL").configure(is_null_level=True)
    ]
    if with_first:
        jw = "jaro_winkler_similarity"
        levels += [
            cll.CustomLevel("first_name_l = first_name_r AND last_name_l = last_name_r", "exact"),
            cll.CustomLevel("first_name_l = last_name_r AND last_name_l = first_name_r", "swapped"),
        ]
        swapped_near = (
            f"{jw}(first_name_l, last_name_r) >= 0.88 AND {jw}(last_name_l, first_name_r) >= 0.88"
        )
        if with_alt:
            levels.append(
                cll.CustomLevel(
                    "first_name_l = first_name_r AND (last_name_l = last_name_alt_r "
                    "OR last_name_alt_l = last_name_r OR last_name_alt_l = last_name_alt_r)",
                    "birth name = usage name",
                )
            )
        levels += [
            cll.CustomLevel(
                f"{jw}(first_name_l, first_name_r) >= 0.92 "
                f"AND {jw}(last_name_l, last_name_r) >= 0.92",
                "both close",
            ),
            cll.CustomLevel(swapped_near, "swapped, close"),
            cll.CustomLevel(
                f"(first_name_l = first_name_r AND {jw}(last_name_l, last_name_r) >= 0.85) "
                f"OR (last_name_l = last_name_r AND {jw}(first_name_l, first_name_r) >= 0.85)",
                "one exact, other near",
            ),
            cll.CustomLevel(
                f"{jw}(last_name_l, last_name_r) >= 0.92 "
                "AND (first_name_l IS NULL OR first_name_r IS NULL)",
                "last name, no first name to compare",
            ),
            cll.CustomLevel("last_name_l = last_name_r", "last name only"),
            cll.CustomLevel("first_name_l = first_name_r", "first name only"),
        ]
    else:
        levels += [
            cll.CustomLevel("last_name_l = last_name_r", "exact"),
            cll.CustomLevel("jaro_winkler_similarity(last_name_l, last_name_r) >= 0.92", "near"),
        ]
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="names")


def _address_comparison(cll: Any, cl: Any, address: list[str]) -> Any:
    levels: list[Any] = [
        cll.CustomLevel(
            " AND ".join(f"({f}_l IS NULL OR {f}_r IS NULL)" for f in address)
        ).configure(is_null_level=True)
    ]
    place = [f for f in ("postal_code", "town") if f in address]
    same_place = " AND ".join(f"{f}_l = {f}_r" for f in place)
    if "street" in address:
        street_exact = "street_l = street_r"
        street_near = "jaro_winkler_similarity(street_l, street_r) >= 0.88"
        levels.append(
            cll.CustomLevel(
                f"{street_exact} AND {same_place}" if place else street_exact, "same street"
            )
        )
        levels.append(
            cll.CustomLevel(
                f"{street_near} AND {same_place}" if place else street_near, "near street"
            )
        )
    if place:
        levels.append(cll.CustomLevel(same_place, "same town"))
        levels.append(
            cll.CustomLevel(" OR ".join(f"{f}_l = {f}_r" for f in place), "same town, partly")
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="address")


def blocking_rules(present: set[str]) -> list[Any]:
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    rules: list[Any] = []
    for identifier in ("nir", *TYPED_IDENTIFIERS):
        if identifier in present:
            rules.append(block_on(identifier))
    rules += _key_slip_rules(present)
    if "birth_date" in present:
        for name in ("last_name_sdx", "first_name_sdx"):
            if name in present:
                rules.append(block_on("birth_date", name))
        if {"first_name_sdx", "last_name_sdx"} <= present:
            # Names swapped: one rule a direction, each a join on the date *and* a name.
            # Written as one rule with an OR, the join was on the date alone and every
            # pair born the same day was filtered: pairs that grow like the rows squared.
            rules += [
                CustomRule(f"l.birth_date = r.birth_date AND l.{a} = r.{b}", SQL_DIALECT)
                for a, b in (
                    ("first_name_sdx", "last_name_sdx"),
                    ("last_name_sdx", "first_name_sdx"),
                )
            ]
        for place in ("postal_code", "town"):
            if place in present:
                rules.append(block_on("birth_date", place))
                break
        if "nir_birth" in present:
            # A NIR's year and month against a birth date, or another NIR's: one phonetic
            # name must agree. Each rule has a NIR-only side, which keeps blocks small (year
            # and month alone would pair most of a large leak's namesakes).
            sides = (
                ("l.nir_birth", "strftime(r.birth_date, '%y%m')"),
                ("strftime(l.birth_date, '%y%m')", "r.nir_birth"),
                ("l.nir_birth", "r.nir_birth"),
            )
            # A month and one phonetic name are ~1,200 x a few hundred keys: at 20 M
            # rows, billions of pairs. The other name's initial bounds them.
            for name, other in (("last_name_sdx", "first_name"), ("first_name_sdx", "last_name")):
                if name in present:
                    also = (
                        f" AND substr(l.{other}, 1, 1) = substr(r.{other}, 1, 1)"
                        if other in present
                        else ""
                    )
                    rules += [
                        CustomRule(f"{a} = {b} AND l.{name} = r.{name}{also}", SQL_DIALECT)
                        for a, b in sides
                    ]
    for contact in ("email", "phone"):
        if contact in present:
            rules.append(block_on(contact))
    if {"first_name", "last_name"} <= present:
        rules += _names_rules(present, "l.first_name = r.first_name AND l.last_name = r.last_name")
    if {"postal_code", "first_name_sdx", "last_name_sdx"} <= present:
        rules.append(block_on("postal_code", "first_name_sdx", "last_name_sdx"))
    if {"street", "postal_code"} <= present:
        rules.append(block_on("street", "postal_code"))
    if {"street", "town"} <= present:
        rules.append(block_on("street", "town"))
    rules += _typo_rules(present)
    if "internal_id" in present:
        rules.append(block_on("internal_id"))
    if not rules:
        for fallback in ("last_name", "first_name", "street"):
            if fallback in present:
                rules.append(block_on(fallback))
    return rules


def _key_slip_rules(present: set[str]) -> list[Any]:
    """Rules for a person key typed with one slip (a digit changed, two swapped): the
    slip leaves one half of the number whole, so the key's head or its tail is the same.
    Half a number is shared by many (a thousandth of a numbering of six digits), so the
    surname's first letter must agree too, with the first name's or the birth year: the
    blocks stay a few profiles wide. A NIR needs none: its check key refuses a slip. The
    key's scope (``file:``, :mod:`ariane.resolve.keys`) is part of its head."""
    from splink.blocking_rule_library import CustomRule

    if "last_name" not in present:
        return []
    also = []
    if "first_name" in present:
        also.append("substr(l.first_name, 1, 1) = substr(r.first_name, 1, 1)")
    if "birth_date" in present:
        also.append("year(l.birth_date) = year(r.birth_date)")
    rules: list[Any] = []
    for identifier in TYPED_IDENTIFIERS:
        if identifier not in present:
            continue
        # Half the number's length, the number being what follows the scope.
        key = "{0}." + identifier
        half = f"length(regexp_extract({key}, '[^:]*$', 0)) // 2"
        head = f"left({key}, length({key}) - {half})"
        tail = f"right({key}, {half})"
        for part in (head, tail):
            for other in also:
                rules.append(
                    CustomRule(
                        f"{part.format('l')} = {part.format('r')} "
                        f"AND substr(l.last_name, 1, 1) = substr(r.last_name, 1, 1) AND {other}",
                        SQL_DIALECT,
                    )
                )
    return rules


def _names_rules(present: set[str], names: str) -> list[Any]:
    """Both whole names (or both swapped) and a second key: the birth year, the day and
    month (a slip in the date leaves one of them whole), or the street number. Names
    alone pair every namesake of a large leak (3.6 pairs a row at 1 M rows, growing like
    the rows squared); the same names with none of these keys are left to the rules on
    a place. Without a birth date or a street in the leak, the names alone."""
    from splink.blocking_rule_library import CustomRule

    keys = []
    if "birth_date" in present:
        keys += [
            "year(l.birth_date) = year(r.birth_date)",
            "strftime(l.birth_date, '%m%d') = strftime(r.birth_date, '%m%d')",
        ]
    if "street_number" in present:
        keys.append("l.street_number = r.street_number")
    if not keys:
        return [CustomRule(names, SQL_DIALECT)]
    return [CustomRule(f"{names} AND {key}", SQL_DIALECT) for key in keys]


def _typo_rules(present: set[str]) -> list[Any]:
    """Rules for a person typed twice with slips in two of the fields the rules above
    pair on (a surname and a birth date, both names): a place and one whole name with
    the other's first letter; a place and a street number with both first letters, or
    with one whole name; names swapped (with a second key, :func:`_names_rules`); a birth
    date and a town. Each keeps a place, or a whole name and a second key, so blocks stay
    the size of a town's namesakes (measured in benchmarks/RESULTS.md)."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    def initial(side: str, name: str) -> str:
        return f"substr({side}.{name}, 1, 1)"

    rules: list[Any] = []
    if {"first_name", "last_name"} <= present:
        rules += _names_rules(present, "l.first_name = r.last_name AND l.last_name = r.first_name")
    places = [place for place in ("postal_code", "town") if place in present]
    for place in places:
        same = f"l.{place} = r.{place}"
        if {"first_name_sdx", "last_name_sdx"} <= present:
            rules.append(
                CustomRule(
                    f"{same} AND l.first_name_sdx = r.last_name_sdx "
                    "AND l.last_name_sdx = r.first_name_sdx",
                    SQL_DIALECT,
                )
            )
        for whole, first in (("first_name", "last_name"), ("last_name", "first_name")):
            if {whole, first} <= present:
                rules.append(
                    CustomRule(
                        f"{same} AND l.{whole} = r.{whole} "
                        f"AND {initial('l', first)} = {initial('r', first)}",
                        SQL_DIALECT,
                    )
                )
        # At the same street number: one whole name (the other missing or typed over,
        # the street with a slip), or both initials. Both names whole, so that pairs
        # whose first names differ are found as often as those whose surnames do
        # (doubt_weights).
        names = [f"l.{whole} = r.{whole}" for whole in ("last_name", "first_name")
                 if whole in present]  # fmt: skip
        if {"first_name", "last_name"} <= present:
            names.append(
                f"({initial('l', 'first_name')} = {initial('r', 'first_name')} "
                f"AND {initial('l', 'last_name')} = {initial('r', 'last_name')})"
            )
        if "street_number" in present and names:
            # One rule a name condition: with an OR, the join was on the place and the
            # number alone (~14 pairs a row at 1 M rows, growing like the rows squared).
            rules += [
                CustomRule(
                    f"{same} AND l.street_number = r.street_number AND {name}",
                    SQL_DIALECT,
                )
                for name in names
            ]
    if {"birth_date", "town"} <= present and "postal_code" in present:
        # The rules above pair a birth date with the postal code only.
        rules.append(block_on("birth_date", "town"))
    return rules


#: Pairs all but surely one person: every field of a rule the same. Their number, over the
#: share of matches they catch, gives the prior chance two profiles are one person.
_DETERMINISTIC = (
    ("nir", "birth_date"),
    ("first_name", "last_name", "birth_date"),
    ("email", "birth_date"),
)
#: The comparison (its output column) that tells whether a field is the same.
COMPARISON_OF = {
    "nir": "nir", "first_name": "names", "last_name": "names", "birth_date": "birth_date",
    "email": "email",
}  # fmt: skip


def deterministic_fields(present: set[str]) -> list[tuple[str, ...]]:
    """The fields of each deterministic rule the leak has."""
    return [fields for fields in _DETERMINISTIC if set(fields) <= present]


def deterministic_rules(present: set[str]) -> list[Any]:
    from splink import block_on

    return [block_on(*fields) for fields in deterministic_fields(present)]


#: The fields each comparison reads (an EM session cannot train one its rule blocks on).
_COMPARED = (
    {"nir"}, {"foreign_id"}, {"person_key"}, {"last_name", "first_name", "last_name_alt"},
    {"birth_date", "nir_birth"}, {"sex"},
    {"phone"}, {"email"}, {"internal_id"}, {"street", "postal_code", "town"},
)  # fmt: skip


#: Blocking rules for EM, best first. EM separates matches well only where they are a
#: good share of the pairs: a shared NIR, or the same names *and* birth date. Names alone
#: pair mostly namesakes in a large leak, and EM then learns that namesakes match.
_TRAINING_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("nir",),
    ("foreign_id",),
    ("person_key",),
    ("first_name", "last_name", "birth_date"),
    ("email",),
    ("phone",),
    ("street", "postal_code"),
    ("birth_date", "postal_code"),
    ("birth_date", "last_name_sdx"),
    ("first_name", "last_name"),
    ("last_name",),
)
MAX_SESSIONS = 3


def training_rules(present: set[str]) -> list[tuple[str, ...]]:
    """EM sessions until every comparison is trained by one whose rule does not use it."""
    compared = [group & present for group in _COMPARED if group & present]
    untrained = list(compared)
    rules: list[tuple[str, ...]] = []
    for fields in _TRAINING_CANDIDATES:
        if not untrained or len(rules) == MAX_SESSIONS:
            break
        if not set(fields) <= present:
            continue
        trains = [g for g in untrained if not g & _family(fields)]
        if trains:
            rules.append(fields)
            untrained = [g for g in untrained if g not in trains]
    return rules


def _family(fields: tuple[str, ...]) -> set[str]:
    # A phonetic code stands for its name in a comparison.
    out = set(fields)
    out |= {f.removesuffix("_sdx") for f in fields if f.endswith("_sdx")}
    return out
