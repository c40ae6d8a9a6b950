"""The facts of the case that the data cannot tell: when, how, by whom, what was done.

They come from ``--aware-at`` (the ``case_facts`` table) and from a TOML facts file the
user edits (:func:`facts_template` writes a commented one). Defaults fit a file published
online: unknown recipients, malicious intent, data not encrypted. Once loaded they are kept
in the case's ``assess_facts`` table, so that ``report`` can rewrite the reports later.

Facts describe organisations and the incident, never a person of the leak.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ariane.errors import ConfigError

if TYPE_CHECKING:
    from ariane.engine import Engine

#: Where a time given without an offset is read: the French regulator's clock.
DEFAULT_ZONE = ZoneInfo("Europe/Paris")

CONFIDENTIALITY = ("unknown_recipients", "known_recipients", "none")
LOSS = ("none", "recoverable", "unrecoverable")
NOTIFICATION = ("initial", "complementary")
ROLE = ("processor", "controller", "other")


@dataclass
class Breach:
    """What happened, as the organisation knows it."""

    aware_at: str = ""
    started_at: str = ""
    ended_at: str = ""
    discovered_how: str = ""
    nature: str = ""
    origin: str = ""
    cause: str = ""
    confidentiality: str = "unknown_recipients"
    integrity: str = "none"
    availability: str = "none"
    malicious: bool = True
    encrypted: bool = False
    cross_border: bool = False
    notification: str = "initial"
    consequences: str = ""
    measures_taken: str = ""
    measures_proposed: str = ""


@dataclass
class Organisation:
    """Who writes the notification (often the processor of every controller)."""

    role: str = "processor"
    name: str = ""
    siren: str = ""
    address: str = ""
    legal_representative: str = ""
    contact_name: str = ""
    contact_role: str = ""
    contact_email: str = ""
    contact_phone: str = ""


@dataclass
class ControllerFacts:
    """What a controller's notification needs and its registry row does not hold."""

    legal_representative: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    siren: str = ""
    measures_taken: str = ""


@dataclass
class Facts:
    """Every fact of the case; empty strings are unknown (« à compléter » in drafts)."""

    breach: Breach = field(default_factory=Breach)
    organisation: Organisation = field(default_factory=Organisation)
    controllers: dict[str, ControllerFacts] = field(default_factory=dict)

    def aware_at(self) -> datetime | None:
        """When the organisation became aware, as an aware datetime, or None."""
        return parse_instant(self.breach.aware_at) if self.breach.aware_at else None

    def as_json(self) -> str:
        """The facts as a JSON document (to keep them in the case)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Facts:
        """Facts saved by :meth:`as_json`."""
        data = json.loads(text)
        return cls(
            breach=Breach(**data.get("breach", {})),
            organisation=Organisation(**data.get("organisation", {})),
            controllers={k: ControllerFacts(**v) for k, v in data.get("controllers", {}).items()},
        )


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; without an offset it is read as French time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=DEFAULT_ZONE)


# -- the facts file -------------------------------------------------------------------------

_CHOICES = {
    ("breach", "confidentiality"): CONFIDENTIALITY,
    ("breach", "integrity"): LOSS,
    ("breach", "availability"): LOSS,
    ("breach", "notification"): NOTIFICATION,
    ("organisation", "role"): ROLE,
}
_INSTANTS = {"aware_at", "started_at", "ended_at"}


def load_facts(path: Path | None, engine: Engine | None = None) -> Facts:
    """Read a facts file (or take the defaults), then ``--aware-at`` from ``case_facts``.

    ``--aware-at`` wins over the file: it was given last, on the command line.
    """
    facts = Facts() if path is None else _read_file(Path(path))
    if engine is not None and engine.has_table("case_facts"):
        rows = engine.fetch("SELECT value FROM case_facts WHERE name = 'aware_at'")
        if rows and rows[-1][0]:
            facts.breach.aware_at = str(rows[-1][0])
    return facts


def _read_file(path: Path) -> Facts:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: facts file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the facts file ({type(exc).__name__})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message says "(at line L, column C)" and quotes no value.
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    lines = text.splitlines()
    facts = Facts()
    for section, value in document.items():
        if section == "controllers":
            facts.controllers = _controllers(path, lines, value)
        elif section in ("breach", "organisation"):
            _fill(path, lines, section, getattr(facts, section), value)
        else:
            raise ConfigError(f"{_where(path, lines, section)}: unknown section [{section}]")
    return facts


def _controllers(path: Path, lines: list[str], value: Any) -> dict[str, ControllerFacts]:
    if not isinstance(value, dict):
        raise ConfigError(f"{_where(path, lines, 'controllers')}: [controllers] must be a table")
    found = {}
    for controller_id, table in value.items():
        target = ControllerFacts()
        _fill(path, lines, f"controllers.{controller_id}", target, table)
        found[str(controller_id)] = target
    return found


def _fill(path: Path, lines: list[str], section: str, target: Any, table: Any) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, lines, section)}: [{section}] must be a table")
    known = {f.name: f for f in fields(target)}
    for key, value in table.items():
        where = _where(path, lines, key, section)
        if key not in known:
            raise ConfigError(f"{where}: unknown key {section}.{key}")
        wanted = known[key].type
        if wanted in ("bool", bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {section}.{key} must be true or false")
        else:
            if isinstance(value, datetime):  # a bare TOML date-time
                value = value.isoformat()
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {section}.{key} must be a quoted string")
            choices = _CHOICES.get((section, key))
            if choices and value not in choices:
                raise ConfigError(f"{where}: {section}.{key} must be one of {', '.join(choices)}")
            if key in _INSTANTS and value:
                try:
                    parse_instant(value)
                except ValueError:
                    raise ConfigError(
                        f"{where}: {section}.{key} is not an ISO-8601 date and time "
                        "(e.g. 2021-02-23T10:00:00+01:00)"
                    ) from None
        setattr(target, key, value)


def _where(path: Path, lines: list[str], key: str, section: str | None = None) -> str:
    """``file line N`` for a key (searched after its section header), else ``file key K``."""
    start = 0
    if section is not None:
        header = re.compile(
            r"^\s*\[\s*" + r"\s*\.\s*".join(map(_key_pattern, section.split("."))) + r"\s*\]"
        )
        start = next((i for i, line in enumerate(lines) if header.match(line)), 0)
    pattern = re.compile(r"^\s*(\[\s*)?" + _key_pattern(key) + r"\s*(=|\])")
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return f"{path} line {number + 1}"
    return f"{path} key {section + '.' if section else ''}{key}"


def _key_pattern(key: str) -> str:
    return r"[\"']?" + re.escape(key) + r"[\"']?"


# -- keeping facts in the case ----------------------------------------------------------------


def store_facts(engine: Engine, facts: Facts) -> None:
    """Keep the facts in the case (table ``assess_facts``: one JSON document)."""
    engine.execute("CREATE OR REPLACE TABLE assess_facts (document VARCHAR)")
    engine.execute("INSERT INTO assess_facts VALUES (?)", [facts.as_json()])


def stored_facts(engine: Engine) -> Facts:
    """The facts kept by the last ``assess``, or the defaults."""
    if not engine.has_table("assess_facts"):
        return load_facts(None, engine)
    rows = engine.fetch("SELECT document FROM assess_facts")
    return Facts.from_json(rows[0][0]) if rows else Facts()


# -- the template ---------------------------------------------------------------------------

_TEMPLATE = """\
# Ariane: facts of the case (TOML). Edit, then pass with --facts.
# Empty strings are unknown: the notification drafts mark them « à compléter ».
# Defaults fit a file published online: unknown recipients, malicious, not encrypted.
# Times are ISO-8601, e.g. "2021-02-23T10:00:00+01:00" (French time when no offset).
# --aware-at on the command line wins over breach.aware_at below.

