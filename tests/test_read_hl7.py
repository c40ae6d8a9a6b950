"""HL7 v2 logs: one record per patient of each message, damage quarantined, streamed."""

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app
from ariane.read import load
from ariane.read.delimited import CHUNK, MAX_RECORD_BYTES
from ariane.read.hl7v2 import (
    Malformed,
    _Segment,
    _Split,
    delimiters,
    message_rows,
    read_message,
)
from ariane.read.segments import segments
from ariane.read.sniff import sniff_format
from hl7_messages import REGISTRY, hl7_log, hl7_merge, hl7_message, people
from measure import (
    assert_linear,
    assert_linear_steps,
    linear_sizes,
    loading_seconds,
    reading_steps,
)


def _read(path):
    with Case.ephemeral() as case:
        engine = case.engine()
        summary = load(engine, [path])
        (source,) = summary.sources
        rows = engine.fetch_arrow(f"SELECT * FROM {source.data_table} ORDER BY _record").to_pylist()
        quarantine = engine.fetch(
            "SELECT record, line, reason FROM read_quarantine ORDER BY record"
        )
    return source, rows, quarantine


@pytest.mark.parametrize("mllp", [False, True])
def test_every_message_is_a_record_with_named_columns(tmp_path, mllp):
    persons = people(12)
    data, messages = hl7_log(persons, mllp=mllp)
    path = tmp_path / "log.txt"  # no telling extension: sniffed from content
    path.write_bytes(data)
    source, rows, quarantine = _read(path)
    assert source.format == "hl7"
    assert (source.rows, source.quarantined) == (messages, 0)
    assert quarantine == []
    first = persons[0]
    row = rows[0]
    assert row["pid_nir"] == first.nir
    assert row["pid_patient_id"] == "P00000"
    assert (row["pid_family_name"], row["pid_given_name"]) == (first.family, first.given)
    assert row["pid_birth_date"] == f"{first.birth[:4]}-{first.birth[4:6]}-{first.birth[6:]}"
    assert (row["pid_postal_code"], row["pid_city"]) == (first.postal_code, first.city)
    assert row["pid_phone"] == first.phone
    assert row["pv1_attending_doctor"] == "Dr Pierre DUPONT"
    assert row["orc_ordering_facility_finess"] == "350000014"
    # Results and notes folded into the patient's record; escapes undone.
    assert row["obx_results"] == "HIV Sérologie VIH = Positif (A)"
    assert row["nte_comments"] == "Contrôle conseill\\"
    assert rows[1]["obx_results"].startswith("GLU Glucose = 4.1 mmol/L (N)")


def test_delimiters_come_from_each_msh(tmp_path):
    text = (
        "MSH#*~!&#LAB#FAC###20240101##ORU*R01#1#P#2.5\r"
        "PID#1##A1*!!*AUTH~B2##MARTIN*Jeanne~DURAND*Marie##19800101#F\r"
        "OBX#1#ST#NOTE*Note##a !F! b !S! c\r"
    )
    path = tmp_path / "odd.hl7"
    path.write_text(text)
    _, (row,), _ = _read(path)
    assert row["pid_patient_id"] == "A1 | B2"  # both repetitions kept, in order
    assert row["pid_other_names"] == "Marie DURAND"
    assert row["obx_results"] == "NOTE Note = a # b * c"


def test_a_damaged_message_is_quarantined_and_the_others_read(tmp_path):
    persons = people(5)
    good = [hl7_message(p, 0, f"C{p.number}") for p in persons]
    damaged = [
        "MSH|^~\\&|X\rPID|1||9\rthis line is no segment\r",  # message 2
        "MSH|\r",  # message 4: no delimiters
    ]
    log = good[0] + damaged[0] + good[1] + damaged[1] + "".join(good[2:])
    path = tmp_path / "log.hl7"
    path.write_bytes(b"2024-01-01 listener started\r" + log.encode())
    source, rows, quarantine = _read(path)
    assert source.rows == len(good)
    assert [r["pid_nir"] for r in rows] == [p.nir for p in persons]
    reasons = [reason for _, _, reason in quarantine]
    assert reasons[0] == "text before the first MSH segment"
    assert reasons[1] == "HL7 message 2: segment 3 does not begin with a segment name"
    assert reasons[2] == "HL7 message 4: MSH segment does not define its delimiters"
    assert source.rows + source.quarantined == len(good) + len(damaged) + 1
    for name in (persons[0].family, persons[0].nir):  # reasons name no value
        assert all(name not in r for r in reasons)


