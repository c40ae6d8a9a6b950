"""The persons interval's margin and the doubts weighed by the leak (issue 15)."""

from __future__ import annotations

from ariane.case import Case
from ariane.resolve import estimate
from ariane.resolve.persons import BELIEVED, doubt_weights


def test_the_margin_grows_with_the_model_s_doubt() -> None:
    """A model sure of its count gets a narrow interval, one that hesitates a wider one;
    the interval never leaves [1, profiles] and always holds the count."""
    sure = estimate.interval(1000, 1000, 1000, 5000)
    hesitant = estimate.interval(1000, 960, 1010, 5000)
    assert sure[0] < 1000 < sure[1]
    assert hesitant[0] < 960 and hesitant[1] > 1010
    assert hesitant[1] - hesitant[0] > 2 * (sure[1] - sure[0])
    assert estimate.interval(1, 1, 1, 1) == (1, 1)
    assert estimate.interval(0, 0, 0, 0) == (0, 0)


def _weights(rows: list[tuple[float, bool, bool, bool, bool]]) -> tuple[float, float]:
    """``doubt_weights`` over rows (probability, first doubt, date doubt, surname
    replaced, surname kept)."""
    with Case.ephemeral() as case:
        engine = case.engine()
        engine.execute(
            "CREATE TEMP TABLE resolve_doubts (unique_id_l BIGINT, unique_id_r BIGINT, "
            "match_probability DOUBLE, first_doubt BOOLEAN, date_doubt BOOLEAN, "
            "surname_replaced BOOLEAN, surname_kept BOOLEAN)"
        )
        for i, row in enumerate(rows):
            engine.execute(
                "INSERT INTO resolve_doubts VALUES (?, ?, ?, ?, ?, ?, ?)", [i, i + 1, *row]
            )
        return doubt_weights(engine)


def test_households_keep_their_doubts_replaced_fields_lift_them() -> None:
    """Twins and siblings (first names differ, surname shared): no surname replaced, the
    doubt stays whole. A leak where 6 believed pairs had their surname replaced for 12
    doubted on first names and 3 on dates: half the first-name doubts, all the date ones,
    are explained by replacements. Pairs under the believed level do not count."""
    households = [(0.9, True, False, False, True)] * 8 + [(0.9, False, True, False, True)] * 2
    assert _weights(households) == (0.0, 0.0)
    replaced = (
        [(0.95, True, False, False, True)] * 12
        + [(0.95, False, True, False, True)] * 3
        + [(0.95, False, False, True, False)] * 6
        + [(BELIEVED / 2, False, False, True, False)] * 20
    )
    assert _weights(replaced) == (0.5, 1.0)


def test_first_name_doubts_are_weighed_against_pairs_of_their_own_shape() -> None:
    """Surname-replaced pairs (first names kept) measure first-name-replaced pairs
    (surnames kept): 6 of those for 12 such doubts is half of them, whatever the doubted
    pairs whose surnames differ as well (4 here, who would make it 6 for 16)."""
    rows = (
        [(0.95, True, False, False, True)] * 12
        + [(0.95, True, False, False, False)] * 4
        + [(0.95, False, False, True, False)] * 6
    )
    assert _weights(rows)[0] == 0.5


def test_two_letters_swapped_are_a_slip_however_short_the_name() -> None:
    """``BEN``/``BNE`` (Jaro-Winkler 0.56: no matching window in three letters) is one
    person's name typed with two letters swapped, not two first names to doubt; names
    one letter apart (``LEA``/``LEO``, sisters and brothers) and unrelated ones still
    differ."""
    import duckdb

    from ariane.resolve.persons import _names_differ

    def differ(left: str, right: str) -> bool:
        sql = _names_differ("first_name", "last_name")
        return duckdb.sql(
            f"SELECT {sql} FROM (SELECT ? AS first_name, 'MARTIN' AS last_name) l, "
            "(SELECT ? AS first_name, 'MARTIN' AS last_name) r",
            params=[left, right],
        ).fetchone()[0]

    assert not differ("BEN", "BNE")
    assert not differ("AMY", "AYM")
    assert differ("LEA", "LEO")
    assert differ("ZOE", "ZOH")
    assert differ("BEN", "NEB")
    assert differ("EMMA", "HUGO")
