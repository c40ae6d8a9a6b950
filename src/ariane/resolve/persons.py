"""Records -> persons: a Splink model trained by EM on the leak itself, then clustering.

Records identical on every compared field are first folded into one *profile* (a lab
leak repeats a patient at every visit); Splink scores pairs of profiles found by the
blocking rules (NIR, birth date with phonetic names, email, phone, names, a place with a
name and the other's initial for records with two slips), and connected
components at a match-probability threshold make persons (:mod:`ariane.resolve.estimate`).

Around the model: a file's own patient number links profiles outright (tables of one dump);
a record with names only joins the one person of that name; two NIRs that each agree with
their record, birth dates more than a typo apart at different addresses, first names no
slip explains (siblings, twins), veto a pair whatever else it shares. Without a birth
date, a person's own NIR gives the year and month to compare. EM trains on high-precision
blocks only (a NIR, names + birth date): on names alone it learns that namesakes match.

Splink is seeded and its logging silenced (at debug level it can print values).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ariane.errors import wrapped
from ariane.resolve.distinct import scratch
from ariane.resolve.fields import sources_about_persons
from ariane.resolve.model import (
    COMPARISON_OF,
    TYPED_IDENTIFIERS,
    blocking_rules,
    comparisons_for,
    deterministic_fields,
    deterministic_rules,
    training_rules,
)

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Fields the model compares (columns of ``resolve_fields`` or derived in the profiles).
MODEL_FIELDS = (
    "nir", "foreign_id", "person_key", "last_name", "last_name_alt", "first_name",
    "last_name_sdx", "first_name_sdx",
    "birth_date", "nir_birth", "sex", "phone", "email", "street", "street_number",
    "postal_code", "town", "internal_id",
)  # fmt: skip
#: Model fields computed in the profiles, not read from ``resolve_fields``.
_DERIVED = ("town", "internal_id", "nir_birth", "street_number")
#: A value shared by more profiles than this is a placeholder (a lab's own phone, a
#: dummy NIR), not an identifier: it is left out of the model.
MAX_SHARED = 50
#: Below this share of non-null values a field is left out of the model: too few pairs
#: would train it.
MIN_PRESENT = 0.001
SEED = 2021
_log = logging.getLogger(__name__)
#: Fields of ``resolve_fields`` any of which makes a record someone's.
IDENTIFYING = (
    "nir", "foreign_id", "person_key", "last_name", "first_name", "birth_date", "phone",
    "email",
)  # fmt: skip
MIN_TRAINING_PAIRS = 10
#: Smallest m probability a comparison level keeps after training.
M_FLOOR = 0.002
#: Match probability given to profiles sharing a patient number of their own file.
KEY_PROBABILITY = 0.99
#: Match probability left to a pair whose first names, or dates and sexes, or generations
#: disagree: under the 0.5 threshold, above the loose one of the interval (0.02).
DOUBTED = 0.03
#: Match probability given to a names-only record and the one person of that name.
NAMES_ONLY_PROBABILITY = 0.9
#: Pairs scored this high are the ones the model believes (counted by :func:`doubt_weights`).
BELIEVED = 0.5


@dataclass(frozen=True)
class Model:
    """The match probabilities of scored profile pairs, stored as ``resolve_edges``."""

    profiles: int
    edges: int
    #: The chance two profiles taken at random are one person, as the model took it.
    prior: float | None = None


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Silence Splink's loggers (values may appear in its debug output)."""
    loggers = [logging.getLogger(name) for name in ("splink", "splink.internals")]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, level, propagate in saved:
            lg.setLevel(level)
            lg.propagate = propagate


