"""Delimited text under attack: every count comes from how the file was built.

Each builder writes records one by one and counts, as it writes them, those that must be
read as rows (with their values) and those that must be quarantined. The reader's own
counters are only compared with these.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import witness_leaks
from ariane.case import Case
from ariane.read.archive import expand
from ariane.read.delimited import read_delimited
from ariane.read.sniff import SAMPLE_BYTES, sniff_dialect
from ariane.read.store import Origin, SourceWriter, Store
from measure import assert_linear, assert_linear_steps, linear_sizes, steps_of


@pytest.fixture(scope="module")
def engine():
    with Case.ephemeral() as case:
        yield case.engine()


@dataclass
class Built:
    """A file's bytes and what its builder knows of them."""

    data: bytes | bytearray = b""
    rows: list[list[str]] = field(default_factory=list)  # values of each valid record
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = bytearray(self.data)  # grows in place: building stays linear

    def row(self, line: bytes, values: list[str]) -> None:
        self.data += line
        self.rows.append(values)

    def damaged(self, line: bytes, reason: str) -> None:
        self.data += line
        self.quarantined += 1
        self.reasons.append(reason)


def read(engine, tmp_path: Path, data: bytes, fast: bool = True):
    path = tmp_path / "leak.csv"
    path.write_bytes(data)
    blob = next(expand(path))
    writer = read_delimited(blob, Store(engine), Origin(str(path), None, ""), fast=fast)
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in writer.columns)
    rows = engine.fetch(f"SELECT {cols} FROM {writer.data_table} ORDER BY _record")
    reasons = [
        r[0]
        for r in engine.fetch(
            "SELECT reason FROM read_quarantine WHERE source_id = ? ORDER BY record",
            [writer.source_id],
        )
    ]
    return writer, [list(r) for r in rows], reasons


def assert_read_as_built(engine, tmp_path, built: Built, fast: bool, width: int) -> SourceWriter:
    writer, rows, reasons = read(engine, tmp_path, built.data, fast)
    assert len(rows) == len(built.rows)  # rows == valid, from the builder's count
    assert len(reasons) == built.quarantined
    assert rows == built.rows  # and each value under its own column
    assert reasons == built.reasons
    assert len(writer.columns) == width
    return writer


# -- header or data ---------------------------------------------------------------------


def _person_cells(p: witness_leaks.Person, lab: str) -> list[str]:
    return [
        lab,
        p.last.upper(),
        p.first,
        "M" if p.sex == 1 else "F",
        p.street,
        p.postal_code,
        p.city.upper(),
        p.phone,
        p.nir,
        p.birth.strftime("%d/%m/%Y"),
    ]


def _text_cells(p: witness_leaks.Person, lab: str) -> list[str]:
    return [lab, p.last.upper(), p.first, p.city.upper(), p.physician, p.insurer]


def _address_first_cells(p: witness_leaks.Person, lab: str) -> list[str]:
    return [p.street, p.last.upper(), p.first, p.city.upper(), lab]


TOWNS = ["RENNES", "BREST", "VANNES", "QUIMPER", "LORIENT", "SAINT-MALO", "DINAN", "VITRE"]


def _lab(seed: int, i: int) -> str:
    """One lab for all (seed 2), three labs in turn (seed 1), or a lab per record (seed 3)."""
    if seed == 3:
        return f"LABO {TOWNS[i % len(TOWNS)]} {'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i // len(TOWNS)]}"
    return "LABO RENNES" if seed == 2 else f"LABO {TOWNS[i % 3]}"


