"""What a person types, checked and normalised, and its keyed digests.

The same normalisation runs at export (on the case's values) and at check time (on what
was typed), so a digest matches exactly when the identifiers are the same person's. A
digest is HMAC-SHA256 under a key kept apart from the index: without the key, the index
cannot be searched by guessing NIRs, which are few enough to enumerate.

Every :class:`EntryError` message depends only on what was typed, in French, and says
what to fix; it never quotes the value back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

from ariane import nir as nir_rules
from ariane.resolve.phones import e164

#: Longest value accepted in any field (an email address is at most 254 characters).
MAX_FIELD = 254
FIELDS = ("nir", "birth_date", "email", "phone")

_EMAIL = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NIR_SHAPE = re.compile(r"[1278]\d{4}(?:\d{2}|2A|2B)\d{8}")


class EntryError(ValueError):
    """A field as typed cannot be used; ``message`` (French) says what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Identifiers:
    """Normalised identifiers of one check: NIR with birth date, email, phone (E.164)."""

    nir: str | None = None
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None

    def digests(self, key: bytes) -> list[bytes]:
        """The keyed digests to look up, one per identifier given."""
        found = []
        if self.nir is not None and self.birth_date is not None:
            found.append(nir_digest(key, self.nir, self.birth_date))
        if self.email is not None:
            found.append(email_digest(key, self.email))
        if self.phone is not None:
            found.append(phone_digest(key, self.phone))
        return found


def _digest(key: bytes, kind: str, value: str) -> bytes:
    # Domain-separated so that an email can never collide with a phone or a NIR.
    return hmac.digest(key, f"{kind}\x00{value}".encode(), hashlib.sha256)


def nir_digest(key: bytes, nir: str, birth_date: date) -> bytes:
    """Digest of a canonical NIR with its owner's birth date."""
    return _digest(key, "nir", f"{nir}\x00{birth_date.isoformat()}")


def email_digest(key: bytes, email: str) -> bytes:
    """Digest of a normalised email address."""
    return _digest(key, "email", email)


def phone_digest(key: bytes, phone: str) -> bytes:
    """Digest of a phone number in E.164."""
    return _digest(key, "phone", phone)


def normalise_email(value: str) -> str | None:
    """Lower-case address without spaces (as resolve stores it), or None if not one."""
    email = re.sub(r"\s+", "", value).lower()
    return email if _EMAIL.fullmatch(email) else None


def parse(fields: dict[str, object]) -> Identifiers:
    """Check and normalise typed fields; raise :class:`EntryError` saying what to fix."""
    values: dict[str, str] = {}
    for name in FIELDS:
        raw = fields.get(name)
        if raw is None:
            continue
        if not isinstance(raw, str):
            raise EntryError(name, f"Le champ « {name} » doit être du texte.")
        if len(raw) > MAX_FIELD:
            raise EntryError(
                name, f"Le champ « {name} » est trop long ({MAX_FIELD} caractères au plus)."
            )
        if raw.strip():
            values[name] = raw.strip()
    nir = _nir(values["nir"]) if "nir" in values else None
    birth = _birth_date(values["birth_date"]) if "birth_date" in values else None
    if (nir is None) != (birth is None):
        missing = "birth_date" if birth is None else "nir"
        raise EntryError(
            missing,
            "Le numéro de sécurité sociale et la date de naissance vont ensemble : "
            "indiquez les deux.",
        )
    email = _email(values["email"]) if "email" in values else None
    phone = _phone(values["phone"]) if "phone" in values else None
    if nir is None and email is None:
        raise EntryError(
            "nir",
            "Indiquez votre numéro de sécurité sociale avec votre date de naissance, "
            "ou votre adresse électronique.",
        )
    return Identifiers(nir, birth, email, phone)


def _nir(value: str) -> str:
    nir = nir_rules.normalise(value)
    if not _NIR_SHAPE.fullmatch(nir):
        raise EntryError(
            "nir",
            "Le numéro de sécurité sociale compte 15 caractères : 13 chiffres (2A ou 2B "
            "pour la Corse) puis la clé de 2 chiffres. Vérifiez-le sur votre carte Vitale.",
        )
    if not nir_rules.is_valid_nir(nir):
        raise EntryError(
            "nir",
            "La clé du numéro de sécurité sociale (2 derniers chiffres) ne correspond pas "
            "aux 13 premiers : un chiffre est sans doute mal recopié.",
        )
    return nir


def _birth_date(value: str) -> date:
    shape = _ISO_DATE.fullmatch(value)
    if shape:
        year, month, day = (int(part) for part in shape.groups())
    elif shape := _FRENCH_DATE.fullmatch(value):
        day, month, year = (int(part) for part in shape.groups())
    else:
        raise EntryError(
            "birth_date",
            "La date de naissance s'écrit AAAA-MM-JJ (par exemple 1971-12-08) "
            "ou JJ/MM/AAAA (08/12/1971).",
        )
    try:
        born = date(year, month, day)
    except ValueError:
        raise EntryError(
            "birth_date", "Cette date de naissance n'existe pas : vérifiez le jour et le mois."
        ) from None
    if born.year < 1880 or born > date.today():
        raise EntryError(
            "birth_date", "Cette date de naissance n'est pas plausible : vérifiez l'année."
        )
    return born


def _email(value: str) -> str:
    email = normalise_email(value)
    if email is None:
        raise EntryError(
            "email", "L'adresse électronique doit avoir la forme nom@exemple.fr, sans accent."
        )
    return email


def _phone(value: str) -> str:
    phone = e164(value)
    if phone is None:
        raise EntryError(
            "phone",
            "Le numéro de téléphone doit avoir la forme 06 12 34 56 78 ou +33 6 12 34 56 78.",
        )
    return phone