def build_profiles(engine: Engine) -> int:
    """Fold records into ``resolve_profiles``; map each record in ``resolve_profile_of``."""
    keys = ", ".join(f"{_model_source(f)}" for f in MODEL_FIELDS if f not in _DERIVED)
    # A record that names nobody well enough (no NIR, no name + birth date, no contact
    # beside a name or a birth date) stays alone: folding it with look-alikes would merge
    # strangers. A contact counts: a leak that repeats one patient's row (a name a column
    # misread, the same phone and birth date) is one profile, not one per row.
    identified = (
        "(nir_own IS NOT NULL OR (last_name_key IS NOT NULL AND first_name_key IS NOT NULL "
        "AND birth_date IS NOT NULL) OR ((phone IS NOT NULL OR email IS NOT NULL) AND "
        "(last_name_key IS NOT NULL OR first_name_key IS NOT NULL OR birth_date IS NOT NULL)))"
    )
    scratch(
        engine,
        "resolve_profile_of",
        f"""
        SELECT unique_id,
               min(unique_id) OVER (PARTITION BY {keys}, town,
                   CASE WHEN {identified} THEN NULL ELSE unique_id END) AS profile_id
        FROM (SELECT *, coalesce(commune_code, {_folded_city()}) AS town FROM resolve_fields) r
        -- A record with nothing that names someone (a table of labs, of settings) is no
        -- person: it gets none rather than inflating the count.
        WHERE {" OR ".join(f"{field} IS NOT NULL" for field in IDENTIFYING)}
           OR {_patient_number_sql(engine)}
        """,
    )
    shared = {
        field: f"(SELECT {field} FROM resolve_fields WHERE {field} IS NOT NULL "
        # Counted in distinct names, not records: a patient seen weekly is not a crowd.
        f"GROUP BY {field} HAVING count(DISTINCT coalesce(first_name_key, '') || '|' || "
        f"coalesce(last_name_key, '')) > {MAX_SHARED})"
        for field in ("nir_own", "foreign_id", "person_key", "phone", "email")
    }
    scratch(
        engine,
        "resolve_profiles",
        f"""
        SELECT f.unique_id,
               CASE WHEN f.nir_own IN {shared["nir_own"]} THEN NULL ELSE f.nir_own END AS nir,
               CASE WHEN f.foreign_id IN {shared["foreign_id"]} THEN NULL ELSE f.foreign_id END
                   AS foreign_id,
               CASE WHEN f.person_key IN {shared["person_key"]} THEN NULL ELSE f.person_key END
                   AS person_key,
               f.last_name_key AS last_name, {_alt_key()} AS last_name_alt,
               f.first_name_key AS first_name, f.last_name_sdx, f.first_name_sdx,
               f.birth_date,
               -- Without a birth date, a person's own NIR still gives its year and month:
               -- what lets a file of NIRs meet a file of birth dates.
               CASE WHEN f.birth_date IS NULL AND f.nir_own IS NOT NULL
                         AND substr(f.nir_own, 4, 2) BETWEEN '01' AND '12'
                    THEN substr(f.nir_own, 2, 4) END AS nir_birth,
               f.sex,
               CASE WHEN f.phone IN {shared["phone"]} THEN NULL ELSE f.phone END AS phone,
               CASE WHEN f.email IN {shared["email"]} THEN NULL ELSE f.email END AS email,
               replace(f.street, ' ', '') AS street,
               -- Computed once: blocking rules join on it (a regexp in a rule ran on
               -- every candidate pair of every later rule).
               nullif(regexp_extract(replace(f.street, ' ', ''), '^[0-9]+', 0), '')
                   AS street_number,
               f.postal_code,
               coalesce(f.commune_code, {_folded_city("f.")}) AS town,
               i.internal_id
        FROM resolve_fields f
        JOIN resolve_profile_of p ON p.unique_id = f.unique_id AND p.profile_id = f.unique_id
        LEFT JOIN (
            -- A patient number means something within its own file only (the tables of
            -- one SQL dump share it; two labs' exports do not).
            SELECT p.profile_id,
                   min(hash(coalesce(s.inner_path, s.path)) || ':' || r.internal_id)
                       AS internal_id
            FROM resolve_fields r JOIN resolve_profile_of p ON p.unique_id = r.unique_id
            JOIN read_sources s ON s.source_id = r.source_id
            WHERE r.internal_id IS NOT NULL GROUP BY p.profile_id
        ) i ON i.profile_id = f.unique_id
        """,
    )
    # Every patient number of every record, by profile: one profile may fold records of
    # two files (a person registered in two labs' dumps), each with its own number.
    _by_profile(engine, "resolve_profile_numbers", "internal_id", "number")
    # The records a file says are one person (:data:`~.fields.SAME_PERSON`), by profile.
    _by_profile(engine, "resolve_profile_same", "same_person", "same_person")
    return int(engine.fetch("SELECT count(*) FROM resolve_profiles")[0][0])


def _by_profile(engine: Engine, table: str, field: str, name: str) -> None:
    """Store as ``table`` each profile's values of ``field`` as ``name``, each qualified by
    its file: a record's number means something within its own file only."""
    scratch(
        engine,
        table,
        f"""
        SELECT DISTINCT p.profile_id,
               hash(coalesce(s.inner_path, s.path)) || ':' || r.{field} AS {name}
        FROM resolve_fields r JOIN resolve_profile_of p ON p.unique_id = r.unique_id
        JOIN read_sources s ON s.source_id = r.source_id
        WHERE r.{field} IS NOT NULL
        """,
    )


