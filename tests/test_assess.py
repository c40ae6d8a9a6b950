"""Assess: ENISA arithmetic, bands, facts file, duties and the summary fields."""

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from ariane import assess
from ariane.assess import enisa
from ariane.assess.enisa import Circumstances, Exposure
from ariane.assess.facts import (
    Breach,
    ControllerFacts,
    Organisation,
    facts_template,
    load_facts,
)
from ariane.case import Case
from ariane.classify import SPECIAL_CATEGORIES
from ariane.errors import ConfigError, StageNotBuiltError
from test_assess_inputs import add_aware_at, build

PUBLISHED = Circumstances()  # the defaults: unknown recipients, malicious, not encrypted
IDENTITY = Exposure.NAME | Exposure.NIR | Exposure.STREET


@pytest.fixture
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


# -- the arithmetic -------------------------------------------------------------------------


def test_worked_example_of_the_case_is_very_high():
    grade = enisa.grade(IDENTITY | Exposure.PATIENT | Exposure.HIV, PUBLISHED)
    assert (grade.dpc, grade.ei, grade.cb) == (4, 1, 1)
    assert grade.score == 4 * 1 + 0.5 + 0.5 == 5
    assert grade.band == "very_high"
    assert "SE = 4 × 1 + 1 = 5" in grade.explanation["se"]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, "low"),
        (1.99, "low"),
        (2.0, "medium"),
        (2.99, "medium"),
        (3.0, "high"),
        (3.99, "high"),
        (4.0, "very_high"),
        (5.0, "very_high"),
    ],
)
def test_band_edges(score, expected):
    assert enisa.band(score) == expected


@pytest.mark.parametrize(
    ("exposure", "circumstances", "score", "band"),
    [
        # blood group (2) x name+contacts (0.75) + nothing = 1.5
        (
            Exposure.BLOOD_GROUP | Exposure.NAME | Exposure.PHONE,
            Circumstances("none", malicious=False),
            1.5,
            "low",
        ),
        # + malicious 0.5 = 2.0: the lower edge of medium, reached exactly
        (
            Exposure.BLOOD_GROUP | Exposure.NAME | Exposure.PHONE,
            Circumstances("none", malicious=True),
            2.0,
            "medium",
        ),
        # DPC 4 x EI 0.5 + 1 = 3.0: the lower edge of high
        (Exposure.NAME | Exposure.CANCER, PUBLISHED, 3.0, "high"),
        # DPC 4 x EI 0.75 + 1 = 4.0: the lower edge of very high
        (Exposure.NAME | Exposure.EMAIL | Exposure.GENETIC, PUBLISHED, 4.0, "very_high"),
        # DPC 3 x EI 0.75 + 0.25 = 2.5
        (
            Exposure.NAME | Exposure.EMAIL | Exposure.TEST,
            Circumstances("known_recipients", malicious=False),
            2.5,
            "medium",
        ),
    ],
)
def test_scores_on_band_edges(exposure, circumstances, score, band):
    grade = enisa.grade(int(exposure), circumstances)
    assert grade.score == score
    assert grade.band == band


def test_blood_group_and_contacts_only():
    grade = enisa.grade(Exposure.BLOOD_GROUP | Exposure.PHONE | Exposure.EMAIL, PUBLISHED)
    assert grade.dpc == 2  # a health datum that reveals no disease
    assert grade.ei == 0.5  # reachable but not named
    assert grade.score == 2 * 0.5 + 1
    assert grade.band == "medium"
    assert "groupe sanguin" in grade.explanation["dpc"]
    assert "sans nom" in grade.explanation["ei"]


def test_hiv_mention_is_the_top_of_the_health_ladder():
    without = enisa.grade(Exposure.NAME | Exposure.PHONE | Exposure.PATIENT, PUBLISHED)
    with_hiv = enisa.grade(
        Exposure.NAME | Exposure.PHONE | Exposure.PATIENT | Exposure.HIV, PUBLISHED
    )
    assert without.dpc == 1
    assert with_hiv.dpc == 4
    assert with_hiv.score == 4 * 0.75 + 1
    assert with_hiv.band == "very_high"
    assert "VIH" in with_hiv.explanation["dpc"]
    assert enisa.categories(Exposure.HIV | Exposure.CANCER) == ["hiv", "cancer"]


