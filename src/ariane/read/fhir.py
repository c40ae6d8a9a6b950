"""Read FHIR R4: a Bundle (or a lone resource) as JSON, or a bulk export as NDJSON.

One source per resource type (``table_name`` Patient, Observation, ...), one record per
resource, flat columns named for what they hold: a Patient's identifiers by system (the
INS-NIR OID ``urn:oid:1.2.250.1.213.1.4.8`` gives ``nir``, other systems a column each),
names, telecom, address, birth date, gender, general practitioner; an Organization's
FINESS (``urn:oid:1.2.250.1.71.4.2.2``); the test, value and text of an Observation,
Condition or DiagnosticReport. A resource about a patient gets ``patient_ref``, the
bare id of its Patient (``Patient/123`` -> ``123``, a ``urn:uuid:`` reference resolved
through the Patient's ``fullUrl``), from which the linked-tables step finds the key and
folds results into their patient's record: nothing is folded here. Resource types not
named here are flattened as any JSON is (:mod:`ariane.read.jsonrows`).

A Bundle's entries are read one at a time from a stream (:mod:`ariane.read.jsonscan`):
a large Bundle never sits in memory whole, but the map of Patient ``fullUrl`` to id does
(one short string per patient). A damaged entry or resource is quarantined with its
line and reason and the others are read. Plain JSON is kept strict-free on purpose:
``fhir.resources`` would refuse a whole resource for one missing field, a leak's damage
included, where this reader keeps what is there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from ariane.read.archive import Blob
from ariane.read.delimited import decode_line, raw_lines
from ariane.read.jsonfile import member_name
from ariane.read.jsonrows import Records, as_text, flatten
from ariane.read.jsonscan import (
    DECODER,
    EVIDENCE,
    SPACE_AND_COMMAS,
    Text,
    TooLong,
    skip_damaged,
)
from ariane.read.merges import survivors, write_same_patients
from ariane.read.segments import JOIN, Fields, open_as_text, result_text
from ariane.read.store import Origin, SourceWriter, Store

if TYPE_CHECKING:
    from ariane.engine import Engine
    from ariane.read import SourceSummary

NIR_SYSTEMS = frozenset(
    f"urn:oid:1.2.250.1.213.1.4.{n}" for n in (8, 10, 11)
)  # INS-NIR, and its test and demonstration twins
FINESS_SYSTEMS = frozenset(["urn:oid:1.2.250.1.71.4.2.2", "http://finess.sante.gouv.fr"])
RPPS_SYSTEMS = frozenset(["urn:oid:1.2.250.1.71.4.2.1"])  # national id of professionals
#: The formats of what this module reads.
FORMATS = frozenset(["fhir-json", "fhir-ndjson"])
#: Where a damaged entry, whose type cannot be read, is kept.
UNTYPED = "Bundle.entry"
#: A damaged file naming ever new types does not make a source of each (R4 has ~150).
MAX_TYPES = 256
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


def read_fhir(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read a FHIR Bundle, resource or bulk-export NDJSON: one source per resource type."""
    with open_as_text(blob, origin) as (stream, encoding, codec):
        tables = _Resources(store, origin, blob.format, encoding, codec)
        if blob.format == "fhir-ndjson":
            _ndjson(stream, codec, tables)
        else:
            bom = 3 if blob.sample.startswith(b"\xef\xbb\xbf") else 0
            _document(Text(stream, codec, byte=bom), tables)
    return tables.close()


