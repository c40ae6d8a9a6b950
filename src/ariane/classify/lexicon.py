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
- Drugs are an open vocabulary, so beyond the lists three open-ended rules find them: a
  WHO INN stem (``-pril``, ``-olol``, ``-mab``...), a dose (``20 mg``, ``1 cp/j``) and
  ``sous X`` (with the non-drug complements, ``sous réserve``, ``sous 48h``, excluded).
  Held-out measures: ``tests/notes_heldout.py``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

#: HIV antiretrovirals by brand or generic name (most are HIV-only; tenofovir and
#: lamivudine also treat hepatitis B, so they are in :data:`_DRUG_NAMES` instead).
_HIV_DRUGS = (
    r"\b(?:truvada|biktarvy|genvoya|triumeq|odefsey|eviplera|atripla|dovato|juluca|stribild|"
    r"symtuza|prezista|darunavir|norvir|ritonavir|isentress|raltegravir|kaletra|tivicay|"
    r"dolutegravir|bictegravir|descovy|cabotegravir|vocabria|rekambys|rilpivirine|edurant|"
    r"efavirenz|sustiva|kivexa|abacavir|zidovudine|retrovir|nevirapine|doravirine|delstrigo|"
    r"pifeltro|maraviroc|celsentri|intelence|etravirine|emtricitabine)\b"
)
#: Chemotherapy protocols and cytotoxics: a cancer and a treatment at once.
_CANCER_PROTOCOLS = (
    r"\b(?:folfox|folfiri|folfirinox|xelox|r-?chop|chop|abvd|beacopp|ec-?t|fec|tcf|"
    r"[a-z]{2,}platine|[a-z]{2,}taxel|[a-z]{2,}rubicine|5-?fu|fluorouracile|gemcitabine|"
    r"gemzar|rituximab|mabthera|temozolomide|temodal|velcade|bortezomib|revlimid|"
    r"lenalidomide|zoladex|decapeptyl|enantone|casodex|bicalutamide|abiraterone|zytiga)\b"
)
#: PrEP as a word: 'prép.' (préparation) is lab paperwork.
_PREP = r"\bprep(?:$|[^.a-z0-9])"
#: TPE (post-exposure treatment) only next to AES or VIH: a bare TPE is a card reader.
_TPE = r"\baes\b.{0,40}\btpe\b|\btpe (?:vih|hiv)\b"
#: A dose: a number with a dosage unit not followed by '/L' or '/dL' (those are lab
#: results); UI only per day or per kg, as hormone assays are given in UI. A bare rhythm
#: (3x/j) is left out: stools and vomiting are counted so too. Open-ended: it catches
#: brands no list holds.
_DOSE = (
    r"\b\d+(?:[.,]\d+)? ?(?:mg|[µμ]g|ug|mcg|cp|cps|comprimes?|gelules?|sachets?|bouffees?|"
    r"gouttes?|ampoules?)(?:$|[^a-z/]|/(?:j|jour|kg|sem|semaine|mois)\b)"
    r"|\b\d+ ?ui ?/ ?(?:j|jour|kg)\b|\b(?:matin|midi) et soir\b"
)
#: WHO INN stems: any generic name ending so is a drug, whatever the lexicon lists.
_DRUG_STEMS = (
    r"\b[a-z]{2,}(?:pril|sartan|olol|dipine|xaban|gatran|parine|floxacine|m[yi]cine|"
    r"cycline|cilline|azole|semide|thiazide|azepam|zolam|oxetine|pramine|faxine|traline|"
    r"zapine|tiapine|peridone|iprazole|mab|tinib|gliptine|glitazone|glutide|gliflozine|"
    r"triptan|tidine|profene|nisolone|cinolone|metasone|cortisone|setron|racetam|"
    r"navir|tegravir|buvir|previr|asvir|ciclovir|vudine|virine|gabaline|gabapentine)\b"
)
_DRUG_NAMES = (
    r"\b(?:tenofovir|lamivudine|entecavir|viread|doliprane|dafalgan|efferalgan|paracetamol|"
    r"aspirine|augmentin|clamoxyl|bactrim|inexium|mopral|cardensiel|triatec|coversyl|amlor|"
    r"lasix|kayexalate|seresta|xanax|lexomil|stilnox|imovane|zopiclone|zolpidem|deroxat|"
    r"seroplex|citalopram|escitalopram|sertraline|zoloft|prozac|effexor|teralithe|risperdal|"
    r"abilify|haldol|tercian|loxapac|ventoline|salbutamol|seretide|symbicort|skenan|"
    r"actiskenan|oxycontin|morphine|tramadol|topalgic|ixprim|lyrica|neurontin|humira|"
    r"enbrel|remicade|cellcept|zyloric|allopurinol|colchicine|tardyferon|uvedose|zymad|"
    r"champix|baclofene|aotal|revia|selincro|naltrexone|ritaline|concerta|medikinet|"
    r"methylphenidate|lantus|novorapid|levemir|humalog|toujeo|tresiba|diamicron|amarel|"
    r"kaftrio|orkambi|hydroxyuree|hydrea|siklos|nexplanon|aldactone|spironolactone|"
    r"gliclazide|glimepiride|sitagliptine|bisoprolol|atenolol|propranolol|avlocardyl)\b"
)
#: The brands French prescriptions name most often, by therapeutic class. A brand has no
#: telling stem, so only a list finds it; a national drug referential would be complete.
_FRENCH_BRANDS = (
    r"\b(?:advil|nurofen|antarene|spedifen|voltarene|profenid|bi-?profenid|celebrex|"
    r"lamaline|izalgi|codoliprane|dicodin|oxynorm|durogesic|sophidone|acupan|"
    r"nefopam|spasfon|smecta|gaviscon|motilium|vogalene|primperan|duphalac|forlax|movicol|"
    r"imodium|tiorfan|debridat|meteospasmyl|lansoprazole|lanzor|ogast|eupantol|inipomp|"
    r"pariet|orelox|oroken|zithromax|rulid|josacine|pyostacine|oflocet|ciflox|tavanic|"
    r"izilox|monuril|furadantine|flagyl|fungizone|triflucan|zelitrex|zovirax|tamiflu|"
    r"plaquenil|salazopyrine|pentasa|imurel|arava|roactemm?ra|simponi|stelara|cimzia|"
    r"atarax|temesta|valium|tranxene|veratran|victan|noctamide|havlane|theralene|"
    r"donormyl|anafranil|laroxyl|athymil|norset|cymbalta|brintellix|valdoxan|zyprexa|"
    r"xeroquel|leponex|solian|nozinan|droleptan|aripiprazole|equanil|celestene|kenacort|"
    r"hydrocortisone|diprosone|dermoval|betneval|locoid|jardiance|forxiga|xigduo|janumet|"
    r"eucreas|galvus|velmetia|novomix|apidra|fiasp|abasaglar|umuline|insulatard|"
    r"actrapid|byetta|mounjaro|tenormine|detensiel|kenzen|atacand|cozaar|hyzaar|aprovel|"
    r"coaprovel|tareg|cotareg|micardis|olmetec|exforge|twynsta|loxen|adalate|tildiem|"
    r"isoptine|temerit|nebilox|lopressor|seloken|sotalex|flecaine|rythmol|multaq|"
    r"ezetrol|inegy|lodales|zocor|elisor|vasten|fenofibrate|lipanthyl|fegenor|omacor|"
    r"natispray|trinitrine|corvasal|monicor|ranexa|procoralan|entresto|inspra|"
    r"esidrex|fludex|burinex|lasilix|aldactazine|modamide|diffu-?k|kaleorid|"
    r"mirena|jaydess|kyleena|leeloo|optilova|minidril|trinordiol|optimizette|cerazette|"
    r"androcur|lutenyl|luteran|utrogestan|duphaston|provames|oestrodose|estreva|"
    r"livial|levonorgestrel|norlevo|ellaone|sinemet|modopar|requip|sifrol|azilect|"
    r"aricept|ebixa|exelon|reminyl|rivotril|urbanyl|tegretol|trileptal|epitomax|"
    r"neurontin|gabapentine|vimpat|dihydan|alepsal|gardenal|imigrane|relpax|zomig|"
    r"singulair|spiriva|bretaris|anoro|ultibro|relvar|trelegy|flixotide|becotide|"
    r"qvar|innovair|atrovent|bricanyl|aerius|xyzall|kestin|zyrtec|clarityne|polaramine|"
    r"celestamine|mucomyst|fluimucil|toplexil|euphon|helicidine|bisolvon|"
    r"eliquis|xarelto|pradaxa|lixiana|sintrom|mini-?sintrom|brilique|efient|"
    r"speciafoldine|ferograd|timoferol|fumafer|venofer|ferinject|aranesp|eprex|"
    r"binocrit|neorecormon|calcidose|cacit|orocal|dedrogyl|sterogyl|zymaduo|"
    r"fosamax|actonel|aclasta|prolia|forsteo|evenity|xgeva|uvesterol|"
    r"zyloric|adenuric|colchimax|alprostadil|cialis|viagra|levitra|xatral|omix|"
    r"josir|mecir|avodart|chibro-?proscar|vesicare|ditropan|toviaz|betmiga|"
    r"lyrica|laroscorbine|dialgirex|cortisone|synthroid|cynomel|neomercazole|basdene|"
    r"propylthiouracile|methadone|orobupre|suboxone|nalscue|naloxone|nicopatch|"
    r"nicorette|niquitin|zyban|esperal|aotal|baclocur|lioresal|ritaline|strattera|"
    r"circadin|melatonine|slenyto)\b"
)
_DRUG_CLASSES = (
    r"\b(?:antidepresseur|neuroleptique|antipsychotique|benzodiazepine|anxiolytique|"
    r"hypnotique|antalgique|morphinique|diuretique|antihypertenseur|antiepileptique|"
    r"anticonvulsivant|antiagregant|anti-?inflammatoire|anti-?tnf|biotherapie|"
    r"immunotherapie|oxygenotherapie|transfusion|supplementation|sterilet|"
    r"implant contraceptif|substitution nicotinique|patchs? nicotinique)s?\b"
    r"|\bbeta[ -]?bloq|\b(?:iec|ara ?(?:ii|2)|ains|hbpm|atb|cgr|diu|tso)\b"
    r"|\bfer (?:iv|injectable|per os)\b"
)

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
        (r"\banti[ -]?retrovir", "antirétroviraux / anti-rétroviraux: HIV treatment"),
        (_PREP, "PrEP: HIV pre-exposure prophylaxis (and bilan pré-PrEP)"),
        (_TPE, "TPE after an AES: HIV post-exposure treatment (a bare TPE is a card reader)"),
        (r"\b(?:ag )?p24\b", "p24 antigen: the HIV screening test"),
        (r"\bsideen", "sidéen(ne): person with AIDS"),
        (r"\bimmuno-?deficience (?:humaine|acquise)", "immunodéficience acquise/humaine"),
        (r"\b(?:cv|charge virale) (?:vih|hiv|indetect)", "CV indétectable: HIV follow-up"),
        (r"\bcd4\b", "CD4 count: HIV follow-up"),
        (r"\bpvvih\b", "PVVIH: personne vivant avec le VIH"),
        (
            _HIV_DRUGS,
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
        (
            r"\bterme (?:prevu|du|de la grossesse|le|depasse|au|\d)",
            "terme prévu / le 12/05 / dépassé: expected delivery date ('à long terme' is not)",
        ),
        (r"\bechos? (?:de |du )?t[123]\b", "écho T1/T2/T3: the three pregnancy scans"),
        (r"\bclarte nucale", "clarté nucale: first-trimester scan measure"),
        (r"\b(?:depistage|risque) (?:combine|de (?:la )?t21|t21|de la trisomie)", "T21 screening"),
        (r"\bdpni?\b", "DPN/DPNI: (non-invasive) prenatal diagnosis"),
        (r"\b(?:pre-?)?eclamps", "(pré-)éclampsie"),
        (r"\brciu\b|\bmfiu\b", "RCIU (growth restriction), MFIU (in-utero death)"),
        (r"\bpma\b|\bfiv\b|\bicsi\b|\btransfert embryo", "assisted reproduction"),
        (r"\bretard de regles", "late period: a pregnancy is being checked"),
        (r"\bgeste ?\d+ ?,? ?pare ?\d|\bgestite\b", "geste 2 pare 1: gravida/para in words"),
        (r"\b(?:hemorragie de la|de) delivrance\b", "délivrance: expulsion of the placenta"),
        (r"\bmole hydatiform|\bgrossesse molaire", "hydatidiform mole"),
        (r"\b(?:amnio|chorio)centes|\bbiopsie de trophoblaste", "prenatal sampling"),
        (r"\bpoche des eaux\b|\bliquide amniotique", "waters breaking, amniotic fluid"),
        (r"\bfcs\b", "FCS: fausse couche spontanée"),
        (r"\b(?:primi|multi|nulli|pauci)par[ae]", "primipare/multipare: parity"),
        (r"\brhophylac\b", "Rhophylac: anti-D given in pregnancy"),
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
            r"\bk(?:\. ?| )(?:du |de la |de l\W?|des )?(?:sein|seins|colon|prostate|poumon|pulm|"
            r"pancreas|ovaire|uterus|col|vessie|rein|foie|estomac|thyroide|orl|rectum|"
            r"peau|ovarien|mammaire|bronchique|colorectal|gastrique|hepatique|pulmonaire|"
            r"cerebral|osseux|endometre|oesophage|larynx|pharynx|cavum|testicule|anal)\b",
            "K + organ: 'K sein' is the shorthand for a cancer (K alone is potassium)",
        ),
        (r"\bneo\b", "néo: neoplasm; whole word only, so Néolithique does not count"),
        (r"ectomie pour (?:un )?k\b", "lobectomie/thyroïdectomie pour K: surgery for a cancer"),
        (r"\badenok\b|\badk\b", "adénoK/ADK: adénocarcinome"),
        (r"\bcanser", "common phonetic typo of cancer"),
        (r"\bl(?:lc|mc|al|mmc)\b", "LLC, LMC, LAL, LMMC: leukaemias (Lam is a first name)"),
        (r"\bmaladie de kahler|\bwaldenstr", "Kahler (myeloma), Waldenström (lymphoma)"),
        (r"\bmyelodysplas", "syndrome myélodysplasique: a blood cancer"),
        (
            r"\brcp (?:de |d\W?)?(?:senolog|uro|digest|thorac|hemato|gyneco|orl|dermato|"
            r"sarcome|tumeur)",
            "RCP + specialty: the multidisciplinary tumour board French cancer care requires",
        ),
        (r"\bchc\b", "CHC: carcinome hépatocellulaire"),
        (
            r"\bmetas? (?:hepatique|cerebral|osseuse|pulmonaire|ganglionnaire|surrenal)",
            "méta + organ: shorthand for metastasis",
        ),
        (r"(?:mesotheliom|blastome\b|seminome\b)", "mésothéliome, -blastome, séminome"),
        (r"\bmam+ectomi|\bmastectomi|\bprostatectomie radicale", "cancer surgery"),
        (r"\banti[ -]?pd-?l?1\b", "anti-PD1/PD-L1: cancer immunotherapy"),
        (_CANCER_PROTOCOLS, "chemotherapy protocols and cytotoxics by name"),
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
        (r"sarcome", "sarcome, ostéosarcome, liposarcome..."),
        (r"\bglioblastom", "glioblastome"),
        (r"\bhodgkin(?:ien|ienne)?s?\b", "maladie de Hodgkin (not the surname Hodgkinson)"),
        (r"\bchimi?o", "chimio/chimiothérapie (and the typo chimo); not chimie"),
        (r"\bradioth?erap", "radiothérapie"),
        (r"\bonco(?:log[a-z]*|hemato[a-z]*)?\b", "onco/oncologie/oncologue/oncohématologie"),
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
        (r"\bheredit", "héréditaire, hérédité"),
        (r"\bf508|\bdelta ?f ?508|\btest de la sueur", "F508del, sweat test: cystic fibrosis"),
        (r"\b(?:hetero|homo)zygot", "hétéro/homozygote: zygosity of an inherited variant"),
        (r"\bhemoglobine [sc]\b|\bhemoglobinose", "HbS/HbC: haemoglobin disorders"),
        (r"\b(?:alpha|beta)[ -]?thal\b", "alpha-thal / bêta-thal: thalassaemia"),
        (
            r"\bwillebrand|\bklinefelter|\bangelman|\bprader[ -]?willi|\behlers[ -]?danlos|"
            r"\bcharcot[ -]marie|\bdi ?george\b",
            "eponyms that are not surnames",
        ),
        (r"\b4[5-8], ?x", "karyotype formula (45,X / 47,XXY)"),
        (r"\bamyotrophie spinale|\bachondroplas|\bosteogenese imparfaite", "inherited diseases"),
        (r"\bnf[12]\b|\bsclerose tubereuse", "neurofibromatosis, tuberous sclerosis"),
        (r"\bpolykystose renale|\bpkrad\b", "autosomal dominant polycystic kidney disease"),
        (r"\bpolypose (?:adenomateuse )?familiale", "familial adenomatous polyposis"),
        (r"\bmucopolysacchar", "mucopolysaccharidose"),
        (r"\bdeficit en g6pd", "G6PD deficiency (X-linked)"),
        (r"\bfacteur (?:v|5) leiden", "factor V Leiden"),
        (r"\bsequencage|\bexome\b|\bpanel de genes", "genetic sequencing"),
        (r"\bautosomi|\blie(?:e)? a l\W?x\b", "mode of inheritance"),
        (r"\bchromosom|\bmicro-?(?:deletion|duplication)|\btranslocation", "chromosomes"),
        (r"\b(?:\d{1,2}|x)[pq]\d{1,2}(?:\.\d+)?\b", "chromosome band (22q11, 1p36)"),
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
            r"\b(?:maladie|syndrome|sd|choree|myopathie|dystrophie|dystrophie musculaire|ataxie)"
            r" (?:de |d\W?)?(?:duchenne|huntington|marfan|turner|klinefelter|steinert|gaucher|"
            r"fabry|down|pompe|wilson|lynch|williams|becker|rett|friedreich|alport|kallmann|"
            r"usher|noonan|tay-?sachs|niemann-?pick|hurler|crouzon|apert|cowden|li-?fraumeni)\b"
            r"|\bgaucher type\b",
            "eponymous genetic diseases, only with 'maladie de', 'syndrome de'...: "
            "the eponyms alone are surnames",
        ),
        (
            r"\bmutation (?:d ?une |du gene |du |de )?(?:genetique|du gene|brca|jak2|heterozygote|"
            r"homozygote|cftr|hfe|apc|ret|vhl|facteur (?:v|ii|2|5)\b|[a-z]{0,5}\d)",
            "mutation of a gene (not 'mutation professionnelle')",
        ),
    ],
    "treatment": [
        (r"\bavk\b", "AVK: vitamin-K antagonist anticoagulant"),
        (r"\baod\b", "AOD: direct oral anticoagulant"),
        (r"\bsous (?:tt|ttt|traitement|trt)\b", "sous tt/ttt/traitement"),
        (
            r"\bsous [a-z][a-z0-9]{2,}",
            "'sous X' names what someone is on; non-drug complements are EXCLUSIONS",
        ),
        (
            r"\b(?:pas de|sans|aucun|arret (?:du|de|des)|debut (?:du|de)|mise sous) "
            r"(?:tt|ttt|traitement|trt)",
            "a treatment mentioned in the negative still counts (any polarity)",
        ),
        (_DRUG_STEMS, "generic drug names by their WHO INN stem (-pril, -olol, -mab...)"),
        (_DRUG_NAMES, "common French brands and generics without a telling stem"),
        (_FRENCH_BRANDS, "the brands French prescriptions name most often"),
        (_DRUG_CLASSES, "drug classes and therapies"),
        (_DOSE, "a dose (20 mg, 1 cp, 2 x/j): whatever the drug's name, it is being taken"),
        (
            r"\bposologie|\bmedicaments?\b|\brenouvel\w* (?:de l |d |de |du )?(?:ordo|ttt|trait)"
            r"|\bordonnance renouvelee",
            "prescription wording",
        ),
        (r"\b(?:ttt|trt)\b", "ttt/trt: shorthand for traitement, never paperwork"),
        (
            r"\b(?:tt|traitement|traitemt|traitment|traitemen)s? ?(?::|par\b|de fond|anti|"
            r"hormona|substitut|au long cours|chronique|habituel|medicament|immuno|"
            r"curatif|preventif|symptomatique|antalgique|en cours (?:par|de|d))",
            "traitement in medical phrasing (traitement par, de fond, anticoagulant...)",
        ),
        (r"\bchimi?o", "chimiothérapie is a treatment (also a cancer mention)"),
        (r"\bradioth?erap", "radiothérapie is a treatment (also a cancer mention)"),
        (r"\bcurietherap", "curiethérapie (brachytherapy) is a treatment too"),
        (
            r"\btrith?erapie|\barv\b|\banti[ -]?retrovir|" + _PREP + "|" + _TPE,
            "HIV therapy, pre- and post-exposure prophylaxis are treatments too",
        ),
        (r"\btreatment\b", "treatment in English notes"),
        (
            r"\b(?:tamoxif[a-z]*|letrozole|femara|anastrozole|arimidex|exemestane|aromasine|"
            r"imatinib|glivec|capecitabine|xeloda|trastuzumab|herceptin|pembrolizumab|"
            r"keytruda|nivolumab|opdivo|cyclophosphamide|endoxan|bevacizumab|avastin)\b",
            "cancer drugs are treatments too",
        ),
        (_CANCER_PROTOCOLS, "chemotherapy protocols are treatments too"),
        (r"\banti[ -]?pd-?l?1\b", "cancer immunotherapy is a treatment too"),
        (r"\bhaart\b|\b(?:on|sous|under) c?art\b", "(H)ART: antiretroviral therapy, 'on ART'"),
        (
            _HIV_DRUGS,
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
        (r"\banticoag", "anticoagulant(s), anticoag."),
        (r"\binsuline?\b|\binsulinotherap", "insulin (not insulinémie, a lab test)"),
        (
            r"\b(?:metformine?|glucophage|stagid|januvia|ozempic|trulicity|victoza)\b",
            "diabetes drugs",
        ),
        (r"\b(?:levothyrox|l[ -]?thyroxine|thyroxine|euthyrox|tcaps)\b", "thyroid hormone"),
        (r"\bmethotrexate\b", "méthotrexate"),
        (r"\bcortico", "corticoïdes/corticothérapie"),
        (r"\b(?:prednisone|prednisolone|solupred|cortancyl|medrol)\b", "corticoids by name"),
        (r"\bantibio(?:tiques?|therapie|s)?\b", "antibiotics (not antibiogramme, a lab test)"),
        (r"dialys", "dialyse, hémodialyse"),
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
    (
        r"\benceinte (?:de l\W?|du |des )?(?:etablissement|hopital|chu|clinique|batiment|site|"
        r"laboratoire|labo|parking|stade|ecole|centre|usine)",
        "the enclosure of a building, however written",
    ),
    (r"\ba (?:court|moyen|long) terme\b", "à long terme: a time span, not a due date"),
    (
        r"\ballergi[a-z]* (?:a la |a l\W?|aux? |au )?[a-z]+",
        "an allergy names a drug the person does not take",
    ),
    (
        r"\bsous (?:reserve|forme|surveillance|couvert|peine|condition|tutelle|curatelle|pli|"
        r"enveloppe|huitaine|quinzaine|pretexte|presse|controle|anesthesie|echo|scanner|scope|"
        r"garantie|contrat|influence|format|dossier|reference|numero|pression|vide|abri|"
        r"pluie|neige|toit|terre|sol|main|peu|quelques|les|une|son|ses|mon|mes|ces|cet|nos|"
        r"vos|leur|notre|votre|cutan|muqu|cost|clavic|maxill|ombilic|mandib|diaphrag|capsul|"
        r"dural|jacent|groupe|total|titre|direct|prefecture|location|locataire|traitant|"
        r"reserve|regime|ald|cmu|ame|secu|mutuelle|assurance|nom|l\W?effet|l\W?emprise|l\W?autorite|l\W?egide|microscope|loupe|"
        r"hypnose|sedation)[a-z]*",
        "'sous' + a word that is not a drug (sous réserve, sous 48h, sous-cutané)",
    ),
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
    lowered = text.lower()
    if lowered.isascii():  # nothing to decompose
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def exclusion_pattern() -> str:
    """One regular expression for every phrase to remove before matching."""
    return "|".join(f"(?:{p})" for p, _why in EXCLUSIONS)


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def folded_sql(value: str) -> str:
    """SQL: the text of ``value`` as the patterns read it (normalised, exclusions removed)."""
    return (
        f"regexp_replace(strip_accents(lower({value})), {sql_literal(exclusion_pattern())}, "
        "' ', 'g')"
    )


def mentions_sql(folded: str) -> str:
    """SQL: whether ``folded`` text (:func:`folded_sql`) mentions a special category, as
    :func:`categories_in` tells in Python (``tests/test_classify_notes.py`` checks both
    read alike)."""
    flags = [f"regexp_matches({folded}, {sql_literal(p)})" for p in category_patterns().values()]
    return "(" + " OR ".join(flags) + ")"


#: Every entry's matches hold a letter (``tests/test_classify_notes.py`` proves it from
#: the patterns): text without one, as dates, phone numbers and NIRs, mentions nothing.
_LETTER = re.compile("[a-z]")


@lru_cache(maxsize=1 << 16)
def categories_in(text: str) -> frozenset[str]:
    """The special categories a piece of text mentions (Python path, for samples and tests)."""
    normalised = normalise(text)
    if _LETTER.search(normalised) is None:
        return frozenset()  # Python's re would try every alternation at every character
    folded = re.sub(exclusion_pattern(), " ", normalised)
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
