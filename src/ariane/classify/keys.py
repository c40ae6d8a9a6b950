"""Person keys: identifier columns that behave like a person's number, found from the data.

A patient number, a foreign social-security number, a member number...: whatever its
header says (or fails to say), a column is a *person key* when, over the whole table,

* rows sharing one of its values are one person: their names and birth date agree, a typo
  apart (a postcode, a family number, a lab code fail here);
* rows of one person (same names and birth date) share its value (an order or sample
  number shared by a few results fails here: one person, many orders). Exactly: the
  orders of one person, numbered in sequence, are often a digit apart.

A row's own key (unique per row, ``rec-12-dup-0``) has no shared value: the first test has
nothing to go on and the column is no person key. Each test needs a few pairs to speak.

The verdict goes in the column's evidence (``person_key``, and the figures under
``person_key_test``); resolve compares a person key's values with a level for typos
(:mod:`ariane.resolve.model`). A person key the values alone left as ``other`` or as a
postal code (seven digits pass the shape; a real postcode is never tested) becomes
``id.internal``; a checked label (an insurer's member number) keeps its label and still
serves as a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ariane.classify import columns
from ariane.classify.columns import ColumnDecision, ColumnSample

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Labels a person key may have been given from its values alone.
CANDIDATE_LABELS = frozenset({"id.internal", "insurance.member_id", "contact.postal_code", "other"})
#: Of those, the labels the person-key evidence overrules.
WEAK_LABELS = frozenset({"contact.postal_code", "other"})
#: Share of sampled values shaped like an identifier (a code with a digit, no spaces).
MIN_IDENTIFIER = 0.9
#: Share of pairs each test needs to agree (FEBRL's social-security numbers: 0.86-0.94,
#: despite its typos; its sparse postcodes, where few persons share one: up to 0.54).
MIN_AGREEMENT = 0.7
#: Digits a postal code never reaches: a "postal code" this long is a number of another kind.
POSTAL_CODE_MAX = 6
#: Pairs each test needs before it speaks.
MIN_PAIRS = 5
#: A value shared by more rows than this is a placeholder, left out of the tests.
MAX_GROUP = 50
#: The labels whose values tell who a row is, in the order they are compared.
PERSON_LABELS = ("person.last_name", "person.first_name", "person.full_name", "person.birth_date")


def quote(name: str) -> str:
    """A column or table name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def find(
    engine: Engine, data_table: str, samples: list[ColumnSample], decisions: list[ColumnDecision]
) -> None:
    """Test every candidate column of one table; record the verdict in its evidence."""
    # The first column of each label (a usage name beside a birth name adds nothing).
    first: dict[str, str] = {}
    for sample, decision in zip(samples, decisions, strict=True):
        first.setdefault(decision.label, sample.name)
    person = [first[label] for label in PERSON_LABELS if label in first][:3]
    if len(person) < 2:
        return  # nothing to tell one person from another
    for sample, decision in zip(samples, decisions, strict=True):
        if (
            decision.label not in CANDIDATE_LABELS
            or sample.rates.get("identifier", 0.0) < MIN_IDENTIFIER
            or sample.name in person
            or (decision.label == "contact.postal_code" and not _too_long_for_a_postcode(sample))
        ):
            continue
        shared, shared_pairs, kept, kept_pairs = _agreements(
            engine, data_table, sample.name, person
        )
        verdict = (
            shared_pairs >= MIN_PAIRS
            and kept_pairs >= MIN_PAIRS
            and shared >= MIN_AGREEMENT
            and kept >= MIN_AGREEMENT
        )
        decision.evidence["person_key"] = verdict
        decision.evidence["person_key_test"] = {
            "same_key_same_person": round(shared, 4),
            "same_key_pairs": shared_pairs,
            "same_person_same_key": round(kept, 4),
            "same_person_pairs": kept_pairs,
        }
        # Seven digits pass a postal code's shape; no French postal code behaves so.
        if (
            verdict
            and decision.label in WEAK_LABELS
            and sample.rates.get("postal_code_fr", 0.0) < 0.5
        ):
            columns.relabel(decision, "id.internal", sample, "behaves like a person key")


def _too_long_for_a_postcode(sample: ColumnSample) -> bool:
    lengths = sorted(len(v) for v in sample.values)
    return bool(lengths) and lengths[len(lengths) // 2] > POSTAL_CODE_MAX


def _near(a: str, b: str) -> str:
    """SQL: two values are equal or one typo apart (NULL when either is missing)."""
    return f"({a} = {b} OR damerau_levenshtein({a}, {b}) <= 1)"


def _agreements(
    engine: Engine, data_table: str, key: str, person: list[str]
) -> tuple[float, int, float, int]:
    """(share, pairs) of the two tests: same key -> same person, same person -> same key.

    Each row of a group is paired with the group's first row only: linear in the rows.
    Groups are counted by aggregation, not by window (a window sorts each partition: three
    times the CPU), and only those of 2 to :data:`MAX_GROUP` rows give pairs.
    """
    fields = [f"lower(trim({quote(name)})) AS p{i}" for i, name in enumerate(person)]
    agreeing = " + ".join(
        f"coalesce({_near(f'a.p{i}', f'h.p{i}')}::INT, 0)" for i in range(len(person))
    )
    compared = " + ".join(
        f"(a.p{i} IS NOT NULL AND h.p{i} IS NOT NULL)::INT" for i in range(len(person))
    )
    signature = ", ".join(f"p{i}" for i in range(len(person)))
    complete = " AND ".join(f"p{i} IS NOT NULL" for i in range(len(person)))
    same_signature = " AND ".join(f"a.p{i} = g.p{i}" for i in range(len(person)))
    rows = f"""
        SELECT _record, nullif(trim({quote(key)}), '') AS k, {", ".join(fields)}
        FROM {quote(data_table)}
    """
    shared_pairs, shared, kept_pairs, kept = engine.fetch(
        f"""
        WITH rows AS ({rows}),
        key_groups AS (
            SELECT k, min(_record) AS head FROM rows WHERE k IS NOT NULL
            GROUP BY k HAVING count(*) BETWEEN 2 AND {MAX_GROUP}
        ),
        person_groups AS (
            SELECT {signature}, min(_record) AS head FROM rows WHERE {complete}
            GROUP BY {signature} HAVING count(*) BETWEEN 2 AND {MAX_GROUP}
        ),
        same_key AS (
            SELECT ({agreeing}) AS agreeing, ({compared}) AS compared
            FROM rows a JOIN key_groups g ON a.k = g.k JOIN rows h ON h._record = g.head
            WHERE a._record <> g.head
        ),
        same_person AS (
            SELECT a.k = h.k AS near
            FROM rows a JOIN person_groups g ON {same_signature}
            JOIN rows h ON h._record = g.head
            WHERE a._record <> g.head AND a.k IS NOT NULL AND h.k IS NOT NULL
        )
        SELECT (SELECT count(*) FROM same_key),
               (SELECT avg((compared > 0 AND agreeing >= least(2, compared))::INT)
                FROM same_key),
               (SELECT count(*) FROM same_person),
               (SELECT avg(near::INT) FROM same_person)
        """
    )[0]
    return float(shared or 0.0), int(shared_pairs), float(kept or 0.0), int(kept_pairs)