def _patient_number_sql(engine: Engine) -> str:
    """A record's number is a patient's: its table is about persons, or the number meets,
    in the same file, one of a table about persons (a visits table of keys). Elsewhere (a
    FHIR Organization, a table of labs) it numbers something else and names nobody."""
    about = sorted(sources_about_persons(engine))
    if not about:
        return "false"
    listed = ", ".join(str(source_id) for source_id in about)
    own = f"(internal_id IS NOT NULL AND source_id IN ({listed}))"
    others = engine.fetch(
        "SELECT count(*) FROM resolve_fields "
        f"WHERE internal_id IS NOT NULL AND source_id NOT IN ({listed})"
    )[0][0]
    if not others:
        return own
    file = "coalesce(s.inner_path, s.path)"
    scratch(
        engine,
        "resolve_patient_numbers",
        f"""
        SELECT DISTINCT {file} AS file, f.internal_id
        FROM resolve_fields f JOIN read_sources s ON s.source_id = f.source_id
        WHERE f.internal_id IS NOT NULL AND f.source_id IN ({listed})
        """,
    )
    return f"""({own} OR (internal_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM resolve_patient_numbers n JOIN read_sources s ON {file} = n.file
        WHERE s.source_id = r.source_id AND n.internal_id = r.internal_id)))"""


def _model_source(field: str) -> str:
    return {
        "nir": "nir_own",
        "last_name": "last_name_key",
        "first_name": "first_name_key",
        "last_name_alt": "last_name_alt",
    }.get(field, field)


def _alt_key() -> str:
    return "nullif(replace(f.last_name_alt, ' ', ''), '')"


def _folded_city(prefix: str = "") -> str:
    folded = f"upper(strip_accents({prefix}city))"
    return f"nullif(regexp_replace({folded}, '[^A-Z0-9]+', '', 'g'), '')"


def present_fields(engine: Engine) -> set[str]:
    """Model fields with enough non-null values among the profiles to be compared."""
    counts = engine.fetch(
        "SELECT count(*), "
        + ", ".join(f"count({f})" for f in MODEL_FIELDS)
        + " FROM resolve_profiles"
    )[0]
    total = max(int(counts[0]), 1)
    return {
        f for f, c in zip(MODEL_FIELDS, counts[1:], strict=True) if c >= max(2, MIN_PRESENT * total)
    }


def _pairs_under(engine: Engine, fields: tuple[str, ...]) -> int:
    columns = ", ".join(fields)
    not_null = " AND ".join(f"{f} IS NOT NULL" for f in fields)
    return int(
        engine.fetch(
            f"SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c "
            f"FROM resolve_profiles WHERE {not_null} GROUP BY {columns})"
        )[0][0]
    )


def _train_session(linker: Any, rule: Any, fields: tuple[str, ...]) -> None:
    """One EM session; a session that cannot train leaves the model as it was.

    On a small leak or an odd one (every pair of a block a stranger, one level never
    seen), EM drives a probability towards zero until Splink refuses it (``below
    1e-300``) or finds no pair at all. Splink trains on a copy of the settings, so
    skipping the session keeps what the earlier sessions learned; a level no session
    trained keeps Splink's default m (high for an exact match, falling level by level).
    """
    from splink.internals.exceptions import SplinkException

    try:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=2e6)
    except (SplinkException, ValueError, ZeroDivisionError) as error:
        if (own := wrapped(error)) is not None:  # out of memory, a damaged store: no EM issue
            raise own from None
        # Field names only: Splink's message may quote values.
        _log.info("EM on %s skipped (%s)", "+".join(fields), type(error).__name__)


def _floor_m_probabilities(linker: Any) -> None:
    """Give levels EM never saw among matches a small m rather than Splink's 1e-6.

    Training pairs sharing a NIR never show a birth-date typo (the NIR agrees with the
    date by construction): left at 1e-6, a one-digit slip would veto a match outright.
    """
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            m = level.m_probability
            if m is None or m < M_FLOOR:
                level.m_probability = M_FLOOR


#: Days in a month: a random pair shares a birth year and month about this many times
#: more often than an exact birth date.
DAYS_IN_MONTH = 30.4


