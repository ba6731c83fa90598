"""Offline recognizers for the HIPAA Safe Harbor identifiers that appear in free text.

Each recognizer finds candidate spans with patterns, checksums or ranges where they exist
(SSN area numbers, IPv4 octets, ages over 89, calendar dates), context cues ("Pt:", "Dr.",
"MRN", "lives in") and the name and place dictionaries in data/. No model, no download.
Overlaps are resolved later (longest, then most specific, wins).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from mlstack.deid import tagger

DATA_DIR = Path(__file__).resolve().parent / "data"

# The identifier types reported in spans (Safe Harbor (b)(2)(i) items found in free text).
PHI_TYPES = ("NAME", "DATE", "AGE", "PHONE", "EMAIL", "SSN", "MRN", "ACCOUNT", "ID", "URL", "IP", "ADDRESS",
             "LOCATION", "ZIP")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    type: str


@cache
def _words(name: str) -> frozenset[str]:
    lines = (DATA_DIR / name).read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def first_names() -> frozenset[str]:
    return _words("first_names.txt")


def last_names() -> frozenset[str]:
    return _words("last_names.txt")


def cities() -> frozenset[str]:
    return _words("cities.txt")


def places() -> frozenset[str]:
    """The world's cities (GeoNames, 15,000 people and more) less those named with a word or an English name
    (mlstack/deid/vocabulary.py). The patterns find them by name; the tagger's features keep cities(), the list it
    was trained with."""
    return _words("places.txt")


@cache
def known_places() -> frozenset[str]:
    return cities() | places()


@cache
def city_first_words() -> frozenset[str]:
    """The first word of every known city ("San" of "San Antonio"): a capitalized run that starts otherwise is
    no known city."""
    return frozenset(city.split()[0] for city in known_places())


def safe_words() -> frozenset[str]:
    """Words that are no name or place: English, drugs, diagnoses, abbreviations (mlstack/deid/vocabulary.py)."""
    return _words("safe_words.txt")


def name_words() -> frozenset[str]:
    """Names and places that are everyday words too ("hope", "grace", "mark": mlstack/deid/vocabulary.py)."""
    return _words("name_words.txt")


def regions() -> frozenset[str]:
    """States and countries: not identifiers under Safe Harbor (a city or smaller place is)."""
    return _words("regions.txt")


# --- patterns ---------------------------------------------------------------------------------------

# Names and places in Latin letters with accents ("Conceição", "Dinkelsbühl", "Łukasz": an ASCII-only token cut
# them short, and the rest leaked): Latin-1 and Latin Extended-A, whose capitals and small letters alternate (in
# both classes), and inside a word Latin Extended-B and Extended Additional too ("Nguyễn", "Dương", "Laurenția").
_UPPER, _LOWER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017d", "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f\u1e00-\u1eff"
_PLACE_WORD = rf"[{_UPPER}][{_LOWER}]+"
_LOWER_WORD = rf"[{_LOWER}][{_LOWER}'-]+"
# A Roman numeral, with a subclass letter ("III", "IIIA", "IVb"): a stage, a grade or a class, or a name's suffix.
_ROMAN = re.compile(r"(?:X{1,3}(?:IX|IV|VI{0,3}|I{1,3})?|IX|IV|VI{0,3}|I{1,3})[A-Da-d]?")

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
             "eighteenth", "nineteenth", "twentieth", "thirtieth")
_ORDINAL = rf"(?:(?:twenty|thirty)[-\s](?:{'|'.join(_ORDINALS[:9])})|{'|'.join(_ORDINALS)})"
# Every form starts with a digit, a month (j f m a s o n d) or an ordinal (t f s e n): the look-ahead lets the
# scan skip other words without trying each alternative (3x faster, same matches).
_DAY_NAME = r"(?:Mon|Tue|Tues|Wed|Wednes|Thu|Thur|Thurs|Fri|Sat|Satur|Sun)(?:day)?"
_DAY_NAMES = re.compile(rf"{_DAY_NAME}s?")  # a day's name, or days' ("on Wednesdays")
_WEEKDAY = rf"{_DAY_NAME}\.?,?\s+"  # "Tuesday, March 4"
_DATE = re.compile(
    rf"\b(?=[0-9adefjmnostw])(?:{_WEEKDAY}(?=[0-9adefjmnost]))?"
    rf"(?:\d{{1,2}}[/\-.]\d{{1,2}}[/\-.](?:\d{{4}}|\d{{2}})"  # 03/01/21, 3-1-2021, 3.1.21
    rf"|\d{{1,2}}{_MONTHS}\d{{2,4}}"  # 03MAR2021
    rf"|{_MONTHS}[-/]\d{{1,2}}[-/,]\s?(?:{_YEAR}|\d{{2}})"  # Mar-03-2021
    rf"|{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"  # 20210303
    rf"|(?:the\s+)?{_ORDINAL}\s+(?:day\s+)?of\s+{_MONTHS}(?:,?\s+{_YEAR})?"  # the third of March
    rf"|{_MONTHS}\s+(?:the\s+)?{_ORDINAL}(?:,?\s+{_YEAR})?"  # March the third
    rf"|(?<![\d/.])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?![\d/]|\.\d)"  # 3/9 (no year), "on 3/9."
    # 2021-03-01 (2021-3-1), with a time
    rf"|{_YEAR}-\d{{1,2}}-\d{{1,2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?"
    rf"|{_YEAR}[/.]\d{{1,2}}[/.]\d{{1,2}}"  # 2021/03/04
    rf"|\d{{1,2}}[-/]{_MONTHS}[-/](?:{_YEAR}|\d{{2}})"  # 04-Mar-1961
    rf"|{_MONTHS}\s+{_DAY}(?:,?\s+{_YEAR})?"  # Jan 3rd, January 3, 2021
    rf"|{_DAY}(?:\s+of)?\s+{_MONTHS}(?:,?\s+{_YEAR})?"  # 3 Jan 2021, 3rd of January
    rf"|{_MONTHS},?\s+(?:of\s+)?{_YEAR}"  # March 2021, March, 2021, March of 2021
    rf"|{_DAY_NAME}\.?,?\s+(?:the\s+)?(?:[12]?\d|3[01])(?:st|nd|rd|th)\b"  # Tues 3rd
    rf"|{_MONTHS}\s+['\u2019]\d{{2}}"  # March '21
    rf"|{_YEAR}\s+{_MONTHS}\s+{_DAY}"  # 2021 Mar 03
    rf"|{_YEAR}-(?:0[1-9]|1[0-2])(?![-\d])|(?:0?[1-9]|1[0-2])-{_YEAR}"  # 2021-03, 03-2021
    rf"|\d{{1,2}}-{_MONTHS}(?![-/]\d)"  # 12-Mar
    rf"|(?<=\bon )the\s+(?:[12]?\d|3[01])(?:st|nd|rd|th)(?=\s*(?:[.,;)]|$))"  # "seen on the 3rd."
    rf"|\d{{1,2}}/{_YEAR})\b", re.IGNORECASE)
# Holidays are days of a year ("Christmas Day 2019", "Thanksgiving of 2020", "on New Year's Eve").
_HOLIDAY = re.compile(rf"\b(?:Christmas(?: Day| Eve)?|New Year's(?: Day| Eve)|Thanksgiving(?: Day)?|Easter(?: Sunday)?|"
                      rf"Halloween|Independence Day|Memorial Day|Labor Day|Veterans Day|Valentine's Day|"
                      rf"Mother's Day|Father's Day)(?:,?\s+(?:of\s+)?{_YEAR})?\b")
# A month alone is a date's element ("stopped last March", "since June", "in Sept."): after a word that places it in
# time, capitalized ("may" is a verb).
_MONTH_ALONE = re.compile(rf"\b(?i:last|next|this|early|late|mid|since|until|till|in|by|through|during|of)[\s-]+"
                          rf"({_MONTHS})(?![\w'\u2019-]|\s+\d)")
_YEAR_IN = re.compile(r"(?:19|20)\d{2}|(?<=[/\-.])\d{2}$")

_PHONE = re.compile(r"(?<![\w.-])(?:(?:\+?1|001)[\s.-]?)?(?:\(\d{3}\)\s?\d{3}[\s.-]?|\d{3}[\s.-]\d{3}[\s.-])\d{4}"
                    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w-])", re.IGNORECASE)
_PAGER = re.compile(r"\b(?:pager|beeper|ext\.?|extension)\s*(?:number|no\.?)?\s*[#:]?\s*(\d[\d-]{2,9}\d)\b",
                    re.IGNORECASE)
_PHONE_INTL = re.compile(r"(?<![\w+])\+(?:[2-9]\d{0,2})(?:[\s.-]?\(?\d{1,4}\)?){2,7}(?![\w-])")
# National numbers with a trunk 0 (most of the world outside North America): "(0121) 496 0189", "02 48 60 70 44",
# "(03744) 14504", "(02).9159.1300"; 9 to 12 digits in all.
_PHONE_NATIONAL = re.compile(r"(?<![\w+.,/-])(?:\(0[1-9]\d{0,3}\)|0[1-9]\d{0,3})(?:[\s.-]{0,2}\d{2,8}){1,4}"
                             r"(?![\w-]|[.,]\d)")
_PHONE_CUE = re.compile(r"\b(?:tel|telephone|phone|ph|cell|mobile|fax|pager|call(?:ed)?(?:\s+at)?|reached at|"
                        r"contact number|number)\.?:?\s*(\+?1?\d{10}|[+(]?\d[\d\s().-]{5,22}\d)(?![\w-])",
                        re.IGNORECASE)
# Linear time (re backtracks): every repetition is bounded and starts only where a run of its characters
# starts, so no position is scanned more than a constant number of times ("1." * 10000 took 0.68 s for
# 20 KB with an unbounded local part; tests/unit/test_deid.py asserts the growth on such inputs).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b")
_OBFUSCATED_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}\s?[\[({]\s?at\s?[\])}]\s?[\w-]{1,63}"
                               r"(?:\s?(?:\.|[\[({]\s?dot\s?[\])}])\s?[\w-]{1,63}){1,8}", re.IGNORECASE)
_SPELLED_EMAIL = re.compile(r"\b[\w.+-]{1,64}\s+(?:at|AT)\s+[\w-]{1,63}(?:\s+(?:dot|DOT)\s+[\w-]{1,63}){0,3}"
                            r"\s+(?:dot|DOT)\s+(?:com|org|net|edu|gov|mil|us|io|co|uk)\b")
_HANDLE = re.compile(r"\b(?:twitter|instagram|tiktok|facebook|snapchat|threads|handle|username|user name|screen name)"
                     r"(?:\s+(?:handle|username|account|id|name))?\b\W{0,3}(?:is\s+)?(@?[A-Za-z0-9_.]{3,30}[A-Za-z0-9_])",
                     re.IGNORECASE)
_URL = re.compile(r"(?<![\w./:%-])(?:https?://|www\.)[^\s<>\"')\]]{0,2047}[^\s<>\"')\].,;:]", re.IGNORECASE)
_TLDS = "com|org|net|edu|gov|mil|io|us|uk|ca|info|biz|health|care|app|co|me|ly|int|eu|au|de"
_BARE_URL = re.compile(rf"(?<![\w./@:%-])(?:[a-z0-9][a-z0-9-]{{0,62}}\.){{1,5}}(?:{_TLDS})\b(?![.@-][\w])"
                       r"(?:[/?#][^\s<>\"')\]]{0,2047}[^\s<>\"')\].,;:])?", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4})(?![\w:])",
                   re.IGNORECASE)  # then validated; "::ffff:192.0.2.128" (IPv4-mapped) whole
_SSN = re.compile(r"\b(\d{3})([- .])(\d{2})\2(\d{4})\b")
# the last four of an SSN, and an SSN masked but for them ("xxx-xx-6789"): still part of the identifier
_SSN_PART = re.compile(r"(?:\blast\s+(?:4|four)(?:\s+digits)?(?:\s+of)?(?:\s+(?:the|her|his))?\s+"
                       r"(?:SSN|social(?: security)?)(?:\s+(?:number|no\.?|#))?\s*(?:is\s+)?[:#]?"
                       r"|\b(?:SSN|social security(?: number)?)\s+ending\s+(?:in|with))\s*(\d{4})\b"
                       r"|(?<![\w-])([xX*#]{3}[- ]?[xX*#]{2}[- ]?\d{4})\b", re.IGNORECASE)
_SSN_CUE = re.compile(r"(?:\b(?:SSN|social security(?: number| no\.?)?)|\bSS#)\s*[:#]?\s*"
                      r"(\d{3}[-. ]?\d{2}[-. ]?\d{4})\b", re.IGNORECASE)
# any case, a digit somewhere; or digits in groups ("2123 45670 1": seven digits at least, find_cued_ids)
_VALUE = r"((?:[A-Z]{1,4} )?\d{2,6}(?: \d{1,6}){1,4}\b|(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9/-]{2,19}[A-Za-z0-9]\b)"
_QUALIFIERS = r"(?:\s+(?:serial|id|no\.?|number|num|#|plate|license|licence|code|card))*"
_CUED_IDS = (
    ("MRN", re.compile(r"\b(?:MRN|MR#|medical record|med\.? rec(?:ord)?|chart|hospital\s+(?:number|no\.?|#)|"
                       r"unit number|encounter|enc\.?|"
                       r"(?:patient|pt\.?)\s*(?:id|#|no\.?|number)|CSN|FIN|EMPI|MPI)" + _QUALIFIERS
                       + r"\s*(?:is\s+)?#?:?\s*" + _VALUE,
                       re.IGNORECASE)),
    ("ACCOUNT", re.compile(r"\b(?:account|acct\.?|health plan|member|beneficiary|policy|subscriber|insurance|claim|"
                           r"medicare|medicaid|mbi|hicn|tricare|payer|group|plan id|billing|invoice|"
                           r"(?:credit|debit) card|card number)"
                           + _QUALIFIERS + r"\s*(?:is\s+)?#?:?\s*" + _VALUE, re.IGNORECASE)),
    # "ID" itself, not Idaho's ("Boise, ID 83702"; "Urdu, ID 100482" is no ZIP code)
    ("ID", re.compile(r"\b(?:(?<!,\s)(?-i:ID)|(?<=,\s)(?-i:ID)(?!\s+\d{5}(?:-\d{4})?\b)|identifier|"
                      r"driver'?s?|license|licence|DEA|NPI|certificate|certification|cert\.?|credential|badge|"
                      r"passport|vehicle|plate|"
                      r"serial|device|implant|pacemaker|VIN|s/n|sn|tag|registration|DL|lot|accession|specimen|order|"
                      r"case|requisition|lic\.?|imei|udi|model|catalog|cat\.?|ref|job)" + _QUALIFIERS
                      + r"\s*(?:is\s+)?#?:?\s*(?-i:(?:[A-Z]{2}\s+)?)" + _VALUE,
                      re.IGNORECASE)),
)
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b", re.IGNORECASE)
# Number plates after their cue, with the space or hyphen many states and countries print ("7Q 8D0YPU", "CX54 PRB",
# "982B"): upper-case letters and digits, a digit somewhere.
_PLATE = re.compile(r"\b(?i:plates?|tags?|reg\.?|registration)(?i:\s+(?:number|no\.?|num|#))?\s*(?:is\s+)?[:#]?\s*"
                    r"((?=[A-ZÄÖÜ -]{0,9}\d)[A-ZÄÖÜ0-9]{1,8}(?:[ -][A-ZÄÖÜ0-9]{1,8}){0,2})(?![\w-])")
# Device identifiers: GS1 UDIs in their human-readable form ("(01)00643169007222(17)160128(21)BLM00123"), and
# hardware (MAC) addresses.
_UDI = re.compile(r"(?<![\w)])(?:\(\d{2,4}\)[A-Za-z0-9-]{1,30}){2,}")
_MAC = re.compile(r"(?<![\w:-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![\w:-])")
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_OVER_89 = rf"(?:ninety(?:[-\s](?:{_UNITS}))?|(?:a|one)\s+hundred(?:\s+and)?(?:[-\s](?:{_UNITS}|ten|eleven|twelve))?)"
_SPELLED_AGE = re.compile(  # Safe Harbor: ages over 89 (spelled: ninety and up), before "years" or after "aged"
    rf"\b({_OVER_89})(?=[-\s]+(?:years?|yrs?|y/?o)\b)|\b(?:age[ds]?|aged)\s*:?\s*({_OVER_89})\b", re.IGNORECASE)
_AGE = re.compile(r"\b(\d{2,3})(?:\s?(?:-|\s)?(?:y/?o|yo|yrs?|years?)(?:[\s-]old)?\b|(?=\s*(?:M|F|male|female)\b))"
                  r"|\b(?:age[ds]?|aged)\s*[:]?\s*(\d{2,3})\b", re.IGNORECASE)
# Street suffixes: USPS Publication 28's standard suffixes (and their abbreviations), singular and plural.
_STREET_SUFFIXES = (
    "Alley|Aly|Annex|Arcade|Avenue|Ave|Bayou|Beach|Bend|Bluffs?|Bottom|Boulevard|Blvd|Branch|Bridge|Brooks?|Burgs?|"
    "Bypass|Camp|Canyon|Cape|Causeway|Centers?|Ctr|Circles?|Cir|Cliffs?|Club|Commons?|Corners?|Course|Courts?|Ct|"
    "Coves?|Creek|Crescent|Crest|Crossing|Crossroads?|Curve|Dale|Dam|Divide|Drives?|Dr|Estates?|Expressway|Expy|"
    "Extensions?|Falls?|Ferry|Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|Freeway|Fwy|Gardens?|Gateway|Glens?|"
    "Greens?|Groves?|Harbors?|Haven|Heights|Hts|Highway|Hwy|Hills?|Hollow|Inlet|Islands?|Isle|Junctions?|Keys?|"
    "Knolls?|Lakes?|Landing|Lane|Ln|Lights?|Loaf|Locks?|Lodge|Loop|Mall|Manors?|Meadows?|Mews|Mills?|Mission|"
    "Motorway|Mount|Mountains?|Neck|Orchard|Oval|Overpass|Parks?|Parkways?|Pkwy|Pass|Passage|Path|Pike|Pines?|"
    "Place|Pl|Plains?|Plaza|Points?|Ports?|Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|River|Roads?|Rd|Route|"
    "Row|Rue|Run|Shoals?|Shores?|Skyway|Springs?|Spurs?|Squares?|Sq|Station|Stravenue|Stream|Streets?|St|"
    "Summit|Terrace|Ter|Throughway|Trace|Track|Trafficway|Trail|Trl|Tunnel|Turnpike|Underpass|Unions?|Valleys?|"
    "Via|Viaduct|Views?|Villages?|Ville|Vista|Walks?|Wall|Ways?|Wells?|"
    # and the thoroughfares of British and Irish addresses ("27 Alderney Close", "4 Harbour Quay")
    "Close|Rise|Parade|Quay|Wharf|Chase|Wynd|Gate|Embankment|Broadway|Esplanade|Promenade|Drove|Brae")
_UNIT = r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Bldg|Building|Floor|Fl|Lot|#)\.?\s*#?\w+)?"
# "One Main Street"
_SPELLED_NUMBER = "One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Eleven|Twelve|Fifteen|Twenty|Fifty|Hundred"
_DIRECTION = r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
_STREET = re.compile(
    rf"\b(?:\d{{1,6}}[A-Za-z]?(?: 1/2)?|{_SPELLED_NUMBER})[ \t]+(?:[NSEW]\.?[ \t]+)?(?:{_PLACE_WORD}[ \t]+){{1,3}}"
    rf"(?:{_STREET_SUFFIXES})\b\.?"
    rf"{_DIRECTION}{_UNIT}"
    # numbered streets without a house number: "on 2nd Avenue", "W 34th St"
    rf"|\b(?:[NSEW]\.?\s+)?\d{{1,3}}(?:st|nd|rd|th)\s+(?:Street|St|Avenue|Ave)\b\.?"
    # numbered roads: "123 Route 9", "4567 Highway 101 N", "12 County Road 5"
    rf"|\b\d{{1,6}}\s+(?:(?:State|County|US|Farm to Market)\s+)?(?:Route|Rte\.?|Highway|Hwy\.?|Road|Rd\.?)"
    rf"\s+\d{{1,4}}[A-Z]?\b{_DIRECTION}"
    # rural routes and highway contracts: "RR 2 Box 15", "HC 1 Box 10"
    r"|\b(?:RR|R\.R\.|HC|Rural Route|Star Route)\s*\d{1,4},?\s+Box\s+\d{1,5}\b"
    # European forms: "12 Rue de la Paix", "Hauptstraße 5", "Calle Morelos 123", "Via Roma 10"
    rf"|\b\d{{1,4}},?\s+(?:Rue|Avenue|Boulevard|Place|Chemin|Impasse|Allée)\s+(?:(?:de|du|des|la|le|l')\s*)*{_PLACE_WORD}"
    rf"(?:[\s-]{_PLACE_WORD})*"
    rf"|\b[{_UPPER}][{_LOWER}]{{2,}}(?:straße|strasse|weg|gasse|platz|allee|ring|damm)\s+\d{{1,4}}[a-z]?\b"
    rf"|\b(?:Calle|Avenida|Av\.|Carrera|Rua|Via|Viale|Piazza|Plaza|Paseo)\s+(?:(?:de|del|la|los|das|do|dos)\s+)*"
    rf"{_PLACE_WORD}(?:\s{_PLACE_WORD}){{0,2}},?\s+(?:No\.?\s*)?\d{{1,5}}\b"
    # "Flat 27\nWest Grove" (British forms put the flat first, the street on the next line)
    rf"|\b(?:Flat|Studio|Apartment|Unit)\s+\d{{1,5}}[A-Za-z]?,?\s+(?:{_PLACE_WORD}\s+){{1,3}}(?:{_STREET_SUFFIXES})\b"
    # military mail: "PSC 4115, Box 7815", "Unit 3104 Box 4511", "USNS Knight"
    r"|\b(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}\b|\bUS(?:NS|NV|S|CGC)\s+[A-Z][a-z]+\b")
_STREET_TYPED = re.compile(  # hurried typing: "12 elm street apt 3" (suffixes that are not also common words)
    r"\b\d{1,6}[a-z]?\s+(?:[nsew]\.?\s+)?(?:[a-z]+\s+){1,3}"
    r"(?:street|avenue|ave|road|boulevard|blvd|lane|drive|highway|hwy|parkway|pkwy|terrace)\b\.?" + _UNIT,
    re.IGNORECASE)
_PO_BOX = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE)
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
           "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|"
           "AS|GU|MP|PR|VI|PW|FM|MH|AA|AE|AP")  # territories, freely associated states, military mail
# A ZIP code is five digits after a state code or a cue: the number is found first, then the cue before it (the
# cue alternation, tried at every word, cost six times the scan: "in", "or", "me" are state codes too).
_ZIP_NUMBER = re.compile(r"\b\d{5}(?:-\d{4})?\b")
_ZIP_CUE = re.compile(rf"(?:\b(?:{_STATES})\s+|\b(?:zip(?:\s*code)?|postal code)\s*[:#]?\s*)$", re.IGNORECASE)
_CITY_STATE = re.compile(rf"\b((?:{_PLACE_WORD}(?:[\s-]{_PLACE_WORD}){{0,2}})),\s+(?:{_STATES})\b")
_CAPITALIZED_RUN = re.compile(rf"\b{_PLACE_WORD}(?:[\s-][{_UPPER}][{_LOWER}.]+){{0,2}}\b")
_CITY_CUE = re.compile(r"\b(?i:lives in|living in|resides in|resident of|from|moved to|born in|home in|out of|"
                       rf"native of|outside of|relocated to|transferred from|city of)\s+(?:the\s+)?"
                       rf"({_PLACE_WORD}(?:[\s-]{_PLACE_WORD}){{0,2}})"
                       rf"(?![{_LOWER}])")
# (with a capital inside after a short prefix: "DeShawn", "LaToya", "DiNapoli", "McKenzie", "O'Neil")
_NAME_TOKEN = (rf"(?:O'|D'|[A-Z][a-z]{{1,2}}(?=[{_UPPER}][{_LOWER}]{{2}}))?[{_UPPER}][{_LOWER}]+"
               rf"(?:-[{_UPPER}][{_LOWER}]+)?")
_INITIAL = r"(?:[A-Z]\.){1,3}"
_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Nurse|RN|NP|PA|Rev|Reverend|Fr(?=\.))"  # "Fr." (not "14 Fr Foley")
# Relatives, and the people around a patient who are named by their role ("aide Trinh", "teacher Ms. Obi"), one or
# many ("daughters Lucía and Rosalind").
_RELATIONS = (r"(?:(?:spouse|wife|husband|son|daughter|mother|father|brother|sister|guardian|caregiver|friend|"
              r"partner|niece|nephew|grandson|granddaughter|grandmother|grandfather|roommate|fianc[eé]e?|boyfriend|"
              r"girlfriend|stepson|stepdaughter|cousin|aunt|uncle|sibling|landlord|coworker|aide|sitter|nanny|"
              r"babysitter|teacher|tutor|coach|supervisor|boss|sponsor|chaplain|pastor|priest|rabbi|imam|"
              r"interpreter|neighbou?r|"
              # and in Spanish, as bilingual notes write them ("su hija Ximena")
              r"esposa|esposo|hija|hijo|madre|padre|hermana|hermano|abuela|abuelo|nieta|nieto|t[ií]a|t[ií]o)s?|"
              r"wives|children|kids|grandchildren)")
_PARTICLE = "|".join(sorted(tagger.PARTICLES))  # lower-case words inside a name ("van der Berg", "de la Cruz")
_NAMED = rf"(?:(?:{_PARTICLE})\s+)*(?:{_NAME_TOKEN}(?![^\W\d_])|{_INITIAL})"  # whole words: not "Ph" of "PhD"
# The look-ahead holds the first letters of every cue (titles, roles, relations): the scan skips other words
# without trying each alternative (2.4x faster, same matches). A new cue word needs its first letter here.
_NAME_CUE = re.compile(
    rf"(?=[abcdefghiklmnprstuw])(?:\b(?:Pt|Patient(?: name)?|Name|{_TITLES}|MD|Attending|Resident|Signed(?: by)?|"
    rf"Electronically signed by|Dictated by|Seen by|Referred by|Referring|Contact|PCP|Provider|Attn|Attention|"
    rf"(?:Followed|Evaluated|Examined|Accompanied|Treated|Managed|Covered) by|{_RELATIONS})\b(?:\.?:\s*|\.?[ \t]+))"
    rf"(?:(?:{_TITLES}\.?|{_RELATIONS}):?\s+)*"
    rf"(?-i:({_NAMED}(?:,?[ \t]+{_NAMED}){{0,2}}))", re.IGNORECASE)
_PERSON_CUE = re.compile(rf"\b(?:{_TITLES}|{_RELATIONS})\b", re.IGNORECASE)
# "Fatima's daughter": a capitalized word whose relative is named after it
_POSSESSIVE_RELATION = re.compile(rf"\b({_NAME_TOKEN})['\u2019]s\s+(?i:{_RELATIONS})\b")
# Each capitalized word followed, one space on (or a middle initial on: "John Q. Public"), by another (pairs
# overlap: the rest is only looked ahead at).
_CAPITALIZED_PAIR = re.compile(rf"\b({_NAME_TOKEN})\b(?= ((?:[A-Z]\. )?)({_NAME_TOKEN})\b)")
_LAST_FIRST = re.compile(rf"\b({_NAME_TOKEN}),\s+({_NAME_TOKEN})\b")
# "Nguyen-Tran, Thuy was seen": a last-first pair that opens a line or sentence and is followed by a verb or
# the line's end, whether or not either name is in a list.
_LEADING_LAST_FIRST = re.compile(rf"(?:^|(?<=[.;:\n]\s)|(?<=\n))\s*({_NAME_TOKEN},\s+{_NAME_TOKEN}(?:\s+{_INITIAL})?)"
                                 r"(?=\s*$|\s+(?:was|is|has|had|presents|presented|seen|returns|reports|denies|"
                                 r"admitted|arrived|called|states|\(|[0-9]))", re.MULTILINE)
_LOWER_PAIR = re.compile(r"\b([a-z]{2,})\s+([a-z][a-z'-]{1,})\b")
_CREDENTIAL = re.compile(rf"\b((?:{_NAME_TOKEN}\s+){{1,2}}{_NAME_TOKEN}),?\s+(?:MD|M\.D\.|DO|RN|NP|PA-C|PhD)\b")

# Words that look like names after a cue but are not ("Dr. Visit", "Patient Denies").
_NOT_NAMES = frozenset({
    "The", "A", "An", "This", "That", "He", "She", "They", "His", "Her", "Patient", "Pt", "Denies", "Reports",
    "Presents", "Is", "Was", "Has", "Had", "Will", "Notes", "Note", "Visit", "Follow", "Office", "Clinic",
    "Hospital", "Name", "Unknown", "None", "Not", "No", "Yes", "Today", "Seen", "Discharged", "Admitted", "Returns",
    "Presented", "Denied", "Stated", "Said", "Of", "And", "On", "In", "At", "For", "With", "To", "By",
})


def _groups(pattern: re.Pattern[str], text: str, kind: str, group: int = 1) -> Iterator[Span]:
    for match in pattern.finditer(text):
        if match.group(group):
            yield Span(match.start(group), match.end(group), kind)


def find_dates(text: str) -> Iterator[Span]:
    yield from _groups(_HOLIDAY, text, "DATE", 0)
    for match in _MONTH_ALONE.finditer(text):  # a full stop after a full name ends the sentence: "in October."
        end = match.end(1) - (match.group(1).endswith(".") and len(match.group(1)) > 4)
        yield Span(match.start(1), end, "DATE")
    for match in _DATE.finditer(text):
        value = match.group(0)
        if _plausible_date(value) and (not _MONTH_DAY.fullmatch(value) or _is_dated(text, match.start(), match.end())):
            yield Span(match.start(), match.end(), "DATE")


# A month and day with no year reads like a score ("pain 4/10", "strength 5/5", "2/6 murmur"): it is a date only
# after a word that dates ("on 3/9", "since 04/01", "DOB", "seen", "signed ... MD") or before a time ("3/4 @ 14:00").
_MONTH_DAY = re.compile(r"\d{1,2}/\d{1,2}")
_DATES_BEFORE = re.compile(r"\b(?:on|since|from|until|till|by|dated?|seen|admit(?:ted)?|discharged?|born|dob|dos|visit|"
                           r"appt|appointment|return|f/u|follow(?:[- ]?up)?|as of|starting|through|thru|last|next|"
                           r"before|after|scheduled|signed|md|do|rn|np|pa-c|due|expires?|between|and|to|"
                           # what happened that day ("CVC placed 11/28", "cultures drawn 3/4")
                           r"placed|inserted|removed|started|stopped|resumed|restarted|discontinued|changed|performed|"
                           r"drawn|collected|obtained|completed|done|planned|initiated|extubated|intubated)\b[\s:.,]*$",
                           re.IGNORECASE)
_TIME_AFTER = re.compile(r"\s*(?:at|@)\s*\d{1,2}(?::?\d{2})")


def _is_dated(text: str, start: int, end: int) -> bool:
    return bool(_DATES_BEFORE.search(text, max(0, start - 20), start) or _TIME_AFTER.match(text, end))


def _plausible_date(value: str) -> bool:
    """Numeric dates must have a month and day in range (so '1.5.2' doses or '12/80' pressures are skipped)."""
    parts = re.split(r"[/\-.]", value)
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        first, second, third = (int(p) for p in parts)
        if len(parts[0]) == 4:  # ISO
            return 1 <= second <= 12 and 1 <= third <= 31
        return (1 <= first <= 12 and 1 <= second <= 31) or (1 <= second <= 12 and 1 <= first <= 31)
    if len(parts) == 2 and all(p.isdigit() for p in parts):  # month and day, or month and year (either order)
        return 1 <= int(parts[1] if len(parts[0]) == 4 else parts[0]) <= 12
    return True


def date_year(value: str) -> str | None:
    """The year in a date (four digits; two-digit years are read as 19xx/20xx), for keep-year policies."""
    found = _YEAR_IN.search(value)
    if not found:
        return None
    year = found.group(0)
    return year if len(year) == 4 else ("20" if int(year) < 50 else "19") + year


def find_ages(text: str) -> Iterator[Span]:
    for match in _AGE.finditer(text):
        group = 1 if match.group(1) else 2
        if int(match.group(group)) > 89:
            yield Span(match.start(group), match.end(group), "AGE")
    for match in _SPELLED_AGE.finditer(text):
        group = 1 if match.group(1) else 2
        yield Span(match.start(group), match.end(group), "AGE")


def _valid_ssn(area: str, group: str, serial: str) -> bool:
    """SSA never issues area 000, 666 or 9xx, group 00 or serial 0000."""
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def find_ssns(text: str) -> Iterator[Span]:
    for match in _SSN_PART.finditer(text):
        group = 1 if match.group(1) else 2
        yield Span(match.start(group), match.end(group), "SSN")
    for match in _SSN.finditer(text):
        area, _, group, serial = match.groups()
        if _valid_ssn(area, group, serial):
            yield Span(match.start(), match.end(), "SSN")
    for match in _SSN_CUE.finditer(text):
        digits = "".join(ch for ch in match.group(1) if ch.isdigit())
        if _valid_ssn(digits[:3], digits[3:5], digits[5:]):
            yield Span(match.start(1), match.end(1), "SSN")


def find_phones(text: str) -> Iterator[Span]:
    """+44 20 7946 0958: a country code and 8 to 15 digits in all (ITU E.164); national numbers with a trunk 0
    ("0161 496 0000"), 9 to 12 digits; any number of 7 to 15 digits after a phone cue, of 4 to 10 after a pager's
    or an extension's."""
    for pattern, group, fewest, most in ((_PHONE_INTL, 0, 8, 15), (_PHONE_NATIONAL, 0, 9, 12), (_PHONE_CUE, 1, 7, 15),
                                         (_PAGER, 1, 4, 10)):
        for match in pattern.finditer(text):
            if fewest <= sum(ch.isdigit() for ch in match.group(group)) <= most:
                yield Span(match.start(group), match.end(group), "PHONE")


