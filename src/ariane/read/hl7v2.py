"""Read an HL7 v2.x message log: one record per patient of each message, results folded in.

Lab systems exchange patients and results as HL7 v2 messages (ORU^R01 results, ADT^A01,
A04, A08... admissions): segments ended by a carriage return (or a line feed, or both),
the delimiters defined by each message's MSH segment, sometimes framed by MLLP as a
listener logs them. Messages are read one at a time from a stream (memory stays bounded
whatever the log's length) and split on their own delimiters as python-hl7 splits them (the
library is the tests' oracle: the same fields, 3.8x less time). Each patient
(PID segment) of a message is one record: its identifiers by type (a NIR when the
assigning authority is the INS-NIR OID ``1.2.250.1.213.1.4.8``), names, birth date, sex,
address, phones; its visit's doctors (PV1), the ordering facility and provider (ORC,
OBR: often the lab's FINESS); its results (OBX, ``code label = value unit``) and notes
(NTE) folded in as text columns, several joined with `` | ``; segments not read into
named columns are kept as written in ``other_segments``. A message that cannot be parsed
is quarantined with a reason naming its number and the others are read. Batch envelopes
(FHS, BHS, BTS, FTS) hold no record.

A merge (ADT^A40, A34, A35, A36, A39...: an MRG segment after the PID, naming the
identifiers of a record merged into the PID's) makes no record of its own: its PID is a
record of the surviving patient, as in any message. Once the whole log is read, the
records whose identifiers were merged, in any order and through chains of merges, name
the last survivor's identifier in ``same_patient_as`` (:mod:`ariane.read.merges`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import hl7

from ariane.read.archive import Blob
from ariane.read.jsonrows import Records
from ariane.read.merges import survivors, write_same_patients
from ariane.read.segments import (
    Escapes,
    Fields,
    Gathered,
    Parsed,
    Segment,
    at,
    hl7_date,
    read_segments,
)
from ariane.read.store import Origin, SourceWriter, Store

#: The format of an HL7 v2 log in ``read_sources``.
FORMAT = "hl7"
#: INS-NIR (and its test and demonstration twins): the assigning authority of a NIR.
NIR_OIDS = frozenset(["1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"])
#: Segments of a batch's envelope: they frame messages and hold no record.
ENVELOPE = frozenset([b"FHS", b"BHS", b"BTS", b"FTS"])
_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")


def read_hl7(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read an HL7 v2 log (messages one after the other, MLLP-framed or not) as one source."""
    return read_segments(blob, store, origin, FORMAT, lambda records, _: _Log(records))


class Malformed(ValueError):
    """A message that cannot be read as HL7 v2 (the reason names no value)."""


#: A record's identifier: its column (``pid_patient_id``, ``pid_nir``...) and value.
Identifier = tuple[str, str]
#: A merge: the identifier merged away, and the one it was merged into.
Merge = tuple[Identifier, Identifier]


class _Log(Gathered):
    """Gathers each message's segments and makes its records."""

    def __init__(self, records: Records) -> None:
        super().__init__(records, records.codec, b"\r")
        self.number = 0  # messages met
        self.merges: list[Merge] = []  # few: one per MRG segment's identifier

    def line(self, segment: Segment) -> None:
        head = segment.raw.lstrip()[:3]
        if head in ENVELOPE:
            self.end()
            return
        if head == b"MSH":
            self.end()
            self.number += 1
        elif not self.lines:
            where = "text between messages" if self.number else "text before the first MSH segment"
            self.records.quarantine(where, segment.raw, segment.line, segment.offset)
            return
        self.append(segment)

    def end(self) -> None:
        """Make the records of the message gathered so far."""
        where = f"HL7 message {self.number}: "
        taken = self.take(where)
        if taken is None:
            return
        texts, first, raw = taken
        try:
            rows, merges = read_message(texts)
        except Malformed as exc:
            self.records.quarantine(f"{where}{exc}", raw, first.line, first.offset)
            return
        for row in rows:
            self.records.add(row, first.line, first.offset, "")
        self.merges += merges

    def close(self) -> None:
        """Every row is written: name each merged record's survivor."""
        if not self.merges:
            return
        links = [(merged, into, True) for merged, into in self.merges]
        head = survivors(links, {into for _, into in self.merges})
        write_same_patients(self.records.writer, {node: h[1] for node, h in head.items()})


def message_rows(texts: list[str], *, library: bool = False) -> list[dict[str, str]]:
    """The records of one message (its segments' text): one per PID, or one if none."""
    return read_message(texts, library=library)[0]