class _Resources:
    """The sources of one file, one per resource type, made as types are met."""

    def __init__(self, store: Store, origin: Origin, fmt: str, encoding: str, codec: str) -> None:
        self.store, self.origin, self.format = store, origin, fmt
        self.encoding, self.codec = encoding, codec
        self.by_type: dict[str, Records] = {}
        #: fullUrl -> id of the Patients, Organizations and Practitioners met.
        self.full_urls: dict[str, str] = {}
        #: Patients that name another record of the same person (``link``): their id,
        #: and the references of the records they name with whether each replaced it.
        self.links: list[tuple[str, list[tuple[str, bool]]]] = []

    def records(self, kind: str) -> Records:
        """The records of one resource type."""
        if kind not in self.by_type:
            writer = self.store.writer(self.origin, self.format, self.encoding, [])
            writer.table_name = kind
            self.by_type[kind] = Records(writer, self.codec)
        return self.by_type[kind]

    def resource(self, value: Any, line: int, offset: int, raw: str, full_url: str = "") -> None:
        """One resource (or what stands where one should): a row, or quarantined."""
        kind = value.get("resourceType") if isinstance(value, dict) else None
        reason = None
        if not isinstance(value, dict):
            reason = "not a JSON object"
        elif not isinstance(kind, str) or not _TYPE_NAME.fullmatch(kind):
            reason = "not a FHIR resource"
        elif kind not in self.by_type and len(self.by_type) >= MAX_TYPES:
            reason = f"more than {MAX_TYPES} resource types"
        if reason is not None or not isinstance(kind, str):
            evidence = raw or as_text(value) or ""
            self.records(UNTYPED).quarantine(reason or "", evidence, line, offset)
            return
        if kind == "Bundle" and isinstance(value.get("entry"), list):
            for entry in value["entry"]:  # a Bundle inside a Bundle, decoded already
                self.entry(entry, line, offset)
            return
        if kind in _REFERENCED and full_url and isinstance(value.get("id"), str):
            self.full_urls[full_url] = value["id"]
        row = resource_row(value, self.full_urls, full_url)
        if kind == "Patient" and row.get("id") and (links := patient_links(value)):
            self.links.append((row["id"], links))
        if kind in _REFERENCED and full_url.startswith("urn:uuid:"):
            row["full_url"] = full_url  # what references met before it hold
        self.records(kind).add(row, line, offset, raw)

    def entry(self, entry: Any, line: int, offset: int, raw: str = "") -> None:
        """One element of a Bundle's ``entry``: its resource."""
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            reason = "Bundle entry holds no resource"
            self.records(UNTYPED).quarantine(reason, raw or as_text(entry) or "", line, offset)
            return
        full_url = entry.get("fullUrl")
        self.resource(
            entry["resource"], line, offset, "", full_url if isinstance(full_url, str) else ""
        )

    def close(self) -> list[SourceWriter]:
        """Write what remains; the sources, in the order their types were met."""
        if not self.by_type:
            self.records(UNTYPED)  # a file with no resource is still a source, of no rows
        for records in self.by_type.values():
            records.close()
        if "Organization" in self.by_type:
            _fill_organizations(self.by_type["Organization"].writer, self.by_type.values())
        if self.links and "Patient" in self.by_type:
            _write_same_patients(self.by_type["Patient"].writer, self.links, self.full_urls)
        for records in self.by_type.values():
            records.writer.close()
        return [records.writer for records in self.by_type.values()]


def _fill_organizations(organizations: SourceWriter, tables: Iterable[Records]) -> None:
    """Name the lab a reference points to, and its FINESS, where the file holds it.

    A Patient's ``managingOrganization`` or an Observation's ``performer`` often points to
    an Organization of the same Bundle: its name and FINESS, written into the rows that
    point to it, let those records be attributed to their lab. Done in the engine once
    every row is written, so the order of the entries does not matter (a ``urn:uuid:``
    reference met before its Organization holds its ``fullUrl``, kept in ``full_url``).
    """
    for records in tables:
        writer = records.writer
        if writer is organizations or not writer.rows:
            continue
        writer.padded = None  # names written in by SQL: which are padded is not known
        fill_references(
            writer.engine,
            (organizations.data_table, organizations.columns),
            (writer.data_table, writer.columns),
            writer.add_columns,
        )


