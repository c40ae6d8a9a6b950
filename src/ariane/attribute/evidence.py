"""What says which controller a record belongs to: FINESS, organisation names, file names.

Organisation names are matched fuzzily (typos, case, abbreviations) with ``rapidfuzz``;
a match must beat the runner-up by a margin, else Ariane abstains rather than guesses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import PurePath

from rapidfuzz import fuzz

from ariane.attribute.registry import Controller

#: Score (0-100) an organisation name must reach, and its lead over the next controller.
MIN_SCORE = 85.0
MIN_MARGIN = 6.0
# Abbreviations of lab names, expanded before comparing.
_ABBREVIATIONS = {
    "LAB": "LABORATOIRE", "LABO": "LABORATOIRE",
    "LBM": "LABORATOIRE BIOLOGIE MEDICALE", "LAM": "LABORATOIRE ANALYSES MEDICALES",
    "LABM": "LABORATOIRE ANALYSES BIOLOGIE MEDICALE",
    "BIO": "BIOLOGIE", "BIOL": "BIOLOGIE", "MED": "MEDICALE", "MEDIC": "MEDICALE",
    "ANAL": "ANALYSES", "ST": "SAINT", "STE": "SAINTE", "CTRE": "CENTRE",
    "CHU": "CENTRE HOSPITALIER UNIVERSITAIRE", "CH": "CENTRE HOSPITALIER",
    "SELAS": "", "SELARL": "", "SCP": "", "SAS": "", "SARL": "", "SEL": "",
}  # fmt: skip
# Words most lab names share: left out of the distinctive form of a name.
_GENERIC_WORDS = frozenset(
    [
        "LABORATOIRE",
        "BIOLOGIE",
        "MEDICALE",
        "MEDICALES",
        "ANALYSES",
        "ANALYSE",
        "CENTRE",
        "SAINT",
        "SAINTE",
    ]
)  # noqa: SIM905
_GLUED_LEGAL_FORM = re.compile(r"\b(SELARL|SELAS|SARL|SCP)(?=[A-Z]{3})")
_STOP_WORDS = frozenset("DE DU DES LA LE LES L D ET EN A AU AUX".split())  # noqa: SIM905
_FINESS_IN_TEXT = re.compile(r"(?<![0-9A-Z])((?:\d{2}|2A|2B)\d{7})(?![0-9A-Z])")


def _words(value: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", value.upper())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    spaced = re.sub(r"[^A-Z0-9]+", " ", ascii_only)
    # A legal form glued to the name by a lost space ("SELASBIOLAB").
    return _GLUED_LEGAL_FORM.sub(r"\1 ", spaced).split()


def organisation_key(value: str | None) -> str:
    """An organisation name folded for comparison: case, accents, punctuation, abbreviations,
    legal forms and stop words."""
    if not value:
        return ""
    expanded = " ".join(_ABBREVIATIONS.get(w, w) for w in _words(value)).split()
    return " ".join(w for w in expanded if w not in _STOP_WORDS)


def organisation_keys(value: str | None) -> dict[str, str]:
    """The forms a name is compared under, by kind: abbreviations ``expanded``; as
    ``written`` (a typo in an abbreviation, 'LMB', must not lose to its expansion); and
    its ``distinctive`` words (what is left without the words every lab name has)."""
    if not value:
        return {}
    expanded = organisation_key(value)
    written = " ".join(
        w for w in _words(value) if w not in _STOP_WORDS and _ABBREVIATIONS.get(w) != ""
    )
    distinctive = " ".join(w for w in expanded.split() if w not in _GENERIC_WORDS)
    forms = {"expanded": expanded, "written": written, "distinctive": distinctive}
    return {kind: key for kind, key in forms.items() if key}


def _similarity(a: str, b: str) -> float:
    return max(
        fuzz.token_sort_ratio(a, b),
        fuzz.token_set_ratio(a, b) - 5,  # one name inside the other scores a little lower
        fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),  # 'BIOARMOR' = 'BIO ARMOR'
    )


class OrganisationMatcher:
    """Fuzzy matching of organisation names against the registry's controllers."""

    def __init__(self, controllers: Sequence[Controller]) -> None:
        self._keys: list[tuple[str, dict[str, str]]] = []
        for controller in controllers:
            self._keys.append((controller.controller_id, organisation_keys(controller.name)))
            if controller.city:
                # A lab is often named with its town ("Labo Bio Rennes Centre"); the town
                # alone is not distinctive (two labs may share it): expanded form only.
                with_town = organisation_key(f"{controller.name} {controller.city}")
                self._keys.append((controller.controller_id, {"expanded": with_town}))

    def match(self, value: str | None) -> tuple[str | None, float]:
        """``(controller_id, confidence)`` of a name; ``(None, 0)`` when unsure."""
        keys = organisation_keys(value)
        if not keys or not self._keys:
            return None, 0.0
        scores: dict[str, float] = {}
        for controller_id, theirs in self._keys:
            # Like with like: a short distinctive form inside a long name proves little.
            best = max(
                (_similarity(key, theirs[kind]) for kind, key in keys.items() if kind in theirs),
                default=0.0,
            )
            scores[controller_id] = max(scores.get(controller_id, 0.0), best)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        best_id, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        if best < MIN_SCORE or best - runner_up < MIN_MARGIN:
            return None, 0.0
        return best_id, round(0.6 + 0.35 * (best - MIN_SCORE) / (100 - MIN_SCORE), 3)


def finess_in_text(text: str, known: set[str]) -> str | None:
    """A known FINESS number written in a text (a file name), if exactly one."""
    found = {m for m in _FINESS_IN_TEXT.findall(text.upper()) if m in known}
    return found.pop() if len(found) == 1 else None


def controller_of_file(
    path: str | None,
    inner_path: str | None,
    controllers: Sequence[Controller],
    matcher: OrganisationMatcher,
) -> tuple[str | None, float, str]:
    """The controller a file's name points to: ``(controller_id, confidence, evidence)``.

    The innermost name speaks first (an archive's member ``labo_rennes.csv`` inside
    ``export.zip``); a FINESS number in the name beats a name match.
    """
    by_finess = {c.finess: c.controller_id for c in controllers if c.finess}
    for text in (inner_path, path):
        if not text:
            continue
        stem = PurePath(text.replace("\\", "/")).stem
        finess = finess_in_text(stem, set(by_finess))
        if finess:
            return by_finess[finess], 0.97, "file name finess"
        controller_id, confidence = matcher.match(re.sub(r"[_\-.]+", " ", stem))
        if controller_id:
            return controller_id, min(confidence, 0.9), "file name"
    return None, 0.0, ""
