"""The words of a notice: a Jinja2 template per controller, in plain French (art. 34(2)).

Every notice says the nature of the breach, whom to contact (the DPO), the likely
consequences, the measures taken and what the person can do, with advice for a leak of
health data (targeted phishing, misuse of the NIR). A notice never names a special
category (household members open letters): it says « des données de santé » and offers the
details through the DPO, who checks identity first. Every rendered text is checked with
the classifier's own lexicon (:func:`ariane.classify.lexicon.categories_in`), so a
controller's own template that names one is refused before anything is sent.

A controller may bring its own template (``notify plan --template ID=FILE``, kept in the
case); a notice naming several controllers uses the first of them that has one, else the
default. A field the template uses and Ariane does not give is a clear error at plan time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2

from ariane.assess.facts import Facts, parse_instant, stored_facts
from ariane.classify.lexicon import categories_in
from ariane.engine import Engine
from ariane.errors import ConfigError

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "notice.fr.txt.j2"
PUBLIC_TEMPLATE = "public.fr.txt.j2"
SUBJECT = "Fuite de données de votre laboratoire : ce que vous devez savoir"
#: Fields a notice template may use (a template may use fewer).
FIELDS = ("controllers", "has_nir", "measures", "breach_period", "reference")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")  # fmt: skip
# Stands for the reference while a body is cached for every notice of the same shape.
_REFERENCE = "\x00REFERENCE\x00"


@dataclass(frozen=True)
class ControllerWords:
    """What a notice says of one controller."""

    controller_id: str
    name: str
    contact: str
    measures: str


def template_dir(case_dir: Path) -> Path:
    """Where a case keeps its controllers' own templates."""
    return Path(case_dir) / "notify" / "templates"


def install_template(case_dir: Path, controller_id: str, source: Path) -> bytes | None:
    """Keep a controller's own template in the case; the one it replaces (None: none)."""
    folder = template_dir(case_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{controller_id}.txt.j2"
    previous = target.read_bytes() if target.exists() else None
    try:
        target.write_bytes(Path(source).read_bytes())
    except OSError as exc:
        raise ConfigError(f"--template {source}: cannot read it ({exc.strerror})") from None
    return previous


def restore_template(case_dir: Path, controller_id: str, previous: bytes | None) -> None:
    """Put back what :func:`install_template` replaced."""
    target = template_dir(case_dir) / f"{controller_id}.txt.j2"
    if previous is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(previous)


class Words:
    """Renders notices for a case: templates loaded once, bodies cached by shape."""

    def __init__(self, engine: Engine, case_dir: Path) -> None:
        facts = stored_facts(engine)
        self._own = template_dir(case_dir)
        self._environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(self._own), jinja2.FileSystemLoader(TEMPLATES)]
            ),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text: the email is text/plain, Typst gets strings
            keep_trailing_newline=True,
        )
        self._period = _period(facts)
        self.controllers = {
            row[0]: _controller_words(row, facts)
            for row in engine.fetch(
                "SELECT controller_id, name, dpo_email, address, postal_code, city "
                "FROM attribute_controllers"
            )
        }
        self._bodies: dict[tuple[tuple[str, ...], bool], str] = {}

    @cached_property
    def own_templates(self) -> set[str]:
        """Controllers that brought their own template."""
        if not self._own.is_dir():
            return set()
        return {path.name.removesuffix(".txt.j2") for path in self._own.glob("*.txt.j2")}

    def body(self, controller_ids: tuple[str, ...], has_nir: bool, reference: str) -> str:
        """The text of one notice (email body, letter body)."""
        key = (controller_ids, has_nir)
        cached = self._bodies.get(key)
        if cached is None:
            cached = self._render(controller_ids, has_nir)
            self._bodies[key] = cached
        return cached.replace(_REFERENCE, reference)

    def _render(self, controller_ids: tuple[str, ...], has_nir: bool) -> str:
        missing = [c for c in controller_ids if c not in self.controllers]
        if missing:
            raise ConfigError(f"controller {missing[0]}: not in the case's registry")
        controllers = [self.controllers[c] for c in controller_ids]
        name = next(
            (f"{c}.txt.j2" for c in controller_ids if c in self.own_templates), DEFAULT_TEMPLATE
        )
        measures = " ".join(dict.fromkeys(c.measures for c in controllers))
        text = self._fill(
            name,
            controllers=[c.__dict__ for c in controllers],
            has_nir=has_nir,
            measures=measures,
            breach_period=self._period,
            reference=_REFERENCE,
        )
        return check_plain(text, name)

    def sms(self, controller_ids: tuple[str, ...], reference: str) -> str:
        """A short text for an SMS (one notice, to a person no email or letter reaches)."""
        names = ", ".join(self.controllers[c].name for c in controller_ids)
        contact = self.controllers[controller_ids[0]].contact
        text = (
            f"{names} : vos informations figurent dans un fichier diffusé sans autorisation "
            f"(identité, coordonnées, données de santé). Questions : {contact}, "
            f"réf. {reference}. Nous ne demandons jamais de code ni de paiement."
        )
        return check_plain(text, "sms")

    def public(self, controller_id: str, persons: int, unreachable: int) -> str:
        """The public communication of a controller many of whose persons are unreachable."""
        controller = self.controllers[controller_id]
        text = self._fill(
            PUBLIC_TEMPLATE,
            controller=controller.__dict__,
            persons=persons,
            unreachable=unreachable,
            measures=controller.measures,
            breach_period=self._period,
        )
        return check_plain(text, PUBLIC_TEMPLATE)

    def _fill(self, name: str, **context: Any) -> str:
        try:
            return self._environment.get_template(name).render(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {name} line {exc.lineno}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"template {name}: {exc.message} (fields: {', '.join(FIELDS)})"
            ) from None


def check_plain(text: str, template: str) -> str:
    """``text`` when it names no special category; else :class:`ConfigError` (which one)."""
    found = categories_in(text)
    if found:
        raise ConfigError(
            f"template {template}: the text names a special category ({', '.join(sorted(found))}); "
            "a notice says « des données de santé » only"
        )
    return text


def _controller_words(row: tuple[Any, ...], facts: Facts) -> ControllerWords:
    controller_id, name, dpo_email, address, postal_code, city = row
    own = facts.controller(controller_id)
    contacts = [c for c in (own.contact_email or dpo_email, own.contact_phone) if c]
    if not contacts:
        place = " ".join(p for p in (address, postal_code, city) if p)
        contacts = [f"par courrier, {place}" if place else "à l'accueil du laboratoire"]
    measures = own.measures_taken or facts.breach.measures_taken
    if not measures:
        raise ConfigError(
            f"controller {controller_id}: the measures taken are unknown; a notice must say "
            f"them (art. 34(2)): ariane facts set DIR measures_taken=... "
            f"[--controller {controller_id}]"
        )
    return ControllerWords(controller_id, name, " ; ".join(contacts), measures)


def _period(facts: Facts) -> str:
    """« février 2021 » from when the breach started (or was known), else empty."""
    when = facts.breach.started_at or facts.breach.aware_at
    if not when:
        return ""
    moment = parse_instant(when)
    return f"{_MONTHS[moment.month - 1]} {moment.year}"
