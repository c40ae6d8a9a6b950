"""The facts of the case that the data cannot tell: when, how, by whom, what was done.

Facts are data of the case: they live in the case's fact log (:mod:`ariane.case.facts`),
fed by ``run --aware-at``, by a TOML facts file (:func:`facts_template` writes a commented
one) and by ``ariane facts set`` after run. This module names them, types them and checks
them. An unknown fact is empty (``""`` or ``None``): drafts print « à compléter » and the
JSON says null, never a default presented as a fact. Grading still needs circumstances, so
an unknown one is *assumed* (:data:`ASSUMED`) and the report says so.

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

#: Where a time given without an offset in a facts file is read: the French regulator's clock.
DEFAULT_ZONE = ZoneInfo("Europe/Paris")

CONFIDENTIALITY = ("unknown_recipients", "known_recipients", "none")
LOSS = ("none", "recoverable", "unrecoverable")
ROLE = ("processor", "controller", "other")
PERSONS_INFORMED = ("no", "planned", "yes", "exempt")


@dataclass
class Breach:
    """What happened, as the organisation knows it (empty or None: unknown)."""

    aware_at: str = ""
    started_at: str = ""
    ended_at: str = ""
    discovered_how: str = ""
    nature: str = ""
    origin: str = ""
    cause: str = ""
    confidentiality: str = ""
    integrity: str = ""
    availability: str = ""
    malicious: bool | None = None
    encrypted: bool | None = None
    cross_border: bool | None = None
    consequences: str = ""
    measures_taken: str = ""
    measures_proposed: str = ""
    delay_reasons: str = ""
    other_bodies: str = ""


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
    dpo_designation: str = ""


@dataclass
class ControllerFacts:
    """What a controller's notification needs and its registry row does not hold."""

    legal_representative: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    siren: str = ""
    dpo_designation: str = ""
    measures_taken: str = ""
    informed_at: str = ""
    notified_at: str = ""
    cnil_reference: str = ""
    delay_reasons: str = ""
    persons_informed: str = ""
    persons_informed_how: str = ""
    minors: bool | None = None
    vulnerable_persons: bool | None = None
    other_bodies: str = ""


@dataclass
class Facts:
    """Every fact of the case; empty strings and None are unknown."""

    breach: Breach = field(default_factory=Breach)
    organisation: Organisation = field(default_factory=Organisation)
    controllers: dict[str, ControllerFacts] = field(default_factory=dict)

    def aware_at(self) -> datetime | None:
        """When the organisation became aware, as an aware datetime, or None."""
        return parse_instant(self.breach.aware_at) if self.breach.aware_at else None

    def controller(self, controller_id: str) -> ControllerFacts:
        """The facts of one controller (all unknown when none were given)."""
        return self.controllers.get(controller_id, ControllerFacts())

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

    def stated(self) -> dict[tuple[str | None, str], Any]:
        """Every known fact by (controller id or None for the case, fact name)."""
        found: dict[tuple[str | None, str], Any] = {}
        for name, value in asdict(self.breach).items():
            found[(None, name)] = value
        for name, value in asdict(self.organisation).items():
            found[(None, f"organisation.{name}")] = value
        for controller_id, own in self.controllers.items():
            for name, value in asdict(own).items():
                found[(controller_id, name)] = value
        return {key: value for key, value in found.items() if value not in ("", None)}

    @classmethod
    def from_stated(cls, values: dict[tuple[str | None, str], Any]) -> Facts:
        """Facts from (controller id or None, name) -> value, as :meth:`stated` gives them."""
        facts = cls()
        for (controller_id, name), value in values.items():
            if value is None:
                continue
            if controller_id is not None:
                target: Any = facts.controllers.setdefault(controller_id, ControllerFacts())
            elif name.startswith("organisation."):
                target, name = facts.organisation, name.removeprefix("organisation.")
            else:
                target = facts.breach
            if name in {f.name for f in fields(target)}:
                setattr(target, name, value)
        return facts


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant; without an offset it is read as French time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=DEFAULT_ZONE)