def read_message(
    texts: list[str], *, library: bool = False
) -> tuple[list[dict[str, str]], list[Merge]]:
    """The records of one message (one per PID, or one if none) and the merges it makes.

    Segments are split by hand on the message's own delimiters (:class:`_Split`), as
    python-hl7 splits them but without an object for every component (half the time of a
    message went there); ``library`` parses with python-hl7 instead, the tests' oracle.
    """
    _check(texts)
    segments: list[Parsed]
    if library:
        try:
            message = hl7.parse("\r".join(texts))
        except Exception as exc:  # the library's own errors say what broke, never a value
            raise Malformed(f"not parsed ({type(exc).__name__})") from None
        separators, esc = str(message.separators), str(message.esc)
        # python-hl7's order: segment, field, repetition, component, subcomponent.
        escape = Escapes(separators[1], separators[2], separators[3], separators[4], esc)
        segments = [_Segment(raw_segment, escape) for raw_segment in message]
        if len(segments) != len(texts):
            raise Malformed("not parsed (segments)")
    else:
        escape = delimiters(texts[0])
        segments = [_Split(text, escape) for text in texts]
    header = Fields()
    patients: list[Fields] = []
    merges: list[Merge] = []
    pid: Parsed | None = None
    for segment, text in zip(segments, texts, strict=True):
        name = segment.name
        if name == "PID":
            patients.append(Fields())
            pid = segment
        elif name == "MRG" and pid is not None:
            merges += _merges(pid, segment)
        target = patients[-1] if patients else header
        reader = _SEGMENTS.get(name)
        if reader is None:
            target.add("other_segments", text)
        else:
            reader(segment, target)
    head = header.row()
    return [{**head, **patient.row()} for patient in patients] or [head], merges


def _check(texts: list[str]) -> None:
    """Raise :class:`Malformed` unless the segments can be an HL7 v2 message."""
    msh = texts[0]
    if len(msh) < 8 or msh[3].isalnum() or msh[3].isspace():
        raise Malformed("MSH segment does not define its delimiters")
    separator = msh[3]
    encoding = msh[4 : msh.find(separator, 4)] if msh.find(separator, 4) > 0 else ""
    if not 1 <= len(encoding) <= 5 or separator in encoding:
        raise Malformed("MSH segment does not define its delimiters")
    for number, text in enumerate(texts, start=1):
        if not _SEGMENT_NAME.fullmatch(text[:3]) or text[3:4] not in ("", separator):
            raise Malformed(f"segment {number} does not begin with a segment name")


def delimiters(msh: str) -> Escapes:
    """The delimiters an MSH segment defines (``MSH|^~\\&|``: field, then component,
    repetition, escape, subcomponent), python-hl7's defaults for those it leaves out."""
    field = msh[3]
    encoding = msh[4 : msh.find(field, 4)]
    component = encoding[0] if encoding else "^"
    repetition = encoding[1] if len(encoding) > 1 else "~"
    esc = encoding[2] if len(encoding) > 2 else "\\"
    sub = encoding[3] if len(encoding) > 3 else "&"
    return Escapes(field, repetition, component, sub, esc)


#: Segments whose first fields are the delimiters themselves.
_HEADERS = frozenset(["MSH", "BHS", "FHS"])


class _Split(Parsed):
    """One segment split by hand on its message's delimiters, field by field on demand.

    The same fields as python-hl7 gives (``tests/test_read_hl7.py`` compares both on
    every sample message): in a header segment field 1 is the field separator and field
    2 the encoding characters, as written; other fields are repetitions of components of
    subcomponents, each unescaped.
    """

    def __init__(self, text: str, escape: Escapes) -> None:
        self.escape = escape
        field = escape.map["F"]
        name = text[:3]
        if name in _HEADERS:
            end = text.find(field, 4)
            rest = text[end + 1 :]
            self.items = [name, field, text[4:end], *(rest.split(field) if rest else [])]
        else:
            self.items = text.split(field)
        self.name = self.items[0]

    def field(self, number: int) -> list[list[list[str]]]:
        """Field ``number`` (1-based as in the standard): repetitions, components, parts."""
        if number >= len(self.items):
            return []
        escape = self.escape
        text = self.items[number]
        if number <= 2 and self.name in _HEADERS:
            return [[[escape(text)]]]
        rep, comp, sub = escape.map["R"], escape.map["S"], escape.map["T"]
        return [
            [[escape(part) for part in c.split(sub)] for c in r.split(comp)]
            for r in text.split(rep)
        ]