def find_ips(text: str) -> Iterator[Span]:
    for match in _IPV4.finditer(text):
        if all(int(octet) <= 255 for octet in match.group(0).split(".")):
            yield Span(match.start(), match.end(), "IP")
    for match in _IPV6.finditer(text):
        value = match.group(0)
        if value.count(":") >= 2 and any(ch.isdigit() or ch.lower() in "abcdef" for ch in value) and _is_ipv6(value):
            yield Span(match.start(), match.end(), "IP")


def _is_ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


# The last digits of a number given by its ending ("card ending in 1234", "VIN ending 4352", "phone ending in
# 0143"): part of the identifier.
_ENDING = re.compile(r"\b(?i:(card|account|acct|vin|phone|number|policy|member id|mrn))(?:\s+(?:number|no\.?|#))?"
                     r"\s+(?i:ending|ends)(?:\s+(?:in|with))?\s*(\d{3,6})\b")
_ENDING_TYPES = {"card": "ACCOUNT", "account": "ACCOUNT", "acct": "ACCOUNT", "policy": "ACCOUNT",
                 "member id": "ACCOUNT", "vin": "ID", "phone": "PHONE", "number": "ID", "mrn": "MRN"}


# Payment card numbers without a cue: 13 to 19 digits (in groups of four, or none) that pass the Luhn check.
_CARD = re.compile(r"(?<![\d-])(?:\d{4}[ -]){3}\d{1,7}(?![\d-])|(?<!\d)\d{13,19}(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


# International bank account numbers ("GB96 DYVO 3980 3704 2625 88"): a country, two check digits that make the
# number 1 modulo 97 (ISO 13616), 11 to 30 letters and digits.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def _valid_iban(value: str) -> bool:
    compact = value.replace(" ", "")
    return 15 <= len(compact) <= 34 and int("".join(str(int(char, 36)) for char in compact[4:] + compact[:4])) % 97 == 1


def find_cued_ids(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        if _valid_iban(match.group(0)):
            yield Span(match.start(), match.end(), "ACCOUNT")
    for match in _CARD.finditer(text):
        digits = "".join(ch for ch in match.group(0) if ch.isdigit())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            yield Span(match.start(), match.end(), "ACCOUNT")
    for match in _ENDING.finditer(text):
        yield Span(match.start(2), match.end(2), _ENDING_TYPES[match.group(1).lower()])
    for kind, pattern in _CUED_IDS:
        for match in pattern.finditer(text):
            value = match.group(1)
            if sum(ch.isdigit() for ch in value) >= (7 if " " in value else 1):
                yield Span(match.start(1), match.end(1), kind)
    yield from _groups(_PLATE, text, "ID")
    yield from _groups(_UDI, text, "ID", 0)
    yield from _groups(_MAC, text, "ID", 0)
    for match in _VIN.finditer(text):
        value = match.group(0)
        if any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value):
            yield Span(match.start(), match.end(), "ID")


# Safe Harbor's "any other unique identifying number or code", uncued: a run of letters, digits and hyphens
# with at least 7 digits, or with letters and at least 4 digits in 6 or more characters. Not a quantity with
# its unit ("1000mg"), a decimal, or part of a longer token; dates, phones and cued IDs have already been found.
_CODE = re.compile(r"(?<![\w.,/:$%+-])(?=[A-Za-z-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+){0,4}(?![\w/%]|[.,:-]\w)")
_QUANTITY = re.compile(r"\d+(?:[a-z]{1,5}|[A-Z]{1,2})(?:-\d+(?:[a-z]{1,5}|[A-Z]{1,2})?)?")  # "1000mg", "70s-80s"


def find_codes(text: str) -> Iterator[Span]:
    for match in _CODE.finditer(text):
        value = match.group(0)
        digits = sum(char.isdigit() for char in value)
        letters = sum(char.isalpha() for char in value)
        if (digits >= 7 or (letters and digits >= 4 and len(value) >= 6)) and not _QUANTITY.fullmatch(value) \
                and not _TIME_RANGE.fullmatch(value) and not _OBSTETRIC.fullmatch(value):
            yield Span(match.start(), match.end(), "ID")


_OBSTETRIC = re.compile(r"G\d{1,2}P\d{1,4}(?:-?\d{1,4})*")  # gravida and para: "G2P1001"
_TIME_RANGE = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d-(?:[01]\d|2[0-3])[0-5]\d")  # a shift: "0700-1900"


def find_addresses(text: str) -> Iterator[Span]:
    for pattern in (_STREET, _STREET_TYPED, _PO_BOX):
        for match in pattern.finditer(text):
            yield Span(match.start(), match.end(), "ADDRESS")
    yield from _groups(_STREET_NAMED, text, "ADDRESS")


# A street named without its number ("fell at her home on Maple Ridge Road", "lives off Grand Avenue"): still the
# address's identifying part.
_STREET_NAMED = re.compile(rf"\b(?:on|off|at|near|along)\s+((?:{_PLACE_WORD}\s+){{1,3}}(?:Street|Road|Avenue|"
                           r"Boulevard|Drive|Lane|Terrace|Parkway|Court|Place|Way|Highway|Circle|Trail|"
                           # and abbreviated ("CVS on Elm St"; not "Dr", a title as often)
                           r"St|Rd|Ave|Blvd|Ln|Pkwy|Hwy)\b)")


# British and Canadian postcodes after their cue or a place ("postcode SW1A 1AA", "London EC1A 1BB", "Ottawa, ON
# K1A 0B1"): areas smaller than a state, as a ZIP code is.
# (after a place, the space between the halves is required: "Staged T2N0M0" is a tumour's stage)
_EIRCODE = r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"
_BRITISH, _CANADIAN = r"[A-Z]{1,2}\d[A-Z\d]?", r"[A-Z]\d[A-Z]"  # the outward half; the inward is \d[A-Z]{2}, \d[A-Z]\d
_POSTCODE = re.compile(rf"\b(?i:post\s?code|postal code)\s*[:#]?\s*"
                       rf"({_BRITISH}\s?\d[A-Z]{{2}}|{_CANADIAN}\s?\d[A-Z]\d)\b"
                       rf"|{_PLACE_WORD},?\s+(?:[A-Z]{{2}}\s+)?({_BRITISH} \d[A-Z]{{2}}|{_CANADIAN} \d[A-Z]\d)\b"
                       # Irish Eircodes, after their cue or a place and its district ("Dublin 2, D02 X285")
                       rf"|(?:\b(?i:eircode)\s*[:#]?|{_PLACE_WORD}(?: \d{{1,2}})?,?)\s+({_EIRCODE})\b")


_ZIP_AFTER = re.compile(r"\s+\d{5}(?:-\d{4})?\b")


def find_locations(text: str) -> Iterator[Span]:
    for match in _POSTCODE.finditer(text):
        yield Span(match.start(match.lastindex), match.end(match.lastindex), "ZIP")
    for match in _ZIP_NUMBER.finditer(text):
        if _ZIP_CUE.search(text, max(0, match.start() - 24), match.start()):
            yield Span(match.start(), match.end(), "ZIP")
    for match in _CITY_STATE.finditer(text):
        state = text[match.end(1):match.end()].strip(", ")
        if state in ("MD", "PA") and match.group(1) not in cities():
            continue  # "Will Okonkwo, MD" is a physician; "Baltimore, MD" a place
        if _is_word(match.group(1)) and not _ZIP_AFTER.match(text, match.end()):
            continue  # "(Urdu, ID 100482)": a word and a cue; "Mobile, AL 36601" is a place
        yield Span(match.start(1), match.end(1), "LOCATION")
    yield from _cued_cities(text)
    yield from _known_places(text)
    yield from _lowercase_places(text)
    yield from _places_of_sites(text)


def _known_places(text: str) -> Iterator[Span]:
    """A known city, not after a title; one of the world's (places()) not where a drug, an eponym or a person is
    written either ("improving on Norco", "Tylenol and Norco", "Hashimoto thyroiditis", "spoke with Lampa": names no
    list holds as words)."""
    known, openers = known_places(), city_first_words()
    for match in _CAPITALIZED_RUN.finditer(text):
        words = match.group(0).split()
        if words[0] not in openers or _is_name_context(text, match.start()):
            continue
        for size in range(len(words), 0, -1):
            candidate = " ".join(words[:size])
            if candidate in known:
                span = Span(match.start(), match.start() + len(candidate), "LOCATION")
                if _EPONYM_AFTER.match(text, span.end):
                    break  # "Boston Bowel Prep Scale", "Columbia Suicide Severity Rating Scale"
                if candidate in cities() or not _written_as_no_place(text, span):
                    yield span
                break


def _written_as_no_place(text: str, span: Span) -> bool:
    return _not_a_name(text, span) or _MEDICATION_AFTER.match(text, span.end) is not None \
        or _MEDICATION_BEFORE.search(text, max(0, span.start - 24), span.start) is not None \
        or _PERSON_BEFORE.search(text, max(0, span.start - 16), span.start) is not None \
        or _joined_to_a_word(text, span.start)


def _joined_to_a_word(text: str, start: int, depth: int = 0) -> bool:
    """"Started Tylenol and Norco", "Started Norco and Norco": one of a list whose item before is vocabulary, or is
    written where a drug is."""
    joined = _JOINED_BEFORE.search(text, max(0, start - 40), start)
    if joined is None:
        return False
    return _is_word(joined.group(1)) or _MEDICATION_BEFORE.search(text, max(0, joined.start() - 24), joined.start()) \
        is not None or (depth < 3 and _joined_to_a_word(text, joined.start(), depth + 1))


_JOINED_BEFORE = re.compile(r"([^\W\d_]+),?\s+(?:and|or|&)\s+$")
_DOSED = (r"continued?|start(?:ed)?|stop(?:ped)?|tak(?:e|es|ing)|took|restart(?:ed)?|resumed?|increased?|decreased?|"
          r"hold|held|prescribed|given|switched to|changed to|trial of|dose of|refill(?:ed)?")
_MEDICATION_BEFORE = re.compile(rf"\b(?i:on|{_DOSED})\s+$")  # ("on" too, before a place: "improving on Norco")
_DOSED_BEFORE = re.compile(rf"\b(?i:{_DOSED})\s+$")  # (not "on" before a name: "live on Harrison Blvd")
_MEDICATION_AFTER = re.compile(r"\s+(?:(?:(?:was|is|were)\s+)?(?:held|stopped|discontinued|restarted|resumed|started|"
                               r"given|increased|decreased|titrated|tapered)|prn|dose|tabs?|tablets?|mg|per protocol|"
                               r"daily|bid|tid|qid|qhs|nightly)\b")


# "lives in dearborn", "the er at st cloud hospital": a known city typed in lower case, after a word that places it.
_LOWER_PLACE = re.compile(rf"\b(?:in|from|at|near)\s+(?:the\s+)?({_LOWER_WORD}(?:\s{_LOWER_WORD}){{0,2}})")


def _lowercase_places(text: str) -> Iterator[Span]:
    known, openers = known_places(), city_first_words()
    for match in _LOWER_PLACE.finditer(text):
        words = [word.title() if word != "st" else "St." for word in match.group(1).split()]
        if words[0] not in openers:
            continue
        for size in range(len(words), 0, -1):
            if " ".join(words[:size]) in known and not (size == 1 and _is_word(words[0])):
                end = match.start(1) + len(" ".join(match.group(1).split()[:size]))
                yield Span(match.start(1), end, "LOCATION")
                break


# "the Quincy clinic", "the Sunnyvale office": a proper noun before a site's lower-case noun names its place.
_PLACE_OF_SITE = re.compile(rf"\bthe\s+({_PLACE_WORD})\s+(?:clinic|office|hospital|campus|branch|location|site|"
                            r"facility|warehouse|plant|store|depot|shelter)\b")


def _places_of_sites(text: str) -> Iterator[Span]:
    for match in _PLACE_OF_SITE.finditer(text):
        if not (_not_a_name_word(match.group(1)) or _is_service(match.group(1))):
            yield Span(match.start(1), match.end(1), "LOCATION")


def _cued_cities(text: str) -> Iterator[Span]:
    for match in _CITY_CUE.finditer(text):
        words = match.group(1).split()
        if words[0] in _TITLE_WORDS:
            continue  # "records requested from Dr. Quaye": a person
        # "from Springfield General": a place followed by more capitalized words is kept to the known city.
        for size in range(len(words), 0, -1):
            candidate = " ".join(words[:size])
            if candidate in regions():
                break  # a state or country: not an identifier under Safe Harbor
            if candidate in cities() or (size == 1 and candidate not in _NOT_NAMES
                                         and candidate not in _FACILITY_QUALIFIERS):  # "from General Motors"
                if size == 1:  # no listed place: the run, less the vocabulary after it ("from Milton Keynes")
                    kept = len(words)
                    while kept > 1 and (_is_word(words[kept - 1]) or words[kept - 1] in _FACILITY_QUALIFIERS):
                        kept -= 1
                    candidate = " ".join(words[:kept])
                yield Span(match.start(1), match.start(1) + len(candidate), "LOCATION")
                break


# Places by their form, whether or not a list knows them: a compass or water word before a proper noun
# ("West Jeremyville", "Port Michelle"), a town-forming ending ("Paulaville", "Matthewhaven", "Vilsbiburg"), a proper
# noun after "in" or "near" ("born in Pritzwalk"), and a facility named with one ("Cardenasburgh Medical Center",
# "Springfield General Hospital of East Jennifer": Safe Harbor removes the place, and the name that carries it).
_PLACE_PREFIX = r"(?:North|South|East|West|New|Lake|Port|Fort|Mount|Mt\.|Saint|St\.|San|Santa|Glen|Bad|Bay|Point)"
# (endings surnames share, "-berg", "-ton", "-wood", "-field", are left to the tagger: "Achterberg" is a name)
_TOWN_ENDINGS = ("ville", "burgh", "borough", "boro", "mouth", "haven", "stad", "furt", "town", "shire", "side",
                 "port", "view")
# Words that end a place's name ("Troisi City", "Ward Springs").
_PLACE_NOUNS = frozenset({"City", "Springs", "Falls", "Heights", "Hills", "Beach", "Park", "Village", "Valley",
                          "County", "Township", "Junction", "Harbor", "Creek", "Lake", "Bay", "Grove", "Ridge"})
# one place name, hyphenated ones whole ("Neu-Ulm", "Saint-Jean-sur-Richelieu", "Stratford-upon-Avon")
_PLACE_NAME = rf"{_PLACE_WORD}(?:-(?:(?:sur|sous|les|la|le|en|de|du|des|am|an|im|upon|on|in)-)?{_PLACE_WORD})*"
_PLACE_RUN = rf"{_PLACE_NAME}(?:\s{_PLACE_NAME}){{0,2}}"
# (the capital is looked ahead for first: the scan skips other characters without trying each alternative; the
# place after "in" is found by its own pattern, a look-behind at every position cost twice the scan)
_PLACE_FORMS = re.compile(
    rf"(?=[{_UPPER}])(?:\b{_PLACE_PREFIX}\s+{_PLACE_NAME}(?:\s{_PLACE_NAME})?"
    rf"|\b[{_UPPER}][{_LOWER}]{{2,}}(?:{'|'.join(_TOWN_ENDINGS)})\b)")
_PLACE_AFTER_IN = re.compile(rf"\b(?:in|near) (?:the )?((?:{_PLACE_PREFIX}\s+)?{_PLACE_RUN})(?![\w'\u2019])")
_FACILITY_QUALIFIERS = frozenset({"General", "Memorial", "Regional", "Community", "University", "Medical", "County",
                                  "Children's", "Veterans", "Municipal", "District", "Surgical", "Rehabilitation",
                                  "Behavioral", "Specialty", "Cancer", "Heart", "Health", "Care"})
_FACILITY_NOUNS = ("(?:Hospital|Medical Center|Health Center|Health System|Clinic|Infirmary|Hospice|Nursing Home|"
                   "Urgent Care)")
_FACILITY_WORDS = rf"(?:(?:{'|'.join(sorted(_FACILITY_QUALIFIERS))})\s+)*{_FACILITY_NOUNS}\b"
_FACILITY = re.compile(rf"\b(?:(?:St\.?|Saint)\s+)?{_PLACE_NAME}(?:['\u2019]s)?(?:\s{_PLACE_NAME}){{0,2}}?"
                       rf"\s+{_FACILITY_WORDS}(?:\s+of\s+{_PLACE_RUN})?")
_FACILITY_OF_PLACE = re.compile(rf"\b(?:{_PLACE_WORD}\s+){{0,2}}{_FACILITY_NOUNS}s?\s+of\s+({_PLACE_RUN})")
# An eponym is no name or place ("in Parkinson disease", "Foley catheter", "Parkinson's disease", "Babinski sign").
_EPONYM_AFTER = re.compile(r"(?:['\u2019]s)?(?:\s+[A-Z][a-z]+){0,3}\s+(?i:disease|syndrome|sign|test|score|palsy|"
                           r"catheter|lymphoma|dementia|rules?|"
                           r"scale|criteria|maneuver|procedure|position|classification|reflex|phenomenon|tumor|"
                           r"ulcer|fracture|hernia|cyst|murmur|node|nodes|law|effect|triad|technique|method|stain|"
                           r"needle|incision|operation|repair|flap|splint|"
                           # a product, by what it is ("Prevalon boot", "Cetaphil moisturizer", "Dexcom sensor")
                           r"boots?|dressings?|moisturi[sz]ers?|sunscreens?|creams?|gels?|foams?|sprays?|wipes?|"
                           r"ointments?|lotions?|shampoos?|soaps?|washes|supplements?|shakes?|inhalers?|"
                           r"nebuli[sz]ers?|glucometers?|sensors?|pumps?|monitors?|mattress(?:es)?|cushions?|braces?|"
                           r"patch(?:es)?|masks?|strips?|lancets?|pens?|app|apps|device|devices|machine|wafers?|"
                           r"pouch(?:es)?|tablets?|capsules?)\b")
# ("Mallampati II", "NYHA III": a one-word span before a numeral is a class)
_NUMERAL_AFTER = re.compile(rf"\s+{_ROMAN.pattern}(?![\w'\u2019-])")


# Counties, parishes and boroughs by name ("Cook County", "Kings County Hospital", "Orleans Parish").
_COUNTY = re.compile(rf"\b{_PLACE_NAME}(?:\s{_PLACE_NAME})?\s+(?:County|Parish|Borough)\b(?:\s+{_FACILITY_WORDS})?")


def find_places_by_form(text: str) -> Iterator[Span]:
    yield from _counties(text)
    yield from _facilities(text)
    for match in (*_PLACE_FORMS.finditer(text), *_PLACE_AFTER_IN.finditer(text)):
        group = match.lastindex or 0
        words = match.group(group).split()
        while len(words) > 1 and words[-1] not in _PLACE_NOUNS and (
                _is_word(words[-1]) or words[-1] in _FACILITY_QUALIFIERS or _is_service(words[-1])):
            words.pop()  # "East Codyborough General Hospital": the facility's words are the facility's
        value, prefixed = " ".join(words), re.fullmatch(_PLACE_PREFIX, words[0])
        if prefixed and len(words) == 1:
            continue  # "Saint Medical Center": a prefix with no name after it
        names = words[1:] if prefixed else words  # "Rancho Cordova": one word of vocabulary, one not
        named = names[0]
        if value in regions() or all(map(_is_word, names)) or any(map(_is_service, names)) \
                or (named.endswith(("ish", "ese", "ian", "ern")) and named not in first_names()) \
                or _EPONYM_AFTER.match(text, match.end()) or re.fullmatch(_MONTHS, named) \
                or re.fullmatch(_DAY_NAME, named) or named in _NOT_NAMES:
            continue
        yield Span(match.start(group), match.start(group) + len(value), "LOCATION")


def _counties(text: str) -> Iterator[Span]:
    for match in _COUNTY.finditer(text):
        words = match.group(0).split()
        county, lead = next(i for i, word in enumerate(words) if word in ("County", "Parish", "Borough")), 0
        while lead < county - 1 and _is_word(words[lead]):
            lead += 1  # "Resident Cook County": a sentence's word before the name is not in it
        start = match.start() + match.group(0).index(words[lead]) if lead else match.start()
        if words[lead] not in _NOT_NAMES and words[lead] not in _FACILITY_QUALIFIERS:
            yield Span(start, match.end(), "LOCATION")


def _facilities(text: str) -> Iterator[Span]:
    for match in _FACILITY_OF_PLACE.finditer(text):  # "Royal Infirmary of Edinburgh": named after its place
        if not all(map(_is_word, match.group(1).split())):
            yield Span(match.start(), match.end(), "LOCATION")
    for match in _FACILITY.finditer(text):
        words = match.group(0).split()
        lead = 0  # "Patient Sutton Memorial Hospital": the sentence's words before the name are not in it
        while lead < len(words) and _is_word(words[lead]) and not re.fullmatch(_PLACE_PREFIX, words[lead]):
            lead += 1
        if lead == len(words):
            continue  # "The Medical Center": no name in it
        named = lead + 1 if words[lead] in ("St.", "Saint") or re.fullmatch(_PLACE_PREFIX, words[lead]) else lead
        if not _is_word(words[named]) and words[named] not in _FACILITY_QUALIFIERS:
            yield Span(match.start() + match.group(0).index(words[lead]), match.end(), "LOCATION")


def _is_name_context(text: str, start: int) -> bool:
    """A city word used as a name ("Dr. Jackson", "Madison Lee")."""
    before = text[max(0, start - 6):start]
    return bool(re.search(r"(?:Dr|Mr|Mrs|Ms)\.?\s*$", before))


# Hurried typing after a title, a relation or a conversation ("Mrs. jane vũ", "her niece mónika szabó", "spoke with
# nicolas leão"): lower-case words that are no vocabulary (the safe list, which holds teams' abbreviations) are the
# name.
_LOWER_NAME_CUE = re.compile(
    rf"\b(?i:(pt|patient|name)|mr|mrs|ms|miss|mx|dr|prof|nurse|attn|{_RELATIONS}|spoke (?:with|to)|"
    rf"discussed with|talked (?:with|to))(?:\.?:?\s+|\s*\(\s*)({_LOWER_WORD}(?:\s{_LOWER_WORD}){{0,3}})")
# After "pt", words of these endings describe the patient ("pt tachycardic, hypotensive"), they do not name them.
_DESCRIPTIVE_ENDINGS = ("ic", "ive", "ous", "al", "ed", "ing", "ent", "ant", "ful", "less", "able", "ible", "ary",
                        "oid", "tic")


# "hi dr sorensen its marcus again": a writer who names themself, in lower case (a listed given name that is no
# everyday word: "it's will" is left).
_SELF_NAMED = re.compile(rf"\b(?i:this is|it'?s|i'?m|i am|my name is)\s+({_LOWER_WORD})\b")


def _lowercase_names(text: str, firsts: frozenset[str], lasts: frozenset[str]) -> Iterator[Span]:
    """Hurried typing ("pt maria garcia"): after "pt", a title, a relation or a conversation, lower-case words that
    are no vocabulary; a listed given name after the writer's "it's" or "this is"."""
    for match in _SELF_NAMED.finditer(text):
        word = match.group(1)
        if word.title() in firsts and word not in name_words() and word not in _COMMON_LOWER:
            yield Span(match.start(1), match.end(1), "NAME")
    for match in _LOWER_NAME_CUE.finditer(text):
        end, position, words, taken = None, match.start(2), match.group(2).split(), 0
        # "pt maria called", "pt bill vukovic"; not a name that is an everyday word too ("pt will call back")
        listed = (words[0].title() in firsts or words[0].title() in lasts) and (
            words[0] not in name_words() or (len(words) > 1 and not _is_word(words[1])))
        for index, word in enumerate(words):
            position = text.index(word, position) + len(word)
            if word in tagger.PARTICLES and index and index + 1 < len(words):
                continue  # "camille le roux"
            following = words[index + 1] if index + 1 < len(words) else ""
            if _is_word(word) or _is_service(word) or _is_service(following) or word in _LOWER_STOP \
                    or (match.group(1) and not listed and word.endswith(_DESCRIPTIVE_ENDINGS)):
                break  # "case management": the words before a service name it
            end, taken = position, taken + 1
        # after "pt" or "patient" a clinical word may follow ("pt ambulating"): a name there is two words at least,
        # or starts with a listed name
        if end and (taken >= 2 or not match.group(1) or listed):
            yield Span(match.start(2), end, "NAME")


# Lower-case words that are also given names or surnames in the lists ("will", "grace", "young"): a pair
# starting with one is not taken for a name without a cue.
_COMMON_LOWER = frozenset({"will", "grace", "hope", "joy", "faith", "mark", "bill", "june", "may", "rose", "dawn",
                           "young", "wood", "brown", "white", "black", "green", "king", "long", "rich", "page"})

_LOWER_STOP = frozenset({"is", "was", "has", "had", "called", "reports", "denies", "states", "with", "and", "to",
                         "in", "on", "at", "for", "the", "a", "presents", "seen", "returns"})


# A cue word of five or more letters with a full stop after it ends its sentence ("discussed with the patient.
# Return precautions reviewed"): what follows is not the name it cues (abbreviations, "Dr.", "Pt.", are shorter).
_SENTENCE_ENDED = re.compile(r"[A-Za-z]{5,}\.\s")


def find_names(text: str) -> Iterator[Span]:
    firsts, lasts = first_names(), last_names()
    yield from _lowercase_names(text, firsts, lasts)
    for match in _NAME_CUE.finditer(text):
        cue = text[match.start():match.start(1)]
        # "Patient Education", "Attending Physician", "Contact Information": a heading, unless a title, a relation
        # or a colon cues the word
        heading = ":" not in cue and not _PERSON_CUE.search(cue) and _is_word(match.group(1).split()[0].rstrip(".,"))
        if not heading and not _SENTENCE_ENDED.search(text, match.start(), match.start(1)):
            yield from _name_tokens(match.group(1), match.start(1))
    for pattern in (_CREDENTIAL,):
        for match in pattern.finditer(text):
            yield from _name_tokens(match.group(1), match.start(1))
    yield from _names_after_by(text)
    yield from _names_after_roles(text)
    yield from _transcribers(text)
    for match in _POSSESSIVE_RELATION.finditer(text):
        if match.group(1) not in _NOT_NAMES and match.group(1) not in _TITLE_WORDS:
            yield Span(match.start(1), match.end(1), "NAME")
    for match in _LAST_FIRST.finditer(text):
        last, first = match.group(1), match.group(2)
        if last in lasts and first in firsts:
            yield Span(match.start(), match.end(), "NAME")
    yield from _names_by_form(text, firsts, lasts)
    for pair in _CAPITALIZED_PAIR.finditer(text):
        word, following = pair.group(1), pair.group(3)
        end = pair.end(1) + 1 + len(pair.group(2)) + len(following)
        if word in firsts and (following in lasts or _surname_like(following)):
            yield Span(pair.start(), end, "NAME")
        elif following in lasts and word not in _NOT_NAMES and word not in cities() and not _is_word(word):
            yield Span(pair.start(), end, "NAME")  # an unlisted given name before a known surname


# Capitalized words after "by" that are no vocabulary, title, service, date or region: the person who did it (the
# words a cue list names, "Seen by", "Referred by", are some of the verbs; "by" is what they share).
_BY_NAME = re.compile(rf"\bby\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)(?![\w'\u2019-])")


# A person named by their work ("hygienist Carmen", "social worker Tanya Beltrán", "case manager Inez"): the words up
# to the first that is no name's ("Case Manager Assessment" is a heading).
_ROLE_NAME = re.compile(rf"\b(?i:hygienist|therapist|counsel?lor|pharmacist|dietitian|technician|tech|assistant|"
                        rf"scribe|doula|midwife|paramedic|attorney|lawyer|advocate|volunteer|student|worker|manager|"
                        rf"navigator|coordinator|officer|deputy)\s+({_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
                        rf"(?![\w'\u2019-])")


# A dictation footer's initials: the transcriber's after "Transcribed ... by" ("by jlm"), and the author's and the
# typist's on a line of their own ("JLM/kt").
_TRANSCRIBER = re.compile(r"\b(?i:transcribed|dictated|typed|entered|scribed)\b[^\n]{0,40}?\bby:?\s+([A-Za-z]{2,4})"
                          r"(?![\w.'\u2019-])|^[ \t]*([A-Z]{2,4})/([a-z]{2,4})[ \t]*$", re.MULTILINE)


def _transcribers(text: str) -> Iterator[Span]:
    for match in _TRANSCRIBER.finditer(text):
        for group in range(1, 4):
            initials = match.group(group)
            if initials and initials not in _TITLE_WORDS and not _is_word(initials):
                yield Span(match.start(group), match.end(group), "NAME")


def _names_after_roles(text: str) -> Iterator[Span]:
    for match in _ROLE_NAME.finditer(text):
        name = _leading_name(text, match.start(1), match.end(1))
        if name:
            yield name


def _leading_name(text: str, start: int, end: int) -> Span | None:
    """The name tokens of text[start:end] up to the first that is no name's (vocabulary, a title, a service, a month,
    a region)."""
    last = start
    for word in _NAME_WORD.finditer(text, start, end):
        if _not_a_name_word(word.group(0)):
            break
        last = word.end()
    return Span(start, last, "NAME") if last > start else None


def _names_after_by(text: str) -> Iterator[Span]:
    """"Seen in clinic by Yusuf", "called back by Tyler Brandt"; not a product with its model ("by Sherlock 3CG")."""
    for match in _BY_NAME.finditer(text):
        if not any(map(_not_a_name_word, match.group(1).split())) and not _MODEL_AFTER.match(text, match.end()):
            yield Span(match.start(1), match.end(1), "NAME")


def _not_a_name_word(word: str) -> bool:
    """Vocabulary, a title, a service, a month, a day or a region: no word of a name."""
    return _is_word(word) or word in _NOT_NAMES or word in _TITLE_WORDS or _is_service(word) \
        or re.fullmatch(_MONTHS, word) is not None or _DAY_NAMES.fullmatch(word) is not None or word in regions()


def _names_by_form(text: str, firsts: frozenset[str], lasts: frozenset[str]) -> Iterator[Span]:
    """Names found by their form: a leading "Last, First" (listed or not), and lower-case pairs of known names."""
    for match in _LEADING_LAST_FIRST.finditer(text):
        last, first = (part.strip() for part in match.group(1).split(",", 1))
        place = any(word in cities() or word in regions() for word in (last, first.split()[0]))
        if not place and last not in _NOT_NAMES and first.split()[0] not in _NOT_NAMES:
            yield Span(match.start(1), match.end(1), "NAME")
    for match in _LOWER_PAIR.finditer(text):  # "spoke with maria garcia": both halves are known names
        first, last = match.group(1).title(), match.group(2).title()
        if first in firsts and last in lasts and match.group(1) not in _LOWER_STOP | _COMMON_LOWER:
            yield Span(match.start(), match.end(), "NAME")


def _surname_like(word: str) -> bool:
    return word not in _NOT_NAMES and len(word) > 2 and word not in cities()


# Titles and credentials are outside name spans (Safe Harbor removes the name, not "Dr.").
_TITLE_WORDS = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Doctor", "Prof", "Nurse", "RN", "NP", "PA", "MD",
                          "DO", "PhD", "Rev", "Reverend", "Fr"})