@pytest.mark.parametrize("cells", [_person_cells, _text_cells, _address_first_cells])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fast", [True, False])
def test_headerless_first_patient_is_never_taken_for_a_header(engine, tmp_path, cells, seed, fast):
    """``LABO RENNES;DUPONT;Jean;...`` on line 1 is a patient: a row, never column names."""
    people = witness_leaks.people(40, seed)
    built = Built()
    for i, p in enumerate(people):
        values = cells(p, _lab(seed, i))
        if any(";" in v or '"' in v or "\n" in v for v in values):
            continue  # the builder writes no quoting here: such a person is left out
        built.row((";".join(values) + "\r\n").encode(), values)
    width = len(built.rows[0])
    writer = assert_read_as_built(engine, tmp_path, built, fast, width)
    assert not writer.has_header
    assert writer.columns == [f"col_{i}" for i in range(1, width + 1)]
    first_values = {v for v in built.rows[0] if v}
    assert not first_values & set(writer.columns)


WITNESS_LAYOUTS = [
    "GP_EXPORT",
    "SPANISH",
    "GERMAN",
    "TYPOS",
    "HEADERLESS",
    "XLSX",
    "ITALIAN",
    "ABBREVIATED",
    "LAB",
    "HEADERLESS_SPLIT",
    "PORTUGUESE_DUTCH",
    "FRESH_LAB",
    "ENGLISH_HOSPITAL",
]


def test_no_record_of_any_layout_becomes_column_names():
    """200 tables of random columns (from every witness layout), written with and without
    their header: a first record is never a header; a real header is found (nearly always:
    when unsure the reader keeps it as a row, and loses nothing)."""
    people = witness_leaks.people(60, 7)
    rng = random.Random(3)
    missed = 0
    for _ in range(200):
        fields = getattr(witness_leaks, rng.choice(WITNESS_LAYOUTS))
        chosen = rng.sample(fields, rng.randint(2, len(fields)))
        rows = [[str(f(p)) for _, _, f in chosen] for p in people]
        header = [h for h, _, _ in chosen]
        headerless = sniff_dialect(_csv_text(rows), truncated=False)
        assert not headerless.has_header, rows[0]
        with_header = sniff_dialect(_csv_text([header, *rows]), truncated=False)
        missed += not with_header.has_header
    assert missed <= 5


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    return out.getvalue()


HEADERS = {
    "french": ["nom", "prénom", "date_naissance", "code postal", "ville", "téléphone"],
    "english": ["Patient Surname", "First name", "Date of birth", "Postcode", "City", "Phone"],
    "unknown words over codes": ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"],
}


@pytest.mark.parametrize("name", HEADERS)
def test_a_real_header_is_still_found(engine, tmp_path, name):
    header = HEADERS[name]
    built = Built(data=(";".join(header) + "\n").encode())
    for p in witness_leaks.people(30, 5):
        values = [p.last, p.first, p.birth.strftime("%d/%m/%Y"), p.postal_code, p.city, p.phone]
        if name == "unknown words over codes":
            values = [p.postal_code, p.phone, p.nir, p.birth.isoformat(), p.icd, p.iban]
        built.row((";".join(values) + "\n").encode(), values)
    writer = assert_read_as_built(engine, tmp_path, built, True, len(header))
    assert writer.has_header and writer.columns == header


def test_a_header_wider_than_the_sample_is_read_whole(tmp_path):
    """6,000 named columns, more than the sniffed sample holds, and rows under them."""
    width = 6_000
    header = [f"resultat_de_la_mesure_biologique_numero_{i:05d}" for i in range(width)]
    built = Built(data=(",".join(header) + "\n").encode())
    assert len(built.data) > SAMPLE_BYTES
    for r in range(3):
        values = [f"{r}.{i}" for i in range(width)]
        built.row((",".join(values) + "\n").encode(), values)
    path = tmp_path / "wide.csv"
    path.write_bytes(built.data)
    store = _MemoryStore(keep=True)
    writer = read_delimited(next(expand(path)), store, Origin(str(path), None, ""))  # type: ignore[arg-type]
    assert writer.has_header and writer.columns == header
    assert (writer.rows, writer.quarantined) == (3, 0)
    assert store.kept == built.rows


# -- quotes left open --------------------------------------------------------------------