class _Segment(Parsed):
    """One segment parsed by python-hl7 (the oracle :class:`_Split` is tested against)."""

    def __init__(self, segment: Any, escape: Escapes) -> None:
        self.items = segment
        self.escape = escape
        self.name = str(segment[0])

    def field(self, number: int) -> list[list[list[str]]]:
        """Field ``number`` (1-based as in the standard): repetitions, components, parts."""
        if number >= len(self.items):
            return []
        repetitions = []
        for repetition in self.items[number]:
            if isinstance(repetition, str):
                repetitions.append([[self.escape(repetition)]])
                continue
            components = []
            for component in repetition:
                if isinstance(component, str):
                    components.append([self.escape(component)])
                else:
                    components.append([self.escape(str(part)) for part in component])
            repetitions.append(components)
        return repetitions


def _msh(segment: Parsed, out: Fields) -> None:
    out.add("msh_sending_application", segment.text(3))
    out.add("msh_sending_facility", segment.text(4))
    facility = (segment.reps(4) or [[]])[0]
    out.add(_facility_column("msh_sending_facility", at(facility, 3)), at(facility, 2))
    out.add("msh_receiving_application", segment.text(5))
    out.add("msh_receiving_facility", segment.text(6))
    out.add("msh_message_datetime", hl7_date(segment.text(7)))
    out.add("msh_message_type", "^".join(c for c in (segment.reps(9) or [[]])[0] if c))
    # Left out: numbers of a message, a visit or an account (MSH-10, PV1-19, PID-18), unique
    # per row, that would pass for a person's key and split a patient's messages apart.
    out.add("msh_version", segment.text(12))


def _pid(segment: Parsed, out: Fields) -> None:
    for components in segment.reps(2) + segment.reps(3) + segment.reps(4):
        out.add(_identifier_column(components), at(components, 1))
    names = segment.reps(5)
    legal = next((n for n in names if at(n, 7) == "L"), names[0] if names else [])
    out.add("pid_family_name", at(legal, 1))
    out.add("pid_given_name", at(legal, 2))
    out.add("pid_second_given_name", at(legal, 3))
    for name in names:
        if name is not legal:
            out.add("pid_other_names", " ".join(p for p in (at(name, 2), at(name, 1)) if p))
    out.add("pid_mother_name", segment.text(6))
    out.add("pid_birth_date", hl7_date(segment.text(7)))
    out.add("pid_sex", segment.text(8))
    for number, address in enumerate(segment.reps(11)):
        if number:
            out.add("pid_other_addresses", " ".join(p for p in address[:6] if p))
            continue
        out.add("pid_street", " ".join(p for p in address[:2] if p))
        out.add("pid_city", at(address, 3))
        out.add("pid_postal_code", at(address, 5))
        out.add("pid_country", at(address, 6))
    for field, column in ((13, "pid_phone"), (14, "pid_work_phone")):
        for telecom in segment.reps(field):
            email = at(telecom, 4)
            if email or at(telecom, 3).lower() in ("internet", "x.400"):
                out.add("pid_email", email or at(telecom, 1))
                continue
            local = " ".join(p for p in (at(telecom, 6), at(telecom, 7)) if p)
            out.add(column, at(telecom, 1) or local or at(telecom, 12))
    out.add("pid_marital_status", segment.text(16))
    out.add("pid_ssn", segment.text(19))
    out.add("pid_birth_place", segment.text(23))
    out.add("pid_death_date", hl7_date(segment.text(29)))


#: MRG fields naming the record merged away, each with the PID field it stands for:
#: prior patient identifier list (MRG-1, PID-3), prior alternate id (MRG-2, PID-4),
#: prior patient id (MRG-4, PID-2). MRG-3, a prior account number, names an account
#: (PID-18), which no column holds.
_PRIOR = (1, 2, 4)


def _merges(pid: Parsed, mrg: Parsed) -> list[Merge]:
    """The merges an MRG segment makes into the record of the PID before it: each prior
    identifier into the PID's identifier of the same column, else into its first."""
    current = [
        (_identifier_column(components), at(components, 1).strip())
        for components in pid.reps(2) + pid.reps(3) + pid.reps(4)
        if at(components, 1).strip()
    ]
    if not current:
        return []  # no identifier to merge into: nothing says which record survives
    out = []
    for number in _PRIOR:
        for components in mrg.reps(number):
            merged = (_identifier_column(components), at(components, 1).strip())
            into = next((i for i in current if i[0] == merged[0]), current[0])
            if merged[1] and merged != into:
                out.append((merged, into))
    return out


def _identifier_column(components: list[str]) -> str:
    """The column of one CX identifier: ``pid_nir`` by INS-NIR authority, else by type."""
    authority = at(components, 4)  # namespace, universal id (an OID), its type
    if any(oid in authority.split() for oid in NIR_OIDS):
        return "pid_nir"
    kind = re.sub(r"[^a-z0-9]+", "_", at(components, 5).lower()).strip("_")
    return f"pid_patient_id_{kind}" if kind and kind != "pi" else "pid_patient_id"