_SERVICE_ENDINGS = ("ology", "ologist", "ologists", "iatry", "iatrics", "ician", "icians", "pedics", "surgery",
                    "therapy", "medicine",
                    "service", "services", "team", "nursing", "department", "hospitalist", "hospitalists", "consult",
                    "work", "disease", "diseases", "management", "care", "health", "rehabilitation", "rehab",
                    "nutrition", "pharmacy", "dietary", "anesthesia", "hospice", "chaplaincy")


def _is_service(word: str) -> bool:
    """A clinical service or specialty, by its form ("Cardiology", "Psychiatry", "Orthopedics", "Therapy")."""
    return word.lower().endswith(_SERVICE_ENDINGS)


def _name_tokens(value: str, offset: int) -> Iterator[Span]:
    """The name part of a cued phrase: leading capitalized tokens that are not sentence words (a given
    name that is also a word, "Will", counts when a capitalized word follows it), with the particles between them;
    a service ("Seen by Cardiology", "Physical Therapy") is not a name."""
    end, position, words = None, 0, value.split()
    for index, word in enumerate(words):
        begin = value.index(word, position)
        position = begin + len(word)
        bare = word.rstrip(".,")
        followed = index + 1 < len(words) and words[index + 1][:1].isupper()
        if word in tagger.PARTICLES and any(later[:1].isupper() for later in words[index + 1:]):
            continue
        if _is_service(bare):  # "Physical Therapy": the words before the service name it too
            end = None
            break
        initial = re.fullmatch(_INITIAL, word.rstrip(",")) is not None
        if word.lower() == word or bare in _TITLE_WORDS or (
                not initial and bare in _NOT_NAMES and not (bare in first_names() and followed)):
            break
        end = position - (len(word) - len(word.rstrip(",")))
    if end:
        yield Span(offset, offset + end, "NAME")


