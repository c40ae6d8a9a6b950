"""Tell what a file is from its content, never from its name alone.

Three questions, each answered from a sample of the first bytes:
:func:`sniff_format` (zip, gzip, tar, xlsx, json, ndjson, sql, delimited text, or a file we
refuse), :func:`sniff_encoding` (BOM, UTF-8, UTF-16 or a legacy 8-bit code page) and, for
delimited text, :func:`sniff_dialect` (delimiter, header row, column names).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import charset_normalizer

from ariane.read.encodings import decode_mixed

#: Bytes read to decide a file's format, encoding and dialect.
SAMPLE_BYTES = 256 * 1024

DELIMITERS = (",", ";", "\t", "|")

_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x7fELF": "an executable",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}


def sniff_format(sample: bytes) -> str:
    """The format of a file from its first bytes.

    One of ``zip``, ``xls``, ``gzip``, ``bz2``, ``xz``, ``tar``, ``sqlite``, ``parquet``,
    ``empty``, ``json``, ``ndjson``, ``fhir-json``, ``fhir-ndjson``, ``hl7``, ``hprim``,
    ``sql``, ``delimited``; or ``binary:<what>`` for content we refuse.
    """
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"PK\x05\x06"):
        return "zip"  # or a workbook: only its list of members can tell (archive.py)
    if sample.startswith(b"\x1f\x8b"):
        return "gzip"
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"  # an old Office file: calamine reads Excel 97-2003 workbooks
    if sample.startswith(b"BZh"):
        return "bz2"
    if sample.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if len(sample) > 262 and sample[257:262] == b"ustar":
        return "tar"
    if sample.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if sample.startswith(b"PAR1") and any(byte < 0x09 for byte in sample[4:64]):
        return "parquet"  # binary page headers follow; a text starting "PAR1;..." is text
    for magic, what in _BINARY_MAGIC.items():
        if sample.startswith(magic):
            return f"binary:{what}"
    encoding = sniff_encoding(sample)
    text = decode_sample(sample, encoding)
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return "empty"
    exchange = _exchange_format(stripped)
    if exchange is not None:
        return exchange
    if _control_ratio(stripped) > 0.1:
        return "binary:not text"
    if stripped[0] == "[":
        return "fhir-json" if _names_resource(stripped, 2) else "json"
    if stripped[0] == "{":
        lines = [ln.strip() for ln in stripped.split("\n", 3)[:3] if ln.strip()]
        several = len(lines) > 1 and lines[1].startswith("{")
        fhir = "fhir-" if _names_resource(stripped, 1) else ""
        # A bulk export's file of one resource is one line: NDJSON, read with its siblings.
        alone = (
            fhir
            and len(lines) == 1
            and lines[0] == stripped.rstrip()
            and not _BUNDLE.search(lines[0][:4096])
        )
        return fhir + ("ndjson" if lines[0].endswith("}") and (several or alone) else "json")
    if _looks_like_sql(stripped):
        return "sql"
    return "delimited"


#: A FHIR resource names its type (a Bundle, or each line of a bulk export).
_FHIR = re.compile(r'"resourceType"\s*:\s*"[A-Z][A-Za-z]+"')
_BUNDLE = re.compile(r'"resourceType"\s*:\s*"Bundle"')
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _names_resource(text: str, depth: int) -> bool:
    """Whether the first object at ``depth`` (1: the document, 2: an array's first
    element) names its FHIR ``resourceType`` within the first 4 KiB; a key of the same name
    deeper inside (a record's own field) does not count."""
    level = 0
    for token in _JSON_TOKEN.finditer(text, 0, 4096):
        char = token.group()[0]
        if char in "[{":
            level += 1
        elif char in "]}":
            level -= 1
            if level < depth:
                return False
        elif level == depth and _FHIR.match(text, token.start()):
            return True
    return False


#: HL7 v2: a message (or a batch) begins with its header segment and its delimiters.
_HL7 = re.compile(r"(?:^|[\r\n\x0b])(?:MSH|FHS|BHS)([^A-Za-z0-9\s])[^A-Za-z0-9\s]{1,5}\1")
#: HPRIM Sante begins with its H record and delimiters (any a lab declares: ``~^\&`` as
#: the norm writes them, ``\^&`` as ASTM does, ``!^\&``); HPRIM Net marks its parts.
HPRIM_SANTE = re.compile(r"(?:^|[\r\n])H([|])[^A-Za-z0-9\s|]{3,4}\1")
HPRIM_NET = re.compile(r"^\*{4}(?:LAB|FIN|FINFICHIER)\*{2,4}[ \t]*\r?$", re.MULTILINE)


def _exchange_format(text: str) -> str | None:
    """``hl7`` or ``hprim`` when the text is a message of these lab exchange formats."""
    # A log may have a line or two before its first message.
    if _HL7.search(text, 0, 4096):
        return "hl7"
    if HPRIM_SANTE.search(text, 0, 4096) or HPRIM_NET.search(text, 0, 65536):
        return "hprim"
    return None


_SQL_MARKERS = re.compile(
    r"^\s*(INSERT\s+(INTO\s+)?[\[`\"\w][^\n]*\bVALUES\b|INSERT\s+INTO|COPY\s+\S+.*FROM\s+stdin|CREATE\s+TABLE|--\s*(MySQL|MariaDB|PostgreSQL)"
    r"\s+(database\s+)?dump|/\*!\d+|SET\s+\w+\s*=|LOCK\s+TABLES)",
    re.IGNORECASE | re.MULTILINE,
)


def _looks_like_sql(text: str) -> bool:
    head = text[:65536]
    return len(_SQL_MARKERS.findall(head)) >= 1 and not _looks_delimited_first_line(head)


def _looks_delimited_first_line(text: str) -> bool:
    # A CSV whose first cell happens to start with "SET x=" must stay a CSV: SQL dumps
    # begin with a comment or a statement, never with several delimited cells.
    first = text.split("\n", 1)[0]
    if first.startswith(("--", "/*")) or re.match(
        r"\s*(INSERT|COPY|CREATE|SET|LOCK)\b", first, re.I
    ):
        return False
    return any(first.count(d) >= 2 for d in DELIMITERS)


#: Characters a text file does not hold: control characters but tab and line ends, and
#: the replacement character (bytes the encoding did not read).
_NOT_TEXT = [chr(c) for c in range(32) if chr(c) not in "\t\r\n"] + ["\ufffd"]


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    # One count a character runs in C: a loop over the sample in Python cost half a second.
    controls = sum(text.count(ch) for ch in _NOT_TEXT)
    return controls / len(text)


def sniff_encoding(sample: bytes) -> str:
    """The encoding of a byte sample (a Python codec name)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = sample[:4096]
    if len(head) >= 4 and head.count(b"\x00") > len(head) // 4:
        # UTF-16 without BOM: ASCII text leaves every other byte NUL.
        even = head[0::2].count(b"\x00")
        odd = head[1::2].count(b"\x00")
        return "utf-16-be" if even > odd else "utf-16-le"
    if _is_utf8(sample):
        return "utf-8"
    return guess_legacy_encoding(sample)


def _is_utf8(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        return exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"
    return True


def guess_legacy_encoding(sample: bytes) -> str:
    """Best 8-bit code page for text that is not UTF-8 (Windows-1252 when unsure).

    Statistical detectors are unreliable on the few accented letters of a short French
    sample, so the choice is by byte ranges: Windows text puts its letters in 0xA0-0xFF;
    DOS (cp850) and Mac Roman put them mostly in 0x80-0x9F.
    """
    high = [b for b in sample if b >= 0x80]
    if not high:
        return "cp1252"
    low_block = sum(1 for b in high if b < 0xA0)
    if low_block * 2 <= len(high):
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return "latin_1"
        return "cp1252"
    best = charset_normalizer.from_bytes(sample[:65536], cp_isolation=["cp850", "mac_roman"]).best()
    return best.encoding if best is not None else "cp850"


def decode_sample(sample: bytes, encoding: str, fallback: str | None = None) -> str:
    """Decode a sample for sniffing, tolerating a cut character at its end; in a UTF-8
    file with lines in a second encoding (``fallback``), those read in it (a header typed
    on Windows keeps its accented letters)."""
    if fallback and encoding.startswith("utf-8") and not sample.isascii():
        return "".join(
            decode_mixed(line, fallback) or line.decode(encoding, errors="replace")
            for line in sample.splitlines(keepends=True)
        )
    return sample.decode(encoding, errors="replace")


@dataclass
class Dialect:
    """How a delimited file is laid out."""

    delimiter: str
    has_header: bool
    columns: list[str]
    header_lines: int = 0  # physical lines the header record (and titles above it) spans
    header_fields: list[str] = field(default_factory=list)  # as written, before naming
    quoting: bool = True  # False: '"' is an ordinary character (files that never quote)
    preamble: int = 0  # records before the header row (a title above the table)
    hint_lines: int = 0  # Excel's "sep=;" line: no record, skipped before anything else


#: Excel's separator hint, alone on the first line: it names the delimiter, holds no record.
_SEPARATOR_HINT = re.compile(r"sep=(.)[ \t]*(\r\n|\n|\r|$)", re.IGNORECASE)


def separator_hint(text: str) -> tuple[str, int] | None:
    """The delimiter named by a first line ``sep=;`` and the characters it takes, if any."""
    found = _SEPARATOR_HINT.match(text.lstrip("\ufeff"))
    if found is None or found.group(1) in '\r\n"':
        return None
    return found.group(1), found.end() + (len(text) - len(text.lstrip("\ufeff")))


def sniff_dialect(text: str, truncated: bool) -> Dialect:
    """Delimiter, header row and column names of delimited text from a decoded sample."""
    if truncated and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # drop a record cut by the sample's end
    hint = separator_hint(text)
    text = text[hint[1] :] if hint else text
    text = text.lstrip("\ufeff")
    best: tuple[float, str, list[list[str]], int] | None = None
    for delimiter in [hint[0]] if hint else DELIMITERS:
        records = _parse_sample(text, delimiter)
        counts = [len(r) for r in records]
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width <= 1 and not hint:
            continue
        score = hits / len(counts) + width / 10_000
        if best is None or score > best[0]:
            best = (score, delimiter, records, width)
    if best is None:
        records = _parse_sample(text, ",")
        delimiter, width = ",", 1
    else:
        _, delimiter, records, width = best
    quoting = uses_quotes(text, delimiter)
    if not quoting:
        # Read again with '"' as a character: a quote left open no longer joins lines.
        records = _parse_sample(text, delimiter, quoting=False)
        width = Counter(len(r) for r in records).most_common(1)[0][0] if records else width
    header = bool(records) and looks_like_header(records[0], records[1:])
    # A first record half as wide as the table is a title, unless no header follows it.
    narrow = bool(records) and len(records[0]) <= width // 2
    preamble = find_preamble(records, width) if records and (narrow or not header) else 0
    if preamble:
        header, records = True, records[preamble:]
    columns = column_names(records[0] if header else [], width)
    header_lines = 1 + sum(f.count("\n") for f in records[0]) if header else 0
    return Dialect(
        delimiter,
        header,
        columns,
        header_lines + preamble,  # more than one line: the fast path steps aside
        records[0] if header else [],
        quoting,
        preamble,
        1 if hint else 0,
    )


#: Records above a header that may be skipped: a report title, a date, a separator hint.
MAX_PREAMBLE = 5


def find_preamble(records: list[list[str]], width: int) -> int:
    """How many title records sit above the header row (0 when there is no such header).

    A title line has another width than the table, or fills at most half of its cells (a
    title, a date line, headings of groups of columns over merged cells: "Identité",
    "Coordonnées"); the header below it is full width and names the columns of the
    records after it.
    """
    for k in range(1, min(MAX_PREAMBLE, len(records) - 2) + 1):
        above = records[k - 1]
        if len(above) == width and 2 * sum(1 for c in above if c.strip()) > width:
            return 0  # a full record above: this is not a preamble
        candidate = records[k]
        if (
            len(candidate) == width
            and all(c.strip() for c in candidate)
            and looks_like_header(candidate, records[k + 1 :])
        ):
            return k
    return 0


def uses_quotes(text: str, delimiter: str) -> bool:
    """Whether ``"`` quotes fields, or is just a character in unquoted text.

    Exports that never quote (database dumps to TSV) may hold ``"malade" depuis 2019``:
    read as CSV, its quotes would vanish. Quoting is taken as off only when no field of
    the sample is quoted cleanly and some quote sits where CSV forbids it.
    """
    if '"' not in text:
        return True
    d = re.escape(delimiter)
    clean = re.search(rf'(?:^|{d})"(?:[^"]|"")*"(?:{d}|\r?$)', text, re.M)
    if clean:
        return True
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        # "x expected after '"'": text follows a closing quote, so quotes are not quoting.
        # An unterminated quote at the end is damage, not a sign of that.
        return "expected after" not in str(exc)
    return True


def _parse_sample(
    text: str, delimiter: str, limit: int = 500, quoting: bool = True
) -> list[list[str]]:
    """The first records of the sample, read as the careful reader reads them: a quote
    running over lines that does not close strictly joins nothing (its line is read
    alone, the quote as a character), so a quote left open cannot hide the table's width.
    """
    lines = deque(re.findall(r"[^\n]*\n|[^\n]+$", text))
    current: list[str] = []

    def feed() -> Iterator[str]:
        while lines:
            current.append(lines.popleft())
            yield current[-1]

    records: list[list[str]] = []
    while lines and len(records) < limit:
        reader = csv.reader(
            feed(), delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE
        )
        try:
            for record in reader:
                if quoting and len(current) > 1 and not _closes_strictly(current, delimiter):
                    lines.extendleft(reversed(current[1:]))
                    record = split_open_quote(current[0], delimiter)
                current.clear()
                if record:
                    records.append(record)
                if len(records) >= limit:
                    break
        except csv.Error:
            current.clear()  # a line the csv module refuses (a NUL byte): not sampled
    return records


def _closes_strictly(lines: list[str], delimiter: str) -> bool:
    try:
        list(csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return True


_QUOTED_FIELD: dict[str, re.Pattern[str]] = {}


def split_open_quote(text: str, delimiter: str) -> list[str]:
    """The fields of one line whose last quoted field never closes, that quote read as a
    plain character (fields before it are read as CSV, with the csv module's leniency)."""
    pattern = _QUOTED_FIELD.get(delimiter)
    if pattern is None:
        d = re.escape(delimiter)
        pattern = re.compile(rf'"(?P<quoted>[^"]*(?:""[^"]*)*)(?P<close>"[^{d}]*)?|[^{d}]*')
        _QUOTED_FIELD[delimiter] = pattern
    body = text.rstrip("\r\n")
    fields: list[str] = []
    position = 0
    while True:
        found = pattern.match(body, position)
        assert found is not None  # the second branch matches the empty string
        if found.group("quoted") is None:
            fields.append(found.group())
        elif found.group("close") is None:
            return fields + body[position:].split(delimiter)  # the quote left open
        else:
            fields.append(found.group("quoted").replace('""', '"') + found.group("close")[1:])
        position = found.end()
        if position >= len(body):
            return fields
        position += 1  # the delimiter


_HEADER_WORDS = {
    # French, English, German, Spanish, Italian, Portuguese, Dutch: words seen in headers.
    "nom",
    "name",
    "names",
    "prenom",
    "prenoms",
    "first",
    "last",
    "surname",
    "given",
    "firstname",
    "lastname",
    "fullname",
    "birth",
    "naissance",
    "date",
    "dob",
    "ddn",
    "sex",
    "sexe",
    "gender",
    "genre",
    "address",
    "adresse",
    "adr",
    "street",
    "rue",
    "voie",
    "city",
    "ville",
    "commune",
    "town",
    "zip",
    "zipcode",
    "postal",
    "postcode",
    "cp",
    "code",
    "phone",
    "tel",
    "telephone",
    "mobile",
    "portable",
    "fax",
    "email",
    "mail",
    "courriel",
    "id",
    "num",
    "numero",
    "no",
    "nr",
    "number",
    "nir",
    "ssn",
    "insee",
    "secu",
    "securite",
    "ins",
    "iban",
    "rib",
    "bic",
    "blood",
    "sang",
    "groupe",
    "group",
    "rhesus",
    "comment",
    "comments",
    "commentaire",
    "commentaires",
    "note",
    "notes",
    "remarque",
    "observation",
    "obs",
    "doctor",
    "medecin",
    "docteur",
    "prescripteur",
    "physician",
    "mutuelle",
    "insurer",
    "assurance",
    "organisme",
    "visit",
    "visite",
    "passage",
    "derniere",
    "lab",
    "labo",
    "laboratoire",
    "patient",
    "age",
    "vorname",
    "nachname",
    "geburtsdatum",
    "strasse",
    "ort",
    "plz",
    "telefon",
    "geschlecht",
    "nome",
    "cognome",
    "apellido",
    "apellidos",
    "nombre",
    "direccion",
    "ciudad",
    "fecha",
    "nacimiento",
    "sexo",
    "correo",
    "telefono",
    "naam",
    "achternaam",
    "voornaam",
    "geboortedatum",
    "adres",
    "woonplaats",
    "type",
    "status",
    "result",
    "resultat",
    "analyse",
    "examen",
    "finess",
    "rpps",
    "adeli",
    "siren",
    "siret",
    "created",
    "updated",
    "label",
    "libelle",
    "description",
    "value",
    "valeur",
    "dossier",
    "statut",
    "sejour",
    "prelevement",
    "montant",
    "service",
    "etablissement",
    "ipp",
    "civilite",
    "titre",
    "pays",
    "country",
    "region",
    "departement",
    "profession",
    "poids",
    "taille",
    "diagnostic",
    "traitement",
    "pathologie",
    "motif",
    "acte",
    "identifiant",
    "reference",
    "ref",
    "identification",
    "adherent",
    "processo",
    "sanguin",
    "sanguineo",
    "analise",
    "laboratorio",
    "morada",
    "genero",
    "telemovel",
    "opmerkingen",
    "apelido",
    "nascimento",
    "cidade",
    "codigo",
}


def header_words(cell: str) -> list[str]:
    """Lower-case, accent-free words of a header cell (``dateNaissance`` -> date, naissance)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", cell)
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z]+", plain.lower())


#: Short words that join header words ("date de naissance", "n° de dossier").
_LINK_WORDS = {"de", "du", "des", "la", "le", "les", "d", "l", "of", "the", "en", "et", "and"}
#: Longer than this, a cell is text, not a column name.
MAX_HEADER_CELL = 64
#: Share of a column's values that must share one shape for the column to have a format.
REGULAR_SHARE = 0.6
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def value_shaped(cell: str) -> bool:
    """Whether a cell reads as a value no column is named after.

    Dates, NIR, phone numbers, postal codes, amounts and IBAN are mostly digits; emails
    have their own form. ``adresse_2`` or ``tel1`` keep a single digit and stay names.
    """
    if "@" in cell and _EMAIL.match(cell):
        return True
    digits = len(_NOT_DIGIT.sub("", cell))
    return digits >= 2 and digits >= len(_NOT_LETTER.sub("", cell))


_NOT_DIGIT = re.compile(r"\D+")
_NOT_LETTER = re.compile(r"[\W\d_]+")
# Digits to 9, capitals to A, small letters to a (ASCII and Latin-1); runs then collapse.
_SHAPE_TABLE = str.maketrans(
    {
        **{chr(c): "9" for c in range(ord("0"), ord("9") + 1)},
        **{chr(c): "A" for c in range(0xC0, 0xDF) if chr(c).isupper()},
        **{chr(c): "a" for c in range(0xDF, 0x100) if chr(c).islower()},
        **{c: "A" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
        **{c: "a" for c in "abcdefghijklmnopqrstuvwxyz"},
    }
)
_RUN = re.compile(r"(.)\1+", re.DOTALL)


def cell_shape(cell: str) -> str:
    """The form of a cell: runs of digits, capitals, small letters and other characters.

    ``12/03/1960`` -> ``9/9/9``, ``DUPONT`` -> ``A``, ``Le Gall`` -> ``Aa Aa``, ``v12_3`` ->
    ``a9_9``.
    """
    return _RUN.sub(r"\1", cell.translate(_SHAPE_TABLE))


def _names_a_column(cell: str) -> bool:
    """Whether every word of a cell is a header word (or a word linking them)."""
    words = header_words(cell)
    return any(w in _HEADER_WORDS for w in words) and all(
        w in _HEADER_WORDS or w in _LINK_WORDS or len(w) == 1 for w in words
    )


def _label_like(cell: str) -> bool:
    return (
        len(cell) <= MAX_HEADER_CELL and any(ch.isalpha() for ch in cell) and not value_shaped(cell)
    )


def looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    """Whether ``first`` names the columns of ``rest`` rather than being data itself.

    Each cell of ``first`` is set against the values below it. A cell shaped like a
    value (a date, a NIR, a number, an email) or found among the column's values is data,
    and so is the whole row: a header never holds such a cell. A cell votes "header" when
    it is made of header words (``nom``, ``date de naissance``) or breaks the format its
    column follows (a word over dates or over codes); it votes "data" when it has that
    format, or is too long to be a name. The row is a header only on a clear majority of
    "header" votes: when unsure it is data, so a person's record never becomes column
    names (headerless columns are ``col_1``, ``col_2``...). Linear in the cells read.
    """
    cells = [c.strip() for c in first]
    filled = [c for c in cells if c]
    if not filled:
        return False
    if any(value_shaped(c) for c in filled):
        return False
    below = [r for r in rest if [c.strip() for c in r] != cells]  # a repeated header is no data
    if not below:
        return all(_names_a_column(c) for c in filled)
    if len(filled) * 2 < len(cells):
        return False  # a header names most of its columns; a title or a sparse record not
    header_votes, data_votes = 0.0, 0.5 * (len(cells) - len(filled))
    if len(set(filled)) < len(filled):
        data_votes += 1  # header cells are distinct; a record repeats (a town, a lab)
    for j, cell in enumerate(cells):
        if not cell:
            continue
        values = [v for v in (r[j].strip() for r in below if len(r) > j) if v]
        if cell in values:
            return False  # a value of the column: this row is a record
        if _names_a_column(cell):
            header_votes += 1
            continue
        if not _label_like(cell):
            data_votes += 1
            continue
        if not values:
            continue
        shapes = Counter(cell_shape(v) for v in values)
        regular = shapes.most_common(1)[0][1] >= REGULAR_SHARE * len(values)
        coded = sum(1 for v in values if value_shaped(v)) >= REGULAR_SHARE * len(values)
        shape = cell_shape(cell)
        if coded or (regular and len(values) >= 2 and shape not in shapes):
            header_votes += 1  # a name above values of another form
        elif shape in shapes:
            data_votes += 1
    return header_votes > 0 and header_votes > 2 * data_votes


RESERVED = {"_source_id", "_record", "_line"}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\ufffd]")


def column_names(header: list[str], width: int) -> list[str]:
    """Unique column names: the header's (trimmed), ``col_N`` where missing."""
    names: list[str] = []
    seen: set[str] = set()
    for i in range(max(width, len(header))):
        raw = (
            _CONTROL_CHARS.sub("", header[i]).strip().lstrip("\ufeff").strip()
            if i < len(header)
            else ""
        )
        name = raw or f"col_{i + 1}"
        if name.lower() in RESERVED:
            name = f"{name}_"
        base, n = name, 2
        while name.lower() in seen:
            name = f"{base}_{n}"
            n += 1
        seen.add(name.lower())
        names.append(name)
    return names