# -- the names and types of facts ------------------------------------------------------------

_CHOICES = {
    "confidentiality": CONFIDENTIALITY,
    "integrity": LOSS,
    "availability": LOSS,
    "role": ROLE,
    "persons_informed": PERSONS_INFORMED,
}
_INSTANTS = {"aware_at", "started_at", "ended_at", "informed_at", "notified_at"}
#: Case facts that change grades or duties: changing one grades the case again.
GRADING = frozenset(
    {"aware_at", "confidentiality", "integrity", "availability", "malicious", "encrypted"}
    | {"organisation.role"}
)
#: What grading assumes while a circumstance is unknown (a file published online).
ASSUMED = {
    "confidentiality": "unknown_recipients",
    "integrity": "none",
    "availability": "none",
    "malicious": True,
    "encrypted": False,
}
_TRUE = {"true", "yes", "oui", "1"}
_FALSE = {"false", "no", "non", "0"}


@dataclass(frozen=True)
class FactSpec:
    """One fact a user may set: its name and kind (text, instant, bool or choice)."""

    name: str
    kind: str
    choices: tuple[str, ...] = ()


def _spec(name: str, annotation: object) -> FactSpec:
    base = name.rsplit(".", 1)[-1]
    if annotation in ("bool | None", "bool"):
        return FactSpec(name, "bool")
    if base in _INSTANTS:
        return FactSpec(name, "instant")
    if base in _CHOICES:
        return FactSpec(name, "choice", _CHOICES[base])
    return FactSpec(name, "text")


def catalogue(*, controller: bool) -> dict[str, FactSpec]:
    """Every fact name of the case (``controller=False``) or of one controller."""
    if controller:
        return {f.name: _spec(f.name, f.type) for f in fields(ControllerFacts)}
    found = {f.name: _spec(f.name, f.type) for f in fields(Breach)}
    for f in fields(Organisation):
        found[f"organisation.{f.name}"] = _spec(f"organisation.{f.name}", f.type)
    return found


def parse_fact(name: str, text: str, *, controller: bool) -> Any:
    """The typed value of ``NAME=TEXT`` as ``facts set`` takes it; empty text unsets (None).

    Raises :class:`ConfigError` with one line saying what is wrong, never quoting more than
    the fact's name and the expected form.
    """
    specs = catalogue(controller=controller)
    if name not in specs:
        scope = "a controller" if controller else "the case"
        hint = "" if controller else " (use --controller ID for a controller's facts)"
        raise ConfigError(f"{name}: not a fact of {scope}{hint}; see `ariane facts show`")
    spec, text = specs[name], text.strip()
    if not text:
        return None
    if spec.kind == "bool":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{name}: expected true or false")
    if spec.kind == "choice":
        if text not in spec.choices:
            raise ConfigError(f"{name}: expected one of {', '.join(spec.choices)}")
        return text
    if spec.kind == "instant":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ConfigError(
                f"{name}: not an ISO-8601 date and time (e.g. 2021-02-23T10:00:00+01:00)"
            ) from None
        if moment.tzinfo is None:
            raise ConfigError(f"{name}: needs a time zone, e.g. 2021-02-23T10:00:00+01:00")
        return moment.isoformat()
    return text


# -- the facts file -------------------------------------------------------------------------


def load_facts(path: Path | None, engine: Engine | None = None) -> Facts:
    """Read a facts file (or take the defaults), then ``--aware-at`` from ``case_facts``.

    ``--aware-at`` wins over the file: it was given last, on the command line.
    """
    facts = Facts() if path is None else _read_file(Path(path))
    aware_at = _legacy_aware_at(engine) if engine is not None else None
    if aware_at:
        facts.breach.aware_at = aware_at
    return facts