# A table pasted into a note, its header naming identifier columns ("mrn,name,dob,zip", "Name | Phone"): each cell
# of those columns, in the rows after it with as many cells, is that identifier.
_COLUMN_TYPES = {"mrn": "MRN", "medical record number": "MRN", "record number": "MRN", "name": "NAME",
                 "patient": "NAME", "patient name": "NAME", "first name": "NAME", "last name": "NAME",
                 "contact": "NAME",
                 "dob": "DATE", "date of birth": "DATE", "birth date": "DATE", "admit date": "DATE",
                 "admission date": "DATE", "discharge date": "DATE", "visit date": "DATE", "date": "DATE",
                 "zip": "ZIP", "zip code": "ZIP", "zipcode": "ZIP", "postal code": "ZIP", "phone": "PHONE",
                 "telephone": "PHONE", "cell": "PHONE", "fax": "PHONE", "ssn": "SSN", "address": "ADDRESS",
                 "street": "ADDRESS", "city": "LOCATION", "town": "LOCATION", "email": "EMAIL", "e-mail": "EMAIL",
                 "account": "ACCOUNT", "acct": "ACCOUNT", "account number": "ACCOUNT", "member id": "ACCOUNT"}
_TABLE_ROW = re.compile(r"^[^\n]*[,\t|][^\n]*$", re.MULTILINE)


