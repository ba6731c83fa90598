"""The labelled evaluation corpus: synthetic clinical notes with a span for every identifier.

`python -m mlstack.deid.corpus --out mlstack/deid/data/eval_corpus.jsonl [--documents N --seed S]`
writes it; the committed file is what `mlstack deid --evaluate` scores. Notes are built from
sentence templates with identifier slots in varied formats (dates in nine forms, phones in five,
names with and without titles, "Last, First", names that are common words), so every span's
offsets are known exactly. Half of the people's names come from lists that the detector's
dictionaries do not contain, so recall on names measures the context rules too, not just
look-ups; some names have no cue at all, some notes are typed in lower case, some phone numbers
have no separators. The templates were written by the detector's authors: the scores measure
these formats, not real notes (docs/deid.md says what that means). Everything is fictitious; a
fixed seed makes the file reproducible.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

from mlstack.deid.recognizers import DATA_DIR

CORPUS_PATH = DATA_DIR / "eval_corpus.jsonl"
SEED = 20261201

# Names outside the detector's dictionaries (data/first_names.txt, last_names.txt) on purpose.
_UNLISTED_FIRST = ["Odalys", "Thaddeus", "Ifeoma", "Bjorn", "Marisol", "Leopold", "Anneliese", "Kwame", "Soraya",
                   "Evander", "Rosalind", "Tobias", "Yesenia", "Cornelius", "Dagny", "Ezequiel", "Henrietta",
                   "Lachlan", "Perpetua", "Ulises"]
_UNLISTED_LAST = ["Oyelaran", "Thistlewood", "Vukovic", "Brannigan", "Szymanski", "Achterberg", "Delacroix",
                  "Quintanilla", "Ferreira-Lima", "O'Donnell", "Mwangi", "Castellanos", "Lindqvist", "Abernathy",
                  "Nakamura", "Przybylski", "Okonkwo", "Halvorsen", "Villanueva", "McAllister"]
_LISTED_FIRST = ["Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Fatima", "John", "Priya", "Grace", "Rose",
                 "Will", "Hope", "Mark", "June", "Faith", "Bill", "Joy", "Dawn", "Rita"]
_LISTED_LAST = ["Garcia", "Smith", "Okafor", "Chen", "Ivanova", "Lopez", "Haddad", "Miller", "Patel", "Novak",
                "Kim", "Hassan", "Brown", "Tanaka", "Silva", "Cohen", "Mensah", "Petrov", "Young", "Wood"]
_CITIES = ["Springfield", "Riverside", "Fairview", "Madison", "Georgetown", "Clinton", "Salem", "Boston",
           "Chicago", "Denver", "San Antonio", "Baton Rouge"]
_STATES = ["IL", "OH", "MA", "TX", "CO", "WI", "NY", "CA", "LA", "OR"]
_STREETS = ["Oak", "Maple", "Cedar", "Elm", "Washington", "Lake View", "Hillcrest", "Pine", "Main", "Sunset"]
_SUFFIXES = ["Street", "St.", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Blvd", "Court"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_FINDINGS = ["dyspnea on exertion", "bilateral lower extremity edema", "HbA1c of 8.9%", "BP 142/88",
             "chronic productive cough", "fasting glucose 182 mg/dL", "metformin 1000 mg twice daily",
             "crackles at the right base", "oxygen saturation 91% on room air", "no acute distress",
             "troponin negative x2", "WBC 12.4", "tiotropium inhaler continued", "follow-up in 2 weeks"]


class LabelledNote:
    """Text built piece by piece, recording each labelled span as it is appended (this corpus, and the
    tagger's training notes: mlstack/deid/train.py)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[dict[str, object]] = []

    def text(self, value: str) -> LabelledNote:
        self.parts.append(value)
        self.length += len(value)
        return self

    def phi(self, kind: str, value: str) -> LabelledNote:
        self.spans.append({"type": kind, "start": self.length, "end": self.length + len(value)})
        return self.text(value)

    def as_document(self) -> dict[str, object]:
        return {"text": "".join(self.parts), "spans": self.spans}

    def add(self, value: str, kind: str | None = None) -> None:
        """Plain text, or (with a kind) a labelled span."""
        if kind:
            self.phi(kind, value)
        else:
            self.text(value)


def _name(rng: random.Random) -> tuple[str, str]:
    listed = rng.random() < 0.5
    first = rng.choice(_LISTED_FIRST if listed else _UNLISTED_FIRST)
    last = rng.choice(_LISTED_LAST if rng.random() < 0.5 else _UNLISTED_LAST)
    return first, last


def _date(rng: random.Random) -> str:
    year, month, day = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
    suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd"}.get(day, "th")
    forms = [f"{month:02d}/{day:02d}/{year % 100:02d}", f"{month}/{day}/{year}", f"{year}-{month:02d}-{day:02d}",
             f"{_MONTHS[month - 1][:3]} {day}{suffix}", f"{_MONTHS[month - 1]} {day}, {year}",
             f"{day} {_MONTHS[month - 1][:3]} {year}", f"{_MONTHS[month - 1]} {year}", f"{month}-{day}-{year}",
             f"{day}{suffix} of {_MONTHS[month - 1]}"]
    return rng.choice(forms)


def _phone(rng: random.Random) -> str:
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
    return rng.choice([f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}",
                       f"+1 {area} {exchange} {line}", f"{area}-{exchange}-{line} ext. {rng.randint(10, 999)}"])


