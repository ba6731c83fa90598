"""Offline recognizers for the HIPAA Safe Harbor identifiers that appear in free text.

Each recognizer finds candidate spans with patterns, checksums or ranges where they exist
(SSN area numbers, IPv4 octets, ages over 89, calendar dates), context cues ("Pt:", "Dr.",
"MRN", "lives in") and the name and place dictionaries in data/. No model, no download.
Overlaps are resolved later (longest, then most specific, wins).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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


# --- patterns ---------------------------------------------------------------------------------------

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}[/\-.]\d{{1,2}}[/\-.](?:\d{{4}}|\d{{2}})"  # 03/01/21, 3-1-2021, 3.1.21
    rf"|{_YEAR}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?)?"  # 2021-03-01, with a time
    rf"|{_MONTHS}\s+{_DAY}(?:,?\s+{_YEAR})?"  # Jan 3rd, January 3, 2021
    rf"|{_DAY}(?:\s+of)?\s+{_MONTHS}(?:,?\s+{_YEAR})?"  # 3 Jan 2021, 3rd of January
    rf"|{_MONTHS}\s+{_YEAR}"  # March 2021
    rf"|\d{{1,2}}/{_YEAR})\b", re.IGNORECASE)
_YEAR_IN = re.compile(r"(?:19|20)\d{2}|(?<=[/\-.])\d{2}$")

_PHONE = re.compile(r"(?<![\w.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
                    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w-])", re.IGNORECASE)
_PHONE_CUE = re.compile(r"\b(?:tel|telephone|phone|ph|cell|mobile|fax|pager|call(?:ed)?(?:\s+at)?)\.?:?\s*"
                        r"(\+?1?\d{10})\b", re.IGNORECASE)
# Linear time (re backtracks): every repetition is bounded and starts only where a run of its characters
# starts, so no position is scanned more than a constant number of times ("1." * 10000 took 0.68 s for
# 20 KB with an unbounded local part; tests/unit/test_deid.py asserts the growth on such inputs).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[A-Za-z]{2,24}\b")
_URL = re.compile(r"(?<![\w./:%-])(?:https?://|www\.)[^\s<>\"')\]]{0,2047}[^\s<>\"')\].,;:]", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(r"\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}\b",
                   re.IGNORECASE)
_SSN = re.compile(r"\b(\d{3})[- ](\d{2})[- ](\d{4})\b")
_SSN_CUE = re.compile(r"\b(?:SSN|social security(?: number| no\.?)?)\s*[:#]?\s*(\d{9})\b", re.IGNORECASE)
_VALUE = r"(?-i:(?=[A-Z-]*\d)([A-Z0-9][A-Z0-9-]{3,19}[A-Z0-9]))\b"  # a digit somewhere, capitals as written
_QUALIFIERS = r"(?:\s+(?:serial|id|no\.?|number|num|#|plate|license|licence|code))*"
_CUED_IDS = (
    ("MRN", re.compile(r"\b(?:MRN|MR#|medical record|chart)" + _QUALIFIERS + r"\s*(?:is\s+)?[:#]?\s*" + _VALUE,
                       re.IGNORECASE)),
    ("ACCOUNT", re.compile(r"\b(?:account|acct\.?|health plan|member|beneficiary|policy|subscriber|insurance|claim)"
                           + _QUALIFIERS + r"\s*(?:is\s+)?[:#]?\s*" + _VALUE, re.IGNORECASE)),
    ("ID", re.compile(r"\b(?:driver'?s?|license|licence|DEA|NPI|certificate|cert\.?|badge|passport|vehicle|plate|"
                      r"serial|device|implant|pacemaker|VIN)" + _QUALIFIERS + r"\s*(?:is\s+)?[:#]?\s*" + _VALUE,
                      re.IGNORECASE)),
)
_VIN = re.compile(r"\b[A-HJ-NPR-Z0-9]{17}\b")
_AGE = re.compile(r"\b(\d{2,3})(?:\s?(?:-|\s)?(?:y/?o|yo|yrs?|years?)(?:[\s-]old)?\b|(?=\s*(?:M|F|male|female)\b))"
                  r"|\b(?:age[ds]?|aged)\s*[:]?\s*(\d{2,3})\b", re.IGNORECASE)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    r"Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq)\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*\w+)?")
_PO_BOX = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE)
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
           "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC")
_ZIP = re.compile(rf"(?:\b(?:{_STATES})\s+|\b(?:zip(?:\s*code)?|postal code)\s*[:#]?\s*)(\d{{5}}(?:-\d{{4}})?)\b",
                  re.IGNORECASE)
_CITY_STATE = re.compile(rf"\b((?:[A-Z][a-z]+(?:[\s-][A-Z][a-z]+){{0,2}})),\s+(?:{_STATES})\b")
_CITY_CUE = re.compile(r"\b(?i:lives in|living in|resides in|resident of|from|moved to|born in|home in|"
                       r"transferred from|city of)\s+((?:[A-Z][a-z]+)(?:[\s-][A-Z][a-z]+){0,2})")
_NAME_TOKEN = r"(?:O'|D'|Mc|Mac)?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"  # noqa: S105 - a regex, not a secret
_INITIAL = r"[A-Z]\."
_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Prof|Nurse|RN|NP|PA)"
_RELATIONS = (r"(?:spouse|wife|husband|son|daughter|mother|father|brother|sister|guardian|caregiver|friend|"
              r"partner|niece|nephew|grandson|granddaughter)")
_NAME_CUE = re.compile(
    rf"(?:\b(?:Pt|Patient(?: name)?|Name|{_TITLES}|MD|Attending|Resident|Signed|Electronically signed by|"
    rf"Dictated by|Seen by|Referred by|Referring|Contact|PCP|cc|Provider|{_RELATIONS})\b\.?:?\s+)"
    rf"(?:(?:{_TITLES}\.?|{_RELATIONS}):?\s+)*"
    rf"(?-i:((?:{_NAME_TOKEN}|{_INITIAL})(?:,?\s+(?:{_NAME_TOKEN}|{_INITIAL})){{0,2}}))", re.IGNORECASE)
_CAPITALIZED = re.compile(rf"\b{_NAME_TOKEN}\b")
_LAST_FIRST = re.compile(rf"\b({_NAME_TOKEN}),\s+({_NAME_TOKEN})\b")
_CREDENTIAL = re.compile(rf"\b((?:{_NAME_TOKEN}\s+){{1,2}}{_NAME_TOKEN}),?\s+(?:MD|M\.D\.|DO|RN|NP|PA-C|PhD)\b")

# Words that look like names after a cue but are not ("Dr. Visit", "Patient Denies").
_NOT_NAMES = frozenset({
    "The", "A", "An", "This", "That", "He", "She", "They", "His", "Her", "Patient", "Pt", "Denies", "Reports",
    "Presents", "Is", "Was", "Has", "Had", "Will", "Notes", "Note", "Visit", "Follow", "Office", "Clinic",
    "Hospital", "Unknown", "None", "Not", "No", "Yes", "Today", "Seen", "Discharged", "Admitted", "Returns",
    "Presented", "Denied", "Stated", "Said", "Of", "And", "On", "In", "At", "For", "With", "To", "By",
})


def _groups(pattern: re.Pattern[str], text: str, kind: str, group: int = 1) -> Iterator[Span]:
    for match in pattern.finditer(text):
        if match.group(group):
            yield Span(match.start(group), match.end(group), kind)


def find_dates(text: str) -> Iterator[Span]:
    for match in _DATE.finditer(text):
        if _plausible_date(match.group(0)):
            yield Span(match.start(), match.end(), "DATE")


def _plausible_date(value: str) -> bool:
    """Numeric dates must have a month and day in range (so '1.5.2' doses or '12/80' pressures are skipped)."""
    parts = re.split(r"[/\-.]", value)
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        first, second, third = (int(p) for p in parts)
        if len(parts[0]) == 4:  # ISO
            return 1 <= second <= 12 and 1 <= third <= 31
        return (1 <= first <= 12 and 1 <= second <= 31) or (1 <= second <= 12 and 1 <= first <= 31)
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return 1 <= int(parts[0]) <= 12
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


def find_ssns(text: str) -> Iterator[Span]:
    for match in _SSN.finditer(text):
        area, group, serial = match.groups()
        if area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000":
            yield Span(match.start(), match.end(), "SSN")
    yield from _groups(_SSN_CUE, text, "SSN")


def find_ips(text: str) -> Iterator[Span]:
    for match in _IPV4.finditer(text):
        if all(int(octet) <= 255 for octet in match.group(0).split(".")):
            yield Span(match.start(), match.end(), "IP")
    for match in _IPV6.finditer(text):
        yield Span(match.start(), match.end(), "IP")


def find_cued_ids(text: str) -> Iterator[Span]:
    for kind, pattern in _CUED_IDS:
        for match in pattern.finditer(text):
            if any(ch.isdigit() for ch in match.group(1)):
                yield Span(match.start(1), match.end(1), kind)
    for match in _VIN.finditer(text):
        value = match.group(0)
        if any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value):
            yield Span(match.start(), match.end(), "ID")


def find_addresses(text: str) -> Iterator[Span]:
    for pattern in (_STREET, _PO_BOX):
        for match in pattern.finditer(text):
            yield Span(match.start(), match.end(), "ADDRESS")


def find_locations(text: str) -> Iterator[Span]:
    yield from _groups(_ZIP, text, "ZIP")
    for match in _CITY_STATE.finditer(text):
        state = text[match.end(1):match.end()].strip(", ")
        if state in ("MD", "PA") and match.group(1) not in cities():
            continue  # "Will Okonkwo, MD" is a physician; "Baltimore, MD" a place
        yield Span(match.start(1), match.end(1), "LOCATION")
    for match in _CITY_CUE.finditer(text):
        words = match.group(1).split()
        # "from Springfield General": a place followed by more capitalized words is kept to the known city.
        for size in range(len(words), 0, -1):
            candidate = " ".join(words[:size])
            if candidate in cities() or (size == 1 and candidate not in _NOT_NAMES):
                yield Span(match.start(1), match.start(1) + len(candidate), "LOCATION")
                break
    known = cities()
    for match in re.finditer(r"\b[A-Z][a-z]+(?:[\s-][A-Z][a-z.]+){0,2}\b", text):
        words = match.group(0).split()
        for size in range(len(words), 0, -1):
            candidate = " ".join(words[:size])
            if candidate in known and not _is_name_context(text, match.start()):
                yield Span(match.start(), match.start() + len(candidate), "LOCATION")
                break


def _is_name_context(text: str, start: int) -> bool:
    """A city word used as a name ("Dr. Jackson", "Madison Lee")."""
    before = text[max(0, start - 6):start]
    return bool(re.search(r"(?:Dr|Mr|Mrs|Ms)\.?\s*$", before))


_LOWER_CUE = re.compile(r"\b(?:pt|patient|name|mr|mrs|ms|dr)\.?:?\s+([a-z]+)(?:\s+([a-z'-]+))?")


def _lowercase_names(text: str, firsts: frozenset[str], lasts: frozenset[str]) -> Iterator[Span]:
    """Hurried typing ("pt maria garcia"): after a strong cue, lower-case words that are known names."""
    for match in _LOWER_CUE.finditer(text):
        first, second = match.group(1), match.group(2)
        known_second = bool(second) and second.title() in lasts
        if first.title() in firsts or first.title() in lasts or known_second:
            end = match.end(2) if second and second not in _LOWER_STOP else match.end(1)
            yield Span(match.start(1), end, "NAME")


_LOWER_STOP = frozenset({"is", "was", "has", "had", "called", "reports", "denies", "states", "with", "and", "to",
                         "in", "on", "at", "for", "the", "a", "presents", "seen", "returns"})


def find_names(text: str) -> Iterator[Span]:
    firsts, lasts = first_names(), last_names()
    yield from _lowercase_names(text, firsts, lasts)
    for match in _NAME_CUE.finditer(text):
        yield from _name_tokens(match.group(1), match.start(1))
    for pattern in (_CREDENTIAL,):
        for match in pattern.finditer(text):
            yield from _name_tokens(match.group(1), match.start(1))
    for match in _LAST_FIRST.finditer(text):
        last, first = match.group(1), match.group(2)
        if last in lasts and first in firsts:
            yield Span(match.start(), match.end(), "NAME")
    tokens = list(_CAPITALIZED.finditer(text))
    for index, token in enumerate(tokens):
        word = token.group(0)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        adjacent = following is not None and text[token.end():following.start()] in (" ", " ")
        if not adjacent:
            continue
        if word in firsts and (following.group(0) in lasts or _surname_like(following.group(0))):
            yield Span(token.start(), following.end(), "NAME")
        elif following.group(0) in lasts and word not in _NOT_NAMES and word not in cities():
            yield Span(token.start(), following.end(), "NAME")  # an unlisted given name before a known surname


def _surname_like(word: str) -> bool:
    return word not in _NOT_NAMES and len(word) > 2 and word not in cities()


def _name_tokens(value: str, offset: int) -> Iterator[Span]:
    """The name part of a cued phrase: leading capitalized tokens that are not sentence words (a given
    name that is also a word, "Will", counts when a capitalized word follows it)."""
    end, position, words = None, 0, value.split()
    for index, word in enumerate(words):
        begin = value.index(word, position)
        position = begin + len(word)
        bare = word.rstrip(".,")
        followed = index + 1 < len(words) and words[index + 1][:1].isupper()
        if word.lower() == word or (bare in _NOT_NAMES and not (bare in first_names() and followed)):
            break
        end = position - (len(word) - len(word.rstrip(",")))
    if end:
        yield Span(offset, offset + end, "NAME")


RECOGNIZERS: tuple[Callable[[str], Iterator[Span]], ...] = (
    lambda text: _groups(_EMAIL, text, "EMAIL", 0), lambda text: _groups(_URL, text, "URL", 0), find_ips,
    find_ssns, lambda text: _groups(_PHONE, text, "PHONE", 0), lambda text: _groups(_PHONE_CUE, text, "PHONE"),
    find_cued_ids, find_dates, find_ages,
    find_addresses, find_locations, find_names,
)
# When spans of equal length overlap, the more specific type wins.
PRIORITY = {kind: rank for rank, kind in enumerate(("EMAIL", "URL", "IP", "SSN", "MRN", "ACCOUNT", "ID", "PHONE",
                                                     "DATE", "AGE", "ADDRESS", "ZIP", "NAME", "LOCATION"))}


def detect(text: str) -> list[Span]:
    """Non-overlapping spans, longest first, then by type priority. Each candidate is checked against its
    two neighbours among the spans kept (sorted by start), not against all of them: text with thousands
    of identifiers stays fast."""
    candidates = sorted({span for recognizer in RECOGNIZERS for span in recognizer(text)},
                        key=lambda s: (-(s.end - s.start), PRIORITY[s.type], s.start))
    starts: list[int] = []
    chosen: list[Span] = []
    for span in candidates:
        index = bisect.bisect_right(starts, span.start)
        if (index == 0 or chosen[index - 1].end <= span.start) and (
                index == len(chosen) or chosen[index].start >= span.end):
            starts.insert(index, span.start)
            chosen.insert(index, span)
    return chosen