def _weigh_nir_birth(linker: Any) -> None:
    """Weigh 'same year and month' (a NIR against a birth date) from the exact-date level.

    Few pairs reach that level, too few for EM to learn it; but a person's own NIR agrees
    with their birth date by construction (as often as an exact date agrees), and
    strangers share a year and month about a month's days more often than a date.
    """
    for comparison in linker._settings_obj.comparisons:
        levels = {level.label_for_charts: level for level in comparison.comparison_levels}
        exact = next((lv for label, lv in levels.items() if label.startswith("Exact")), None)
        year_month = levels.get("same year and month")
        if exact is None or year_month is None:
            continue
        if exact.m_probability is not None and exact.u_probability is not None:
            year_month.m_probability = exact.m_probability
            year_month.u_probability = min(1.0, exact.u_probability * DAYS_IN_MONTH)


#: Share of the matches the deterministic rules are first assumed to catch (before EM
#: has learned how often a match agrees on their fields: :func:`_correct_prior`).
ASSUMED_RECALL = 0.8


def _correct_prior(engine: Engine, linker: Any, present: set[str]) -> None:
    """Scale the prior by the recall the trained model gives its deterministic rules.

    The prior was the pairs the rules hold for over :data:`ASSUMED_RECALL` of the
    matches. After EM, the model knows how often one person's two records agree exactly
    on each rule's fields (the m probability of each comparison's exact level) and how
    often they have them at all (the fields' fill): as the model itself does, fields are
    taken as independent, and rules joined by inclusion-exclusion. A leak typed over
    (names with slips in half its duplicates) catches far fewer than 0.8, and a prior
    left at 0.8 halves every pair's odds; a clean leak catches more and gets a lower prior.
    """
    from itertools import combinations

    model = linker._settings_obj
    prior = model._probability_two_random_records_match
    rules = deterministic_fields(present)
    # Each comparison's first level past the null one is its exact agreement.
    exact: dict[str, float] = {}
    for comparison in model.comparisons:
        levels = [level for level in comparison.comparison_levels if not level.is_null_level]
        if levels and levels[0].m_probability is not None:
            exact[comparison.output_column_name] = float(levels[0].m_probability)
    needed = {COMPARISON_OF[f] for fields in rules for f in fields}
    if not 0.0 < prior < 1.0 or not needed <= set(exact):
        return
    columns = sorted({f for fields in rules for f in fields})
    counts = engine.fetch(
        "SELECT count(*), " + ", ".join(f"count({f})" for f in columns) + " FROM resolve_profiles"
    )[0]
    fill = {f: int(c) / max(int(counts[0]), 1) for f, c in zip(columns, counts[1:], strict=True)}

    def caught(chosen: tuple[tuple[str, ...], ...]) -> float:
        fields = {f for fields in chosen for f in fields}
        chance = 1.0
        for comparison in {COMPARISON_OF[f] for f in fields}:
            chance *= exact[comparison]
        for field in fields:
            chance *= fill[field] ** 2
        return chance

    recall = sum(
        (-1) ** (size + 1) * caught(chosen)
        for size in range(1, len(rules) + 1)
        for chosen in combinations(rules, size)
    )
    if recall > 0.0:
        model._probability_two_random_records_match = min(0.5, prior * ASSUMED_RECALL / recall)


def score(engine: Engine, threshold: float) -> Model:
    """Train the model on ``resolve_profiles``; store pairs above ``threshold`` as
    ``resolve_edges (unique_id_l, unique_id_r, match_probability)``."""
    profiles = int(engine.fetch("SELECT count(*) FROM resolve_profiles")[0][0])
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE resolve_edges "
        "(unique_id_l BIGINT, unique_id_r BIGINT, match_probability DOUBLE)"
    )
    present = present_fields(engine)
    comparisons = comparisons_for(present)
    prior = None
    if profiles >= 2 and comparisons:
        with quiet_splink():
            prior = _score_with_splink(engine, present, comparisons, threshold, profiles)
        if "internal_id" in present:
            _link_patient_numbers(engine)
        _link_names_only(engine)
        _veto_contradictions(engine)
        _unlink_ambiguous_bare(engine)
    _link_same_persons(engine)
    edges = int(engine.fetch("SELECT count(*) FROM resolve_edges")[0][0])
    return Model(profiles, edges, prior)