def _legacy_aware_at(engine: Engine) -> str | None:
    """``--aware-at`` as cases made before the fact log kept it (table ``case_facts``)."""
    if not engine.has_table("case_facts"):
        return None
    rows = engine.fetch("SELECT value FROM case_facts WHERE name = 'aware_at'")
    return str(rows[-1][0]) if rows and rows[-1][0] else None


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
        if section == "breach" and key == "notification":
            continue  # was initial|complementary: report versions now tell (CHANGELOG)
        if key not in known:
            raise ConfigError(f"{where}: unknown key {section}.{key}")
        wanted = known[key].type
        if wanted in ("bool", "bool | None", bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {section}.{key} must be true or false")
        else:
            if isinstance(value, datetime):  # a bare TOML date-time
                value = value.isoformat()
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {section}.{key} must be a quoted string")
            choices = _CHOICES.get(key)
            if choices and value and value not in choices:
                raise ConfigError(f"{where}: {section}.{key} must be one of {', '.join(choices)}")
            if key in _INSTANTS and value:
                try:
                    value = parse_instant(value).isoformat()
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
    """Keep the facts the last grading used (table ``assess_facts``: one JSON document)."""
    engine.execute("CREATE OR REPLACE TABLE assess_facts (document VARCHAR)")
    engine.execute("INSERT INTO assess_facts VALUES (?)", [facts.as_json()])


def stored_facts(engine: Engine) -> Facts:
    """The case's facts now: the fact log over ``--aware-at`` of older cases."""
    from ariane.case import facts as fact_log

    values: dict[tuple[str | None, str], Any] = {}
    aware_at = _legacy_aware_at(engine)
    if aware_at:
        values[(None, "aware_at")] = aware_at
    values.update(fact_log.current(engine, unset=True))  # an unset aware_at stays unset
    return Facts.from_stated(values)


def import_facts(engine: Engine, facts: Facts, source: str) -> list[Any]:
    """Record every fact ``facts`` states in the case's fact log; return the changes."""
    from ariane.case import facts as fact_log

    return fact_log.record(engine, facts.stated(), source)


# -- the template ---------------------------------------------------------------------------

_TEMPLATE = """\
# Ariane: facts of the case (TOML). Edit, then pass with --facts (or, after run, set them
# one by one with `ariane facts set CASE NAME=VALUE`; docs/facts.md lists every name).
# Empty strings and commented-out lines are unknown: the drafts mark them « à compléter »
# and the JSON says null. Unknown circumstances are assumed for grading only (a file
# published online: unknown recipients, malicious, not encrypted) and the report says so.
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
confidentiality = ""
# Loss of integrity / availability: none | recoverable (+0.25) | unrecoverable (+0.5)
integrity = ""
availability = ""
# malicious = true       # malicious intent (+0.5 in the ENISA circumstances)
# encrypted = false      # data unintelligible to others (exempts notice to persons, art. 34)
# cross_border = false   # persons in other EU member states concerned
consequences = ""        # likely consequences as the organisation sees them
measures_taken = ""      # measures taken to end the breach and limit its effects
measures_proposed = ""   # measures proposed or planned
delay_reasons = ""       # why controllers were told late, if they were (art. 33(1))
other_bodies = ""        # e.g. "ARS et CERT Santé le 24/02 ; plainte déposée le 25/02"

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
dpo_designation = ""     # the CNIL's number for the designation of the DPO

# One table per controller of the registry, by its controller_id, for what the
# registry does not hold:
# [controllers.LAB01]
# legal_representative = ""
# contact_name = ""
# contact_email = ""
# contact_phone = ""
# siren = ""
# dpo_designation = ""
# measures_taken = ""
# informed_at = ""          # when the processor told this controller (starts its 72 h)
# notified_at = ""          # when it notified the CNIL
# cnil_reference = ""       # the CNIL's reference of its notification
# delay_reasons = ""        # why it notified after its 72 h, if it did
# persons_informed = ""     # no | planned | yes | exempt
# persons_informed_how = "" # how (letter, email...) or the art. 34(3) ground of exemption
# minors = false            # minors among its persons
# vulnerable_persons = false
# other_bodies = ""
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
