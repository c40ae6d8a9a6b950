"""The registry of controllers (``--registry``): loaded, checked, placed.

CSV with the header ``controller_id,name,finess,siren,address,postal_code,city,dpo_email``,
read as tolerantly as a leak: ``,`` ``;`` tab or ``|`` between fields, UTF-8 (with or
without BOM), Windows-1252 or Latin-1, as French Excel writes it. :func:`load` is cheap, so
``run`` checks the registry before it reads the leak. Errors name the file and line, never
a value.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ariane import excel
from ariane.errors import ConfigError
from ariane.geo import normalise_commune_name, referential

HEADER = ("controller_id", "name", "finess", "siren", "address", "postal_code", "city",
          "dpo_email")  # fmt: skip
_FINESS = re.compile(r"(?:\d{2}|2A|2B)\d{7}")
_SIREN = re.compile(r"\d{9}")
_POSTAL_CODE = re.compile(r"\d{5}")


@dataclass(frozen=True)
class Controller:
    """One data controller of the registry, with the places of its address."""

    controller_id: str
    name: str
    finess: str | None
    siren: str | None
    address: str | None
    postal_code: str | None
    city: str | None
    dpo_email: str | None
    departement: str | None
    region: str | None


def finess_of(value: str | None) -> str | None:
    """A FINESS number without separators, upper case, when it has the right shape; one a
    spreadsheet saved without its leading zero gets it back when its Luhn key then holds."""
    if not value:
        return None
    compact = re.sub(r"[\s.\-]", "", value).upper()
    if _FINESS.fullmatch(compact):
        return compact
    return excel.finess_restored(compact)


def place_of(
    postal_code: str | None, city: str | None, finess: str | None
) -> tuple[str | None, str | None]:
    """``(departement, region)`` of an address; the FINESS prefix when there is none.

    The town given with the postal code picks the commune (a post office may serve a
    neighbouring département).
    """
    geo = referential()
    departement = None
    if postal_code:
        communes = geo.communes_of_postal_code(postal_code)
        if city:
            wanted = normalise_commune_name(city)
            named = [c for c in communes if normalise_commune_name(c.name) == wanted]
            if named:
                departement = named[0].departement
        departement = departement or geo.departement_of_postal_code(postal_code)
    if departement is None and finess:
        prefix = finess[:2]
        # Overseas FINESS numbers start with 97 and then the third digit of the département.
        departement = f"97{finess[2]}" if prefix == "97" else prefix
        if geo.region_of_departement(departement) is None:
            departement = None
    region = geo.region_of_departement(departement) if departement else None
    return departement, region


def _decode(path: Path) -> tuple[str, str, int]:
    """The registry's text, delimiter and records above its header, as leaks are sniffed.

    French Excel writes ``;`` between fields and Windows-1252 (or Latin-1) text.
    """
    from ariane.read.sniff import sniff_dialect, sniff_encoding

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the registry ({type(exc).__name__})") from None
    encoding = sniff_encoding(raw)
    try:
        text = raw.decode(encoding).lstrip("\ufeff")
    except (UnicodeDecodeError, LookupError):
        raise ConfigError(f"{path}: cannot decode the registry (tried {encoding})") from None
    dialect = sniff_dialect(text, truncated=False)
    # Excel's "sep=;" line (hint_lines) and any title lines (preamble) stand above the header.
    return text, dialect.delimiter, dialect.hint_lines + dialect.preamble


def load(path: Path) -> list[Controller]:
    """Read and check a registry file; :class:`ConfigError` names the line at fault."""
    text, delimiter, skipped = _decode(path)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    for _ in range(skipped):  # a title or Excel's "sep=;" line above the header
        next(reader, None)
    header = next(reader, None)
    if header is None:
        raise ConfigError(f"{path}: the registry is empty")
    names = [h.strip().lower() for h in header]
    missing = [h for h in HEADER if h not in names]
    if missing:
        raise ConfigError(f"{path} line {1 + skipped}: registry header lacks {', '.join(missing)}")
    index = {h: names.index(h) for h in HEADER}
    controllers: list[Controller] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2 + skipped):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(names):
            raise ConfigError(f"{path} line {line}: {len(row)} fields, expected {len(names)}")
        value = {h: (row[i].strip() or None) for h, i in index.items()}
        controller_id = value["controller_id"]
        if not controller_id:
            raise ConfigError(f"{path} line {line}: controller_id is empty")
        if controller_id in seen:
            raise ConfigError(f"{path} line {line}: controller_id repeats an earlier line")
        seen.add(controller_id)
        if not value["name"]:
            raise ConfigError(f"{path} line {line}: name is empty")
        finess = finess_of(value["finess"])
        if value["finess"] and finess is None:
            raise ConfigError(f"{path} line {line}: finess must be 9 characters (digits, 2A, 2B)")
        siren = re.sub(r"\s", "", value["siren"]) if value["siren"] else None
        if siren and not _SIREN.fullmatch(siren):
            raise ConfigError(f"{path} line {line}: siren must be 9 digits")
        postal_code = value["postal_code"]
        if postal_code:  # saved by Excel: 01000 became 1000
            postal_code = excel.postal_code_restored(postal_code) or postal_code
        if postal_code and not _POSTAL_CODE.fullmatch(postal_code):
            raise ConfigError(f"{path} line {line}: postal_code must be 5 digits")
        departement, region = place_of(postal_code, value["city"], finess)
        controllers.append(
            Controller(
                controller_id,
                value["name"] or "",
                finess,
                siren,
                value["address"],
                postal_code,
                value["city"],
                value["dpo_email"],
                departement,
                region,
            )  # fmt: skip
        )
    if not controllers:
        raise ConfigError(f"{path}: the registry lists no controller")
    return controllers