def _veto_contradictions(engine: Engine) -> None:
    """Drop pairs that cannot be one person, whatever else they share; doubt the pairs
    that households explain as well as slips.

    A person has one NIR: two NIRs that each agree with their own record's sex and birth
    date mean two people (namesakes sharing a family email or phone, typically). The
    same for two birth dates more than a typo apart (one character, or day and month
    swapped) at two different addresses. These pairs are dropped.

    Two first names that no slip explains (siblings and twins sharing a home, a phone and
    a parent's NIR); two such dates with two sexes, or a generation apart (a parent and a
    child of the same name) are doubts rather than vetoes: a household explains them, but
    so does a leak whose records had whole fields replaced (test data like FEBRL replaces
    first names, surnames and dates of one person). Which, the leak tells: a household
    shares its surname, so pairs the model believes whose *surnames* differ beyond a slip
    (first names alike) can only be replacements. Their number, against the number of
    doubted pairs of the same shape (first names replaced, surnames kept; dates), is the
    share of those the replacements explain (:func:`doubt_weights`);
    a doubted pair keeps its probability times that share, at least :data:`DOUBTED`
    (under the 0.5 threshold, inside the count's interval). A number of the person's own
    shared by both (a NIR that agrees with each record, another identifier) lifts the
    doubt: then a field was mistyped. The model weighs fields as if independent, and a
    shared email could outweigh them.
    """
    same_identifier = (
        "coalesce(l.nir = r.nir OR "
        + " OR ".join(f"damerau_levenshtein(l.{i}, r.{i}) <= 1" for i in TYPED_IDENTIFIERS)
        + ", false)"
    )
    # A parent and a child of the same name in one home: no slip moves a year by fifteen
    # and changes the day and month as well.
    generations_apart = """
        l.birth_date IS NOT NULL AND r.birth_date IS NOT NULL
        AND abs(year(l.birth_date) - year(r.birth_date)) >= 15
        AND month(l.birth_date) <> month(r.birth_date) AND day(l.birth_date) <> day(r.birth_date)
    """
    dates_differ = """
        l.birth_date IS NOT NULL AND r.birth_date IS NOT NULL
        AND damerau_levenshtein(strftime(l.birth_date, '%Y%m%d'),
                                strftime(r.birth_date, '%Y%m%d')) > 1
        AND NOT (year(l.birth_date) = year(r.birth_date)
                 AND month(l.birth_date) = day(r.birth_date)
                 AND day(l.birth_date) = month(r.birth_date))
    """
    sexes_differ = "l.sex IS NOT NULL AND r.sex IS NOT NULL AND l.sex <> r.sex"
    # Different addresses: nothing of the street, postal code or town in common.
    places_differ = """
        l.postal_code IS DISTINCT FROM r.postal_code AND l.town IS DISTINCT FROM r.town
        AND coalesce(jaro_winkler_similarity(l.street, r.street), 0) < 0.8
    """
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE resolve_doubts AS
        SELECT e.unique_id_l, e.unique_id_r, e.match_probability,
               NOT ({same_identifier}) AND ({_names_differ("first_name", "last_name")})
                   AS first_doubt,
               NOT ({same_identifier}) AND NOT ({_names_differ("first_name", "last_name")})
                   AND ((({dates_differ}) AND ({sexes_differ})) OR ({generations_apart}))
                   AS date_doubt,
               NOT ({same_identifier}) AND ({_names_differ("last_name", "first_name")})
                   AND l.last_name IS DISTINCT FROM r.last_name_alt
                   AND l.last_name_alt IS DISTINCT FROM r.last_name
                   AND coalesce(jaro_winkler_similarity(l.first_name, r.first_name) >= 0.92,
                                false)
                   AS surname_replaced,
               -- Its mirror: the first name replaced, the surname kept (or a slip off).
               coalesce(jaro_winkler_similarity(l.last_name, r.last_name) >= 0.92, false)
                   AS surname_kept
        FROM resolve_edges e
        JOIN resolve_profiles l ON l.unique_id = e.unique_id_l
        JOIN resolve_profiles r ON r.unique_id = e.unique_id_r
        WHERE (l.nir IS NULL OR r.nir IS NULL OR l.nir = r.nir)
          AND NOT (({dates_differ}) AND ({places_differ}))
        """
    )
    first_weight, date_weight = doubt_weights(engine)
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE resolve_edges AS
        SELECT unique_id_l, unique_id_r,
               CASE WHEN first_doubt
                    THEN least(match_probability,
                               greatest({DOUBTED}, match_probability * {first_weight}))
                    WHEN date_doubt
                    THEN least(match_probability,
                               greatest({DOUBTED}, match_probability * {date_weight}))
                    ELSE match_probability
               END AS match_probability
        FROM resolve_doubts
        """
    )
    engine.execute("DROP TABLE resolve_doubts")