def find_table_cells(text: str) -> Iterator[Span]:
    rows = list(_TABLE_ROW.finditer(text))
    index = 0
    while index < len(rows):
        header = rows[index]
        delimiter = next(char for char in ",\t|" if char in header.group(0))
        names = [cell.strip().lower().rstrip(":") for cell in header.group(0).split(delimiter)]
        columns = {position: _COLUMN_TYPES[name] for position, name in enumerate(names) if name in _COLUMN_TYPES}
        index += 1
        if not columns or (len(columns) * 2 < len(names) and len(columns) < 2):
            continue  # a sentence with commas names no columns; one column of many is too little to go on
        while index < len(rows) and rows[index].start() == rows[index - 1].end() + 1 \
                and rows[index].group(0).count(delimiter) == len(names) - 1:
            row, start = rows[index], rows[index].start()
            for position, cell in enumerate(row.group(0).split(delimiter)):
                value = cell.strip()
                if position in columns and value and value not in ("-", "n/a", "N/A"):
                    begin = start + cell.index(value)
                    yield Span(begin, begin + len(value), columns[position])
                start += len(cell) + 1
            index += 1


RECOGNIZERS: tuple[Callable[[str], Iterator[Span]], ...] = (
    lambda text: _groups(_EMAIL, text, "EMAIL", 0), lambda text: _groups(_OBFUSCATED_EMAIL, text, "EMAIL", 0),
    lambda text: _groups(_SPELLED_EMAIL, text, "EMAIL", 0),
    lambda text: _groups(_HANDLE, text, "ID"), lambda text: _groups(_URL, text, "URL", 0),
    lambda text: _groups(_BARE_URL, text, "URL", 0), find_ips,
    find_ssns, lambda text: _groups(_PHONE, text, "PHONE", 0), find_phones,
    find_cued_ids, find_dates, find_ages,
    find_addresses, find_locations, find_places_by_form, find_names, find_table_cells,
)
# When spans of equal length overlap, the more specific type wins.
PRIORITY = {kind: rank for rank, kind in enumerate(("EMAIL", "URL", "IP", "SSN", "MRN", "ACCOUNT", "ID", "PHONE",
                                                     "DATE", "AGE", "ADDRESS", "ZIP", "NAME", "LOCATION"))}