class _Templates:
    """Sentence templates for one note (one patient, one doctor, one town); a note takes several."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.first, self.last = _name(rng)
        self.doctor = rng.choice(_LISTED_LAST + _UNLISTED_LAST)
        self.city, self.state = rng.choice(_CITIES), rng.choice(_STATES)

    def patient(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Pt: ", "Patient: ", "Name: ", "Patient name: "]))
        n.phi("NAME", self.rng.choice([f"{self.first} {self.last}", f"{self.last}, {self.first}"]))
        n.text(f", {self.rng.randint(25, 88)} y/o, seen on ")
        n.phi("DATE", _date(self.rng))
        n.text(".")

    def old_patient(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Mrs. ", "Mr. ", "Ms. "]))
        n.phi("NAME", self.last)
        n.text(" is a ")
        n.phi("AGE", str(self.rng.randint(90, 104)))
        n.text(self.rng.choice(["-year-old", " year old", " yo"]) + " admitted on ")
        n.phi("DATE", _date(self.rng))
        n.text(".")

    def doctor_sentence(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Discussed with Dr. ", "Seen by Dr. ", "Referred by Dr. ", "Attending: Dr. "]))
        n.phi("NAME", self.doctor)
        n.text(self.rng.choice([" today.", " in clinic.", "."]))

    def signature(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Electronically signed by ", "Dictated by "]))
        n.phi("NAME", f"{self.rng.choice(_LISTED_FIRST + _UNLISTED_FIRST)} {self.doctor}")
        n.text(", MD on ")
        n.phi("DATE", _date(self.rng))
        n.text(".")

    def family(self, n: LabelledNote) -> None:
        relation = self.rng.choice(["wife", "husband", "daughter", "son", "sister"])
        n.text(f"Contact: {relation} ")
        n.phi("NAME", f"{self.rng.choice(_LISTED_FIRST + _UNLISTED_FIRST)} {self.last}")
        n.text(" at ")
        n.phi("PHONE", _phone(self.rng))
        n.text(".")

    def contact(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Call back number ", "Phone: ", "Fax results to "]))
        n.phi("PHONE", _phone(self.rng))
        n.text("; email ")
        n.phi("EMAIL", f"{self.first.lower()}.{self.last.lower().replace(chr(39), '')}{self.rng.randint(1, 99)}@"
                       f"{self.rng.choice(['example.com', 'mail.example.org', 'clinic.test'])}")
        n.text(".")

    def identifiers(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["MRN ", "MRN: ", "Medical record number ", "MR# "]))
        n.phi("MRN", str(self.rng.randint(10**6, 10**8)))
        n.text(self.rng.choice([". SSN ", ". Social security number: "]))
        n.phi("SSN", f"{self.rng.randint(100, 665)}-{self.rng.randint(10, 99)}-{self.rng.randint(1000, 9999)}")
        n.text(".")

    def insurance(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Member ID: ", "Health plan number ", "Account #", "Policy number: "]))
        n.phi("ACCOUNT", f"{self.rng.choice(['XJH', 'BCB', 'AET', ''])}{self.rng.randint(10**7, 10**9)}")
        n.text(".")

    def device(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Pacemaker serial number ", "Device serial: ", "Driver license no. ", "DEA # ",
                           "Vehicle plate "]))
        n.phi("ID", self.rng.choice([f"PM-{self.rng.randint(10000, 99999)}-X", f"D{self.rng.randint(10**6, 10**7)}",
                                f"AB{self.rng.randint(10**6, 10**7)}", f"7{self.rng.randint(10**4, 10**5)}KX"]))
        n.text(".")

    def address(self, n: LabelledNote) -> None:
        n.text("Lives at ")
        n.phi("ADDRESS", f"{self.rng.randint(1, 9999)} {self.rng.choice(_STREETS)} {self.rng.choice(_SUFFIXES)}")
        n.text(", ")
        n.phi("LOCATION", self.city)
        n.text(f", {self.state} ")
        n.phi("ZIP", f"{self.rng.randint(10000, 99999)}")
        n.text(".")

    def town(self, n: LabelledNote) -> None:
        n.text(self.rng.choice(["Lives in ", "Transferred from ", "Resides in "]))
        n.phi("LOCATION", self.city)
        n.text(self.rng.choice([" with family.", "; independent in ADLs.", "."]))

    def portal(self, n: LabelledNote) -> None:
        n.text("Results shared via ")
        host = self.rng.choice(["example.org", "clinic.test"])
        n.phi("URL", f"https://portal.{host}/r/{self.rng.randint(1000, 99999)}")
        n.text(" from workstation ")
        n.phi("IP", f"10.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}")
        n.text(".")

    def narrative(self, n: LabelledNote) -> None:  # a name with no cue at all: only dictionaries and shape can find it
        other_first, other_last = _name(self.rng)
        n.phi("NAME", f"{other_first} {other_last}")
        n.text(self.rng.choice([" tolerated the procedure well.", " was counselled on diet.",
                           " declined the influenza vaccine."]))

    def lowercase(self, n: LabelledNote) -> None:  # hurried typing: cue present, no capitals
        n.text("pt ")
        n.phi("NAME", f"{self.first.lower()} {self.last.lower()}")
        n.text(" called, tel ")
        n.phi("PHONE", f"{self.rng.randint(201, 989)}{self.rng.randint(200, 999)}{self.rng.randint(1000, 9999)}")
        n.text(".")

    def clinical(self, n: LabelledNote) -> None:  # no identifiers: precision
        n.text(f"Findings: {'; '.join(self.rng.sample(_FINDINGS, k=3))}.")

    def common_words(self, n: LabelledNote) -> None:  # names that are common words, used as words: precision
        n.text(self.rng.choice(["Will follow up in two weeks.", "Grace period for the referral applies.",
                           "Mark the site before surgery.", "Hope to taper steroids.", "Rose from chair unaided.",
                           "May return to work on light duty."]))


    def all(self) -> list[Callable[[LabelledNote], None]]:
        """The patient sentence first, then every other template."""
        return [self.patient, self.old_patient, self.doctor_sentence, self.signature, self.family, self.contact,
                self.identifiers, self.insurance, self.device, self.address, self.town, self.portal, self.narrative,
                self.lowercase, self.clinical, self.common_words]


def build_document(rng: random.Random, index: int) -> dict[str, object]:
    sentences = _Templates(rng).all()
    chosen = [sentences[0], *rng.sample(sentences[1:], k=rng.randint(4, 8))]
    note = LabelledNote()
    for number, sentence in enumerate(chosen):
        if number:
            note.text(" ")
        sentence(note)
    return {"id": f"deid-{index:04d}", **note.as_document()}


def build_corpus(documents: int = 400, seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not security
    return [build_document(rng, index) for index in range(documents)]


def load_corpus(path: Path = CORPUS_PATH) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS_PATH)
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.documents, args.seed)
    args.out.write_text("".join(json.dumps(document) + "\n" for document in corpus))
    print(f"{len(corpus)} documents, {sum(len(d['spans']) for d in corpus)} identifiers -> {args.out}")


if __name__ == "__main__":
    main()