def _names_differ(name: str, other: str) -> str:
    """SQL: two values of ``name`` that no slip, short form or swap explains.

    Two letters swapped are a slip however short the name: Jaro-Winkler does not see
    it in three letters (``BEN``/``BNE``: 0.56, its matching window is empty there)."""
    return f"""
        l.{name} IS NOT NULL AND r.{name} IS NOT NULL
        AND jaro_winkler_similarity(l.{name}, r.{name}) < 0.85
        AND NOT (damerau_levenshtein(l.{name}, r.{name}) = 1
                 AND levenshtein(l.{name}, r.{name}) = 2)
        AND NOT contains(l.{name}, r.{name}) AND NOT contains(r.{name}, l.{name})
        AND coalesce(jaro_winkler_similarity(l.{name}, r.{other}) < 0.85, true)
        AND coalesce(jaro_winkler_similarity(r.{name}, l.{other}) < 0.85, true)
    """


def doubt_weights(engine: Engine) -> tuple[float, float]:
    """The share of the doubted pairs (first names, then dates) that replaced fields
    explain, from ``resolve_doubts``: the pairs the model believes whose surnames alone
    were replaced, against the doubted pairs it believes (for first names, those of the
    same shape: the first name replaced, the surname kept). 0 where no surname was
    replaced (a leak of households), capped at 1."""
    first, dates, surnames = engine.fetch(
        f"""
        SELECT count(*) FILTER (WHERE first_doubt AND surname_kept),
               count(*) FILTER (WHERE date_doubt),
               count(*) FILTER (WHERE surname_replaced)
        FROM resolve_doubts WHERE match_probability >= {BELIEVED}
        """
    )[0]
    return (
        min(1.0, int(surnames) / max(int(first), 1)),
        min(1.0, int(surnames) / max(int(dates), 1)),
    )


def _bare(p: str = "") -> str:
    """SQL: the profile (columns prefixed ``p``) names someone by nothing but names."""
    fields = ("nir", *TYPED_IDENTIFIERS, "nir_birth", "phone", "email", "internal_id", "street",
              "postal_code", "town", "birth_date")  # fmt: skip
    return "(" + " AND ".join(f"{p}{f} IS NULL" for f in fields) + ")"


def _born(p: str = "") -> str:
    """SQL: a profile's birth year and month (from its date, else its NIR)."""
    return f"coalesce({p}nir_birth, strftime({p}birth_date, '%y%m'))"


def _unlink_ambiguous_bare(engine: Engine) -> None:
    """A names-only profile paired with two people that cannot be one (two births, two
    NIRs) could be either: it keeps no pair, rather than merging namesakes through it."""
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE resolve_edges AS
        WITH ends AS (
            SELECT unique_id_l AS bare, unique_id_r AS other FROM resolve_edges
            UNION ALL
            SELECT unique_id_r, unique_id_l FROM resolve_edges
        ), ambiguous AS (
            SELECT e.bare FROM ends e
            JOIN resolve_profiles b ON b.unique_id = e.bare AND {_bare("b.")}
            JOIN resolve_profiles o ON o.unique_id = e.other
            GROUP BY e.bare
            HAVING count(DISTINCT {_born("o.")}) > 1
                OR count(DISTINCT o.nir) > 1
        )
        SELECT * FROM resolve_edges
        WHERE unique_id_l NOT IN (SELECT bare FROM ambiguous)
          AND unique_id_r NOT IN (SELECT bare FROM ambiguous)
        """
    )


def _add_edges(engine: Engine, with_sql: str, pairs_sql: str) -> None:
    """Add to ``resolve_edges`` the pairs ``pairs_sql`` selects (``unique_id_l,
    unique_id_r, match_probability``, after the common tables ``with_sql``): a pair
    already there keeps the higher of its two probabilities."""
    engine.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE resolve_edges AS
        {with_sql}
        SELECT unique_id_l, unique_id_r, max(match_probability) AS match_probability
        FROM (SELECT * FROM resolve_edges UNION ALL {pairs_sql})
        GROUP BY ALL
        """
    )


def _link_names_only(engine: Engine) -> None:
    """A record naming someone by first and last name only (no date, number, contact or
    address) is the person of that name when the leak knows only one: no two births or
    NIRs go with the name. (Splink cannot tell: names alone never outweigh its prior.)
    """
    _add_edges(
        engine,
        f"""
        WITH named AS (
            SELECT unique_id, first_name, last_name, nir, {_born()} AS born,
                   {_bare()} AS names_only
            FROM resolve_profiles WHERE first_name IS NOT NULL AND last_name IS NOT NULL
        ), single AS (
            SELECT first_name, last_name FROM named GROUP BY ALL
            HAVING bool_or(names_only) AND count(DISTINCT born) <= 1
               AND count(DISTINCT nir) <= 1 AND count(*) <= {MAX_SHARED}
        )
        """,
        f"""
        SELECT least(a.unique_id, b.unique_id), greatest(a.unique_id, b.unique_id),
               {NAMES_ONLY_PROBABILITY}
        FROM named a JOIN single s USING (first_name, last_name)
        JOIN named b ON b.first_name = a.first_name AND b.last_name = a.last_name
        WHERE a.names_only AND b.unique_id <> a.unique_id
          AND (NOT b.names_only OR a.unique_id < b.unique_id)
        """,
    )