def test_minor_raises_context_but_stays_capped():
    assert enisa.dpc(Exposure.NAME | Exposure.MINOR)[0] == 2
    assert enisa.dpc(Exposure.NAME | Exposure.HIV | Exposure.MINOR)[0] == 4


def test_encrypted_data_is_hardly_identifiable():
    grade = enisa.grade(IDENTITY | Exposure.HIV, Circumstances(encrypted=True))
    assert grade.ei == 0.25
    assert grade.band == "medium"  # 4 x 0.25 + 1


def test_circumstances_add_up():
    assert enisa.cb(Circumstances("none", "none", "none", malicious=False))[0] == 0
    full = Circumstances("unknown_recipients", "unrecoverable", "recoverable", malicious=True)
    assert enisa.cb(full)[0] == 0.5 + 0.5 + 0.25 + 0.5


def test_categories_match_the_contract():
    assert tuple(enisa.CATEGORY_BITS) == SPECIAL_CATEGORIES
    bits = [int(b) for b in Exposure]
    assert len(bits) == len(set(bits))


# -- the facts file -------------------------------------------------------------------------


def test_template_parses_back_to_the_defaults(tmp_path):
    path = tmp_path / "facts.toml"
    assess.write_facts_template(path)
    facts = load_facts(path)
    assert facts.breach == Breach()
    assert facts.organisation == Organisation()
    for name in list(Breach.__dataclass_fields__) + list(Organisation.__dataclass_fields__):
        # Booleans are commented out: unknown until someone states them.
        assert f"\n{name} =" in facts_template() or f"\n# {name} =" in facts_template(), name
    for name in ControllerFacts.__dataclass_fields__:
        assert f"\n# {name} =" in facts_template(), name
    assert facts.breach.malicious is None and facts.breach.encrypted is None
    with pytest.raises(ConfigError, match="already exists"):
        assess.write_facts_template(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[breach]\nmalicious = "yes"\n', r"facts.toml line 2: breach.malicious must be true"),
        ('[breach]\n\nconfidentiality = "everyone"\n', r"line 3: breach.confidentiality"),
        ('[breach]\nwhen = "x"\n', r"line 2: unknown key breach.when"),
        ("[brech]\n", r"line 1: unknown section \[brech\]"),
        ('[breach]\naware_at = "yesterday"\n', r"line 2: breach.aware_at is not an ISO"),
        ("[breach\n", r"facts.toml: not valid TOML.*line 1"),
        ("[controllers.LAB01]\nsiren = 12\n", r"line 2: controllers.LAB01.siren must be"),
    ],
)
def test_bad_facts_file_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "facts.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_facts(path)


def test_aware_at_option_wins_over_the_file(tmp_path, engine):
    path = tmp_path / "facts.toml"
    path.write_text('[breach]\naware_at = "2021-02-20T09:00:00+01:00"\nmalicious = false\n')
    add_aware_at(engine, "2021-02-23T10:00:00+01:00")
    facts = load_facts(path, engine)
    assert facts.breach.aware_at == "2021-02-23T10:00:00+01:00"
    assert facts.breach.malicious is False


# -- the stage on tables --------------------------------------------------------------------