def same_patients(
    links: list[tuple[str, list[tuple[str, bool]]]], full_urls: dict[str, str]
) -> dict[str, str]:
    """Patient id -> the id of the record that stands for its person, for every record a
    ``link`` joins to another (a merge: ``replaced-by``, ``replaces``, ``refer``,
    ``seealso``).

    The references are resolved once every ``fullUrl`` is known, then joined as any
    merge is (:func:`~ariane.read.merges.survivors`): whatever their order in the file,
    a record merged away points to its survivor; one of the file is preferred to one
    only named.
    """
    pairs = [
        (own, other, own_replaced)
        for own, others in links
        for reference, own_replaced in others
        if (other := _reference_id(reference, full_urls))
    ]
    return survivors(pairs, {own for own, _ in links})


def _write_same_patients(
    patients: SourceWriter,
    links: list[tuple[str, list[tuple[str, bool]]]],
    full_urls: dict[str, str],
) -> None:
    """Write in ``same_patient_as`` the record standing for each linked Patient's person
    (:func:`same_patients`): resolve joins the records sharing it outright. A record
    linked to none has none: two Patients that merely share an id are not joined so."""
    survivor = same_patients(links, full_urls)
    write_same_patients(patients, {("id", own): head for own, head in survivor.items()})


def fill_references(
    engine: Engine,
    organizations: tuple[str, list[str]],
    target: tuple[str, list[str]],
    add_columns: Callable[[list[str]], list[str]],
) -> list[str]:
    """Write into ``target``'s rows the name and FINESS of the Organizations its
    ``<column>_ref`` columns point to (``organizations``: data table and columns); the
    columns it had to add (through ``add_columns``, which widens the table)."""
    org_table, org_columns = organizations
    if "id" not in org_columns:
        return []
    name = "organization_name" in org_columns
    finess = "finess" in org_columns
    if not (name or finess):
        return []
    # Each lab under its id and, when it has one, its fullUrl.
    full_url = '"full_url"' if "full_url" in org_columns else "NULL"
    lookup = (
        f'(SELECT "key", {"any_value(finess)" if finess else "NULL"} AS finess, '
        f"{'any_value(organization_name)' if name else 'NULL'} AS name "
        f'FROM "{org_table}", unnest(["id", {full_url}]) AS k("key") '
        f'WHERE "key" IS NOT NULL GROUP BY "key")'
    )
    table, columns = target
    added: list[str] = []
    for column in [c[: -len("_ref")] for c in columns if c.endswith("_ref")]:
        if column == "patient":
            continue
        pointing = engine.fetch(
            f'SELECT count(*) FROM "{table}" JOIN {lookup} AS o ON "{column}_ref" = o."key"'
        )
        if not pointing[0][0]:
            continue  # a reference to doctors, or to labs this file does not hold
        missing = [c for c in (column, f"{column}_finess") if c not in columns + added]
        added += add_columns(missing)
        engine.execute(
            f'UPDATE "{table}" SET "{column}" = coalesce("{table}"."{column}", o.name), '
            f'"{column}_finess" = coalesce("{table}"."{column}_finess", o.finess) '
            f'FROM {lookup} AS o WHERE "{table}"."{column}_ref" = o."key"'
        )
    return added