def _link_same_persons(engine: Engine) -> None:
    """Profiles a file itself says are one person (a FHIR Patient, an HL7 v2 record merged
    into another) are one person, whatever they share or not: the record merged away often
    has no NIR, another patient number, an old address. Each is paired with the first of
    its group (the pairs stay as few as the profiles), sure, after every veto.

    However few the merges: a person key needs a few pairs before its test speaks
    (:mod:`ariane.classify.keys`), this link needs none.
    """
    _add_edges(
        engine,
        f"""
        -- A value many profiles share is damage, not a merge: left out.
        WITH groups AS (
            SELECT profile_id, min(profile_id) OVER (PARTITION BY same_person) AS head
            FROM resolve_profile_same
            QUALIFY count(*) OVER (PARTITION BY same_person) <= {MAX_SHARED}
        )
        """,
        """
        SELECT DISTINCT least(head, profile_id), greatest(head, profile_id), 1.0
        FROM groups WHERE profile_id <> head
        """,
    )


def _link_patient_numbers(engine: Engine) -> None:
    """One file's own patient number is its system's key for a person: profiles sharing
    it are one person unless their names or birth dates say otherwise.

    This links the tables of a dump where only the patients table holds names (visits
    keyed by patient number), which no probabilistic comparison could score.
    """
    _add_edges(
        engine,
        f"""
        -- A number many profiles share is a placeholder: left out before pairing.
        WITH numbers AS (
            SELECT * FROM resolve_profile_numbers
            QUALIFY count(*) OVER (PARTITION BY number) <= {MAX_SHARED}
        )
        """,
        f"""
        SELECT l.unique_id, r.unique_id, {KEY_PROBABILITY}
        FROM numbers nl JOIN numbers nr
          ON nl.number = nr.number AND nl.profile_id < nr.profile_id
        JOIN resolve_profiles l ON l.unique_id = nl.profile_id
        JOIN resolve_profiles r ON r.unique_id = nr.profile_id
        WHERE (l.last_name IS NULL OR r.last_name IS NULL
               OR jaro_winkler_similarity(l.last_name, r.last_name) >= 0.8
               OR l.last_name = r.last_name_alt OR l.last_name_alt = r.last_name)
          AND (l.birth_date IS NULL OR r.birth_date IS NULL
               OR abs(year(l.birth_date) - year(r.birth_date)) <= 1)
        """,
    )


def _blocked_pairs(linker: Any) -> Any:
    """The pairs Splink's ``predict`` scores, one statement a blocking rule.

    Splink joins every rule in one statement (a union of joins, each leaving out the pairs
    of the rules before it). Each join keeps a table of the profiles until the statement
    ends, so under a memory bound the statement of thirty rules spilled most of them: at a
    million rows ``predict`` took 5x as long under the 2 GiB default as with no bound
    (300.8 s against 59.4 s, benchmarks/RESULTS.md). One statement a rule keeps one such
    table at a time; each is Splink's own statement for that rule, so the pairs are the
    same.

    The union bears the name of Splink's own table of pairs, which Splink's Spark API
    computes once and keeps (a DuckDB statement is always kept): under another name it
    stayed a view, and Spark computed every rule's join again for the count and again
    for each slice scored."""
    from splink.internals.blocking import block_using_rules_sqls
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat

    settings = linker._settings_obj
    columns = settings.column_info_settings
    parts = []
    for rule in settings._blocking_rules_to_generate_predictions:
        pipeline = enqueue_df_concat(linker, CTEPipeline())
        sqls = block_using_rules_sqls(
            input_tablename_l="__splink__df_concat",
            input_tablename_r="__splink__df_concat",
            blocking_rules=[rule],
            link_type=settings._link_type,
            source_dataset_input_column=columns.source_dataset_input_column,
            unique_id_input_column=columns.unique_id_input_column,
        )
        sqls[-1]["output_table_name"] = f"__splink__blocked_id_pairs_{rule.match_key}"
        pipeline.enqueue_list_of_sqls(sqls)
        parts.append(linker._db_api.sql_pipeline_to_splink_dataframe(pipeline))
    pipeline = CTEPipeline(parts)
    pipeline.enqueue_sql(
        " UNION ALL ".join(f"SELECT * FROM {part.physical_name}" for part in parts),
        "__splink__blocked_id_pairs",
    )
    pairs = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    for part in parts:
        part.drop_table_from_database_and_remove_from_cache()
    return pairs