def test_assess_grades_every_person_and_decides_duties(engine):
    leak = build(engine, records=600, controllers=4)
    add_aware_at(engine, "2021-02-23T10:00:00+01:00")
    assess.assess(engine)
    persons = engine.fetch("SELECT count(*), count(DISTINCT person_id) FROM assess_persons")[0]
    assert persons == (leak.persons, leak.persons)
    bad = engine.fetch(
        "SELECT count(*) FROM assess_persons WHERE abs(score - (dpc * ei + cb)) > 1e-9 "
        "OR band NOT IN ('low', 'medium', 'high', 'very_high')"
    )
    assert bad == [(0,)]
    explanation = json.loads(engine.fetch("SELECT explanation FROM assess_persons LIMIT 1")[0][0])
    assert set(explanation) == {"dpc", "ei", "cb", "se"}

    summary = assess.summarise(engine)
    assert sum(summary["severity"].values()) == leak.persons
    mentioned = engine.fetch(
        "SELECT m.category, count(DISTINCT r.person_id) FROM classify_mentions m "
        "JOIN resolve_records r USING (source_id, _record) GROUP BY 1"
    )
    assert mentioned  # the fixture does mention categories
    for category, count in mentioned:
        assert summary["special_categories"][category] == count
    assert [c["controller_id"] for c in summary["controllers"]] == leak.controllers
    records = engine.fetch(
        "SELECT a.controller_id, count(*) = d.records FROM attribute_records a "
        "JOIN assess_controllers d USING (controller_id) GROUP BY a.controller_id, d.records"
    )
    assert len(records) == len(leak.controllers) and all(same for _, same in records)
    for controller in summary["controllers"]:
        assert controller["notify_regulator"] is True
        assert controller["notify_persons"] is True  # NIR + name + address, published
        # The processor has told no lab yet: no lab's own 72 hours have started.
        assert controller["informed_at"] is None and controller["deadline"] is None
        assert controller["overdue"] is False
        assert controller["severity"] == "very_high"


def test_each_controller_has_its_own_clock(engine):
    """Art. 33(2) then 33(1): a lab's 72 h start when the processor tells it."""
    from ariane.case import facts as fact_log

    leak = build(engine, records=120, controllers=3)
    add_aware_at(engine, "2021-02-23T10:00:00+01:00")
    assess.assess(engine)
    first, second, third = leak.controllers
    fact_log.record(
        engine,
        {
            (first, "informed_at"): "2021-02-24T09:00:00+01:00",
            (second, "informed_at"): "2021-03-01T09:00:00+01:00",
            (second, "notified_at"): "2021-03-02T09:00:00+01:00",
        },
        "test",
    )
    now = datetime.fromisoformat("2021-03-03T12:00:00+01:00")
    found = {c["controller_id"]: c for c in assess.summarise(engine, now)["controllers"]}
    assert found[first]["deadline"] == "2021-02-27T09:00:00+01:00"
    assert found[first]["overdue"] is True  # 3 March is past 27 February, nothing notified
    assert found[second]["deadline"] == "2021-03-04T09:00:00+01:00"
    assert found[second]["overdue"] is False and found[second]["notified_at"]
    assert found[third]["deadline"] is None and found[third]["overdue"] is False
    earlier = datetime.fromisoformat("2021-02-25T12:00:00+01:00")
    assert assess.summarise(engine, earlier)["controllers"][0]["overdue"] is False
    assert set(found[first]["notices"]) == {
        "planned", "approved", "sent", "delivered", "bounced", "letters"
    }  # fmt: skip


def _one_person(engine, columns: dict[str, str], mention: str | None = None) -> None:
    """A single-record leak whose classified columns are ``columns`` (label -> value)."""
    names = [f"c{i}" for i in range(len(columns))]
    raw = {
        name: pa.array([value], pa.string())
        for name, value in zip(names, columns.values(), strict=True)
    }
    raw["_record"] = pa.array([1], pa.int64())
    engine.append("raw_9", pa.table(raw))
    engine.append(
        "read_sources", pa.table({"source_id": pa.array([9], pa.int32()), "data_table": ["raw_9"]})
    )
    engine.append(
        "classify_columns",
        pa.table(
            {
                "source_id": pa.array([9] * len(names), pa.int32()),
                "column_name": names,
                "label": list(columns),
            }
        ),
    )
    engine.append(
        "classify_mentions",
        pa.table(
            {
                "source_id": pa.array([9] if mention else [], pa.int32()),
                "_record": pa.array([1] if mention else [], pa.int64()),
                "category": pa.array([mention] if mention else [], pa.string()),
            }
        ),
    )
    engine.append(
        "resolve_records",
        pa.table(
            {
                "source_id": pa.array([9], pa.int32()),
                "_record": pa.array([1], pa.int64()),
                "person_id": pa.array([1], pa.int64()),
                **{
                    k: pa.array([None], pa.string())
                    for k in (
                        "last_name",
                        "first_name",
                        "sex",
                        "nir",
                        "phone",
                        "email",
                        "postal_code",
                        "commune_code",
                        "departement",
                    )
                },
                "birth_date": pa.array([None], pa.date32()),
            }
        ),
    )
    engine.append(
        "attribute_controllers", pa.table({"controller_id": ["LAB"], "finess": ["350000001"]})
    )
    engine.append(
        "attribute_records",
        pa.table(
            {
                "source_id": pa.array([9], pa.int32()),
                "_record": pa.array([1], pa.int64()),
                "controller_id": ["LAB"],
            }
        ),
    )


