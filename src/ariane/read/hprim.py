"""Read HPRIM, the French lab-result exchange formats: HPRIM Santé and HPRIM Net.

**HPRIM Santé** writes a message as records, one per line (``H`` header, ``P`` patient,
``OBR`` request, ``OBX`` result, ``C`` comment, ``L`` end; a line longer than the norm
goes on in ``A`` lines), ``|`` between fields and the other delimiters given in the ``H``
record (``~^\\&``: repetition, component, escape, subcomponent). Each ``P`` record is one
record: the patient's ids, name, birth date, sex, address, phone and doctor, the
message's sender (``H``, the lab), and the requests, results and comments that follow it
folded in as text columns (``obx_results``: ``code label = value unit``).

**HPRIM Net** (HPRIM Médecins) writes one report per patient: twelve header lines (patient
code, name, first name, two address lines, postal code and city, birth date, NIR, file
number, date, prescriber code and name), the report's text, its structured results
between ``****LAB****`` and ``****FINLAB****`` (``RES|label|code|type|value|unit|...``),
and ``****FIN****``. Each report is one record.

No Python library reads either; the parsing is Ariane's. Lines are read as a stream. A
patient whose bytes do not decode, a report cut short, and lines outside any message are
quarantined with their reason; the rest are read.
"""

from __future__ import annotations

import re

from ariane.read.archive import Blob
from ariane.read.jsonrows import Records
from ariane.read.segments import (
    Escapes,
    Fields,
    Gathered,
    Parsed,
    Segment,
    at,
    hl7_date,
    read_segments,
    result_text,
)
from ariane.read.sniff import HPRIM_NET, HPRIM_SANTE, decode_sample
from ariane.read.store import Origin, SourceWriter, Store

#: The marks of HPRIM Net (``****LAB****``, ``****FIN****``...).
_MARK = re.compile(r"\*{4}([A-Z]+)\*{2,4}")
_PATIENT_RECORD = re.compile(r"(?:^|[\r\n])P\|")
#: A message's header record (``H|~^\\&|...``) and its end (``L|...``).
_HEADER_RECORD = re.compile(rb"\s*H[^A-Za-z0-9\s][~^\\&]{3,4}[^A-Za-z0-9\s]")
_POSTAL_CODE_CITY = re.compile(r"(\d{5})\s+(\S.*)")
#: Header lines of an HPRIM Net report and the columns they fill.
NET_HEADER = (
    "hprim_patient_code",
    "hprim_family_name",
    "hprim_given_name",
    "hprim_address_1",
    "hprim_address_2",
    "hprim_postal_code_city",  # read as hprim_postal_code and hprim_city when it splits
    "hprim_birth_date",
    "hprim_nir",
    "hprim_file_number",
    "hprim_report_date",
    "hprim_prescriber_code",
    "hprim_prescriber",
)