#: Candidate pairs scored in one statement at most. ``predict`` joins the pairs with the
#: profiles; when the profiles do not fit under the memory bound the join goes out of
#: core and spills every pair with its compared values: at 20 M rows that filled the
#: disk (benchmarks/RESULTS.md). Beyond, the pairs are scored in slices.
PAIRS_PER_SLICE = 50_000_000


def _predict(engine: Engine, linker: Any, threshold: float) -> None:
    """Score the pairs registered (or Splink's own) into ``resolve_edges``."""
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    engine.execute(
        "INSERT INTO resolve_edges SELECT unique_id_l, unique_id_r, match_probability "
        f"FROM {predictions.physical_name}"
    )
    predictions.drop_table_from_database_and_remove_from_cache()


def _predict_in_slices(engine: Engine, linker: Any, pairs: Any, threshold: float) -> None:
    """Score ``pairs`` a slice at a time (by the left profile's id), so that no join
    spills more than :data:`PAIRS_PER_SLICE` pairs; one slice for most leaks."""
    from splink.internals.pipeline import CTEPipeline

    count = engine.fetch(f"SELECT count(*) FROM {pairs.physical_name}")[0][0]
    slices = max(1, -(-int(count) // PAIRS_PER_SLICE))
    if slices == 1:
        linker.table_management.register_blocked_pairs_for_predict(pairs)
        _predict(engine, linker, threshold)
        return
    for number in range(slices):
        pipeline = CTEPipeline([pairs])
        pipeline.enqueue_sql(
            f"SELECT * FROM {pairs.physical_name} WHERE join_key_l % {slices} = {number}",
            f"__splink__blocked_id_pairs_slice_{number}",
        )
        part = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
        linker.table_management.register_blocked_pairs_for_predict(part)
        _predict(engine, linker, threshold)
        part.drop_table_from_database_and_remove_from_cache()


def _score_with_splink(
    engine: Engine, present: set[str], comparisons: list[Any], threshold: float, profiles: int
) -> float:
    """Train, score the blocked pairs into ``resolve_edges``; return the prior used."""
    from splink import Linker, SettingsCreator, block_on

    db_api = engine.splink_api()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking_rules(present),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        probability_two_random_records_match=min(0.5, 1.0 / max(profiles, 2)),
    )
    try:
        frame = db_api.register("resolve_profiles", table_name="resolve_profiles_in")
        linker = Linker(frame, settings, log_level=None)
        deterministic = deterministic_rules(present)
        if deterministic:
            linker.training.estimate_probability_two_random_records_match(
                deterministic, recall=ASSUMED_RECALL
            )
            model = linker._settings_obj
            prior = model._probability_two_random_records_match
            if not 0.0 < prior < 1.0:
                # No sure pair in the leak (or only sure pairs): keep a prior that lets
                # the evidence speak rather than one that silences it.
                model._probability_two_random_records_match = min(0.5, 1.0 / profiles)
        # Every sampled pair in one pass a comparison: Splink's default (a probe, then ten
        # chunks until each level has 100 counts) cost eleven passes a comparison on a
        # small leak, each a few Spark jobs; a million pairs is one pass for either engine.
        linker.training.estimate_u_using_random_sampling(
            max_pairs=1e6, seed=SEED, min_count_per_level=None, num_chunks=1
        )
        for fields in training_rules(present):
            # A rule that pairs almost nothing (a small leak) would leave the model broken.
            if _pairs_under(engine, fields) < MIN_TRAINING_PAIRS:
                continue
            _train_session(linker, block_on(*fields), fields)
        _floor_m_probabilities(linker)
        _weigh_nir_birth(linker)
        if deterministic:
            _correct_prior(engine, linker, present)
        if linker._settings_obj._blocking_rules_to_generate_predictions:
            _predict_in_slices(engine, linker, _blocked_pairs(linker), threshold)
        else:
            _predict(engine, linker, threshold)
        return float(linker._settings_obj._probability_two_random_records_match)
    finally:
        db_api.delete_tables_created_by_splink_from_db()