def link_bulk_export(engine: Engine, sources: list[SourceSummary]) -> None:
    """Fill the references of an export's files from its Organization files.

    A bulk export is NDJSON files of one resource type each; other servers write one
    Bundle per patient, the labs in a Bundle of their own: a Patient's
    ``managingOrganization`` or an Observation's ``performer`` points to an Organization
    of another file of the same run. Done once every file is read and before classify,
    so the names and FINESS written are labelled and attributed as a Bundle's are.
    """
    exported = [s for s in sources if s.format in FORMATS and s.rows]
    if len({(s.path, s.member) for s in exported}) < 2:
        return  # one file: its own references were filled as it was read
    labs = [s for s in exported if s.table_name == "Organization"]
    for target in exported:
        if target.table_name == "Organization" or not any(
            c.endswith("_ref") for c in target.columns
        ):
            continue
        # Names written in by SQL: which columns are padded is no longer known.
        engine.execute(
            "UPDATE read_sources SET unpadded = NULL WHERE source_id = ?", [target.source_id]
        )
        for lab in labs:

            def add(names: list[str], table: str = target.data_table) -> list[str]:
                for column in names:
                    engine.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" VARCHAR')
                return names

            added = fill_references(
                engine, (lab.data_table, lab.columns), (target.data_table, target.columns), add
            )
            if added:
                target.columns = [*target.columns, *added]
                engine.execute(
                    "UPDATE read_sources SET columns = ? WHERE source_id = ?",
                    [target.columns, target.source_id],
                )


def _ndjson(stream: Any, codec: str, tables: _Resources) -> None:
    """A bulk export: one resource per line."""
    offset = 0
    codec = "utf-8" if codec == "utf-8-sig" else codec
    for number, (raw, too_long) in enumerate(raw_lines(stream), start=1):
        body = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
        here = offset
        offset += len(raw)
        if not body.strip():
            continue
        # Lines in a second encoding are read as such, as in any NDJSON (read/encodings.py).
        text, problem, _ = decode_line(body, codec, None)
        if too_long:
            problem = "line longer than the limit"
        if problem is None:
            try:
                value = DECODER.decode(text)
            except (json.JSONDecodeError, RecursionError):
                problem = "invalid JSON"
        if problem is not None:
            tables.records(_type_named(body)).quarantine(problem, raw, number, here)
            continue
        tables.resource(value, number, here, text)


def _type_named(raw: bytes) -> str:
    """The resource type a damaged line names, to quarantine it with its kind."""
    found = re.search(rb'"resourceType"\s*:\s*"([A-Z][A-Za-z]{1,40})"', raw)
    return found.group(1).decode() if found else UNTYPED


def _document(text: Text, tables: _Resources) -> None:
    """A Bundle, its entries streamed; or a lone resource; or an array of resources."""
    char = text.skip(SPACE_AND_COMMAS)
    if char == "[":
        text.advance(text.pos + 1)
        while (char := text.skip(SPACE_AND_COMMAS)) and char != "]":
            at = (text.line, text.byte)
            value, raw = _value(text, tables, at)
            if raw is not None:
                tables.resource(value, *at, raw)
        return
    if char != "{":
        if char:
            raw, _ = skip_damaged(text)
            tables.records(UNTYPED).quarantine("not a FHIR resource", raw, text.line, text.byte)
        return
    at = (text.line, text.byte)
    text.advance(text.pos + 1)
    members: dict[str, Any] = {}
    streamed = False
    while (char := text.skip(SPACE_AND_COMMAS)) and char != "}":
        key = member_name(text)
        if key is None:
            skip_damaged(text)  # a damaged member of the Bundle itself: no record lost
            continue
        if key == "entry" and text.skip() == "[":  # only a Bundle has a list of entries
            _entries(text, tables)
            streamed = True
            continue
        member_at = (text.line, text.byte)
        value, raw = _value(text, tables, member_at, quarantine=False)
        if raw is not None:
            members[key] = value
    if not streamed:
        tables.resource(members, *at, json.dumps(members, ensure_ascii=False)[:EVIDENCE])


def _entries(text: Text, tables: _Resources) -> None:
    """The elements of a Bundle's ``entry`` array, one at a time."""
    text.advance(text.pos + 1)
    while (char := text.skip(SPACE_AND_COMMAS)) and char != "]":
        at = (text.line, text.byte)
        if char == "}":
            text.advance(text.pos + 1)  # a stray closing bracket: no record
            continue
        value, raw = _value(text, tables, at)
        if raw is not None:
            tables.entry(value, *at, raw if not isinstance(value, dict) else "")
    if char == "]":
        text.advance(text.pos + 1)


