"""Delimited text: encodings, dialects, headers, quarantine, and fast path == careful path."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ariane.case import Case
from ariane.read import load
from ariane.read.archive import expand
from ariane.read.delimited import read_delimited
from ariane.read.store import Origin, Store


@pytest.fixture(scope="module")
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


def write_csv(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def read_bytes(engine, tmp_path: Path, data: bytes, name: str = "leak.csv", fast: bool = True):
    path = tmp_path / name
    path.write_bytes(data)
    blob = next(expand(path))
    writer = read_delimited(blob, Store(engine), Origin(str(path), None, ""), fast=fast)
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in writer.columns)
    rows = engine.fetch(f"SELECT {cols}, _record, _line FROM {writer.data_table} ORDER BY _record")
    quarantine = engine.fetch(
        "SELECT record, line, byte_offset, reason FROM read_quarantine WHERE source_id = ? "
        "ORDER BY record",
        [writer.source_id],
    )
    return writer, rows, quarantine


PEOPLE = [
    ["nom", "prénom", "date_naissance", "ville", "commentaire"],
    ["Dupont", "Jean", "01/02/1960", "Rennes", 'suivi "VIH", traitement; ok'],
    ["Le Gall", "Zoé", "1975-12-31", "Saint-Brieuc", "ligne 1\nligne 2"],
    ["Ñúñez", "Ælfrida", "03/04/1980", "Évreux", "back\\slash, 'quote'"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("fast", [True, False])
def test_encodings_and_delimiters_read_exactly(engine, tmp_path, encoding, delimiter, fast):
    rows = (
        PEOPLE
        if encoding in {"utf-8", "utf-8-sig", "utf-16"}
        else [
            [cell.replace("Ñúñez", "Nunez").replace("Ælfrida", "Aelfrida") for cell in r]
            for r in PEOPLE
        ]
    )
    data = write_csv(rows, delimiter, encoding)
    writer, got, quarantine = read_bytes(engine, tmp_path, data, fast=fast)
    assert writer.has_header
    assert writer.columns == rows[0]
    # The note's line break is written as a bare "\n" inside quotes (rows end in "\r\n"):
    # it is read back byte for byte, never normalised.
    assert [list(r[:-2]) for r in got] == rows[1:]
    assert quarantine == []
    assert [r[-2] for r in got] == [1, 2, 3]
    assert [r[-1] for r in got] == [2, 3, 5]  # record 2 spans two lines


def test_headerless_file_gets_numbered_columns(engine, tmp_path):
    data = write_csv([r for r in PEOPLE[1:]] * 3, ";")
    writer, got, _ = read_bytes(engine, tmp_path, data)
    assert not writer.has_header
    assert writer.columns == [f"col_{i}" for i in range(1, 6)]
    assert len(got) == 9


def test_header_in_other_language_is_found(engine, tmp_path):
    rows = [["Nachname", "Vorname", "Geburtsdatum", "Telefon"]] + [
        [f"Name{i}", f"Vor{i}", f"19{50 + i}-01-0{1 + i % 9}", f"0612345{i:03d}"] for i in range(20)
    ]
    writer, got, _ = read_bytes(engine, tmp_path, write_csv(rows, "|"))
    assert writer.has_header and writer.columns[0] == "Nachname"
    assert len(got) == 20


def test_damaged_records_are_quarantined_with_their_place(engine, tmp_path):
    lines = [
        b"id;nom;ville\n",
        b'1;"Dupont";Rennes\n',
        b"2;ragged\n",  # too few fields
        b"3;Martin;\xc9vreux\n",  # a Latin-1 line in a UTF-8 file: read in Latin-1
        b"4;Bin\x00\x01ary;Caen\n",  # stray binary
        b"5;L\xc3\xa9a;Brest\n",
        b'6;"unterminated;Vannes\n',  # a quote left open: read alone, the quote kept
        b'8;"open\n',  # the same, one field short
        b"7;Guen;Lorient\n",
    ]
    writer, got, quarantine = read_bytes(engine, tmp_path, b"".join(lines))
    assert [list(r[:3]) for r in got] == [
        ["1", "Dupont", "Rennes"],
        ["3", "Martin", "Évreux"],
        ["5", "Léa", "Brest"],
        ["6", '"unterminated', "Vannes"],
        ["7", "Guen", "Lorient"],
    ]
    assert [(q[0], q[1]) for q in quarantine] == [(2, 3), (4, 5), (7, 8)]
    assert quarantine[0][2] == sum(len(x) for x in lines[:2])  # byte offset of line 3
    assert [q[3] for q in quarantine] == [
        "expected 3 fields, found 2",
        "binary bytes in text",
        "unterminated quote",
    ]
    assert writer.rows + writer.quarantined == len(lines) - 1


def test_legacy_file_with_a_few_utf8_lines(engine, tmp_path):
    good = [f"{i};Hélène;Orléans\n".encode("cp1252") for i in range(30)]
    stray = "99;Hélène;Orléans\n".encode()
    writer, got, quarantine = read_bytes(
        engine, tmp_path, b"".join(good[:10] + [stray] + good[10:])
    )
    assert writer.encoding == "cp1252"
    assert [r[0] for r in got] == [str(i) for i in range(10)] + ["99"] + [
        str(i) for i in range(10, 30)
    ]
    assert {(r[1], r[2]) for r in got} == {("Hélène", "Orléans")}
    assert quarantine == []


def test_gigantic_line_is_quarantined_not_held(engine, tmp_path):
    huge = b"2;" + b"x" * (9 * 1024 * 1024) + b";z\n"
    writer, got, quarantine = read_bytes(engine, tmp_path, b"1;a;b\n" + huge + b"3;c;d\n")
    assert [r[0] for r in got] == ["1", "3"]
    assert [(q[0], q[1]) for q in quarantine] == [(2, 2)]


def test_empty_file_is_a_clear_error(engine, tmp_path):
    from ariane.errors import InputError

    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty.csv"):
        load(engine, [path])


def test_file_that_is_not_what_its_name_says(engine, tmp_path):
    from ariane.errors import InputError

    path = tmp_path / "leak.csv"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 10)
    with pytest.raises(InputError, match="leak.csv.*PDF"):
        load(engine, [path])


cell = st.text(
    alphabet=st.sampled_from(list("abcé,;\"' \n\r\t|xyz0123456789") + ["\\", "Ω"]), max_size=12
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_fast_and_careful_paths_agree(engine, tmp_path, rows, delimiter):
    data = write_csv(rows, delimiter)
    fast = read_bytes(engine, tmp_path, data, fast=True)
    careful = read_bytes(engine, tmp_path, data, fast=False)
    assert fast[0].columns == careful[0].columns
    assert fast[1] == careful[1]
    assert [q[:2] for q in fast[2]] == [q[:2] for q in careful[2]]
    assert fast[0].rows + fast[0].quarantined == careful[0].rows + careful[0].quarantined


def _lines(data: bytes) -> list[bytes]:
    """Lines as any reader may split them (CR, LF or CRLF)."""
    return re.split(rb"\r\n|\r|\n", data)


@settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=400))
def test_fuzz_random_bytes_never_crash_and_records_add_up(engine, tmp_path, data):
    """Random bytes: a clean error, or records that fit in the lines the bytes hold."""
    from ariane.errors import InputError

    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        summary = load(engine, [path])
    except InputError as exc:
        assert "fuzz.csv" in str(exc) and "\n" not in str(exc)
        return
    lines = _lines(data)
    firsts = []
    for source in summary.sources:
        stored = engine.fetch(f"SELECT _line FROM {source.data_table}")
        kept = engine.fetch(
            "SELECT line FROM read_quarantine WHERE source_id = ?", [source.source_id]
        )
        assert (len(stored), len(kept)) == (source.rows, source.quarantined)
        firsts += [line for (line,) in stored + kept]
    # Each record starts on a line of its own that holds at least one byte.
    assert len(firsts) <= len([line for line in lines if line])
    assert all(line is None or 1 <= line <= len(lines) for line in firsts)


def _normal(cell: str | None) -> str | None:
    return None if cell is None else cell.replace("\r\n", "\n").replace("\r", "\n")


@settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.lists(cell.filter(lambda c: c.strip()), min_size=4, max_size=4), min_size=2, max_size=10
    ),
    damage=st.lists(st.tuples(st.integers(0, 400), st.binary(min_size=1, max_size=3)), max_size=4),
)
def test_every_nonblank_record_is_a_row_or_quarantined(engine, tmp_path, rows, damage):
    """Junk inserted at known places: the records it did not touch are rows, value for value."""
    header = write_csv([["a", "b", "c", "d"]], ";")
    written = [write_csv([row], ";") for row in rows]
    clean = header + b"".join(written)
    places = sorted({position % len(clean): junk for position, junk in damage}.items())
    data = bytearray(clean)
    for place, junk in reversed(places):  # from the end, so each place is the clean one
        data[place:place] = junk
    writer, got, quarantine = read_bytes(engine, tmp_path, bytes(data))
    assert len(got) == writer.rows and len(quarantine) == writer.quarantined
    numbers = sorted([r[-2] for r in got] + [q[0] for q in quarantine])
    assert numbers == list(range(1, len(numbers) + 1))  # no record number lost or repeated
    assert len(numbers) <= len([line for line in _lines(bytes(data)) if line])
    if places and places[0][0] < len(header):
        return  # a damaged header may change the table's width: no record is sure to fit it
    # Junk inserted before a record's first byte, or inside it, may spoil it; the others
    # are rows, whatever damage comes before them (a quote left open included).
    untouched: Counter[tuple[str | None, ...]] = Counter()
    start = len(header)
    for row, raw in zip(rows, written, strict=True):
        end = start + len(raw)
        if not any(start <= place < end for place, _ in places):
            untouched[tuple(_normal(c) for c in row)] += 1
        start = end
    stored = Counter(tuple(_normal(c) for c in r[:4]) for r in got if len(r) == 6)
    assert not untouched - stored, "records untouched by the damage are missing"


@pytest.mark.parametrize("fast", [True, False])
def test_files_joined_end_to_end_quarantine_the_repeated_header(engine, tmp_path, fast):
    lab = [["nir", "nom", "ville"], ["1600275123456", "Dupont", "Rennes"]]
    data = write_csv(lab) + write_csv(lab) + write_csv(lab[1:])
    writer, got, quarantine = read_bytes(engine, tmp_path, data, fast=fast)
    assert len(got) == 3
    assert [(q[0], q[1]) for q in quarantine] == [(2, 3)]
    assert "header" in quarantine[0][3]


def test_numbered_header_names_are_still_a_header(engine, tmp_path):
    rows = [["adresse_1", "adresse_2", "tel1"]] + [
        [f"{i} rue de la Gare", f"Bât {i}", f"06123456{i:02d}"] for i in range(30)
    ]
    writer, got, _ = read_bytes(engine, tmp_path, write_csv(rows))
    assert writer.has_header and writer.columns == rows[0] and len(got) == 30


def test_record_limit_applies_per_record_not_per_file(engine, tmp_path, monkeypatch):
    from ariane.read import delimited

    monkeypatch.setattr(delimited, "MAX_RECORD_BYTES", 200)
    rows = [["id", "nom", "note"]] + [
        [str(i), f"Nom{i}", "texte libre, assez long"] for i in range(300)
    ]
    data = write_csv(rows) + b"301;" + b"x" * 500 + b"\r\n"
    writer, got, quarantine = read_bytes(engine, tmp_path, data, fast=False)
    assert len(got) == 300
    assert [(q[0], q[1]) for q in quarantine] == [(301, 302)]


@pytest.mark.parametrize("fast", [True, False])
def test_file_that_never_quotes_keeps_its_quote_characters(engine, tmp_path, fast):
    data = (
        b"nom\tcommentaire\tville\n"
        b'Dupont\t"malade" depuis 2019\tRennes\n'
        b'Martin\ttaille 5" environ\tBrest\n'
        b'Guen\t"\tLorient\n'
    )
    writer, got, quarantine = read_bytes(engine, tmp_path, data, fast=fast)
    assert [r[1] for r in got] == ['"malade" depuis 2019', 'taille 5" environ', '"']
    assert quarantine == []


@pytest.mark.parametrize(
    ("preamble", "titles"),
    [
        (b"Liste des patients\r\n", 1),  # a title alone
        (b"Export du 12/02/2021;;;;\r\n\r\n", 1),  # a title padded to the table's width, a blank
        (b"Laboratoire X\r\nExport du 12/02/2021\r\n", 2),  # two title lines
    ],
)
def test_title_lines_above_the_header_are_set_aside(engine, tmp_path, preamble, titles):
    """The header under a title is found; each title record is quarantined, never lost."""
    data = preamble + write_csv(PEOPLE, delimiter=";")
    writer, rows, quarantine = read_bytes(engine, tmp_path, data)
    assert writer.columns[:2] == ["nom", "prénom"]
    assert [list(r[:2]) for r in rows] == [p[:2] for p in PEOPLE[1:]]
    assert [q[3] for q in quarantine] == ["above the header row (a title)"] * titles
    assert writer.rows + writer.quarantined == len(PEOPLE) - 1 + titles


def test_a_first_record_of_data_is_not_taken_for_a_title(engine, tmp_path):
    """Headerless data whose first row is full stays data: no preamble is invented."""
    writer, rows, quarantine = read_bytes(engine, tmp_path, write_csv(PEOPLE[1:], ";"))
    assert writer.columns[0] == "col_1"
    assert len(rows) == 3
    assert quarantine == []


def test_line_breaks_only_counted_where_a_column_holds_them():
    from ariane.read.delimited import _may_hold_newline

    assert not _may_hold_newline(pa.array(["ab", "", "c d"]))
    assert not _may_hold_newline(pa.array(["", ""]))
    assert _may_hold_newline(pa.array(["a", "b\nc"]))
    assert _may_hold_newline(pa.array(["a", "b\nc", "d"]).slice(1))


def test_fast_path_numbers_lines_after_a_multi_line_value(engine, tmp_path, monkeypatch):
    from ariane.read import delimited

    rows = [["id", "note", "ville"]] + [
        [str(i), "ligne 1\nligne 2\nligne 3" if i % 7 == 3 else f"note {i}", "Rennes"]
        for i in range(1, 61)
    ]
    data = write_csv(rows).replace(b"\r\n", b"\n")
    with monkeypatch.context() as patch:
        patch.setattr(delimited, "_careful", lambda *_: pytest.fail("fast path refused"))
        fast = read_bytes(engine, tmp_path, data, fast=True)
    careful = read_bytes(engine, tmp_path, data, fast=False)
    assert fast[1] == careful[1]
    expected_line = 2 + sum(3 if i % 7 == 3 else 1 for i in range(1, 60))
    assert fast[1][-1][-1] == expected_line


def test_control_ratio_counts_as_a_loop_over_characters_would():
    """The sniffer's share of control characters, counted per character in C: the same
    as checking each character (tab and line ends allowed, the replacement char not)."""
    import random

    from ariane.read.sniff import _control_ratio

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0, 40)] + ["é", "\ufffd", "\u2028", "a", "\x7f"]
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
        slow = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n" or ch == "\ufffd")
        assert _control_ratio(text) == slow / len(text)
    assert _control_ratio("") == 0.0


@pytest.mark.parametrize("undefined", [b"", b"\x81", b"\x8d\x9d"])
@pytest.mark.parametrize("legacy", ["cp1252", "cp850"])
def test_prescan_tells_a_legacy_file_decodes_without_reading_it_again(
    tmp_path: Path, monkeypatch, legacy: str, undefined: bytes
):
    """The fast path is chosen for a code-page file exactly when the whole file decodes in
    the code page chosen, whichever block the bytes no code page reads sit in."""
    from ariane.read import delimited

    monkeypatch.setattr(delimited, "CHUNK", 256)  # many blocks, bytes met late
    lines = [f"{i};Hervé;Noël;Fouré;Saint-Étienne\n".encode(legacy) for i in range(200)]
    if undefined:
        lines[150] = b"150;Dupont;" + undefined + b";x;y\n"
    path = tmp_path / "leak.csv"
    path.write_bytes(b"id;nom;prenom;rue;ville\n" + b"".join(lines))
    blob = next(expand(path))
    found = delimited.prescan(blob, "cp1252")
    try:
        path.read_bytes().decode(found.encoding)
        decodes = True
    except UnicodeDecodeError:
        decodes = False
    assert found.clean is decodes
    if legacy == "cp1252":
        assert found.clean is (not undefined)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=64) | st.text(max_size=32).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_utf8_validation_agrees_with_pythons_decoder(data: bytes):
    """Arrow's validator (no string made) tells valid UTF-8 exactly as Python's strict
    decoder does: surrogates, overlong forms, code points past U+10FFFF, cut characters."""
    from ariane.read.delimited import is_utf8

    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert is_utf8(data) is valid
    assert is_utf8(b"x" * 100 + data + "é".encode()) is valid


@pytest.mark.parametrize(
    "body",
    [
        "Hervé;Noël\n".encode() * 300,  # UTF-8 throughout
        "Hervé;Noël\n".encode("cp1252") * 300,  # a code page throughout
        "Hervé;Noël\n".encode() * 290 + "Noël\n".encode("cp1252") + b"x\n" * 9,  # one stray
        "Hervé;Noël\n".encode() * 200 + b"\xed\xa0\x80;x\n",  # a surrogate, late
        "Hervé;Noël\n".encode("utf-8-sig") * 1,  # a byte order mark
        "Hervé;Noël\n".encode("utf-16"),  # a wide encoding
        "é" * 3000,  # one long line, no break, characters cut by the blocks
        b"a" * 2000,  # ASCII, no line break
    ],
)
def test_text_encoding_gives_the_prescans_verdict(tmp_path: Path, monkeypatch, body):
    """The readers of lines take the encoding, digest and fallback :func:`prescan` would
    choose, whether the cheap pass over all-UTF-8 text decides or prescan does."""
    from ariane.read import delimited
    from ariane.read.sniff import sniff_encoding

    monkeypatch.setattr(delimited, "CHUNK", 256)  # characters cut at many block edges
    if isinstance(body, str):
        body = body.encode()
    path = tmp_path / "leak.txt"
    path.write_bytes(body)
    blob = next(expand(path))
    sniffed = sniff_encoding(blob.sample)
    scan = delimited.prescan(blob, sniffed)
    text = delimited.text_encoding(blob, sniffed)
    assert (text.encoding, text.sha256, text.fallback) == (
        scan.encoding,
        scan.sha256,
        scan.fallback,
    )
    import hashlib

    assert text.sha256 == hashlib.sha256(body).hexdigest()


EARLY_CASES = {
    "clean UTF-8": write_csv(PEOPLE),
    "clean Latin-1": write_csv(PEOPLE, ";", "latin-1"),
    "a Latin-1 line in UTF-8": write_csv(PEOPLE) + "x,Noël,1,2,3\r\n".encode("cp1252"),
    "a UTF-8 line in Latin-1": write_csv(PEOPLE * 3, ";", "latin-1") + "x;Noël;1;2;3\r\n".encode(),
    "a blank line": write_csv(PEOPLE[:2]) + b"\r\n" + write_csv(PEOPLE[2:]),
    "binary bytes": write_csv(PEOPLE) + b"x,\x00\x01,1,2,3\r\n",
    "an end-of-file mark": write_csv(PEOPLE) + b"\x1a",
    "a quote left open": write_csv(PEOPLE) + b'x,"open,1,2,3\r\n',
    "ragged rows": write_csv(PEOPLE) + b"x,1\r\n",
    "Excel's separator hint": b"sep=;\r\n" + write_csv(PEOPLE, ";"),
    "a byte order mark": b"\xef\xbb\xbf" + write_csv(PEOPLE),
    "the header repeated": write_csv(PEOPLE) + write_csv(PEOPLE),
    "a header over two lines": write_csv([["a\nb", "c"], ["1", "2"], ["3", "4"]]),
    "a title above the header": b"Extraction du 3 mars\r\n" + write_csv(PEOPLE),
    "a carriage return alone": write_csv(PEOPLE) + b"x,y\rz,1,2,3\r\n",
}


def _read_whole(engine, tmp_path, data: bytes, monkeypatch, early_bytes: int):
    from ariane.read import delimited

    monkeypatch.setattr(delimited, "EARLY_BYTES", early_bytes)
    writer, rows, quarantine = read_bytes(engine, tmp_path, data)
    kept = [
        writer.format,
        writer.encoding,
        writer.columns,
        writer.has_header,
        writer.rows,
        writer.quarantined,
        writer.origin.note,
        writer.origin.member_sha256,
    ]
    stored = engine.fetch(
        "SELECT source_id, format, encoding, sha256, columns, rows, quarantined, data_table "
        "FROM read_sources WHERE source_id = ?",
        [writer.source_id],
    )
    return writer.source_id, kept, rows, quarantine, stored


@pytest.mark.parametrize("case", list(EARLY_CASES))
def test_reading_during_the_prescan_keeps_only_what_it_would_read(
    engine, tmp_path, monkeypatch, case
):
    """A file read by the fast path while the prescan runs gives the rows, quarantine,
    encoding and source the reading after the prescan gives, clean or damaged."""
    from ariane.read import delimited

    tried = []
    real = delimited._read_early
    monkeypatch.setattr(delimited, "_read_early", lambda *args: tried.append(1) or real(*args))
    data = EARLY_CASES[case]
    before_id, *before = _read_whole(engine, tmp_path, data, monkeypatch, 1 << 62)
    assert not tried
    fast_reads = []
    fast = delimited._fast
    monkeypatch.setattr(delimited, "_fast", lambda *args: fast_reads.append(1) or fast(*args))
    early_id, *early = _read_whole(engine, tmp_path, data, monkeypatch, 0)
    assert tried
    if case.startswith("clean"):
        assert len(fast_reads) == 1  # read once, during the prescan, and kept
    assert early_id == before_id + 1  # one source id each, whatever was read and dropped
    stored_before, stored_early = before.pop(), early.pop()
    assert early == before
    assert [r[1:-1] for r in stored_early] == [r[1:-1] for r in stored_before]
    assert len(engine.fetch(f"SELECT * FROM raw_{early_id}")) == before[0][4]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_utf8_evidence_counts_bytes_beyond_characters(text: str):
    """The prescan's UTF-8 evidence of a valid text is its bytes beyond its characters,
    counted without decoding it (each character has one lead byte)."""
    from ariane.read.delimited import _utf8_lines

    data = (text + "\n").encode("utf-8", "surrogatepass")
    try:
        beyond = len(data) - len(data.decode("utf-8"))
    except UnicodeDecodeError:
        return  # a lone surrogate: not UTF-8, counted line by line as before
    assert _utf8_lines(data, bytearray(), set()) == (beyond, 0)


#: Bytes that make and break UTF-8: ASCII, continuation bytes, lead bytes of every length
#: (with the overlong, surrogate and beyond-Unicode leads), bytes UTF-8 never holds.
_UTF8_PIECES = [b"a", b"\n", b"\x80", b"\xa9", b"\xbf", b"\xc0", b"\xc3", b"\xe0", b"\xe9",
                b"\xed", b"\xf0", b"\xf4", b"\xf5", b"\xff", "é".encode(), "€".encode(),
                "𝄞".encode(), "\ud800".encode("utf-8", "surrogatepass")]  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_UTF8_PIECES), max_size=30), st.integers(0, 3))
def test_legacy_lines_are_told_as_python_decodes_each(pieces: list[bytes], extra: int):
    """The lines UTF-8 does not read, found by array operations, are those Python's strict
    decoder refuses one line at a time: the counts and the sample of such lines."""
    from ariane.read.delimited import _lines_read_as_utf8

    text = b"".join(pieces)
    good = bad = 0
    expected = bytearray()
    for line in text.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
            expected.extend(line + b"\n")
    sample = bytearray(b"x" * extra)
    assert _lines_read_as_utf8(text, sample) == (good, bad)
    assert bytes(sample) == b"x" * extra + bytes(expected)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b'"', b"a", b",", b";", b"\t", b"|", b"\r", b"\n"]), max_size=12))
def test_quotes_are_paired_as_if_a_line_break_came_first(parts: list[bytes]):
    """The text given to the quote pairing starts a line: its quotes count as they would
    after a line break, which is no longer put before a copy of the text."""
    from ariane.read import delimited

    text = b"".join(parts)
    after_a_break = b"\n" + text
    opened = len(delimited._OPENING_QUOTE.findall(after_a_break))
    closed = len(delimited._CLOSING_QUOTE.findall(after_a_break))
    inner = delimited._INNER_QUOTE.search(after_a_break) is not None
    assert delimited._quote_pairs(text) == (opened - closed, inner)


@pytest.mark.parametrize("marks", [1, 255, 256, 700, 4000])
def test_end_of_file_mark_is_found_across_blocks(tmp_path: Path, monkeypatch, marks: int):
    """A DOS end-of-file mark over many blocks ends the records where it starts."""
    from ariane.read import delimited
    from ariane.read.archive import Blob

    monkeypatch.setattr(delimited, "CHUNK", 256)
    records = write_csv(PEOPLE)
    path = tmp_path / "leak.csv"
    path.write_bytes(records + b"\x1a" * marks)
    blob = Blob(str(path), None, lambda: path.open("rb"), "csv")
    found = delimited.prescan(blob, "utf-8")
    assert found.size == len(records) + marks
    assert found.end == len(records)
    assert found.clean