def test_person_with_only_blood_group_and_contacts(engine):
    _one_person(
        engine,
        {
            "health.blood_group": "AB-",
            "contact.phone": "0600000000",
            "contact.email": "a@example.invalid",
            "id.internal": "  ",
        },
    )
    assess.assess(engine)
    dpc, ei, score, band = engine.fetch("SELECT dpc, ei, score, band FROM assess_persons")[0]
    assert (dpc, ei, score, band) == (2, 0.5, 2.0, "medium")
    duties = engine.fetch(
        "SELECT severity, notify_regulator, notify_persons, deadline FROM assess_controllers"
    )
    assert duties == [("medium", True, False, None)]  # no --aware-at: no deadline


def test_a_label_on_a_missing_column_is_ignored(engine):
    _one_person(engine, {"health.blood_group": "O+", "contact.email": "a@example.invalid"})
    engine.append(
        "classify_columns",
        pa.table(
            {"source_id": pa.array([9], pa.int32()), "column_name": ["gone"], "label": ["id.nir"]}
        ),
    )
    assess.assess(engine)
    assert engine.fetch("SELECT dpc, ei FROM assess_persons") == [(2, 0.5)]


def test_person_with_an_hiv_mention(engine, tmp_path):
    facts = tmp_path / "facts.toml"
    facts.write_text('[breach]\nconfidentiality = "known_recipients"\nmalicious = false\n')
    _one_person(engine, {"person.full_name": "X Y", "contact.city": "Rennes"}, mention="hiv")
    assess.assess(engine, facts)
    row = engine.fetch("SELECT dpc, ei, cb, score, band, categories FROM assess_persons")[0]
    assert row == (4, 0.75, 0.25, 3.25, "high", ["hiv"])
    assert assess.summarise(engine)["special_categories"]["hiv"] == 1


def test_low_risk_needs_no_notification_and_encryption_exempts_persons(engine, tmp_path):
    facts = tmp_path / "facts.toml"
    facts.write_text('[breach]\nencrypted = true\nconfidentiality = "none"\nmalicious = false\n')
    _one_person(
        engine,
        {"person.last_name": "X", "id.nir": "1", "contact.street": "1 rue"},
        mention="cancer",
    )
    add_aware_at(engine, "2021-02-23T10:00:00+01:00")
    assess.assess(engine, facts)
    assert engine.fetch("SELECT score, band FROM assess_persons") == [(1.0, "low")]
    summary = assess.summarise(engine)["controllers"][0]
    assert summary["notify_regulator"] is False and summary["deadline"] is None


def test_deadline_is_72_hours_after_awareness():
    aware = datetime.fromisoformat("2021-02-23T10:00:00+01:00")
    assert assess.deadline(aware) == aware + timedelta(hours=72)
    assert assess.deadline(None) is None


def test_facts_for_an_unknown_controller_and_missing_stages_fail_clearly(engine, tmp_path):
    with pytest.raises(StageNotBuiltError, match="resolve"):
        assess.assess(engine)
    facts = tmp_path / "facts.toml"
    facts.write_text('[controllers.LAB99]\nsiren = "1"\n')
    build(engine, records=20, controllers=2)
    with pytest.raises(ConfigError, match=r"facts.toml: \[controllers.LAB99\] names no"):
        assess.assess(engine, facts)