def _value(
    text: Text, tables: _Resources, at: tuple[int, int], *, quarantine: bool = True
) -> tuple[Any, str | None]:
    """The value at the position and its text; (None, None) when damaged (quarantined)."""
    start = text.pos
    try:
        value, end = text.decode()
    except (json.JSONDecodeError, RecursionError, TooLong) as exc:
        reason = "longer than the limit" if isinstance(exc, TooLong) else "invalid JSON"
        raw, cut = skip_damaged(text)
        if quarantine:
            if cut:
                reason += f" (record cut to {EVIDENCE} characters)"
            kind = _type_named(raw.encode("utf-8", "replace"))
            tables.records(kind).quarantine(reason, raw, *at)
        return None, None
    raw = text.buffer[start:end] if not isinstance(value, dict) else ""
    text.advance(end)
    return value, raw


# -- resources as rows ------------------------------------------------------------------


def resource_row(
    resource: dict[str, Any], full_urls: dict[str, str], full_url: str = ""
) -> dict[str, str]:
    """One resource as flat columns named for what they hold."""
    kind = resource.get("resourceType")
    out = _Row(full_urls, _contained(resource))
    out.add("id", _str(resource.get("id")) or _uuid(full_url))
    patient = _patient_ref(resource, full_urls)
    if patient:
        out.add("patient_ref", patient)
    shaper = _SHAPES.get(str(kind))
    if shaper is None:
        for name, value in flatten(resource):
            if name not in ("resourceType", "id", "subject.reference", "patient.reference"):
                out.add(name, value)
    else:
        shaper(resource, out)
    return out.row()


def _patient_ref(resource: dict[str, Any], full_urls: dict[str, str]) -> str:
    """The bare id of the Patient a resource is about ('' if none)."""
    for key in ("subject", "patient", "beneficiary"):
        ref = resource.get(key)
        reference = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(reference, str):
            continue
        if reference.startswith("urn:uuid:"):
            return full_urls.get(reference, reference.removeprefix("urn:uuid:"))
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == "Patient":
            return parts[-1]
        if len(parts) >= 4 and parts[-4] == "Patient" and parts[-2] == "_history":
            return parts[-3]
    return ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else as_text(value) or ""


def _uuid(full_url: str) -> str:
    return full_url.removeprefix("urn:uuid:") if full_url.startswith("urn:uuid:") else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _concept(value: Any) -> str:
    """A CodeableConcept as read by a person: its text, else its codings' display or code."""
    if not isinstance(value, dict):
        return _str(value)
    if isinstance(value.get("text"), str):
        return cast(str, value["text"])
    codings = [c for c in _list(value.get("coding")) if isinstance(c, dict)]
    for coding in codings:
        if coding.get("display"):
            return _str(coding["display"])
    return " ".join(_str(c.get("code")) for c in codings if c.get("code"))


def _code(value: Any) -> str:
    """The first code of a CodeableConcept ('' if none)."""
    if not isinstance(value, dict):
        return ""
    for coding in _list(value.get("coding")):
        if isinstance(coding, dict) and coding.get("code"):
            return _str(coding["code"])
    return ""


