"""What a column's header says about its label, in French, English and neighbouring languages.

Headers are folded before matching (accents, case, camelCase, snake_case, punctuation:
``numeroSecu`` -> ``numero secu``, ``N° SS`` -> ``n ss``; a header in random casing such as
``DaTe_NaIsSaNcE`` is also tried without the camelCase split, and in the singular), then
compared with the synonyms of :mod:`ariane.classify.synonyms`: whole header, then synonym
phrases found inside it, then single tokens within one small typo (``prenon``,
``telephonne``) or cut short (``mutuel``, ``naiss``). A header is only supporting
evidence: values decide (:mod:`ariane.classify.columns`), so synonyms may be generous.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache, lru_cache

from ariane.classify.synonyms import FILLER, OWNERS, REGISTRY_NUMBERS, SYNONYMS

#: Headers that carry no meaning (headerless files, spreadsheet defaults).
_MEANINGLESS = re.compile(r"^(col|column|colonne|field|champ|unnamed|var|v|c)?\s*\d+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

#: The highest score of a vague synonym: it hints, values must confirm.
_VAGUE = 0.5
#: A header word this long or longer may be a synonym cut short (``observ``, ``mutuel``).
_MIN_PREFIX = 5


def fold(header: str, camel: bool = True) -> str:
    """Fold a header to lower-case ascii words: ``'N° SS'`` -> ``'n ss'``."""
    text = header.strip().replace("ß", "ss")  # German sharp s has no decomposition
    # "Nº", "N.º" (Spanish, Portuguese ordinal o) are "N°": a number sign, not a word "o".
    text = re.sub(r"(?<=[Nn])\.?º", "°", text)
    spaced = _CAMEL.sub(" ", text) if camel else text
    decomposed = unicodedata.normalize("NFKD", spaced)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub(" ", ascii_only.lower()).strip()


def is_meaningless(header: str) -> bool:
    """Whether a header says nothing (``col_3``, ``Unnamed: 2``, empty)."""
    folded = fold(header)
    return not folded or bool(_MEANINGLESS.match(folded))


def names_registry(header: str) -> bool:
    """Whether a header names a registry number without a label of its own (SIREN, VAT)."""
    words = tuple(fold(header).split())
    return any(_contains(words, tuple(phrase.split())) for phrase in REGISTRY_NUMBERS)


#: Words naming a provider as the owner of a contact value (``tel labo``, ``adresse du
#: médecin``, ``orc_facility_address``): the owner words of :data:`OWNERS` and the plain
#: names of a lab, an establishment or a doctor.
_PROVIDER_OWNERS: dict[str, str] = {
    **{word: label for word, label in OWNERS.items() if label.startswith("provider.")},
    **dict.fromkeys(
        ["lab", "laboratory", "facility", "clinic", "clinique", "hopital", "hospital", "lbm"]
        + ["organisation", "organization", "etablissement", "cabinet"],
        "provider.organisation",
    ),
    **dict.fromkeys(["practitioner", "prescriber", "dr"], "provider.physician"),
}


def provider_owner(header: str) -> str | None:
    """The provider label a header names as the owner of its values (``telephone du
    laboratoire``: ``provider.organisation``), or None."""
    for word in _singular(tuple(fold(header).split())):
        if word in _PROVIDER_OWNERS:
            return _PROVIDER_OWNERS[word]
    return None


@cache
def _synonym_index() -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """label -> [(words, highest score)]; ``~`` marks a vague synonym ('date', 'code')."""
    return {
        label: [
            (tuple(s.lstrip("~").split()), _VAGUE if s.startswith("~") else 1.0) for s in synonyms
        ]
        for label, synonyms in SYNONYMS.items()
    }


def _singular(words: tuple[str, ...]) -> tuple[str, ...]:
    """Drop a plural ``s`` (``Given Names`` -> ``given name``); synonyms keep theirs."""
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") and w[-2] != "s" else w for w in words)


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _close(word: str, target: str) -> bool:
    """One small typo apart, or cut short, for words long enough to say which word they are."""
    if len(word) >= _MIN_PREFIX and len(target) > len(word) and target.startswith(word):
        return True
    if len(word) < 5 or len(target) < 5 or abs(len(word) - len(target)) > 1:
        return False
    return SequenceMatcher(None, word, target).ratio() >= 0.8


def header_scores(header: str) -> dict[str, float]:
    """Score in 0..1 for every label the header may mean (labels it cannot mean omitted)."""
    if is_meaningless(header):
        return {}
    scores: dict[str, float] = {}
    for folded in {fold(header), fold(header, camel=False)}:
        words = tuple(folded.split())
        for variant in {words, _singular(words)}:
            for label, score in _scores(variant).items():
                scores[label] = max(scores.get(label, 0.0), score)
    return scores or _abbreviated_number(fold(header))


#: Words that say "number of" in a header (``N°``, ``No.``, ``Nr.``, ``#`` folds away).
_NUMBER_WORDS = frozenset(["n", "no", "nr", "num", "nro", "numero", "number", "nummer"])
#: Labels of numbers a header may abbreviate.
_NUMBER_LABELS = ("id.internal", "insurance.member_id", "id.nir")
#: An abbreviation this long or longer may be tried against the synonyms' words.
_MIN_ABBREVIATION = 3
#: What an abbreviation found this way weighs: a hint for the values to confirm.
_ABBREVIATION_SCORE = 0.6


def _abbreviated_number(folded: str) -> dict[str, float]:
    """``N° adh``, ``Dossier-Nr.``: a number-of word beside one abbreviated word that
    begins a single synonym word of one kind of number only (``adh`` -> ``adherent``)."""
    words = folded.split()
    rest = [w for w in words if w not in _NUMBER_WORDS]
    if len(rest) != 1 or len(words) == 1 or len(rest[0]) < _MIN_ABBREVIATION:
        return {}
    found = {
        label
        for label in _NUMBER_LABELS
        for phrase in SYNONYMS[label]
        for word in phrase.lstrip("~").split()
        if word.startswith(rest[0]) and word not in _NUMBER_WORDS
    }
    return {found.pop(): _ABBREVIATION_SCORE} if len(found) == 1 else {}


@lru_cache(maxsize=8192)
def _scores(words: tuple[str, ...]) -> dict[str, float]:
    """Scores of one folded header (cached: archives repeat the same headers member after
    member; callers never change the dict returned)."""
    meaningful = tuple(w for w in words if w not in FILLER) or words
    # Cheap gates that keep a wide table linear in its columns, not in columns x synonyms:
    # a phrase can stand in the header only if all its words do, and a typo or a cut-short
    # word needs a header word of at least five letters (see _close).
    present = set(words)
    fuzzy = any(len(w) >= _MIN_PREFIX for w in meaningful)
    scores: dict[str, float] = {}
    for label, phrases in _synonym_index().items():
        best = 0.0
        for phrase, ceiling in phrases:
            score = 0.0
            if not fuzzy and not present.issuperset(phrase):
                continue
            if phrase in (words, meaningful):
                score = 1.0
            elif present.issuperset(phrase) and (
                _contains(words, phrase) or _contains(meaningful, phrase)
            ):
                # The more of the header the synonym explains, the surer.
                score = 0.55 + 0.4 * len(phrase) / len(meaningful)
            elif not fuzzy:
                continue
            elif len(phrase) == 1 and any(_close(w, phrase[0]) for w in meaningful):
                score = 0.5 + 0.3 / len(meaningful)
            elif len(phrase) == len(meaningful) > 1 and all(
                w == p or _close(w, p) for w, p in zip(meaningful, phrase, strict=True)
            ):
                score = 0.85
            best = max(best, score * ceiling)
        if best:
            scores[label] = min(best, 1.0)
    for word in meaningful:
        owner = OWNERS.get(word)
        if owner is None:
            continue
        # "finess_labo" is the lab's FINESS: a kind of value named beside the owner wins.
        named_kind = any(
            score >= 0.7 and not label.startswith("person.") and label != owner
            for label, score in scores.items()
        )
        if named_kind:
            if owner in scores:
                scores[owner] *= 0.6  # it says whose value it is, not what
        else:
            scores[owner] = max(scores.get(owner, 0.0), 0.9)
        for label in list(scores):
            if label.startswith("person.") and label != owner:
                scores[label] *= 0.5
    return scores