# Characters that hide an identifier from patterns without changing how it reads: zero-width and soft
# hyphen characters (dropped), look-alike letters from other scripts and full-width forms (read as Latin).
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_CONFUSABLE = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0501\u0410\u0412\u0415\u041a\u041c\u041d"
    "\u041e\u0420\u0421\u0422\u0425\u0406\u03bf\u039f\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d"
    "\u03a1\u03a4\u03a7\u03a5\u0396",
    "aeopcyxijdABEKMHOPCTXIoOABEHIKMNPTXYZ")
# Upper-case writing read in title case: runs of two or more upper-case words ("JOHN SMITH", "ROBERT CHEN, MD"),
# and one after a title ("Dr. MARTINEZ"). Words of one or two letters keep their case (MD, RN, state codes); a
# lone acronym (MRN, COPD) is left alone.
_CAPITALS = _UPPER + "\u1e00-\u1eff"  # with Vietnamese capitals ("ĐẶNG")
_CAPS = rf"[{_CAPITALS}]{{2,}}(?:[-'][{_CAPITALS}]+)*"
# A run of upper-case words, or one after a title ("Dr. SMITH"; the title is matched, not looked behind for: ten
# look-behinds tried at every position cost ten times the scan).
# (one space or ", " between the words: a table's columns, "MD    PCP", are no run)
_ALL_CAPS_RUN = re.compile(rf"\b{_CAPS}(?:,? {_CAPS})+\b"
                           rf"|\b(?P<title>(?:Dr|Mr|Ms|Mrs|Prof)\.? ){_CAPS}(?:,? {_CAPS})*\b")