def _contained(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The resources ``contained`` in a resource, by the ``#id`` that points to them."""
    return {
        f"#{inner['id']}": inner
        for inner in _list(resource.get("contained"))
        if isinstance(inner, dict) and isinstance(inner.get("id"), str)
    }


class _Row(Fields):
    """The columns of one resource, with the ``fullUrl`` map to resolve its references
    and the resources it contains (``#lab``: a lab written inside the Patient)."""

    def __init__(
        self, full_urls: dict[str, str], contained: dict[str, dict[str, Any]] | None = None
    ) -> None:
        super().__init__()
        self.full_urls = full_urls
        self.contained = contained or {}

    def reference(self, column: str, value: Any) -> None:
        """A Reference to a lab or a doctor: its display in ``column``, the id it points
        to in ``<column>_ref`` (filled in from the file's Organization, see
        :func:`_fill_organizations`), a FINESS or RPPS it carries in ``<column>_finess``
        or ``<column>_rpps``."""
        if not isinstance(value, dict):
            self.add(column, _str(value))
            return
        reference = _str(value.get("reference"))
        inner = self.contained.get(reference)
        if inner is not None:
            self._contained_reference(column, value, inner)
            return
        self.add(column, _str(value.get("display")))
        parts = reference.rstrip("/").split("/")
        if reference in self.full_urls:
            self.add(f"{column}_ref", self.full_urls[reference])
        elif reference.startswith("urn:uuid:"):
            self.add(f"{column}_ref", reference)  # met before its resource: its fullUrl
        elif len(parts) >= 2 and parts[-2] in _REFERENCED:
            self.add(f"{column}_ref", parts[-1])
        identifier = value.get("identifier")
        if isinstance(identifier, dict):
            system = _str(identifier.get("system"))
            kind = (
                "finess" if system in FINESS_SYSTEMS else "rpps" if system in RPPS_SYSTEMS else ""
            )
            self.add(f"{column}_{kind or 'identifier'}", _str(identifier.get("value")))

    def _contained_reference(
        self, column: str, value: dict[str, Any], inner: dict[str, Any]
    ) -> None:
        """A reference to a contained lab or doctor (``#lab``): what it says of itself,
        its name and FINESS or RPPS, in the columns a reference to a resource of the
        file gets once filled in (``<column>``, ``<column>_finess``, ``<column>_rpps``)."""
        name = _str(inner.get("name"))
        if not name and inner.get("resourceType") == "Practitioner":
            names = Fields()
            _names(inner, names)
            name = " ".join(v for v in names.row().values() if v)
        self.add(column, _str(value.get("display")) or name)
        for identifier in _list(inner.get("identifier")):
            if not isinstance(identifier, dict):
                continue
            system = _str(identifier.get("system"))
            kind = (
                "finess" if system in FINESS_SYSTEMS else "rpps" if system in RPPS_SYSTEMS else ""
            )
            self.add(f"{column}_{kind or 'identifier'}", _str(identifier.get("value")))


#: Resources that others point to by reference, read as records of their own too.
_REFERENCED = frozenset(["Patient", "Organization", "Practitioner", "PractitionerRole"])


def _identifiers(resource: dict[str, Any], out: Fields) -> None:
    """Each identifier in a column named by its system (``nir``, ``finess``, ``rpps``...)."""
    for identifier in _list(resource.get("identifier")):
        if not isinstance(identifier, dict):
            continue
        system = _str(identifier.get("system"))
        if system in NIR_SYSTEMS:
            column = "nir"
        elif system in FINESS_SYSTEMS:
            column = "finess"
        elif system in RPPS_SYSTEMS:
            column = "rpps"
        else:
            slug = re.sub(r"[^a-z0-9]+", "_", system.lower().removeprefix("urn:oid:"))
            slug = re.sub(r"^(https?_|urn_)", "", slug).strip("_")[-40:]
            column = f"identifier_{slug}" if slug else "identifier"
        out.add(column, _str(identifier.get("value")))


def _names(resource: dict[str, Any], out: Fields, prefix: str = "") -> None:
    names = [n for n in _list(resource.get("name")) if isinstance(n, dict)]
    main = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    for name in names:
        given = " ".join(_str(g) for g in _list(name.get("given")))
        family = _str(name.get("family"))
        if name is main:
            out.add(f"{prefix}family_name", family)
            out.add(f"{prefix}given_name", given)
            out.add(f"{prefix}name_prefix", " ".join(_str(p) for p in _list(name.get("prefix"))))
        else:
            out.add(
                f"{prefix}other_names",
                " ".join(p for p in (given, family) if p) or _str(name.get("text")),
            )
        if not family and not given:
            out.add(f"{prefix}full_name", _str(name.get("text")))


def _contact(resource: dict[str, Any], out: Fields, prefix: str = "") -> None:
    """Phones, emails and addresses; ``prefix`` names whose they are when not a patient's
    (``organization_phone``: the lab's, which classify keeps from patients' contacts)."""
    for telecom in _list(resource.get("telecom")):
        if not isinstance(telecom, dict):
            continue
        system = telecom.get("system")
        column = "email" if system == "email" else "fax" if system == "fax" else "phone"
        if f"{prefix}{column}" in out.values:
            column = f"other_{column}s"
        out.add(f"{prefix}{column}", _str(telecom.get("value")))
    for number, address in enumerate(
        a for a in _list(resource.get("address")) if isinstance(a, dict)
    ):
        lines = " ".join(_str(x) for x in _list(address.get("line")))
        if number:
            parts = (lines, _str(address.get("postalCode")), _str(address.get("city")))
            text = " ".join(p for p in parts if p) or _str(address.get("text"))
            out.add(f"{prefix}other_addresses", text)
            continue
        out.add(f"{prefix}address_line", lines or _str(address.get("text")))
        out.add(f"{prefix}postal_code", _str(address.get("postalCode")))
        out.add(f"{prefix}city", _str(address.get("city")))
        out.add(f"{prefix}country", _str(address.get("country")))


def _patient(resource: dict[str, Any], out: _Row) -> None:
    _identifiers(resource, out)
    _names(resource, out)
    out.add("gender", _str(resource.get("gender")))
    out.add("birth_date", _str(resource.get("birthDate")))
    out.add("death_date", _str(resource.get("deceasedDateTime")))
    _contact(resource, out)
    for doctor in _list(resource.get("generalPractitioner")):
        out.reference("general_practitioner", doctor)
    out.reference("managing_organization", resource.get("managingOrganization"))
    # Records of one person (``link``: merged, or known to be the same) hold one id in
    # ``same_patient_as``, written once the whole file is read (:func:`same_patients`).


#: ``Patient.link`` types, all of a record of the same person; the first two say the
#: linking record was merged away (the other stands for the person).
_LINK_TYPES = {"replaced-by": True, "refer": True, "replaces": False, "seealso": False}


def patient_links(resource: dict[str, Any]) -> list[tuple[str, bool]]:
    """The references a Patient's ``link`` makes to other Patients, each with whether
    it says this record was replaced by the other."""
    out = []
    for link in _list(resource.get("link")):
        if not isinstance(link, dict) or link.get("type") not in _LINK_TYPES:
            continue
        other = link.get("other")
        reference = _str(other.get("reference")) if isinstance(other, dict) else ""
        parts = reference.rstrip("/").split("/")
        # A RelatedPerson (a relative's record) is no record of the patient.
        if reference and "RelatedPerson" not in parts[-4:-1]:
            out.append((reference, _LINK_TYPES[str(link["type"])]))
    return out


def _reference_id(reference: str, full_urls: dict[str, str]) -> str:
    """The bare id a reference points to: ``Patient/123`` -> ``123``, a ``urn:uuid:``
    the id of the resource whose ``fullUrl`` it is (its uuid when not met yet)."""
    if reference.startswith("urn:uuid:"):
        return full_urls.get(reference, reference.removeprefix("urn:uuid:"))
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        return parts[-3]
    return parts[-1] if len(parts) >= 2 else reference


def _value_text(resource: dict[str, Any]) -> str:
    """An Observation's value[x] as text, with its unit."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict):
        unit = _str(quantity.get("unit")) or _str(quantity.get("code"))
        return " ".join(p for p in (_str(quantity.get("value")), unit) if p)
    if "valueCodeableConcept" in resource:
        return _concept(resource["valueCodeableConcept"])
    for key, value in resource.items():
        if key.startswith("value") and key != "valueQuantity":
            return _str(value)
    return ""


def _coded(concept: Any) -> str:
    """A CodeableConcept with its code: ``7917-8 HIV 1 Ab``."""
    return " ".join(p for p in (_code(concept), _concept(concept)) if p)


def _when(resource: dict[str, Any], name: str) -> str:
    """``<name>DateTime``, else the start of ``<name>Period``."""
    period = resource.get(f"{name}Period")
    start = period.get("start") if isinstance(period, dict) else None
    return _str(resource.get(f"{name}DateTime")) or _str(start)


def _notes(resource: dict[str, Any], out: _Row) -> None:
    for note in _list(resource.get("note")):
        out.add("note", _str(note.get("text")) if isinstance(note, dict) else _str(note))


def _observation(resource: dict[str, Any], out: _Row) -> None:
    code = resource.get("code")
    out.add("test", _concept(code))
    out.add("status", _str(resource.get("status")))
    # The result and those of its components (a panel), each as `code label = value unit`.
    results = [result_text(_code(code), _concept(code), _value_text(resource), "")]
    for component in _list(resource.get("component")):
        if isinstance(component, dict) and _value_text(component):
            inner = component.get("code")
            results.append(result_text(_code(inner), _concept(inner), _value_text(component), ""))
    out.add("result", JOIN.join(r for r in results if r))
    for interpretation in _list(resource.get("interpretation")):
        out.add("interpretation", _concept(interpretation))
    out.add("effective_date", _when(resource, "effective"))
    for performer in _list(resource.get("performer")):
        out.reference("performer", performer)
    _notes(resource, out)


def _condition(resource: dict[str, Any], out: _Row) -> None:
    out.add("condition", _coded(resource.get("code")))
    out.add("clinical_status", _concept(resource.get("clinicalStatus")))
    out.add("onset_date", _when(resource, "onset"))
    out.add("recorded_date", _str(resource.get("recordedDate")))
    out.reference("asserter", resource.get("asserter"))
    _notes(resource, out)


def _report(resource: dict[str, Any], out: _Row) -> None:
    out.add("test", _coded(resource.get("code")))
    out.add("status", _str(resource.get("status")))
    out.add("conclusion", _str(resource.get("conclusion")))
    for concept in _list(resource.get("conclusionCode")):
        out.add("conclusion_code", _concept(concept))
    out.add("effective_date", _when(resource, "effective"))
    out.add("issued", _str(resource.get("issued")))
    for performer in _list(resource.get("performer")):
        out.reference("performer", performer)


def _organization(resource: dict[str, Any], out: _Row) -> None:
    _identifiers(resource, out)
    out.add("organization_name", _str(resource.get("name")))
    for kind in _list(resource.get("type")):
        out.add("organization_type", _concept(kind))
    _contact(resource, out, "organization_")


def _practitioner(resource: dict[str, Any], out: _Row) -> None:
    _identifiers(resource, out)
    _names(resource, out, "practitioner_")
    _contact(resource, out, "practitioner_")


def _encounter(resource: dict[str, Any], out: _Row) -> None:
    out.add("status", _str(resource.get("status")))
    out.add(
        "encounter_class",
        _str(
            (resource.get("class") or {}).get("code")
            if isinstance(resource.get("class"), dict)
            else ""
        ),
    )
    period = resource.get("period")
    if isinstance(period, dict):
        out.add("visit_date", _str(period.get("start")))
    for participant in _list(resource.get("participant")):
        if isinstance(participant, dict):
            out.reference("physician", participant.get("individual"))
    out.reference("service_provider", resource.get("serviceProvider"))


_SHAPES = {
    "Patient": _patient,
    "Observation": _observation,
    "Condition": _condition,
    "DiagnosticReport": _report,
    "Organization": _organization,
    "Practitioner": _practitioner,
    "Encounter": _encounter,
}
