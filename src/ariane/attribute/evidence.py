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
from rapidfuzz.distance import Levenshtein

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
_GLUED_LEGAL_FORM = re.compile(r"\b(SELARL|SELAS|SARL|SCP|LBM|LABM)(?=[A-Z]{3})")
# Short words for a lab, a slip away from which a word is still one ('LABBO').
_LAB_WORDS = ("LABO", "LABM")
# Generic words long enough for a slip to leave them recognisable ('LABORATIRE').
_LONG_GENERIC = [w for w in _GENERIC_WORDS if len(w) >= 7]
_STOP_WORDS = frozenset("DE DU DES LA LE LES L D ET EN A AU AUX".split())  # noqa: SIM905
# Digits grouped by spaces, dots or dashes ('35 000 0017'): joined before looking for a FINESS.
_SPACED_DIGITS = re.compile(r"(?<=\d)[\s.\-]+(?=\d)")
_FINESS_IN_TEXT = re.compile(r"(?<![0-9A-Z])((?:\d{2}|2A|2B)\d{7})(?![0-9A-Z])")


def _words(value: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", value.upper())
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    spaced = re.sub(r"[^A-Z0-9]+", " ", ascii_only)
    # A legal form glued to the name by a lost space ("SELASBIOLAB").
    return _GLUED_LEGAL_FORM.sub(r"\1 ", spaced).split()


def _is_generic(word: str) -> bool:
    return word in _GENERIC_WORDS or (
        (len(word) >= 7 and any(fuzz.ratio(word, g) >= 88 for g in _LONG_GENERIC))
        or (len(word) >= 4 and any(Levenshtein.distance(word, a) <= 1 for a in _LAB_WORDS))
    )


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
    distinctive = " ".join(w for w in expanded.split() if not _is_generic(w))
    forms = {"expanded": expanded, "written": written, "distinctive": distinctive}
    return {kind: key for kind, key in forms.items() if key}


def _similarity(a: str, b: str) -> float:
    return max(
        fuzz.token_sort_ratio(a, b),
        fuzz.token_set_ratio(a, b) - 5,  # one name inside the other scores a little lower
        fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),  # 'BIOARMOR' = 'BIO ARMOR'
    )


def _same_word(a: str, b: str) -> bool:
    # A slip in a word is still the word; words of one or two letters must be exact.
    if a == b or min(len(a), len(b)) < 3:
        return a == b
    return Levenshtein.distance(a, b) <= 1 or fuzz.ratio(a, b) >= 80


def _found(word: str, among: Sequence[str]) -> bool:
    # Words glued by a lost space ('BIOOUEST', 'ROUXGAUTIER') hold each other.
    return any(_same_word(word, other) for other in among) or (
        len(word) >= 4 and word in "".join(among)
    )


def _explained(words: Sequence[str], by: Sequence[str]) -> bool:
    return all(_found(w, by) or any(len(o) >= 4 and o in w for o in by) for w in words)


class OrganisationMatcher:
    """Fuzzy matching of organisation names against the registry's controllers."""

    def __init__(self, controllers: Sequence[Controller]) -> None:
        self._keys: list[tuple[str, dict[str, str]]] = []
        # Distinctive words of each name, and of its town: which name a text names fully.
        self._words: dict[str, tuple[list[str], list[str]]] = {}
        self._by_finess = {c.finess: c.controller_id for c in controllers if c.finess}
        for controller in controllers:
            keys = organisation_keys(controller.name)
            self._keys.append((controller.controller_id, keys))
            town = organisation_key(controller.city).split()
            self._words[controller.controller_id] = (keys.get("distinctive", "").split(), town)
            if controller.city:
                # A lab is often named with its town ("Labo Bio Rennes Centre"); the town
                # alone is not distinctive (two labs may share it): with the name's own
                # distinctive words only.
                with_town = {"expanded": organisation_key(f"{controller.name} {controller.city}")}
                if "distinctive" in keys:
                    with_town["distinctive"] = f"{keys['distinctive']} {' '.join(town)}"
                self._keys.append((controller.controller_id, with_town))

    def names_fully(self, value: str | None, controller_id: str) -> bool:
        """Whether a text holds every distinctive word of a controller's name and nothing
        else but its town ('Roux-Gautier Rennes' names 'Laboratoire Roux-Gautier' fully,
        not 'Laboratoire Gautier')."""
        words = organisation_keys(value).get("distinctive", "").split()
        name, town = self._words.get(controller_id, ([], []))
        return bool(words and name) and _explained(name, words) and _explained(words, name + town)

    def _names_part(self, value: str | None, controller_id: str) -> bool:
        """Whether a text holds a distinctive word of the controller's name (not its town)."""
        words = organisation_keys(value).get("distinctive", "").split()
        name = self._words.get(controller_id, ([], []))[0]
        return any(_found(other, words) for other in name)

    def evidence(self, value: str | None) -> tuple[str | None, float, str | None]:
        """``(controller_id, confidence, evidence)`` of an organisation column's value: a
        known FINESS number in it (spaced or not), else its name matched fuzzily."""
        if value and self._by_finess:
            finess = finess_in_text(_SPACED_DIGITS.sub("", value), set(self._by_finess))
            if finess:
                return self._by_finess[finess], 0.97, "finess in organisation"
        controller_id, confidence = self.match(value)
        if controller_id is None:
            return None, 0.0, None
        return controller_id, confidence, f"organisation name ~{confidence:.2f}"

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
        if best < MIN_SCORE:
            return None, 0.0
        close = [cid for cid, score in ranked if best - score < MIN_MARGIN]
        if len(close) > 1:
            # Names inside one another ('Gautier', 'Roux-Gautier') score alike: the one
            # the text names fully wins; none or several, Ariane abstains.
            full = [cid for cid in close if self.names_fully(value, cid)]
            if len(full) != 1:
                return None, 0.0
            best_id, best = full[0], scores[full[0]]
        elif not self._names_part(value, best_id):
            # Only words every lab has and a town ('Laboratoire Rennes'): another lab of
            # that town, absent from the registry, may be meant.
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

    The innermost name speaks first: an archive member's file name, then its folders
    (``labo-rennes/patients.csv``), then the file given (its own name only: the folders
    it sits in are the user's, not the leak's); a FINESS number in a name beats a name
    match.
    """
    by_finess = {c.finess: c.controller_id for c in controllers if c.finess}
    names: list[str] = []
    if inner_path:
        member = PurePath(inner_path.replace("\\", "/"))
        names += [member.stem, *(part for part in reversed(member.parts[:-1]))]
    if path:
        names.append(PurePath(path.replace("\\", "/")).stem)
    for stem in names:
        finess = finess_in_text(stem, set(by_finess))
        if finess:
            return by_finess[finess], 0.97, "file name finess"
        controller_id, confidence = matcher.match(re.sub(r"[_\-.]+", " ", stem))
        if controller_id:
            return controller_id, min(confidence, 0.9), "file name"
    return None, 0.0, ""