def unclosed_quotes(damaged: int, normal: int, quoted_elsewhere: bool, short: bool) -> Built:
    """``damaged`` lines each opening a quote that never closes, among ``normal`` lines.

    ``short``: every second damaged line lacks a field, so read alone (its quote kept as a
    character) it has the wrong count and is quarantined; the others are rows as written.
    ``quoted_elsewhere`` adds quoted notes over two lines, so the file does quote.
    """
    built = Built(data=b"id;nom;note\n")
    every = max(1, (damaged + normal) // max(1, normal))
    d = n = 0
    record = 0
    while d < damaged or n < normal:
        record += 1
        if n < normal and (record % every == 0 or d >= damaged):
            n += 1
            if quoted_elsewhere:
                built.row(
                    f'{record};Nom{record};"ligne 1\nligne 2"\n'.encode(),
                    [str(record), f"Nom{record}", "ligne 1\nligne 2"],
                )
            else:
                built.row(
                    f"{record};Nom{record};ok\n".encode(), [str(record), f"Nom{record}", "ok"]
                )
            continue
        d += 1
        if short and d % 2 == 0:
            # In a file that never quotes cleanly, '"' is a character (a count error).
            reason = "unterminated quote" if quoted_elsewhere else "expected 3 fields, found 2"
            built.damaged(f'{record};"Nom{record}\n'.encode(), reason)
        else:
            built.row(
                f'{record};Nom{record};"note ouverte {record}\n'.encode(),
                [str(record), f"Nom{record}", f'"note ouverte {record}'],
            )
    return built


@pytest.mark.parametrize("quoted_elsewhere", [False, True])
@pytest.mark.parametrize("short", [False, True])
@pytest.mark.parametrize("fast", [True, False])
def test_a_thousand_quotes_left_open_merge_no_records(
    engine, tmp_path, quoted_elsewhere, short, fast
):
    built = unclosed_quotes(1000, 10, quoted_elsewhere, short)
    assert len(built.rows) + built.quarantined == 1010
    assert_read_as_built(engine, tmp_path, built, fast, 3)


@pytest.mark.parametrize("fast", [True, False])
def test_a_note_over_several_lines_still_reads(engine, tmp_path, fast):
    built = Built(data=b"id,note,ville\r\n")
    for i in range(50):
        note = 'ligne 1\r\nligne 2, suite\n"cité" ligne 3' if i % 5 == 0 else f"note {i}"
        quoted = '"' + note.replace('"', '""') + '"'
        built.row(f"{i},{quoted},Rennes\r\n".encode(), [str(i), note, "Rennes"])
    assert_read_as_built(engine, tmp_path, built, fast, 3)


@pytest.mark.parametrize("fast", [True, False])
def test_a_quote_closing_improperly_over_lines_is_read_line_by_line(engine, tmp_path, fast):
    """A quote that 'closes' on the next line but is followed by text joins nothing."""
    built = Built(data=b'id;nom;note\n1;"Dupont";ok\n')
    built.rows.append(["1", "Dupont", "ok"])
    built.row(b'2;Martin;"ouverte\n', ["2", "Martin", '"ouverte'])
    built.row(b'3;Guen;"fin" de note\n', ["3", "Guen", "fin de note"])
    built.damaged(b'4;"seul\n', "unterminated quote")
    built.row(b"5;Le Gall;ok\n", ["5", "Le Gall", "ok"])
    assert_read_as_built(engine, tmp_path, built, fast, 3)


@pytest.mark.parametrize("fast", [True, False])
def test_a_closed_note_with_a_field_too_many_is_one_damaged_record(engine, tmp_path, fast):
    """A note over two lines, quoted right, in a record with an extra field: one record
    kept aside whole; a quote left open that a later line closes swallows no record."""
    built = Built(data=b'id;note;ville\n1;"ok";Rennes\n')
    built.rows.append(["1", "ok", "Rennes"])
    built.damaged(b'2;"ligne 1\nligne 2";Brest;EXTRA\n', "expected 3 fields, found 4")
    built.damaged(b'3;"ouverte\n', "unterminated quote")
    for i in range(4, 9):
        built.row(f"{i};note {i};Vannes\n".encode(), [str(i), f"note {i}", "Vannes"])
    built.row(b'9;fin;Caen"\n', ["9", "fin", 'Caen"'])  # its quote would close line 3's
    assert_read_as_built(engine, tmp_path, built, fast, 3)


# -- what is not a record ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        (b"sep=;\r\n", b""),
        (b"", b"\x1a"),  # DOS end-of-file mark alone after the last line
        (b"sep=;\r\n", b"GLUED"),  # the mark glued to the last record
        (b"", b"\x1a" * 40),  # CP/M padding
        (b"\xef\xbb\xbfsep=;\r\n", b"\x1a\r\n"),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_excel_hint_and_dos_end_mark_are_no_records(engine, tmp_path, head, tail, fast):
    built = Built(data=head + b"nom;ville;cp\r\n")
    for i in range(20):
        line = f"Nom{i};Ville{i};350{i:02d}".encode()
        glued = tail == b"GLUED" and i == 19
        built.row(line + (b"\x1a" if glued else b"\r\n"), [f"Nom{i}", f"Ville{i}", f"350{i:02d}"])
    built.data += b"" if tail == b"GLUED" else tail
    writer = assert_read_as_built(engine, tmp_path, built, fast, 3)
    assert writer.columns == ["nom", "ville", "cp"]


def test_an_end_mark_inside_the_text_is_binary_damage(engine, tmp_path):
    built = Built(data=b"nom;ville\n")
    built.row(b"Dupont;Rennes\n", ["Dupont", "Rennes"])
    built.damaged(b"Mar\x1atin;Brest\n", "binary bytes in text")
    built.row(b"Guen;Vannes\n", ["Guen", "Vannes"])
    assert_read_as_built(engine, tmp_path, built, True, 2)


# -- a second encoding -------------------------------------------------------------------


def mixed_encodings(lines: int, main: str, other: str, every: int = 7) -> Built:
    """A file in ``main`` with one line in ``other`` every ``every`` lines, all readable."""
    built = Built(data="nom;prénom;ville\n".encode(main))
    for i in range(lines):
        values = [f"Lefèvre{i}", "Hélène", "Orléans" if i % 2 else "Châteaubourg"]
        encoding = other if i % every == 3 else main
        built.row((";".join(values) + "\n").encode(encoding), values)
    return built


@pytest.mark.parametrize(("main", "other"), [("cp1252", "utf-8"), ("utf-8", "cp1252")])
def test_lines_in_a_second_encoding_are_read(engine, tmp_path, main, other):
    built = mixed_encodings(200, main, other)
    writer = assert_read_as_built(engine, tmp_path, built, True, 3)
    assert writer.encoding == main


def test_only_a_line_no_encoding_reads_is_quarantined(engine, tmp_path):
    built = mixed_encodings(20, "utf-8", "cp1252")
    built.damaged(b"Dupont;\x81\x8d;Rennes\n", "not valid utf-8 or cp1252 text")  # 0x81: neither
    built.row("Guen;Zoé;Brest\n".encode("cp1252"), ["Guen", "Zoé", "Brest"])
    assert_read_as_built(engine, tmp_path, built, True, 3)


def test_latin1_and_windows_lines_in_a_utf8_file_are_read_not_quarantined(engine, tmp_path):
    # A UTF-8 export with lines typed again on Windows: Latin-1 letters, and the characters
    # only Windows-1252 has (curly apostrophe, oe ligature, euro sign) in 0x80-0x9F.
    built = Built(data="nom;prénom;note\n".encode("cp1252"))  # the header too
    second = 1
    for i in range(60):
        values = [f"Lefèvre{i}", "Hélène", "fièvre à 39°"]
        if i % 10 == 4:
            values = [f"Cœur{i}", "Zoé", "l’œdème coûte 5 €"]
        encoding = "cp1252" if i % 5 == 4 else "utf-8"
        second += encoding == "cp1252"
        built.row((";".join(values) + "\n").encode(encoding), values)
    # One line edited in Excel: a field in Windows-1252 beside fields still in UTF-8.
    mixed = ["Lefèvre".encode(), "Zoé".encode("cp1252"), "Orléans, l’été".encode()]
    built.row(b";".join(mixed) + b"\n", ["Lefèvre", "Zoé", "Orléans, l’été"])
    # Bytes no encoding reads (0x81 and 0x8D are undefined in Windows-1252): kept aside.
    built.damaged(b"Dupont;\x81\x8d;Rennes\n", "not valid utf-8 or cp1252 text")
    for fast in (True, False):
        writer = assert_read_as_built(engine, tmp_path, built, fast, 3)
        assert writer.encoding == "utf-8" and writer.columns == ["nom", "prénom", "note"]
        assert writer.origin.note == f"{second + 1} lines in a second encoding, read as such"


def test_a_utf8_line_in_a_windows_file_is_read_whole_or_in_part(engine, tmp_path):
    built = Built(data="nom;ville\n".encode("cp1252"))
    for i in range(30):
        built.row(f"Hervé{i};Châteaulin\n".encode("cp1252"), [f"Hervé{i}", "Châteaulin"])
    built.row("Lœuvre;Saint-Étienne\n".encode(), ["Lœuvre", "Saint-Étienne"])
    built.row("Noël;".encode("cp1252") + "Besançon\n".encode(), ["Noël", "Besançon"])
    writer = assert_read_as_built(engine, tmp_path, built, True, 2)
    assert writer.encoding == "cp1252"


def test_a_latin1_line_in_a_utf8_json_document_is_read(engine, tmp_path):
    from ariane.read import load

    lines = [b"[", '{"nom": "Hélène", "ville": "Orléans"},'.encode()]
    lines.append('{"nom": "Zoé", "ville": "Évreux"},'.encode("latin-1"))
    lines.append('{"nom": "Noël", "ville": "Brest"}]'.encode())
    path = tmp_path / "leak.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    (source,) = load(engine, [path]).sources
    assert (source.rows, source.quarantined) == (3, 0)
    got = engine.fetch(f"SELECT nom, ville FROM {source.data_table} ORDER BY _record")
    assert [tuple(r) for r in got] == [("Hélène", "Orléans"), ("Zoé", "Évreux"), ("Noël", "Brest")]


# -- linear time -------------------------------------------------------------------------


class _MemoryWriter(SourceWriter):
    """Takes what a reader hands over without the case store (whose cost is not the
    reader's): keeps the rows in memory when asked to, else only counts them."""

    kept: list[list[str]] | None = None

    def _append(self, table) -> None:
        self._created = True
        self._keep(table)

    def stream(self, schema, batches) -> None:
        for batch in batches:
            self._keep(batch)

    def _keep(self, table) -> None:
        if self.kept is not None:
            columns = [table.column(n).to_pylist() for n in self.columns]
            self.kept.extend([list(r) for r in zip(*columns, strict=True)])

    def _flush_quarantine(self) -> None:
        self._quarantine = []

    def discard(self) -> None:
        self._buffer = [[] for _ in self.columns]
        self._records, self._lines, self._quarantine = [], [], []
        self.rows = self.quarantined = 0
        if self.kept is not None:
            self.kept.clear()

    def close(self) -> None:
        self.flush()
        self._flush_quarantine()


class _MemoryStore:
    shared_transaction = False  # as Store's: no other source shares the transaction

    def __init__(self, keep: bool = False) -> None:
        self.kept: list[list[str]] | None = [] if keep else None

    def writer(
        self, origin, fmt, encoding, columns, *, table_name=None, has_header=False, source_id=None
    ):
        writer = _MemoryWriter(
            None, source_id or 1, origin, fmt, encoding, columns, table_name, has_header
        )  # type: ignore[arg-type]
        writer.kept = self.kept
        return writer


def _read(path: Path, fast: bool) -> None:
    read_delimited(next(expand(path)), _MemoryStore(), Origin(str(path), None, ""), fast=fast)  # type: ignore[arg-type]


def _read_time(path: Path, fast: bool) -> float:
    # CPU time of the process (every thread): the work done, whatever else the machine runs.
    gc.collect()  # each run starts without the garbage of the one before
    start = time.process_time()
    _read(path, fast)
    return time.process_time() - start


def _inputs(tmp_path: Path, build: Callable[[int], bytes], n: int) -> list[Path]:
    paths = [tmp_path / "small.csv", tmp_path / "large.csv"]
    for path, size in zip(paths, linear_sizes(n), strict=True):
        path.write_bytes(build(size))
    return paths


def growth_times(paths: list[Path], fast: bool) -> list[float]:
    """Best CPU time of 3 for each input (of sizes n/2 and 2n: about 4 times apart when
    linear, 16 when quadratic).

    The runs of both sizes interleaved so that a busy spell of the machine weighs on both
    alike.
    """
    times: list[list[float]] = [[], []]
    for _ in range(3):
        for i, path in enumerate(paths):
            times[i].append(_read_time(path, fast))
    return [min(each) for each in times]


def _wide(n: int) -> bytes:
    return (
        ";".join(f"champ{i}" for i in range(n))
        + "\n"
        + "".join(";".join(f"v{i}_{r}" for i in range(n)) + "\n" for r in range(3))
    ).encode()


def _long(n: int) -> bytes:
    return b"id;nom;ville\n" + b"".join(b"%d;Nom%d;Rennes\n" % (i, i) for i in range(n))


def _huge_quoted_field(n: int) -> bytes:
    note = "".join(f"ligne {i} de la note\n" for i in range(n))
    return f'id;note;ville\n1;"{note}";Rennes\n2;ok;Brest\n'.encode()


def _long_lines(n: int) -> bytes:
    """200 lines of ``n`` KB each (the length doubles, not the count)."""
    return _long(4) + b"".join(b"%d;%s;z\n" % (i, b"x" * (n * 1000)) for i in range(5, 205))


SHAPES: dict[str, tuple[Callable[[int], bytes], int, bool]] = {
    "wide header": (_wide, 30_000, True),  # headers longer than the sniffed sample
    "many short lines": (_long, 100_000, False),
    "many short lines, fast path": (_long, 1_000_000, True),
    "unclosed quotes": (lambda n: unclosed_quotes(n, n // 100, False, True).data, 80_000, True),
    "mixed encodings": (lambda n: mixed_encodings(n, "cp1252", "utf-8", 3).data, 200_000, True),
    "very long lines": (_long_lines, 100, False),
    "one huge quoted field": (_huge_quoted_field, 100_000, True),  # 2n: 4.4 MB, under the limit
}


@pytest.mark.parametrize("shape", SHAPES)
def test_reading_time_grows_linearly(tmp_path, shape):
    build, n, fast = SHAPES[shape]
    paths = _inputs(tmp_path, build, n)
    times = growth_times(paths, fast)
    print(f"{shape}: n={n} t(2n)/t(n/2)={times[1] / times[0]:.2f}")  # the curve, with pytest -s
    assert_linear(times, lambda: growth_times(paths, fast))


#: Shapes whose reading runs Python code for each line or record, and the size for the
#: count. In the others the work that grows is done in C (the csv module, the decoder):
#: only their time test sees it.
STEP_SHAPES = {
    "many short lines": 4_000,
    "unclosed quotes": 4_000,
    "one huge quoted field": 4_000,
}


@pytest.mark.parametrize("shape", STEP_SHAPES)
def test_reading_steps_grow_linearly(tmp_path, shape):
    build, _, fast = SHAPES[shape]
    paths = _inputs(tmp_path, build, STEP_SHAPES[shape])
    steps = [steps_of(lambda path=path: _read(path, fast))[0] for path in paths]
    assert_linear_steps(steps)
