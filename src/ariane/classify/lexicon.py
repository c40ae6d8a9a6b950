"""The curated lexicon of special-category mentions in French clinical shorthand.

Every entry is a regular expression over *normalised* text (lower case, accents
stripped: what DuckDB's ``strip_accents(lower(x))`` gives), written in the subset that
RE2 (DuckDB) and Python's ``re`` read alike. Each entry says why it is there. Rules:

- Match whole words (``\\b``) so place names and unrelated words that merely contain a
  term do not count: ``neo`` alone is a neoplasm, *Néolithique* or *Néoules* are not;
  ``K`` counts only before an organ (``K sein``), so *Kermaria* does not.
- Long words (8 letters or more) also match with one typo (a letter dropped, doubled,
  swapped with its neighbour, or replaced): notes are typed in a hurry. Short words do
  not, as one typo would make them other words.
- Any polarity counts (CONTRACT.md): ``VIH-`` or ``sérologie VIH négative`` is an HIV
  mention, since an HIV test is itself sensitive.
- Truncations of long terms count (``mucovisc.``, ``drépano``): entries for them are
  prefixes.
- A therapy is also a treatment: ``chimio`` is cancer *and* treatment, ``trithérapie``
  HIV and treatment. The word ``traitement`` alone is not (``traitement du dossier`` is
  paperwork): it counts in medical phrasing only (``sous traitement``, ``traitement
  par``, ``ttt``).
- :data:`EXCLUSIONS` are removed before matching: phrases that contain a term but mean
  something else (``dans l'enceinte du CHU`` is a building's enclosure).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

#: category -> [(pattern, why)]; ``~word`` means "this word, or one typo away".
LEXICON: dict[str, list[tuple[str, str]]] = {
    "hiv": [
        (
            r"\b(?:vih|hiv)(?:[ -]?[12])?\b",
            "VIH/HIV, VIH1/VIH2, also in VIH+ / VIH- (any polarity)",
        ),
        (
            r"\bsero[ -]?po(?:s|\b)",
            "séropositif/séropositive/séropo: in French notes it means HIV+",
        ),
        (r"~seropositif", "typos of séropositif"),
        (r"\bsida\b", "SIDA (AIDS)"),
        (r"\baids\b", "AIDS in English notes"),
        (r"\btrith?erapie", "trithérapie: the HIV triple therapy"),
        (r"\barv\b", "ARV: antiretrovirals"),
        (r"\bantiretrovir", "antirétroviraux: HIV treatment"),
        (r"\bcd4\b", "CD4 count: HIV follow-up"),
        (r"\bpvvih\b", "PVVIH: personne vivant avec le VIH"),
        (
            r"\b(?:truvada|biktarvy|genvoya|triumeq|odefsey|eviplera|atripla|dovato|juluca)\b",
            "HIV drugs by brand name",
        ),
        (r"\bhaart\b|\b(?:on|sous|under) c?art\b", "(H)ART: antiretroviral therapy, 'on ART'"),
    ],
    "pregnancy": [
        (r"\benceinte\b", "enceinte: pregnant"),
        (r"~enceinte", "typos of enceinte"),
        (r"\bgrossesse", "grossesse(s): pregnancy"),
        (r"~grossesse", "typos of grossesse"),
        (r"\b\d{1,2} ?sa\b", "12 SA / 12SA: weeks of amenorrhoea, the way term is written"),
        (r"\bsa ?\+ ?\d", "SA+3: weeks and days of amenorrhoea"),
        (r"\bamenorrhee", "aménorrhée (semaines d'aménorrhée)"),
        (r"\bg\d ?p\d\b", "G2P1: gravida/para notation"),
        (r"\b(?:beta|b)[ -]?hcg\b", "bêta-HCG: the pregnancy test"),
        (r"\bivg\b", "IVG: abortion"),
        (r"\bddr\b", "DDR: date of last menstrual period, recorded to date a pregnancy"),
        (r"\bterme (?:prevu|du|de la grossesse)\b", "terme prévu: expected delivery date"),
        (r"\bpost[ -]?partum\b", "post-partum"),
        (r"\b(?:pre|ante)[ -]?natal", "prénatal/anténatal care"),
        (r"\bobstetri", "obstétrique/obstétrical"),
        (r"\bpregnan", "pregnant/pregnancy in English notes"),
        (r"\bgestation", "gestation/gestationnel"),
        (
            r"\b(?:1er|1e|2e|2eme|3e|3eme|premier|deuxieme|second|troisieme) trimestre\b",
            "trimester of a pregnancy",
        ),
        (r"\bparturiente\b", "parturiente: woman in labour"),
        (r"\bgravid", "gravide/gravidique (and gravid in English): pregnant"),
        (r"\bgestante\b|\b(?:primi|multi|nulli)gest", "gestante, primigeste: pregnant woman"),
        (r"\bhcg\b", "hCG alone or after β (β-HCG): the pregnancy hormone"),
        (r"\baccouch", "accouchement/accouchée: delivery"),
        (r"\bcesarienne\b", "césarienne: caesarean delivery"),
        (r"\bfausse[ -]couche", "fausse couche: miscarriage"),
        (r"\bweeks? pregnant\b|\bexpecting a baby\b", "English phrasing of a term"),
    ],
    "cancer": [
        (r"\bcancer", "cancer, cancéreux"),
        (r"\bcancr", "common typo (cancr)"),
        (
            r"\bk(?:\. ?| )(?:du |de la |de l |des )?(?:sein|seins|colon|prostate|poumon|pulm|"
            r"pancreas|ovaire|uterus|col|vessie|rein|foie|estomac|thyroide|orl|rectum|"
            r"peau|ovarien|mammaire|bronchique|colorectal|gastrique|hepatique)\b",
            "K + organ: 'K sein' is the shorthand for a cancer (K alone is potassium)",
        ),
        (r"\bneo\b", "néo: neoplasm; whole word only, so Néolithique does not count"),
        (r"\bneoplas", "néoplasie/néoplasique"),
        (r"\btumeur", "tumeur"),
        (r"\btumor", "tumor/tumoral"),
        (r"\btumour", "tumour (British spelling)"),
        (r"\bleuka?emi", "leukemia/leukaemia in English notes"),
        (r"\bchemo", "chemo/chemotherapy in English notes"),
        (r"\blnh\b", "LNH: lymphome non hodgkinien"),
        (r"\bhemopathie maligne", "hémopathie maligne: a blood cancer"),
        (r"\bmetasta", "métastase(s)/métastatique"),
        (r"\b(?:adeno)?carcinom", "carcinome/adénocarcinome"),
        (r"\blymphom", "lymphome"),
        (r"\bleucemi", "leucémie"),
        (r"\bmyelom", "myélome"),
        (r"\bmelanom", "mélanome"),
        (r"\bsarcom", "sarcome"),
        (r"\bglioblastom", "glioblastome"),
        (r"\bhodgkin", "maladie de Hodgkin"),
        (r"\bchimi?o", "chimio/chimiothérapie (and the typo chimo); not chimie"),
        (r"\bradioth?erap", "radiothérapie"),
        (r"\bonco(?:log[a-z]*)?\b", "onco/oncologie/oncologue"),
        (r"\bcurietherap", "curiethérapie"),
        (
            r"\b(?:tamoxif[a-z]*|letrozole|femara|anastrozole|arimidex|exemestane|aromasine|"
            r"imatinib|glivec|capecitabine|xeloda|trastuzumab|herceptin|pembrolizumab|"
            r"keytruda|nivolumab|opdivo|cyclophosphamide|endoxan|bevacizumab|avastin)\b",
            "cancer drugs (hormone therapy, targeted therapy, chemotherapy) by name",
        ),
    ],
    "genetic": [
        (r"\bmucovis", "mucoviscidose (cystic fibrosis), and its truncation mucovisc."),
        (r"~mucoviscidose", "typos of mucoviscidose"),
        (r"\bmuco\b", "muco: shorthand for mucoviscidose"),
        (r"\bgenetique", "maladie génétique, test génétique"),
        (r"\bgenetic", "genetic in English notes"),
        (r"\bhereditaire", "héréditaire"),
        (r"\btrisomi", "trisomie"),
        (r"\bt21\b", "T21: trisomy 21"),
        (r"\bdrepano", "drépanocytose (sickle-cell disease), and drépano"),
        (r"\bthalassemi", "thalassémie"),
        (r"\bhemophil", "hémophilie"),
        (r"\bmyopathi", "myopathie"),
        (r"\bbrca ?[12]?\b", "BRCA1/2 mutation"),
        (r"\bx[ -]fragile\b", "syndrome de l'X fragile"),
        (r"\bcaryotype", "caryotype: a genetic test"),
        (r"\bcystic fibrosis\b", "cystic fibrosis in English notes"),
        (r"\bsickle[ -]cell", "sickle-cell disease in English notes"),
        (r"\bdown(?:'s| s|s)? syndrome\b", "Down syndrome (trisomy 21)"),
        (
            r"\b(?:huntington|duchenne|marfan|turner|klinefelter|gaucher|fabry)(?:'s| s|s)? "
            r"(?:disease|syndrome|chorea|dystrophy)\b",
            "eponymous genetic diseases in English phrasing",
        ),
        (r"\bthalass?a?emi", "thalassaemia (British spelling)"),
        (r"\bhaemophil", "haemophilia (British spelling)"),
        (r"\bmuscular dystroph", "muscular dystrophy"),
        (r"\bfragile x\b", "fragile X syndrome in English notes"),
        (r"\b(?:cftr|fmr1|smn1|mthfr)\b", "genes named only in genetic testing"),
        (r"\bhemochromatose", "hémochromatose (hereditary)"),
        (r"\bneurofibromatose", "neurofibromatose"),
        (r"\bphenylcetonuri", "phénylcétonurie"),
        (
            r"\b(?:maladie|syndrome|sd|choree|myopathie|dystrophie) (?:de |d )?"
            r"(?:duchenne|huntington|marfan|turner|klinefelter|steinert|gaucher|fabry)\b",
            "eponymous genetic diseases, only with 'maladie de', 'syndrome de'...: "
            "the eponyms alone are surnames",
        ),
        (
            r"\bmutation (?:d ?une |du gene |du |de )?(?:genetique|du gene|brca|jak2|heterozygote|"
            r"homozygote|cftr|hfe|apc|ret|vhl|facteur v|[a-z]{0,5}\d)",
            "mutation of a gene (not 'mutation professionnelle')",
        ),
    ],
    "treatment": [
        (r"\bavk\b", "AVK: vitamin-K antagonist anticoagulant"),
        (r"\baod\b", "AOD: direct oral anticoagulant"),
        (r"\bsous (?:tt|ttt|traitement|trt)\b", "sous tt/ttt/traitement"),
        (r"\b(?:ttt|trt)\b", "ttt/trt: shorthand for traitement, never paperwork"),
        (
            r"\b(?:tt|traitement|traitemt|traitment|traitemen)s? ?(?::|par\b|de fond|anti|"
            r"hormona|substitut|au long cours|chronique|habituel|medicament|immuno|"
            r"curatif|preventif|en cours (?:par|de|d))",
            "traitement in medical phrasing (traitement par, de fond, anticoagulant...)",
        ),
        (r"\bchimi?o", "chimiothérapie is a treatment (also a cancer mention)"),
        (r"\bradioth?erap", "radiothérapie is a treatment (also a cancer mention)"),
        (r"\btrith?erapie|\barv\b|\bantiretrovir", "HIV therapy is a treatment too"),
        (r"\btreatment\b", "treatment in English notes"),
        (
            r"\b(?:tamoxif[a-z]*|letrozole|femara|anastrozole|arimidex|exemestane|aromasine|"
            r"imatinib|glivec|capecitabine|xeloda|trastuzumab|herceptin|pembrolizumab|"
            r"keytruda|nivolumab|opdivo|cyclophosphamide|endoxan|bevacizumab|avastin)\b",
            "cancer drugs are treatments too",
        ),
        (r"\bhaart\b|\b(?:on|sous|under) c?art\b", "(H)ART: antiretroviral therapy, 'on ART'"),
        (
            r"\b(?:truvada|biktarvy|genvoya|triumeq|odefsey|eviplera|atripla|dovato|juluca)\b",
            "HIV drugs by brand name are treatments too",
        ),
        (r"\bhormonoth?erap|\bhormone therapy\b", "hormonothérapie (cancer, menopause)"),
        (r"\blevothyrox", "lévothyroxine/Lévothyrox"),
        (
            r"\b(?:previscan|coumadine|sintrom|warfarine?|eliquis|xarelto|pradaxa|"
            r"kardegic|plavix|lovenox|heparine?|fragmine|innohep|apixaban|rivaroxaban|dabigatran|"
            r"edoxaban|fluindione|acenocoumarol|clopidogrel|enoxaparine?|tinzaparine?)\b",
            "anticoagulants and antiplatelets by name",
        ),
        (r"\banticoagul", "anticoagulant(s)"),
        (r"\binsuline?\b|\binsulinotherap", "insulin (not insulinémie, a lab test)"),
        (
            r"\b(?:metformine?|glucophage|stagid|januvia|ozempic|trulicity|victoza)\b",
            "diabetes drugs",
        ),
        (r"\b(?:levothyrox|l ?thyroxine|euthyrox|tcaps)\b", "thyroid hormone"),
        (r"\bmethotrexate\b", "méthotrexate"),
        (r"\bcortico", "corticoïdes/corticothérapie"),
        (r"\b(?:prednisone|prednisolone|solupred|cortancyl|medrol)\b", "corticoids by name"),
        (r"\bantibio(?:tiques?|therapie|s)?\b", "antibiotics (not antibiogramme, a lab test)"),
        (r"\bdialys", "dialyse"),
        (r"\blithium\b", "lithium (and lithémie follow-up)"),
        (
            r"\b(?:statine?|tahor|crestor|atorvastatine?|rosuvastatine?|simvastatine?)s?\b",
            "statins (French and English spellings)",
        ),
        (r"\b(?:amiodarone|cordarone|digoxine?)\b", "cardiac drugs needing lab follow-up"),
        (r"\b(?:depakine|valproate|tegretol|keppra|lamictal)\b", "antiepileptics"),
        (
            r"\b(?:immunosuppresseur|immunosuppressant|ciclosporine?|tacrolimus)",
            "immunosuppressants",
        ),
        (r"\b(?:substitution|methadone|subutex|buprenorphine)\b", "opioid substitution"),
        (r"\bpilule\b|\bcontracepti", "contraception"),
    ],
}

#: Phrases removed before matching: they contain a term but mean something else.
EXCLUSIONS: list[tuple[str, str]] = [
    (r"\bl\W{0,2}enceinte (?:du|de|des|de la)\b", "l'enceinte du CHU: an enclosure"),
    (r"\benceinte (?:acoustique|bluetooth|connectee)\b", "a loudspeaker"),
    (r"\bk\+", "K+: potassium, not a cancer"),
    (r"\bmutation (?:professionnelle|de poste)\b", "a job transfer"),
    (r"\bchimiothe?que", "chimiothèque: a library of chemical compounds"),
    (r"\bneo-[a-z]+", "néo- as a hyphenated prefix (néo-natal, Néo-Calédonie)"),
]

_MIN_TYPO_LENGTH = 8


def _one_typo(word: str) -> str:
    """An alternation matching ``word`` with at most one typo (drop, swap, double, replace)."""
    variants = {word}
    for i in range(len(word)):
        variants.add(word[:i] + word[i + 1 :])  # a letter dropped
        variants.add(word[:i] + word[i] + word[i:])  # a letter doubled
        if i + 1 < len(word):
            variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])  # neighbours swapped
    replaced = [re.escape(word[:i]) + "[a-z]" + re.escape(word[i + 1 :]) for i in range(len(word))]
    # The first letter is never a typo here: it keeps 'grossesse' apart from other words.
    alternatives = sorted(re.escape(v) for v in variants if v[:1] == word[:1]) + replaced[1:]
    return r"\b(?:" + "|".join(alternatives) + r")\b"


def _expand(pattern: str) -> str:
    if pattern.startswith("~"):
        word = pattern[1:]
        if len(word) < _MIN_TYPO_LENGTH:
            raise ValueError(f"lexicon: '{word}' is too short for typo matching")
        return _one_typo(word)
    return pattern


@cache
def category_patterns() -> dict[str, str]:
    """One regular expression per category, over normalised text (RE2 and Python alike)."""
    return {
        category: "|".join(f"(?:{_expand(p)})" for p, _why in entries)
        for category, entries in LEXICON.items()
    }


@cache
def _compiled() -> dict[str, re.Pattern[str]]:
    return {category: re.compile(p) for category, p in category_patterns().items()}


def normalise(text: str) -> str:
    """Lower case without accents, as DuckDB's ``strip_accents(lower(x))``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def exclusion_pattern() -> str:
    """One regular expression for every phrase to remove before matching."""
    return "|".join(f"(?:{p})" for p, _why in EXCLUSIONS)


@lru_cache(maxsize=1 << 16)
def categories_in(text: str) -> frozenset[str]:
    """The special categories a piece of text mentions (Python path, for samples and tests)."""
    folded = re.sub(exclusion_pattern(), " ", normalise(text))
    return frozenset(c for c, regex in _compiled().items() if regex.search(folded))


#: ICD-10 chapters and blocks that reveal a category, over upper-cased codes without dots.
ICD10_PATTERNS: dict[str, str] = {
    "hiv": r"\bB2[0-4]",  # B20-B24 HIV disease
    "cancer": r"\b(?:C\d\d|D[0-3]\d|D4[0-8])",  # C00-D48 neoplasms
    "pregnancy": r"\b(?:O\d\d|O9A|Z3[34])",  # O00-O9A pregnancy; Z33-Z34 pregnant state
    # Q congenital and chromosomal; E84 cystic fibrosis; D56-D58 haemoglobinopathies;
    # D66-D67 haemophilia; G10 Huntington; G71.0 muscular dystrophy.
    "genetic": r"\b(?:Q\d\d|E84|D5[678]|D6[67]|G10|G710)",
}