[breach]
aware_at = ""            # when you became aware of the breach (starts the 72 h of art. 33)
started_at = ""          # when the breach started, if known
ended_at = ""            # when it ended, if it has
discovered_how = ""      # e.g. "signalement d'un journaliste", "alerte d'un client"
nature = ""              # e.g. "fichier de patients publié sur un forum en ligne"
origin = ""              # e.g. "extraction lors d'une migration logicielle"
cause = ""               # e.g. "acte malveillant externe", "erreur humaine"
# Loss of confidentiality: unknown_recipients (+0.5) | known_recipients (+0.25) | none
confidentiality = "unknown_recipients"
# Loss of integrity / availability: none | recoverable (+0.25) | unrecoverable (+0.5)
integrity = "none"
availability = "none"
malicious = true         # malicious intent (+0.5 in the ENISA circumstances)
encrypted = false        # data unintelligible to others (exempts notice to persons, art. 34)
cross_border = false     # persons in other EU member states concerned
notification = "initial" # initial | complementary (a follow-up of an earlier notification)
consequences = ""        # likely consequences as the organisation sees them
measures_taken = ""      # measures taken to end the breach and limit its effects
measures_proposed = ""   # measures proposed or planned

[organisation]
# Who writes the notifications. role: processor (it must tell each controller,
# art. 33(2)) | controller | other
role = "processor"
name = ""
siren = ""
address = ""
legal_representative = ""
contact_name = ""
contact_role = ""        # e.g. "délégué à la protection des données"
contact_email = ""
contact_phone = ""

# One table per controller of the registry, by its controller_id, for what the
# registry does not hold:
# [controllers.LAB01]
# legal_representative = ""
# contact_name = ""
# contact_email = ""
# contact_phone = ""
# siren = ""
# measures_taken = ""
"""


def facts_template() -> str:
    """A commented facts file holding the defaults."""
    return _TEMPLATE


def write_facts_template(path: Path, *, overwrite: bool = False) -> Path:
    """Write the commented facts template to ``path`` (refusing to replace a file)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path}: already exists; choose another name")
    path.write_text(_TEMPLATE, encoding="utf-8")
    return path
