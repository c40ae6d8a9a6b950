"""Column labels on the witnesses of :mod:`witness_unseen` (other header languages and
layouts, results tables, membership numbers with no insurer beside them): >= 98% of their
columns right taken together, and every column right."""

from __future__ import annotations

import pytest

import witness_leaks
import witness_unseen

COLUMN_ACCURACY = 0.98
NAMES = sorted([*witness_unseen.BUILDERS, *witness_unseen.HELDOUT, *witness_unseen.MEMBERSHIP])


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return {
        name: witness_leaks.evaluate(
            *witness_unseen.build(name, tmp_path_factory.mktemp(name), rows=240)
        )
        for name in NAMES
    }


def test_columns_of_unseen_layouts(measured) -> None:
    total = sum(m["columns"] for m in measured.values())
    wrong = [w for m in measured.values() for w in m["wrong"]]
    assert (total - len(wrong)) / total >= COLUMN_ACCURACY, wrong
    assert all(m["critical_wrong"] == [] for m in measured.values())
    assert wrong == []


@pytest.mark.parametrize("name", sorted(witness_unseen.MEMBERSHIP))
def test_membership_numbers_told_by_their_values(measured, name) -> None:
    """No insurer beside them, no header or one in another language: the numbers of
    several insurers' schemes, German insurance numbers and health card numbers are
    membership numbers; a counter beside sample numbers of two sites stays internal."""
    assert measured[name]["wrong"] == []
