"""Label one column from a sample of its values, its header and its neighbours.

Values decide, headers add confidence: every label gets a *value score* from the pass
rates of the checks of :mod:`ariane.classify.validators` over a sample (with strong checks
such as the NIR key or an IBAN worth more than shapes such as "looks like a name"), plus
``HEADER_WEIGHT`` times what the header says (:mod:`ariane.classify.headers`). A header
alone can win only where values cannot tell (a member number, an Australian suburb), and
a checksum right on nearly every value (FINESS, NIR, IBAN...) silences the headers of other
labels: FINESS numbers under "Etablissement" are FINESS numbers.
Row-aligned samples then let columns vouch for each other: the date column whose year
and month agree with the NIRs of the same rows is the birth date.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ariane import excel, nir
from ariane.classify import headers, lexicon, validators

HEADER_WEIGHT = 0.7
#: Below this, a column is "other": nothing personal or sensitive was recognised.
OTHER_SCORE = 0.2
#: Distinct values every check sees before the rest of the sample is checked.
_PROBE = 100
#: Distinct values among this many sampled values or fewer make a column categorical.
_CATEGORICAL_DISTINCT = 12

SPECIAL_LABELS = frozenset(
    {
        "health.blood_group",
        "health.visit_date",
        "health.note",
        "health.condition",
        "health.pregnancy",
        "health.hiv",
        "health.test",
    }
)

#: Labels whose values carry a checksum, and its check: a key right on nearly every value
#: says what the column holds better than any header synonym of a free-text label can.
CHECKSUM_CHECKS: dict[str, str] = {
    "id.nir": "nir",
    "provider.finess": "finess",
    "provider.rpps": "rpps",
    "provider.adeli": "adeli",
    "finance.iban": "iban",
}
#: Checksum pass rates from which headers of other labels start to fade, and at which
#: they say nothing more (a Luhn key is right by chance on one random number in ten).
_CHECKSUM_DOUBT = 0.8
_CHECKSUM_SURE = 0.95
#: The registry numbers of an owner: a header naming the owner of a column of such numbers
#: ("Etablissement" over FINESS numbers, "Médecin" over ADELI ones) still confirms them.
NUMBERS_OF_OWNER: dict[str, tuple[str, ...]] = {
    "provider.organisation": ("provider.finess",),
    "provider.physician": ("provider.rpps", "provider.adeli"),
}

#: The check whose pass rate is a label's ``match_rate`` (first available wins).
MATCH_CHECKS: dict[str, tuple[str, ...]] = {
    "id.nir": ("nir", "nir_digits_lost"),
    "provider.finess": ("finess",),
    "provider.rpps": ("rpps",),
    "provider.adeli": ("adeli",),
    "finance.iban": ("iban",),
    "contact.phone": ("phone", "phone_without_zero"),
    "contact.email": ("email",),
    "contact.postal_code": ("postal_code_fr", "postal_code_shape"),
    "contact.city": ("commune", "name_shape"),
    "contact.street": ("street",),
    "contact.address": ("address",),
    "health.blood_group": ("blood_group",),
    "person.sex": ("sex",),
    "person.birth_date": ("date", "serial_date"),
    "health.visit_date": ("date", "serial_date"),
    "person.first_name": ("first_name",),
    "person.last_name": ("name_shape",),
    "person.full_name": ("full_name",),
    "provider.physician": ("physician", "name_shape"),
    "provider.organisation": ("organisation", "siren"),
    "insurance.insurer": ("insurer",),
    "health.test": ("test",),
    "health.condition": ("condition",),
    "health.hiv": ("hiv_value", "yes_no"),
    "health.pregnancy": ("pregnancy_value", "yes_no"),
    "health.note": ("note",),
    "id.internal": ("identifier",),
    "insurance.member_id": ("member_card", "identifier"),
}


@dataclass
class ColumnSample:
    """What is known about one column before labelling it."""

    name: str
    values: list[str]  # non-null sampled values, stripped
    null_rate: float
    uniqueness: float  # distinct / non-null over the whole column (approximate)
    rates: dict[str, float] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    distinct: int = 0
    #: The values in which the engine found a special-category mention (its regular
    #: expressions read the lexicon as Python does); None: :func:`measure` looks itself.
    mentioning: frozenset[str] | None = None


@dataclass
class ColumnDecision:
    """A label, its score and the evidence behind it."""

    label: str
    confidence: float
    match_rate: float
    scores: dict[str, float]
    evidence: dict[str, Any]


def measure(sample: ColumnSample) -> None:
    """Fill the pass rate of every check, the distinct count and the years of the dates."""
    values = sample.values
    sample.distinct = len(set(values))
    if not values:
        return
    # Checks run on distinct values, weighted by their counts: categorical columns are fast.
    counts = Counter(values)
    total = len(values)
    probe = list(counts)[:_PROBE]
    for name, check in validators.CHECKS.items():
        # A check no probed value passes would score ~0 anyway: skip the rest of the sample.
        if not any(check(v) for v in probe):
            sample.rates[name] = 0.0
            continue
        sample.rates[name] = sum(n for v, n in counts.items() if check(v)) / total
    # Mentions are rare even in a note column: always checked on the whole sample.
    mentioning = sample.mentioning
    if mentioning is None:
        mentioning = frozenset(v for v in counts if lexicon.categories_in(v))
    note_hits = sum(n for v, n in counts.items() if v in mentioning)
    sample.rates["lexicon"] = note_hits / total
    sample.rates["note"] = (
        sum(n for v, n in counts.items() if v in mentioning or validators.is_free_text(v)) / total
    )
    sample.years = [d.year for v in values if (d := validators.parse_date(v)) is not None]
    if sample.rates["serial_date"] > sample.rates["date"]:
        # Dates a spreadsheet saved as serial numbers (31458): their years, for the split
        # between birth and visit dates.
        sample.years = [d.year for v in values if (d := excel.serial_date(v)) is not None]


def _date_split(sample: ColumnSample) -> tuple[float, float]:
    """How much the parsed dates look like birth dates vs visit dates (each 0..1)."""
    if len(sample.years) < 3:
        return 0.5, 0.5
    years = sorted(sample.years)
    low = years[len(years) // 10]
    high = years[(len(years) * 9) // 10]
    spread = high - low
    # Birth dates spread over decades; visits cluster over a few recent years.
    birth = min(1.0, max(0.0, (spread - 4) / 12))
    if low >= date.today().year - 20:
        # Nine in ten born in the last twenty years is a children's file at most; dates
        # spread over a decade or two of recent years are far more often visits.
        birth *= 0.4
    recent = statistics.median(years) >= date.today().year - 25
    visit = (1.0 - birth) if recent else 0.2 * (1.0 - birth)
    return max(birth, 0.15), max(visit, 0.15)


def value_scores(sample: ColumnSample) -> dict[str, float]:
    """Score every label from the values alone (0..~1)."""
    r = sample.rates
    if not sample.values:
        return {}
    n = len(sample.values)
    categorical = n >= 100 and sample.distinct <= _CATEGORICAL_DISTINCT
    few_distinct = n >= 100 and sample.distinct / n < 0.05
    birth, visit = _date_split(sample)
    date_rate = max(r["date"], _serial_date_rate(sample))
    # Shaped like a name, once the words other checks recognise are set aside.
    claimed = max(
        r[c] for c in ("yes_no", "sex", "blood_group", "insurer", "organisation", "test", "unit")
    )
    name_like = (
        max(0.0, r["name_shape"] - claimed) * (1.0 - r["first_name"]) * (1.0 - r["commune"] * 0.5)
    )
    scores = {
        # A NIR rounded by a spreadsheet (2,85057E+14) still says a NIR leaked.
        "id.nir": max(r["nir"], 0.8 * r["nir_shape"], 0.85 * r["nir_digits_lost"]),
        "provider.finess": 0.9 * r["finess"] * (1.0 if sample.uniqueness < 0.5 else 0.8),
        "provider.adeli": 0.8 * r["adeli"],
        "provider.rpps": r["rpps"],
        "finance.iban": r["iban"],
        # Nine digits are also ADELI, SIREN or FINESS numbers: their Luhn keys say which.
        "contact.phone": max(
            r["phone"],
            0.8 * _phone_without_zero(r) * (1 - max(r["adeli"], r["siren"], r["finess"])),
        ),
        "contact.email": r["email"],
        "contact.postal_code": max(r["postal_code_fr"], 0.35 * r["postal_code_shape"]),
        "contact.city": 0.9 * r["commune"],
        "contact.street": 0.9 * r["street"],
        "contact.address": r["address"],
        "health.blood_group": _closed(r["blood_group"]) * (1.0 if sample.distinct <= 16 else 0.5),
        "person.sex": _closed(r["sex"]) * (1.0 if sample.distinct <= 8 else 0.4),
        "person.birth_date": date_rate * birth,
        "health.visit_date": date_rate * visit,
        "person.first_name": 0.9 * r["first_name"],
        "person.last_name": 0.5 * name_like,
        "person.full_name": 0.9 * r["full_name"],
        # A physician's name may come without "Dr": names support it, a header decides.
        "provider.physician": max(
            r["physician"],
            0.55 * r["full_name"],
            0.3 * max(0.0, r["name_shape"] - claimed) * (1 - r["commune"]),
        ),
        # A SIREN/SIRET names an organisation, but every Luhn-valid FINESS or ADELI is
        # also a valid SIREN: the header has to confirm it.
        "provider.organisation": max(r["organisation"], 0.5 * r["siren"]),
        "insurance.insurer": 0.9 * r["insurer"],
        "health.test": max(0.85 * r["test"], 0.9 * r["loinc"]),
        "health.condition": 0.85
        * r["condition"]
        * (1.0 if sample.uniqueness < 0.5 else 0.5)
        * (0.3 if _one_prefix(sample) else 1.0),
        "health.hiv": max(0.8 * r["hiv_value"], 0.15 * r["yes_no"]),
        "health.pregnancy": max(0.9 * r["pregnancy_value"], 0.15 * r["yes_no"]),
        "health.note": _note_score(sample),
        # Identifiers tell records apart: a code shared by most rows (an age, a count) is not.
        # Dates pass the identifier shape (digits and separators) but are dates.
        # Nor are test codes (2345-7) and measures (3,9-5,8): they tell no record apart.
        # (Serial dates are not subtracted: integers are ids unless they read as dates of
        # births or visits, which the date labels then score higher.)
        "id.internal": max(0.0, r["identifier"] - r["date"] - max(r["loinc"], r["measurement"]))
        * min(0.65, 0.1 + 0.6 * sample.uniqueness),
        # Most membership numbers only a header, or the columns beside, can tell; the
        # numbers of German insurers and of health insurance cards have a check digit.
        "insurance.member_id": max(0.15 * r["identifier"], 0.9 * r["member_card"]),
        # Measures (3,9-5,8; 72,5) and units (mmol/L) name nothing personal: a vague header
        # ("Valeurs de référence") does not make them identifiers.
        "other": max(OTHER_SCORE, 0.5 * max(r["measurement"], r["unit"])),
    }
    if few_distinct:
        # Patients' names rarely repeat twenty times in a file; the names of a lab's
        # physicians do.
        scores["provider.physician"] = max(
            scores["provider.physician"], 0.85 * max(r["full_name"], r["physician"])
        )
    if categorical or few_distinct:
        # A handful of values repeated over many rows is not a name, an address or an id.
        for label in (
            "person.last_name",
            "person.first_name",
            "person.full_name",
            "contact.street",
            "contact.address",
            "contact.phone",
            "contact.email",
            "id.nir",
            "id.internal",
            "finance.iban",
            "person.birth_date",
        ):
            scores[label] *= 0.5 if categorical else 0.8
    return scores


#: Distinct values from which codes all of one letter are a numbering, not diagnoses.
_PREFIXED_NUMBERING = 20


def _one_prefix(sample: ColumnSample) -> bool:
    """Many distinct codes all behind one letter (P104512, P104513...): a numbering with a
    prefix. Diagnoses spread over the chapters of ICD-10 (a letter each)."""
    return (
        sample.distinct >= _PREFIXED_NUMBERING and len({v[:1].upper() for v in sample.values}) == 1
    )


def _phone_without_zero(r: dict[str, float]) -> float:
    """Phone numbers whose leading 0 a spreadsheet dropped. Mobiles (6, 7) tell: nine
    digits from 1 to 5 alone may be any number; beside mobiles, they are landlines."""
    mobiles = r["mobile_without_zero"]
    return r["phone_without_zero"] if mobiles >= _MOBILES_AMONG_PHONES else mobiles


#: Share of mobiles among phone numbers that lost their zero before landlines count too.
_MOBILES_AMONG_PHONES = 0.2
#: Share of values read as serial dates from which a column may be one of dates.
_SERIAL_SHARE = 0.9
#: Share of consecutive numbers from which integers count something rather than days.
_COUNTER_STEPS = 0.5


def _serial_date_rate(sample: ColumnSample) -> float:
    """Share of Excel serial dates (31458), unless the integers are something else: postal
    codes (35000 is also a date), or a counter (patient numbers 10001, 10002... never
    repeat and follow each other, where birth dates scatter and visit days repeat)."""
    r = sample.rates
    if r["serial_date"] < _SERIAL_SHARE:
        return 0.0  # random integers of 4-5 digits often pass; nearly all dates do
    rate = r["serial_date"] * (1.0 - r["postal_code_fr"])
    numbers = sorted({int(v) for v in sample.values if v.isdigit()})
    steps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b - a == 1)
    counter = sample.uniqueness >= 0.95 and steps >= _COUNTER_STEPS * max(1, len(numbers) - 1)
    return 0.0 if counter else 0.9 * rate


def _closed(rate: float) -> float:
    """A closed vocabulary (sex codes, blood groups) holds nearly every value, or none.

    Half the values passing (the 1 of a 0/1 flag as a sex code) is a coincidence.
    """
    return rate if rate >= 0.8 else 0.2 * rate


def _note_score(sample: ColumnSample) -> float:
    """Free text, or any special-category mention at all, says 'clinical note'."""
    r = sample.rates
    words = statistics.mean(len(v.split()) for v in sample.values)
    # Shares claimed by structured checks (street lines, lab names...) are not free text.
    claimed = max(
        r[c]
        for c in (
            "street", "address", "organisation", "physician", "insurer", "date", "full_name",
            "unit", "measurement",
        )
    )  # fmt: skip
    text_like = max(0.0, r["note"] - claimed) * min(1.0, words / 3)
    # Lexicon hits are rare in any other kind of column: a few percent already count.
    mentions = min(1.0, 0.5 + 5 * r["lexicon"]) if r["lexicon"] >= 0.01 else 0.0
    return max(0.8 * text_like, mentions * max(r["note"], 0.6))


def decide(sample: ColumnSample) -> ColumnDecision:
    """Pick the label of a measured column: value evidence first, header second."""
    header = headers.header_scores(sample.name)
    if not sample.values:
        scores = {"other": OTHER_SCORE}
        for label, score in header.items():
            scores[label] = HEADER_WEIGHT * score * 0.5  # an empty column: header only
    else:
        scores = value_scores(sample)
        dominance = _checksum_dominance(sample)
        for label, score in header.items():
            if label in CHECKSUM_CHECKS:
                scores[label] = scores.get(label, 0.0) + HEADER_WEIGHT * score
                continue
            scores[label] = scores.get(label, 0.0) + HEADER_WEIGHT * (1.0 - dominance) * score
            # Naming whose number it is confirms the owner's kind of number, more weakly
            # than naming the number itself.
            for number in NUMBERS_OF_OWNER.get(label, ()):
                scores[number] = scores.get(number, 0.0) + HEADER_WEIGHT * dominance * score / 2
        if _digit_codes_named_otherwise(sample, header):
            scores["person.sex"] *= _DIGIT_SEX_NAMED_OTHERWISE
    decision = _decision(sample, scores, header)
    _owned_by_a_provider(decision, sample)
    return decision


def _owned_by_a_provider(decision: ColumnDecision, sample: ColumnSample) -> None:
    """A phone, an address or an email under a header naming a provider (``tel labo``,
    HPRIM's ``h_sending_lab_address``) is the provider's, not a patient's: a doctor's
    names the doctor (``provider.physician``); a lab's or an establishment's is no
    person's data (``other``) and never makes a patient's contact exposed or linked."""
    if not decision.label.startswith("contact."):
        return
    owner = headers.provider_owner(sample.name)
    if owner is None:
        return
    decision.evidence["owner"] = owner
    label = owner if owner == "provider.physician" else "other"
    relabel(decision, label, sample, f"a {decision.label} of a provider")


#: What sex codes written as digits keep of their score under a header naming another
#: thing: ``1`` and ``2`` are as often a lab's, a site's or a visit's number.
_DIGIT_SEX_NAMED_OTHERWISE = 0.3
#: Header score from which a header names a thing (``labor_id``: an id, an organisation).
_NAMES_A_THING = 0.3


def _digit_codes_named_otherwise(sample: ColumnSample, header: dict[str, float]) -> bool:
    """Sex codes written as digits (``1``/``2``) under a header that names something else
    and not sex (``labor_id``, ``site_id``): the digits prove nothing, the header decides.
    Letters (``M``/``F``, ``homme``) are sex codes whatever the header says."""
    if "person.sex" in header or sample.rates.get("sex", 0.0) < 0.8:
        return False
    if not any(score >= _NAMES_A_THING for score in header.values()):
        return False
    return all(v.strip().isdigit() for v in sample.values)


def _checksum_dominance(sample: ColumnSample) -> float:
    """How far the checksum keys of the values overrule headers of other labels (0..1).

    FINESS numbers under "Etablissement" are still FINESS numbers: a key right on nearly
    every value cannot be chance, while the header only says whose number it is. Only a
    header naming another number of the same shape keeps its say: every Luhn-keyed
    FINESS is also a valid SIREN, so a "SIREN" header is the only way to tell them apart.
    """
    if headers.names_registry(sample.name):
        return 0.0
    rate = max(sample.rates.get(check, 0.0) for check in CHECKSUM_CHECKS.values())
    return min(1.0, max(0.0, (rate - _CHECKSUM_DOUBT) / (_CHECKSUM_SURE - _CHECKSUM_DOUBT)))


def _decision(
    sample: ColumnSample, scores: dict[str, float], header: dict[str, float]
) -> ColumnDecision:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    label, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < OTHER_SCORE:
        label, top = "other", OTHER_SCORE
    margin = (top - second) / top if top > 0 else 0.0
    confidence = round(min(1.0, top) * (0.5 + 0.5 * margin), 3)
    evidence = {
        "header": sample.name,
        "header_scores": {k: round(v, 3) for k, v in sorted(header.items(), key=lambda i: -i[1])},
        "validator_pass_rates": {k: round(v, 3) for k, v in sample.rates.items() if v > 0},
        "sampled_values": len(sample.values),
        "distinct_in_sample": sample.distinct,
    }
    return ColumnDecision(label, confidence, match_rate(label, sample), scores, evidence)


def match_rate(label: str, sample: ColumnSample) -> float:
    """Share of sampled non-null values that validate as ``label`` (1.0 for ``other``)."""
    checks = MATCH_CHECKS.get(label)
    if checks is None:
        return 1.0
    rates = [sample.rates.get(c, 0.0) for c in checks]
    return round(max(rates) if rates else 0.0, 4)


def runners_up(decision: ColumnDecision, count: int = 3) -> list[dict[str, Any]]:
    """The next best labels and their scores."""
    ranked = sorted(decision.scores.items(), key=lambda item: -item[1])
    return [
        {"label": label, "score": round(score, 3)}
        for label, score in ranked
        if label != decision.label
    ][:count]


def relabel(decision: ColumnDecision, label: str, sample: ColumnSample, why: str) -> None:
    """Change a decision's label on evidence from other columns, saying why."""
    decision.evidence.setdefault("cross_column", []).append(why)
    decision.label = label
    decision.match_rate = match_rate(label, sample)


#: Share of a column's values that make it a column of units, or of measured results.
_RESULTS_SHARE = 0.8
#: Share of decimals among results (integers alone are ages, counts, years).
_MEASURED_SHARE = 0.2


def results_beside_units(measured: list[tuple[ColumnSample, ColumnDecision]]) -> None:
    """In a results table, a column of tests and one of units, the numbers left unlabelled
    beside them are the results (``Value``: ``5,4``, ``78``): a patient's test results."""
    if not any(d.label == "health.test" for _s, d in measured):
        return
    if not any(s.rates.get("unit", 0.0) >= _RESULTS_SHARE for s, _d in measured):
        return
    for sample, decision in measured:
        numbers = sample.rates.get("result_number", 0.0) >= _RESULTS_SHARE
        # Measured values have decimals here and there; ages and counts never do.
        measured_values = sample.rates.get("measurement", 0.0) >= _MEASURED_SHARE
        if decision.label == "other" and numbers and measured_values:
            relabel(decision, "health.test", sample, "numbers beside tests and units: results")


#: A header this sure of "the patient's number" keeps it beside an insurer.
_SURE_HEADER = 0.7


def member_numbers_beside_insurers(measured: list[tuple[ColumnSample, ColumnDecision]]) -> None:
    """Of a table's two patient-like numbers, the membership number at an insurer: the one
    right beside the insurer's name (``Kasse | Vers.-Nr.``, ``Mutuelle | N° adh``), else,
    with no insurer beside (no header, or one in an unknown language), the one written in
    the several numbering schemes of several insurers, the other being in one scheme (the
    file's own patient numbers). A header sure of a patient number keeps it."""
    internal = [i for i, (_s, d) in enumerate(measured) if d.label == "id.internal"]
    if len(internal) < 2:
        return
    insurers = {i for i, (_s, d) in enumerate(measured) if d.label == "insurance.insurer"}
    beside = [i for i in internal if {i - 1, i + 1} & insurers]
    why = "a second number beside the insurer"
    if len(beside) != 1:
        schemes = {i: numbering_schemes(measured[i][0].values) for i in internal}
        mixed = [i for i in internal if schemes[i] >= _MEMBER_SCHEMES]
        own = [i for i in internal if schemes[i] < _MEMBER_SCHEMES]
        if len(mixed) != 1 or not own:
            return
        beside, why = mixed, "numbers of several insurers' schemes beside the file's own"
    sample, decision = measured[beside[0]]
    if headers.header_scores(sample.name).get("id.internal", 0.0) >= _SURE_HEADER:
        return
    relabel(decision, "insurance.member_id", sample, why)


#: Numbering schemes in one column from which it gathers the numbers of several issuers.
_MEMBER_SCHEMES = 3
#: Share of a column's values a scheme must hold to count (a few odd values do not).
_SCHEME_SHARE = 0.05
_LEADING_LETTERS = re.compile(r"[A-Za-z]*")


def numbering_schemes(values: list[str]) -> int:
    """How many numbering schemes a column's values follow, each held by a share of them:
    a scheme is the letters a number begins with and the shape of the rest (digits,
    letters, separators, length; numbers of fewer than eight digits counted 1..N, whatever
    their length). One system numbers its patients in one scheme (``P`` and six digits;
    or 1..N); the members of several insurers come in several (``MG0512345678``, ``HA...``;
    ``1234567890123``, ``0012345678``...)."""
    if not values:
        return 0
    shapes = Counter(_scheme(v) for v in values)
    return sum(1 for n in shapes.values() if n >= _SCHEME_SHARE * len(values))


#: Digits from which a number is issued in a fixed length: shorter, it is counted (1..N).
_ISSUED_DIGITS = 8


def _scheme(value: str) -> tuple[str, str]:
    text = value.strip()
    if text.isdigit() and len(text) < _ISSUED_DIGITS and not text.startswith("0"):
        return "", "counted"  # 7, 42, 815: one counter, whatever its length
    prefix = _LEADING_LETTERS.match(text)
    letters = prefix.group() if prefix else ""
    rest = text[len(letters) :]
    return letters.upper(), "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in rest)


def nir_agreement(
    nirs: list[str | None], sexes: list[str | None] | None, births: list[str | None] | None
) -> float | None:
    """Share of valid NIRs that agree with sex and birth date in the same rows."""
    verdicts = []
    for i, value in enumerate(nirs):
        if not value or not nir.is_valid_nir(value):
            continue
        sex = sexes[i] if sexes else None
        written = births[i] if births else None
        birth = validators.parse_date(written) if written else None
        verdict = nir.nir_agrees(value, sex, birth)
        if verdict is not None:
            verdicts.append(verdict)
    return sum(verdicts) / len(verdicts) if verdicts else None


def birth_agreement(nirs: list[str | None], dates: list[str | None]) -> float | None:
    """Share of rows whose NIR's birth year and month match this date column."""
    verdicts = []
    for value, raw in zip(nirs, dates, strict=True):
        if not value or not raw or not nir.is_valid_nir(value):
            continue
        parsed = validators.parse_date(raw)
        if parsed is None:
            continue
        verdicts.append(bool(nir.nir_agrees(value, None, parsed)))
    return sum(verdicts) / len(verdicts) if len(verdicts) >= 5 else None