def test_a_message_with_two_patients_gives_two_records(tmp_path):
    one, two = people(2)
    second = hl7_message(two, 0, "B").split("\r")
    text = hl7_message(one, 0, "A") + "\r".join(s for s in second if not s.startswith("MSH"))
    path = tmp_path / "two.hl7"
    path.write_text(text)
    source, rows, _ = _read(path)
    assert source.rows == 2
    assert [r["pid_nir"] for r in rows] == [one.nir, two.nir]
    assert rows[0]["msh_sending_facility_finess"] == rows[1]["msh_sending_facility_finess"]


def test_the_reader_agrees_with_hl7apy(tmp_path):
    """A second, independent parser reads the same names, birth dates and results."""
    hl7apy_parser = pytest.importorskip("hl7apy.parser")
    persons = people(6)
    texts = [hl7_message(p, 0, f"X{p.number}") for p in persons]
    path = tmp_path / "log.hl7"
    path.write_text("".join(texts))
    _, rows, _ = _read(path)
    for text, row in zip(texts, rows, strict=True):
        message = hl7apy_parser.parse_message(text, find_groups=False)
        pid = message.pid
        assert row["pid_family_name"] == pid.pid_5.pid_5_1.value
        assert row["pid_given_name"] == pid.pid_5.pid_5_2.value
        assert row["pid_birth_date"].replace("-", "") == pid.pid_7.value
        assert row["pid_nir"] == pid.pid_3[0].pid_3_1.value
        assert row["obx_results"].split(" = ")[0].split()[0] == message.obx.obx_3.obx_3_1.value


def test_sniffed_from_content_not_from_names():
    assert sniff_format(b"MSH|^~\\&|A|B\rPID|1\r") == "hl7"
    assert sniff_format(b"\x0bMSH|^~\\&|A|B\rPID|1\r\x1c\r") == "hl7"
    assert sniff_format(b"FHS|^~\\&|A\rBHS|^~\\&|A\rMSH|^~\\&|A\r") == "hl7"
    assert sniff_format(b"MSH,name,age\nx,y,1\n") == "delimited"