_CAPS_WORD = re.compile(rf"\b[{_CAPITALS}]{{3,}}(?:[-'][{_CAPITALS}]+)*\b")


def _title_case_runs(text: str) -> str:
    """Words without a vowel are acronyms ("PCP", "MRN", "DNR"), not names: they keep their case."""
    return _ALL_CAPS_RUN.sub(_title_case_run, text)


def _title_case_run(run: re.Match[str]) -> str:
    """A run reads as a name when two of its words are no vocabulary ("JOHN SMITH"; "ICU PROGRESS NOTE" is a heading),
    or after a title ("Dr. MARTINEZ"). Two-letter words are names inside it ("HUANG, LI MEI"), unless state codes or
    credentials ("ROBERT CHEN, MD", "BOISE ID")."""
    value = run.group(0)
    if not run.group("title") and sum(not _is_word(word) and not _ROMAN.fullmatch(word)
                                      for word in _CAPS_WORD.findall(value)) < 2:
        return value  # ("ASA III", "STAGE IIIA": a class and its numeral)
    value = _CAPS_WORD.sub(_title_case_word, value)
    return _TWO_LETTERS.sub(lambda word: word.group(0) if word.group(0) in _KEEP_CAPS else word.group(0).title(), value)


_TWO_LETTERS = re.compile(rf"(?<=[ ,])[{_CAPITALS}]{{2}}\b|\b[{_CAPITALS}]{{2}}(?=[ ,])")
_KEEP_CAPS = frozenset(_STATES.split("|")) | {"MD", "RN", "NP", "PA", "DO", "DR", "MR", "MS", "PT", "OT", "ED", "ER",
                                              "IV", "PO", "OR", "II", "VI", "JR", "SR"}


def _title_case_word(word: re.Match[str]) -> str:
    bare = unicodedata.normalize("NFD", word.group(0))  # "ĐẶNG": the vowel under its accents
    vowelled = any(vowel in bare for vowel in "AEIOUY")
    return word.group(0).title() if vowelled and not _ROMAN.fullmatch(word.group(0)) else word.group(0)


_HIDDEN = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\uff01-\uff5e]")


def reading_view(text: str) -> tuple[str, Sequence[int]]:
    """The text as a reader sees it, and for each of its characters the offset in the original (one
    more entry: the end). Invisible characters are dropped, look-alikes mapped to Latin, full-width forms
    to ASCII, and upper-case names read in title case ("PATIENT: JOHN SMITH"), so
    the patterns and cues apply to them; spans found in the view map back to the original's offsets."""
    if not _HIDDEN.search(text):  # the common case: offsets unchanged (a range indexes like the list)
        return _title_case_runs(text if text.isascii() else text.translate(_CONFUSABLE)), range(len(text) + 1)
    kept, offsets = [], []
    for index, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        kept.append(chr(ord(char) - 0xFEE0) if "\uff01" <= char <= "\uff5e" else char)
        offsets.append(index)
    offsets.append(len(text))
    return _title_case_runs("".join(kept).translate(_CONFUSABLE)), offsets


class LearnedTagger(Protocol):
    """The learned half: (start, end, type) of what it finds in the text; windows `covered` says the patterns
    found whole need not be tagged (the shipped tagger, or a team's model: mlstack/deid/model_backend.py)."""

    def spans(self, text: str, covered: Callable[[int, int], bool]) -> Iterable[tuple[int, int, str]]: ...


def detect(text: str, learned: LearnedTagger | None = None) -> list[Span]:
    """Non-overlapping spans (longest first, then by type priority) found in the reading view of the text, with the
    original's offsets: the patterns' spans, then what the learned tagger (default: the shipped one) and the
    uncued-code rule add where the patterns found nothing, then names continued to their last word, the places after
    places, and the names and places found once wherever else the note writes them; a state or country is no
    identifier."""
    view, offsets = reading_view(text)
    found = resolve_overlaps({span for recognizer in RECOGNIZERS for span in recognizer(view)})
    found = resolve_overlaps([*found, *_added(view, found, learned or tagger.shipped())])
    starts = {span.start for span in found}
    found = resolve_overlaps([_continued(view, span, starts) if span.type == "NAME" else span for span in found])
    found = resolve_overlaps([*found, *_places_after_places(view, found), *_names_after_names(view, found),
                              *_elsewhere_in_the_note(view, found)])
    found = [span for span in found if view[span.start:span.end] not in regions()]  # "Puerto Rico": no identifier
    # the offsets grow with the view's: the spans stay sorted and apart
    return [Span(offsets[span.start], offsets[span.end - 1] + 1, span.type) for span in found]


# The rest of a name after the part a recognizer found ("Osvaldo Tasso", "Ella van de Brink"): the capitalized
# words that follow it, with the particles between them, when they are no vocabulary, title, service or date; and
# an initial just before it.
_NAME_REST = re.compile(rf"(?:\s(?:(?:{_PARTICLE})\s)*{_NAME_TOKEN}(?![^\W\d_]|\.\w)){{1,2}}")


# "L. Rael": the initial before the surname found (after a space or a line's start: "PM-31962-X. Yesenia" is a code's
# last letter)
_INITIAL_BEFORE = re.compile(r"(?:(?<=\s)|^)[A-Z]\.\s?$", re.MULTILINE)


# "They live in Lekki, Lagos", "14 Harcourt Terrace, Dublin 2": a proper noun after a place or an address and a comma
# is the larger place (a city or a county; a state or country is no identifier, and is left: _not_a_name_word).
# A postcode may come before the place, as most of Europe writes it ("7 Rue du Faubourg, 75008 Paris").
_AFTER_PLACE = re.compile(rf",\s(?:(\d{{4,5}}(?:-\d{{3}})?)\s)?({_PLACE_NAME})(?![\w'\u2019-])")


def _places_after_places(view: str, found: list[Span]) -> Iterator[Span]:
    for span in found:
        after = _AFTER_PLACE.match(view, span.end) if span.type in ("LOCATION", "ADDRESS") else None
        if after and not _not_a_name_word(after.group(2)):
            yield Span(after.start(2), after.end(2), "LOCATION")
            if after.group(1):
                yield Span(after.start(1), after.end(1), "ZIP")


# "sons Taras and Bohdan", "daughters Lucía (Albuquerque) and Rosalind", "Ana Ruiz & Luis Ortega": the person joined
# to a name found, with what the note says of the first in brackets between them.
_AND_NAME = re.compile(rf"(?:\s?\([^()\n]{{1,40}}\))?,?\s(?:and|&)\s"
                       rf"({_NAME_TOKEN}(?:\s{_NAME_TOKEN})?)(?![\w'\u2019-])")


def _names_after_names(view: str, found: list[Span]) -> Iterator[Span]:
    """The words after the conjunction up to the first that is no name's (vocabulary, a title, a service, a month, a
    region: "Maria and Cardiology", "Dr. Lee and Mr. Ortiz" are left)."""
    for span in found:
        joined = _AND_NAME.match(view, span.end) if span.type == "NAME" else None
        name = _leading_name(view, joined.start(1), joined.end(1)) if joined else None
        if name:
            yield name


_NAME_WORD = re.compile(_NAME_TOKEN)