def read_hprim(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read an HPRIM Santé or HPRIM Net file as one source, one record per patient."""

    def reader(records: Records, encoding: str) -> Gathered:
        sample = decode_sample(blob.sample[:65536], encoding)
        # HPRIM Net 2.x may open with an H record, as HPRIM Santé does: its reports
        # (``****FIN****``, no P record) say which it is.
        net = HPRIM_NET.search(sample) and not _PATIENT_RECORD.search(sample)
        sante = HPRIM_SANTE.search(sample, 0, 4096) and not net
        return _Sante(records, records.codec) if sante else _Net(records, records.codec)

    return read_segments(blob, store, origin, "hprim", reader)


# -- HPRIM Santé --------------------------------------------------------------------------


class _Record(Parsed):
    """One HPRIM Santé record split by its message's delimiters."""

    shift = 1

    def __init__(self, text: str, escape: Escapes) -> None:
        self.escape = escape
        self.fields = text.split(escape.map["F"])
        self.name = self.fields[0].strip()

    def field(self, number: int) -> list[list[list[str]]]:
        """Field ``number``: ``P|1|...`` has P in field 1, as HPRIM numbers them."""
        if number > len(self.fields) or number < 2:
            return []
        escape = self.escape
        rep, comp, sub = escape.map["R"], escape.map["S"], escape.map["T"]
        return [
            [[escape(part) for part in c.split(sub)] for c in r.split(comp)]
            for r in self.fields[number - 1].split(rep)
        ]


class _Sante(Gathered):
    """HPRIM Santé messages: H, then P records each followed by their requests and results."""

    def __init__(self, records: Records, codec: str) -> None:
        super().__init__(records, codec)
        self.escape = Escapes("|", "~", "^", "&", "\\")
        self.header = Fields()
        self.in_message = False

    def line(self, segment: Segment) -> None:
        head = segment.raw.lstrip()[:4]
        if head.startswith(b"A|") and self.lines:
            # A continuation: the previous line goes on (HPRIM cuts lines at 220 characters).
            self.extend_last(segment.raw.lstrip()[2:], segment.too_long)
            return
        if head.startswith(b"H|"):
            self.end()
            self._header(segment)
            return
        if head.startswith(b"P|"):
            self.end()
        elif head.startswith(b"L|"):
            self.end()
            self.in_message = False
            return
        if not self.lines and not head.startswith(b"P|"):
            reason = (
                "line outside any message" if not self.in_message else "line before any patient"
            )
            self.records.quarantine(reason, segment.raw, segment.line, segment.offset)
            return
        self.append(segment)

    def _header(self, segment: Segment) -> None:
        self.in_message = True
        self.header, self.escape = header_record(segment, self.codec, self.escape)

    def end(self) -> None:
        taken = self.take()
        if taken is None:
            return
        texts, first, _ = taken
        out = Fields()
        for text in texts:
            record = _Record(text, self.escape)
            reader = _SANTE.get(record.name)
            if reader is None:
                out.add("other_records", text)
            else:
                reader(record, out)
        self.records.add({**self.header.row(), **out.row()}, first.line, first.offset, "")


def header_record(segment: Segment, codec: str, escape: Escapes) -> tuple[Fields, Escapes]:
    """A message's ``H`` record: who sent it (the lab: its code, often its FINESS, and
    name), its address and phone, who receives it, when; and the message's delimiters.

    HPRIM Santé and HPRIM Net 2.x write it alike: ``H|~^\\&|file||sender id^name|
    address|type|phone||receiver id^name||...|date``.
    """
    header = Fields()
    try:
        text = segment.raw.decode(codec).strip()
    except UnicodeDecodeError:
        text = segment.raw.decode("latin-1").strip()
    if len(text) >= 6 and not text[1].isalnum():
        delimiters = text[2 : text.find(text[1], 2)] if text.find(text[1], 2) > 0 else ""
        if len(delimiters) >= 3:
            sub = delimiters[3] if len(delimiters) > 3 else "&"
            escape = Escapes(text[1], delimiters[0], delimiters[1], sub, delimiters[2])
    record = _Record(text, escape)
    sender = (record.reps(5) or [[]])[0]
    header.add("h_sending_code", at(sender, 1))
    header.add("h_sending_lab", at(sender, 2) or at(sender, 1))
    header.add("h_sending_lab_address", " ".join(p for p in (record.reps(6) or [[]])[0] if p))
    header.add("h_message_type", record.text(7))
    header.add("h_sending_lab_phone", record.text(8))
    receiver = (record.reps(10) or [[]])[0]
    header.add("h_receiving_doctor_id", at(receiver, 1))
    header.add("h_receiving_doctor", at(receiver, 2))
    header.add("h_message_date", hl7_date(record.text(14)))
    return header, escape


def _p(record: _Record, out: Fields) -> None:
    out.add("p_patient_id", record.text(3))
    out.add("p_lab_patient_id", record.text(4))
    out.add("p_patient_id_3", record.text(5))
    name = (record.reps(6) or [[]])[0]
    out.add("p_family_name", at(name, 1))
    out.add("p_given_name", at(name, 2))
    out.add("p_maiden_name", record.text(7))
    out.add("p_birth_date", hl7_date(record.text(8)))
    out.add("p_sex", record.text(9))
    address = (record.reps(11) or [[]])[0]
    out.add("p_street", " ".join(p for p in address[:2] if p))
    out.add("p_city", at(address, 3))
    out.add("p_postal_code", at(address, 5))
    out.add("p_country", at(address, 6))
    for phone in record.reps(13):
        out.add("p_phone", at(phone, 1))
    for doctor in record.reps(14):
        out.doctor("p_attending_doctor", doctor)


def _obr(record: _Record, out: Fields) -> None:
    for test in record.reps(5):
        out.add("obr_tests", " ".join(p for p in test if p))
    out.add("obr_collection_date", hl7_date(record.text(8)))
    for doctor in record.reps(17):
        out.doctor("obr_prescriber", doctor)


def _obx(record: _Record, out: Fields) -> None:
    out.add_each("obx_results", record.obx_result())


def _c(record: _Record, out: Fields) -> None:
    out.add("comments", " ".join(p for p in (record.reps(4) or [[]])[0] if p))


_SANTE = {"P": _p, "OBR": _obr, "OBX": _obx, "C": _c}


# -- HPRIM Net ----------------------------------------------------------------------------


class _Net(Gathered):
    """HPRIM Net reports: twelve header lines, text, results, ``****FIN****``."""

    blank = True  # header lines count by their place, an empty one included

    def __init__(self, records: Records, codec: str) -> None:
        super().__init__(records, codec)
        self.header = Fields()  # the lab that sent the reports, from an H record
        self.escape = Escapes("|", "~", "^", "&", "\\")

    def line(self, segment: Segment) -> None:
        if not self.lines and not segment.raw.strip():
            return  # blank lines between reports
        if not self.lines and _HEADER_RECORD.match(segment.raw):
            # HPRIM Net 2.x: the message's H record names its sender, the lab, for every
            # report up to the next H record or the message's end (``L``).
            self.header, self.escape = header_record(segment, self.codec, self.escape)
            return
        if not self.lines and segment.raw.lstrip().startswith(b"L|"):
            self.header = Fields()
            return
        mark = _MARK.fullmatch(segment.raw.strip().decode("latin-1"))
        self.append(segment)
        if mark is not None and mark.group(1) in ("FIN", "FINFICHIER"):
            self.end()

    def end(self) -> None:
        if self.lines and all(_MARK.fullmatch(s.raw.strip().decode("latin-1")) for s in self.lines):
            self.take()  # a lone end mark (``****FINFICHIER****`` after ``****FIN****``)
            return
        taken = self.take()
        if taken is None:
            return
        texts, first, raw = taken
        body = [t for t in texts if not _MARK.fullmatch(t.strip())]
        if len(body) < len(NET_HEADER):  # a report without ****FIN**** at the end is read
            reason = "report cut short: fewer than 12 header lines"
            self.records.quarantine(reason, raw, first.line, first.offset)
            return
        out = Fields()
        for column, value in zip(NET_HEADER, body, strict=False):
            place = _POSTAL_CODE_CITY.fullmatch(value.strip())
            if column == "hprim_postal_code_city" and place is not None:
                out.add("hprim_postal_code", place.group(1))
                out.add("hprim_city", place.group(2))
            else:
                out.add(column, value.strip())
        report: list[str] = []
        in_lab = False
        for text in texts[len(NET_HEADER) :]:
            mark = _MARK.fullmatch(text.strip())
            if mark is not None:
                in_lab = mark.group(1) == "LAB"
                continue
            if in_lab and text.startswith("RES|"):
                # RES|label|code|type|value|unit|low|high|flag|...
                res = text.split("|")
                label, code, value, unit = at(res, 2), at(res, 3), at(res, 5), at(res, 6)
                result = result_text(code, label, value, unit, at(res, 9))
                out.add_each("hprim_results", result)
            elif in_lab:
                out.add("hprim_results_text", text)
            elif text.strip():
                report.append(text.strip())
        out.add("hprim_report_text", "\n".join(report))
        self.records.add({**self.header.row(), **out.row()}, first.line, first.offset, "")