def test_run_finds_persons_controllers_and_hiv(tmp_path):
    persons = people(40)
    data, messages = hl7_log(persons, mllp=True)
    (tmp_path / "feed.log").write_bytes(data)
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    case = tmp_path / "case"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(tmp_path / "feed.log"),
            "--case",
            str(case),
            "--registry",
            str(tmp_path / "registry.csv"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(CliRunner().invoke(app, ["summary", str(case), "--json"]).stdout)
    assert (found["rows"], found["quarantined"]) == (messages, 0)
    assert found["persons"] == len(persons)
    assert found["special_categories"]["hiv"] == sum(p.hiv for p in persons)
    records = {c["controller_id"]: c["records"] for c in found["controllers"]}
    visits = [sum(p.visits for p in persons if p.lab == lab) for lab in (0, 1)]
    assert records == {"LAB01": visits[0], "LAB02": visits[1]}
    assert found["unattributed_records"] == 0


def _logs(folder, n):
    paths = []
    for size in linear_sizes(n):
        data, _ = hl7_log(people(size))
        paths.append(folder / f"{size}.hl7")
        paths[-1].write_bytes(data)
    return paths


def test_reading_time_grows_linearly(tmp_path):
    paths = _logs(tmp_path, 300)
    times, summaries = loading_seconds(paths)
    assert [s.rows for s in summaries] == [n * 3 // 2 for n in linear_sizes(300)]  # 1 or 2 visits
    assert_linear(times, lambda: loading_seconds(paths)[0])


def test_reading_steps_grow_linearly(tmp_path):
    paths = _logs(tmp_path, 200)
    steps, summaries = reading_steps(paths)
    assert [s.rows for s in summaries] == [n * 3 // 2 for n in linear_sizes(200)]
    assert_linear_steps(steps)


def test_a_long_log_is_read_as_a_stream():
    """Segments come out while the log is still being read: it never sits in memory whole."""
    one = hl7_message(people(1)[0], 0, "M").encode()
    count = 8 * CHUNK // len(one) + 1  # eight blocks of reading
    stream = io.BytesIO(one * count)
    seen = 0
    for segment in segments(stream):
        seen += 1
        assert stream.tell() - segment.offset <= 2 * CHUNK  # read ahead by a block at most
    assert seen == 7 * count


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_damage_is_read_or_malformed(data):
    """Whatever a message's bytes become, it is read or refused with a reason, never a crash."""
    text = hl7_message(people(3)[2], 0, "F")
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 40))
    noise = data.draw(st.text(alphabet="|^~\\&\r\nMSHPIDOBX0123 ", max_size=30))
    damaged = text[:position] + noise + text[position + cut :]
    segments_text = [s for s in damaged.replace("\n", "\r").split("\r") if s.strip()]
    if not segments_text or not segments_text[0].startswith("MSH"):
        return
    texts = [s.strip() for s in segments_text]
    try:
        rows = message_rows(texts)
    except Malformed as exc:
        assert str(exc)
    else:
        assert rows and all(isinstance(v, str) for row in rows for v in row.values())
        if len(set(texts[0][3:8])) == len(texts[0][3:8]):  # delimiters told apart
            try:
                library = message_rows(texts, library=True)
            except Malformed:
                return
            assert rows == library  # split by hand as python-hl7 splits


#: Messages beyond the samples: subcomponents, empty and trailing fields, repetitions of
#: components, every escape, delimiters of HL7 2.7 (a truncation character) and of a
#: sender that leaves the subcomponent separator out.
ODD_MESSAGES = [
    "MSH|^~\\&#|A|B^1.2.3&x&ISO^L|C|D|20240101||ADT^A08|1|P|2.7\r"
    "PID|1||123^^^AUTH&1.2.250.1.213.1.4.8&ISO^NH~456^^^H&&^PI||DOE^JOHN^^^DR^^L~SMITH^J||"
    "19700101|M|||1 rue \\T\\ Co^^Paris^^75001^FRA~^^Lyon||^PRN^Internet^a@b.fr|||||||\r"
    "NTE|1||a \\F\\ b \\S\\ c \\R\\ d \\E\\ e \\T\\ f \\.br\\ g \\H\\h\\N\\ \\X41\\ \\Zunknown\\|\r"
    "OBX|1|CE|X^Y~Z^W||A^B^C~D^E||||||F|\r"
    "ZZZ\r",
    "MSH|^~\\|A|B|C|D|20240101||ORU^R01|2|P|2.3\rPID|1||7&8^9||X^Y\rOBX|1|ST|||v&w\r",
    "MSH|^~\\&|\rPID|||||||\r",
]


def _messages():
    persons = people(40)
    texts = [hl7_message(p, v, f"C{p.number}{v}") for p in persons for v in range(p.visits)]
    texts.append(
        "MSH#*~!&#LAB#FAC###20240101##ORU*R01#1#P#2.5\r"
        "PID#1##A1*!!*AUTH~B2##MARTIN*Jeanne~DURAND*Marie##19800101#F\r"
        "OBX#1#ST#NOTE*Note##a !F! b !S! c\r"
    )
    texts.append(hl7_merge(persons[0], "P00001^^^LAB^PI~X\\T\\1^^^LAB^MR", "C-A40"))
    return [[s for s in t.split("\r") if s] for t in texts + ODD_MESSAGES]


def test_split_by_hand_as_python_hl7_parses():
    """The hand splitter gives python-hl7's fields, every field of every segment of every
    sample message (escapes, repetitions, subcomponents, odd delimiters), and the same
    records."""
    import hl7

    compared = 0
    for texts in _messages():
        message = hl7.parse("\r".join(texts))
        separators, esc = str(message.separators), str(message.esc)
        mine = delimiters(texts[0])
        assert mine.map["F"] + mine.map["R"] + mine.map["S"] + mine.map["T"] == separators[1:]
        assert mine.esc == esc
        for text, parsed in zip(texts, message, strict=True):
            split, library = _Split(text, mine), _Segment(parsed, mine)
            assert split.name == library.name
            assert len(split.items) == len(library.items), text[:3]
            for number in range(1, len(library.items) + 1):  # 0 is the name, compared above
                assert split.field(number) == library.field(number), (text[:3], number)
                compared += 1
        assert read_message(texts) == read_message(texts, library=True)
    assert compared > 40 * 7 * 10


def test_an_overlong_message_is_quarantined(tmp_path):
    one, two = people(2)
    huge = hl7_message(one, 0, "A").replace("NTE|1||", "NTE|1||" + "x" * (MAX_RECORD_BYTES + 10))
    path = tmp_path / "long.hl7"
    path.write_text(huge + hl7_message(two, 0, "B"))
    source, rows, quarantine = _read(path)
    assert (source.rows, source.quarantined) == (1, 1)
    assert rows[0]["pid_nir"] == two.nir
    assert quarantine[0][2].startswith("HL7 message 1: longer than the limit")


def test_next_of_kin_is_read_apart_from_the_patient():
    """NK1 names a relative (issue 15, second round: it was kept as raw text among the
    unread segments). Its name, address and phones are one text per relative, said to be
    a relative's, in ``nk1_next_of_kin``; the patient's columns hold the patient's only."""
    texts = [
        "MSH|^~\\&|GAM|HOP|LIS|LAB|20240301||ADT^A08|U1|P|2.5",
        "PID|1||123^^^HOP^PI||LE GALL^Anne||19800101|F|||3 rue Haute^^Brest^^29200||0611111111",
        "NK1|1|LE GALL^Yann|SPO^Conjoint|8 quai Est^^Brest^^29200|0622222222~0298000000",
        "NK1|2|MORVAN^Rose||||0633333333",
    ]
    (row,) = message_rows(texts)
    assert row["nk1_next_of_kin"] == (
        "Conjoint: LE GALL Yann, 8 quai Est Brest 29200, 0622222222, 0298000000 | "
        "next of kin: MORVAN Rose, 0633333333"
    )
    assert (row["pid_family_name"], row["pid_given_name"]) == ("LE GALL", "Anne")
    assert (row["pid_street"], row["pid_phone"]) == ("3 rue Haute", "0611111111")
    assert "other_segments" not in row
    assert message_rows(texts, library=True) == [row]  # python-hl7 splits it alike


# Merges (ADT^A40): patients A, B, C of the lab's system, numbers P00000, P00001, P00002;
# A has one visit, B two, C one (``people``), so the log holds 4 results messages.
A_NUMBER, B_NUMBER, C_NUMBER = "P00000", "P00001", "P00002"


def _visits(persons):
    return [hl7_message(p, v, f"M{p.number}{v}") for p in persons for v in range(p.visits)]


def _merged(tmp_path, messages):
    path = tmp_path / "adt.hl7"
    path.write_text("\n".join(messages))
    source, rows, quarantine = _read(path)
    assert (source.rows, source.quarantined, quarantine) == (len(messages), 0, [])
    return [(r["pid_patient_id"], r.get("same_patient_as")) for r in rows]


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("by", ["number", "nir"])
def test_a_merge_names_the_survivor_in_any_order(tmp_path, first, by):
    """MRG-1 names B's record (its patient number, or its NIR), PID-3 A's: every record
    of A and of B names A's number in ``same_patient_as``, whether the merge comes before
    or after their results; C's records name nobody. The merge's own PID is a record of
    A, and no record is added or lost."""
    a, b, c = people(3)
    merged = f"{B_NUMBER}^^^LAB^PI" if by == "number" else f"{b.nir}^^^&1.2.250.1.213.1.4.8&ISO^NH"
    merge = hl7_merge(a, merged, "A40-1")
    visits = _visits([a, b, c])
    records = _merged(tmp_path, [merge, *visits] if first else [*visits, merge])
    expected = [(A_NUMBER, A_NUMBER), (B_NUMBER, A_NUMBER), (B_NUMBER, A_NUMBER), (C_NUMBER, None)]
    merge_record = (A_NUMBER, A_NUMBER)
    assert records == ([merge_record, *expected] if first else [*expected, merge_record])


@pytest.mark.parametrize("order", ["C into B first", "B into A first"])
def test_a_chain_of_merges_meets_on_the_last_survivor(tmp_path, order):
    """C merged into B, then B into A: the records of all three name A, the one no merge
    replaced, whatever the order of the merges and of the results."""
    a, b, c = people(3)
    c_into_b = hl7_merge(b, f"{C_NUMBER}^^^LAB^PI", "A40-1")
    b_into_a = hl7_merge(a, f"{B_NUMBER}^^^LAB^PI", "A40-2")
    visits = _visits([a, b, c])
    if order == "C into B first":
        messages = [c_into_b, *visits, b_into_a]
    else:
        messages = [b_into_a, *visits[:2], c_into_b, *visits[2:]]
    records = _merged(tmp_path, messages)
    assert {survivor for _, survivor in records} == {A_NUMBER}
    assert sorted(number for number, _ in records) == sorted(
        [A_NUMBER, A_NUMBER, B_NUMBER, B_NUMBER, B_NUMBER, C_NUMBER]
    )


def test_a_merge_of_a_record_absent_from_the_log_leaves_the_others_alone(tmp_path):
    """MRG-1 names a patient number no record of the log holds: B's and C's records name
    nobody; A's name A, which joins A's records only."""
    a, b, c = people(3)
    records = _merged(tmp_path, [*_visits([a, b, c]), hl7_merge(a, "P09999^^^LAB^PI", "A40-1")])
    assert records == [
        (A_NUMBER, A_NUMBER), (B_NUMBER, None), (B_NUMBER, None), (C_NUMBER, None),
        (A_NUMBER, A_NUMBER),
    ]  # fmt: skip


def test_a_log_without_merges_has_no_survivor_column(tmp_path):
    a, b, c = people(3)
    path = tmp_path / "oru.hl7"
    path.write_text("\n".join(_visits([a, b, c])))
    source, rows, _ = _read(path)
    assert source.rows == 4 and "same_patient_as" not in rows[0]


def _persons(tmp_path, messages):
    """``ariane run`` on a log of these messages: its rows, quarantined and persons."""
    path = tmp_path / "adt.hl7"
    path.write_text("\n".join(messages))
    case = tmp_path / "case"
    result = CliRunner().invoke(app, ["run", str(path), "--case", str(case), "--quiet"])
    assert result.exit_code == 0, result.output
    found = json.loads(CliRunner().invoke(app, ["summary", str(case), "--json"]).stdout)
    return found["rows"], found["quarantined"], found["persons"]


@pytest.mark.parametrize(
    ("merges", "persons"),
    [
        # The merge message with its MRG segment left out: A's record, three persons.
        ([("A", "")], 3),
        ([("A", B_NUMBER)], 2),
        ([("A", B_NUMBER), "first"], 2),
        ([("B", C_NUMBER), ("A", B_NUMBER)], 1),
        ([("A", "P09999")], 3),
    ],
    ids=["no MRG", "B into A, last", "B into A, first", "C into B into A", "absent"],
)
def test_run_joins_merged_records(tmp_path, merges, persons):
    """Issue 15: an HL7 log where B's record was merged into A's counted them as two
    persons (A, B and C are distinct people: names, births, NIRs and numbers differ).
    The MRG segment joins them whatever they share; the records read are the same."""
    a, b, c = people(3)
    first = "first" in merges
    messages = []
    for number, (into, merged) in enumerate(m for m in merges if m != "first"):
        message = hl7_merge(a if into == "A" else b, f"{merged}^^^LAB^PI", f"A40-{number}")
        messages.append(message if merged else message.replace("MRG|^^^LAB^PI\r", ""))
    visits = _visits([a, b, c])
    log = [*messages, *visits] if first else [*visits, *messages]
    assert _persons(tmp_path, log) == (len(visits) + len(messages), 0, persons)