def _elsewhere_in_the_note(view: str, found: list[Span]) -> Iterator[Span]:
    """A name or place found once is one wherever else the note writes it ("PATIENT: ABERNATHY, COLETTE" makes
    "Colette is an 88-year-old" and "discussed with Colette" names): the words of the spans found, when they are no
    vocabulary, title or region; at a sentence's start, not when the name is an everyday word too."""
    kinds: dict[str, str] = {}
    for span in found:
        if span.type in ("NAME", "LOCATION"):
            for word in _WORD.findall(view[span.start:span.end]):
                if len(word) > 2 and word[0].isupper() and not _not_a_name_word(word):
                    kinds.setdefault(word, span.type)
    if not kinds:
        return
    for match in _CAPITALIZED_WORD.finditer(view):  # one pass, however many names (an alternation costs each)
        kind = kinds.get(match.group(0))
        if kind and not (match.group(0).lower() in name_words()
                         and _SENTENCE_START.search(view, max(0, match.start() - 6), match.start())):
            yield Span(match.start(), match.end(), kind)  # not "Hope to taper", "Mark the site"


_CAPITALIZED_WORD = re.compile(rf"(?<![\w'\u2019-])[{_UPPER}][^\W\d_]*(?![\w-])")


# Where a sentence, line or list item starts: a capital there says nothing of a name.
_SENTENCE_START = re.compile(r"(?:^|[.!?:;|*\n-])[ \t\"'(]*\Z")


def _continued(view: str, span: Span, starts: set[int]) -> Span:
    """`starts`: where the spans found begin (a name is not continued into the next identifier: "Born Jul. 11")."""
    initial = _INITIAL_BEFORE.search(view, max(0, span.start - 3), span.start)
    if initial:
        span = Span(initial.start(), span.end, span.type)
    rest = _NAME_REST.match(view, span.end)
    if not rest:
        return span
    end = span.end
    for word in _NAME_WORD.finditer(rest.group(0)):
        value = word.group(0)
        if _not_a_name_word(value) or span.end + word.start() in starts:
            break
        end = span.end + word.end()
    return Span(span.start, end, span.type) if end > span.end else span


def _added(view: str, found: list[Span], model: LearnedTagger | None) -> list[Span]:
    """What has no pattern of its own, where no pattern found anything (patterns are exact where they apply):
    names and places the learned tagger (mlstack/deid/tagger.py) finds, and uncued codes (find_codes). The
    characters the patterns took are marked once: the tagger skips windows they cover whole, and a candidate is
    kept only if it touches none of them."""
    taken = bytearray(len(view) + 1)
    for span in found:
        taken[span.start:span.end] = b"\x01" * (span.end - span.start)
    learned = [] if model is None else [Span(start, end, kind) for start, end, kind in model.spans(
        view, covered=lambda start, end: taken.find(0, start, end) < 0)]
    names = [_trimmed(view, span) for span in learned if not _not_a_name(view, span)]
    return [span for span in (*names, *find_codes(view))
            if span and taken.find(1, span.start, span.end) < 0 and not _not_a_name(view, span)]


def _trimmed(view: str, span: Span) -> Span | None:
    """The span less the vocabulary it starts or ends with ("Interpreter Nichole Lenihan", "Officer Kowalczyk":
    a name neither starts nor ends with a dictionary word); None when nothing else is left."""
    words = list(_COMPOUND.finditer(view, span.start, span.end))
    while words and _is_vocabulary(words[0].group(0)):
        words.pop(0)
    while words and _is_vocabulary(words[-1].group(0)):
        words.pop()
    return Span(words[0].start(), words[-1].end(), span.type) if words else None


_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def _is_vocabulary(compound: str) -> bool:
    """A word, or a hyphenated compound that is vocabulary whole ("Guillain-Barre", "Wolff-Parkinson-White") or in
    each part ("Follow-Up")."""
    return _is_word(compound) or ("-" in compound and all(map(_is_word, compound.split("-"))))


def _not_a_name(view: str, span: Span) -> bool:
    """A span the tagger found, as it is and trimmed of its vocabulary (Philter's safe list), that is a service, an
    abbreviation, an eponym ("Glasgow Coma Scale", "Barrett esophagus", "Parkinson's disease"), or the start of a
    state or country's name ("Puerto" of "Puerto Rico")."""
    if span.type not in ("NAME", "LOCATION"):
        return False
    words = _WORD.findall(view[span.start:span.end])
    following = _WORD.match(view, span.end + 1) if view[span.end:span.end + 1] == " " else None
    # a name has a word ("," was tagged once), names no service ("Nephrology"), holds no abbreviation ("IJ",
    # "New AFib", "CHA2DS2-VASc")
    if not words or any(map(_is_service, words)) \
            or any(_ABBREVIATION.fullmatch(word) for word in words) or _EPONYM_AFTER.match(view, span.end) \
            or _EPONYM_AFTER.match(" " + words[-1].lower()) or (following and clinical_form(following.group(0))) \
            or _MODEL_AFTER.match(view, span.end):  # "Sherlock 3CG", "Dexcom G7": a product and its model
        return True
    person = _PERSON_BEFORE.search(view, max(0, span.start - 16), span.start)
    if len(words) == 1 and (words[0].lower() in name_words() or _DAY_NAMES.fullmatch(words[0])) and not person:
        return True  # "Neck: Supple", "Carb Controlled", "on Wednesdays": an everyday word, by the tagger alone
    if span.type == "NAME" and _ARTICLE_BEFORE.search(view, max(0, span.start - 12), span.start):
        return True  # "uses a Fitbit", "drives a 2012 Subaru", "reads the Bible": a thing, not a person
    # "spoke with Lawton 4/8": a person and a date (not an acronym: "per RECIST 1.1")
    if len(words) == 1 and not (person and not words[0].isupper()) and _measured(view, span):
        return True  # "12 mm Hasson", "Troponin 0.04 -> 0.03", "Tinetti 20", "Mallampati II", "started Trelegy"
    ahead = view[span.start:span.start + 40].split()
    return any(" ".join(ahead[:size]).rstrip(".,;:") in regions() for size in range(len(words) + 1, 4))


def _measured(view: str, span: Span) -> bool:
    """A device or lab beside a measure, a class before its numeral, a drug after what is done with drugs."""
    return bool(_MEASURE_BEFORE.search(view, max(0, span.start - 12), span.start)
                or _MEASURE_AFTER.match(view, span.end) or _NUMERAL_AFTER.match(view, span.end)
                or _DOSED_BEFORE.search(view, max(0, span.start - 24), span.start))


# What says a person follows ("spoke with Hart", "her neighbor Jane", "B. Pastor").
_PERSON_BEFORE = re.compile(rf"(?:\b(?i:with|by|to|per|{_RELATIONS})|\b[A-Z]\.)\s+$")
_ARTICLE_BEFORE = re.compile(r"\b(?:[Aa]n?|[Tt]he)\s+(?:\d{2,4}\s+)?$")
# ("COPD", "NSCLC", "AFib", "DTaP", "IgG", "BiPAP": a capital after the first two letters of a short word; "LaToya" is
# longer; upper-case names are in title case in the reading view)
_ABBREVIATION = re.compile(r"[A-Z]{2,4}|[B-DF-HJ-NP-TV-XZ]{5,}|[A-Z]{2,}[a-z]{1,2}|[A-Z][a-z]?[A-Z][A-Za-z]{0,2}")
_MODEL_AFTER = re.compile(r" (?=[A-Z]*\d)(?=\d*[A-Z])[A-Z0-9]{2,6}\b(?![/.-]\w)")
_MEASURE_BEFORE = re.compile(r"(?:\d\s?(?:mm|cm|mg|mcg|ml|mL|g|kg|Fr|F|units?)|\d-0)\s+$")
_MEASURE_AFTER = re.compile(r"\s*(?::\s*)?(?:\d+\.\d+|[<>]=?\s*\d|\d+(?:\.\d+)?\s*(?:->|→|mg|ng|mmol|mEq|%|/))"
                            # a score ("Tinetti 20,", "Berg Balance 44.", "Caprini 5")
                            # ... or out of a maximum ("Apgars 8 and 9", "Lawton IADL 4/8"; not a date's "4/8/1950")
                            r"|(?:\s+[A-Z][A-Za-z]+)?\s+\d{1,3}(?=\s*(?:[,;)]|\.(?!\d)|$|and\s)|/\d{1,2}(?![\d/]|\.\d))",
                            re.MULTILINE)


# USAN stems and clinical word endings: a capitalized word of six or more letters that ends so is a drug,
# a procedure or a finding, not a name ("Lisinopril", "Atorvastatin", "Cholecystectomy", "Pancytopenia").
CLINICAL_ENDINGS = ("pril", "sartan", "olol", "alol", "statin", "dipine", "azole", "prazole", "tidine", "cillin",
                    "mycin", "micin", "oxacin", "cycline", "parin", "xaban", "gatran", "umab", "imab", "omab", "tinib",
                    "ciclib", "navir", "ciclovir", "gliptin", "gliflozin", "glutide", "lukast", "triptan", "setron",
                    "sone", "olone", "zepam", "zolam", "barbital", "caine", "terol", "tropium", "osin", "afil",
                    "dronate", "platin", "rubicin", "taxel", "fungin", "semide", "thiazide", "plase", "itis",
                    "osis", "emia", "aemia", "uria", "algia", "penia", "ectomy", "otomy", "ostomy", "plasty",
                    "scopy", "graphy", "pathy", "cytosis", "globin", "ase", "ides", "oids", "mine",
                    "ometer", "ogram", "cephalic", "scopic")  # "Spirometer", "Angiogram", "Normocephalic"


def clinical_form(word: str) -> bool:
    lower = word.lower()
    return len(lower) >= 6 and lower.endswith(CLINICAL_ENDINGS)


_WORD = re.compile(r"[^\W\d_]+")


def _is_word(token: str) -> bool:
    """An English word or a clinical term by its form, or one of them after a prefix ("Preeclampsia", "Postpartum"):
    no name ("Tumor", "Interpreter", "Lisinopril")."""
    lower = token.lower()
    if lower in safe_words() or clinical_form(token):
        return True
    prefix = _WORD_PREFIX.match(lower)
    return prefix is not None and len(lower) - prefix.end() >= 5 and lower[prefix.end():] in safe_words()


# Prefixes of three letters and more: "Re-", "Co-" before a word make names too ("Reyes", "Cohen").
_WORD_PREFIX = re.compile(r"pre|post|non|anti|hyper|hypo|peri|intra|inter|trans|para|poly|multi|pseudo|semi|micro|"
                          r"macro|mega|over|under|extra|infra|supra|retro|auto|sero|neuro|cardio|gastro|hepato|nephro|"
                          r"osteo|hemi|immuno|radio|electro|endo|sub")


def resolve_overlaps(found: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans, sorted: the longest first, then the more specific type (PRIORITY). The characters
    taken are marked in a bytearray, so each candidate is checked in C over its own length: linear in the text,
    however many spans it holds (list inserts made thousands of spans quadratic)."""
    candidates = sorted(set(found), key=lambda s: (-(s.end - s.start), PRIORITY.get(s.type, len(PRIORITY)), s.start))
    if not candidates:
        return []
    taken = bytearray(max(span.end for span in candidates))
    chosen: list[Span] = []
    for span in candidates:
        if taken.find(1, span.start, span.end) < 0:
            taken[span.start:span.end] = b"\x01" * (span.end - span.start)
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)
