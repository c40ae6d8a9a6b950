"""Person names that SQL cannot take apart: whole-name fields, phonetic keys.

Both run over *distinct* values (see :mod:`ariane.resolve.distinct`), so a leak of half a
million rows pays for each different name once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import jellyfish

from ariane.names import faker_names

# Titles before a name; they say nothing about which word is the last name.
_TITLES = frozenset(
    ["M", "MR", "MME", "MLLE", "MADAME", "MONSIEUR", "MADEMOISELLE", "DR", "DOCTEUR", "PR"]
    + ["MS", "MRS", "MISS"]
)
# A usage-name marker and the name after it stay with the last name ("X épouse Y").
_MARKERS = frozenset(["NEE", "NE", "EPOUSE", "EPSE", "EP", "VEUVE", "VVE", "DITE", "DIT"])
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)


def fold(word: str) -> str:
    """Upper case without accents, as the SQL name normaliser does."""
    decomposed = unicodedata.normalize("NFKD", word.upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def first_name_lexicon() -> frozenset[str]:
    """Folded first names known to Faker's person providers (several locales)."""
    firsts = faker_names()[0]
    names = {fold(part) for first in firsts for part in re.split(r"[\s-]+", first) if part}
    last_names = {fold(name) for name in faker_names(("fr_FR",))[1]}
    # A word that is both (MARTIN, LAURENT) gives no cue.
    return frozenset(names - last_names)


def _is_upper_word(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) > 1 and all(ch.isupper() for ch in letters)


def split_full_name(value: str | None) -> tuple[str | None, str | None]:
    """``(first_name, last_name)`` of a whole-name field, raw (not yet normalised).

    Cues in order: a comma ("DUPONT, Jean"), the case of the words ("DUPONT Jean",
    "Jean-Pierre LE GALL"), a lexicon of first names; when nothing tells, the French
    administrative order, last name first. A usage-name marker and the word after it stay
    with the last name ("Marie DUPONT épouse MARTIN").
    """
    if value is None or not value.strip():
        return None, None
    if "," in value:
        before, _, after = value.partition(",")
        return (after.strip() or None), (before.strip() or None)
    words = list(_WORD.findall(value))
    while words and fold(words[0]).rstrip(".") in _TITLES and len(words) > 1:
        words = words[1:]
    if not words:
        return None, None
    tail: list[str] = []
    for i, word in enumerate(words):
        if fold(word) in _MARKERS and 0 < i < len(words) - 1:
            tail, words = words[i : i + 2], words[:i] + words[i + 2 :]
            break
    first_words, last_words = _split_words(words)
    last_words += tail
    return (" ".join(first_words) or None), (" ".join(last_words) or None)


def _split_words(words: list[str]) -> tuple[list[str], list[str]]:
    if len(words) == 1:
        return [], words
    upper = [_is_upper_word(w) for w in words]
    if any(upper) and not all(upper):
        # The upper-case run is the last name, wherever it stands.
        first_upper = upper.index(True)
        run_end = first_upper
        while run_end < len(words) and upper[run_end]:
            run_end += 1
        last = words[first_upper:run_end]
        return words[:first_upper] + words[run_end:], last
    lexicon = first_name_lexicon()
    starts_first = fold(words[0]) in lexicon
    ends_first = fold(words[-1]) in lexicon
    if starts_first and not ends_first:
        # "Jean Pierre Dupont": the known first names lead, the rest is the last name.
        cut = 1
        while cut < len(words) - 1 and fold(words[cut]) in lexicon:
            cut += 1
        return words[:cut], words[cut:]
    cut = len(words) - 1
    while cut > 1 and fold(words[cut - 1]) in lexicon:
        cut -= 1
    return words[cut:], words[:cut]


def phonetic(name_key: str | None) -> str | None:
    """A Soundex code of a normalised name, for blocking candidate pairs."""
    if not name_key:
        return None
    return jellyfish.soundex(name_key)