def _facility_column(prefix: str, kind: str) -> str:
    """``<prefix>_finess`` when the identifier's type says FINESS (FINEG, FINEJ...)."""
    return f"{prefix}_finess" if kind.upper().startswith("FINE") else f"{prefix}_id"


def _pd1(segment: Parsed, out: Fields) -> None:
    for doctor in segment.reps(4):
        out.doctor("pd1_primary_care_doctor", doctor)


def _pv1(segment: Parsed, out: Fields) -> None:
    out.add("pv1_location", " ".join(p for p in (segment.reps(3) or [[]])[0] if p))
    for field, column in ((7, "pv1_attending_doctor"), (8, "pv1_referring_doctor")):
        for doctor in segment.reps(field):
            out.doctor(column, doctor)
    out.add("pv1_admit_date", hl7_date(segment.text(44)))
    out.add("pv1_discharge_date", hl7_date(segment.text(45)))


def _orc(segment: Parsed, out: Fields) -> None:
    for doctor in segment.reps(12):
        out.doctor("orc_prescriber", doctor)
    for facility in segment.reps(21):
        out.add("orc_ordering_facility", at(facility, 1))
        column = _facility_column("orc_ordering_facility", at(facility, 7))
        out.add(column, at(facility, 10) or at(facility, 3))
    out.add("orc_facility_address", " ".join(p for p in (segment.reps(22) or [[]])[0][:6] if p))
    out.add("orc_facility_phone", segment.text(23))


def _obr(segment: Parsed, out: Fields) -> None:
    for test in segment.reps(4):
        out.add("obr_tests", " ".join(p for p in (at(test, 1), at(test, 2)) if p))
    out.add("obr_observation_date", hl7_date(segment.text(7)))
    for doctor in segment.reps(16):
        out.doctor("obr_prescriber", doctor)


def _obx(segment: Parsed, out: Fields) -> None:
    out.add_each("obx_results", segment.obx_result())


def _nte(segment: Parsed, out: Fields) -> None:
    for comment in segment.reps(3):
        out.add("nte_comments", " ".join(p for p in comment if p))


def _in1(segment: Parsed, out: Fields) -> None:
    out.add("in1_insurance_company_id", segment.text(3))
    out.add("in1_insurance_company", segment.text(4))
    out.add("in1_policy_number", segment.text(36) or segment.text(49))


def _dg1(segment: Parsed, out: Fields) -> None:
    code = (segment.reps(3) or [[]])[0]
    out.add("dg1_diagnoses", " ".join(p for p in (at(code, 1), at(code, 2), segment.text(4)) if p))


def _al1(segment: Parsed, out: Fields) -> None:
    out.add("al1_allergies", " ".join(p for p in (segment.reps(3) or [[]])[0][:2] if p))


def _nk1(segment: Parsed, out: Fields) -> None:
    """A next of kin (NK1): a relative or a contact person, not the patient. Read as one
    text per relative, ``relationship: name, address, phone``, in ``nk1_next_of_kin``:
    what leaked about a third party, kept apart from the patient's own columns so that it
    is never taken for the patient's name, address or phone, nor compared to link persons.
    """
    name = " ".join(p for p in (at((segment.reps(2) or [[]])[0], 1),
                                at((segment.reps(2) or [[]])[0], 2)) if p)  # fmt: skip
    relation = (segment.reps(3) or [[]])[0]
    address = " ".join(p for p in (segment.reps(4) or [[]])[0][:6] if p)
    phones = [at(phone, 1) for phone in segment.reps(5) + segment.reps(6) if at(phone, 1)]
    facts = ", ".join(p for p in (name, address, *phones) if p)
    kind = at(relation, 2) or at(relation, 1)
    if facts:  # never a bare name, which would read as the patient's own
        out.add("nk1_next_of_kin", f"{kind or 'next of kin'}: {facts}")


def _evn(segment: Parsed, out: Fields) -> None:
    out.add("evn_recorded_datetime", hl7_date(segment.text(2)))


_SEGMENTS: dict[str, Callable[[Parsed, Fields], None]] = {
    "MSH": _msh,
    "EVN": _evn,
    "PID": _pid,
    "PD1": _pd1,
    "NK1": _nk1,
    "PV1": _pv1,
    "ORC": _orc,
    "OBR": _obr,
    "OBX": _obx,
    "NTE": _nte,
    "IN1": _in1,
    "DG1": _dg1,
    "AL1": _al1,
}
