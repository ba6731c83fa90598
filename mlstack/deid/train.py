"""Train the de-identifier's tagger (mlstack/deid/tagger.py) on generated notes: `make deid-model`.

    python -m mlstack.deid.train [--notes 4000] [--epochs 8] [--out mlstack/deid/data/tagger.npz]

Generator A, this module: notes in many styles (SOAP, discharge summaries, dictation footers, upper-case
sections, tables, phone notes, hurried lower-case typing) about people and places drawn from Faker's
locales (Vietnamese, Mexican, Polish, Nigerian, Filipino, Turkish, Indian, ... names: the variety a
hospital sees), with capitalized words that are *not* identifiers in the same positions (drugs,
departments, eponymous diseases, devices, states and countries, which Safe Harbor does not require
removing). The project's evaluation corpus (mlstack/deid/corpus.py, generator B) was written separately
and is never trained on: `mlstack deid --evaluate` scores the tagger on it. Faker is a development
dependency only; the trained weights are committed.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

from mlstack.deid.corpus import LabelledNote
from mlstack.deid.tagger import DATA, train

LOCALES = ("en_US", "es_MX", "vi_VN", "pl_PL", "en_NG", "fil_PH", "tr_TR", "en_IN", "pt_BR", "fr_FR", "de_DE",
           "it_IT", "nl_NL", "ro_RO", "cs_CZ", "hu_HU", "id_ID", "es_ES", "en_GB", "sv_SE")
DRUGS = ("Lisinopril", "Metformin", "Lasix", "Coumadin", "Eliquis", "Xarelto", "Tylenol", "Zofran", "Prednisone",
         "Atorvastatin", "Metoprolol", "Albuterol", "Spiriva", "Keppra", "Humalog", "Lantus", "Norco", "Toradol")
DEPARTMENTS = ("Cardiology", "Pulmonology", "Endocrinology", "Emergency Department", "Radiology", "Physical Therapy",
               "Internal Medicine", "Social Work", "Case Management", "Infectious Disease", "Nephrology")
EPONYMS = ("Parkinson disease", "Crohn disease", "Hodgkin lymphoma", "Cushing syndrome", "Bell palsy",
           "Alzheimer dementia", "Graves disease", "Foley catheter", "Swan-Ganz catheter", "Apgar score")
REGIONS = ("Texas", "Ohio", "California", "Mexico", "Vietnam", "Nigeria", "Poland", "Florida", "India", "Canada")
CITY_FORMS = ("{last}ville", "{last}ton", "Port {last}", "{last} Heights", "North {last}", "San {first}",
              "{last} Springs", "Lake {last}", "{last}burg", "Mount {last}", "{last} Falls", "Santa {first}",
              "{last}", "East {last}", "{last} City", "Fort {last}")
TITLES = ("Dr.", "Dr", "Mr.", "Mrs.", "Ms.", "Nurse", "Prof.")
CREDENTIALS = ("MD", "DO", "RN", "NP", "PA-C", "PhD")
RELATIONS = ("wife", "husband", "daughter", "son", "mother", "father", "sister", "brother", "niece", "caregiver",
             "neighbor", "partner", "guardian")
# Capitalized words in the places names take, that are not names: sentence openers, section heads,
# exam systems, abbreviations, days and months (a tagger that saw only names there would tag them all).
OPENERS = ("Patient", "She", "He", "They", "The", "Denies", "Reports", "Plan", "Assessment", "Continue", "Start",
           "Follow", "Return", "Discussed", "Labs", "Vitals", "Exam", "Lungs", "Heart", "Abdomen", "Neuro", "Skin",
           "Extremities", "No", "Will", "Recommend", "Admit", "Discharge", "Today", "Tomorrow", "Monday", "Friday",
           "January", "March", "Chest", "Imaging", "Medications", "Allergies", "Social", "Family", "General",
           "Alert", "Oriented", "Afebrile", "Stable", "Impression", "Pain", "Diet", "Activity", "Wound", "Blood",
           # the cue words of identifiers open sentences too ("Driver's license ...", "Pacemaker serial ...")
           "Driver", "Vehicle", "Device", "Pacemaker", "Insurance", "Member", "Account", "License", "Passport",
           "Results", "Health", "Seen", "Contact", "Email", "Phone", "Fax", "Call", "Policy", "Lives", "Resides",
           "Works", "Uses", "Smokes", "Drinks", "Walks", "Sleeps", "Eats", "Takes", "Needs", "Wants", "Feels",
           # given names that are also words, used as words ("Hope to discharge", "Mark the site")
           "Hope", "Will", "Mark", "Rose", "May", "Grace", "Faith", "Joy", "Dawn", "June", "Bill", "Sue", "Pat")
ABBREVIATIONS = ("BP", "HR", "CT", "MRI", "EKG", "CBC", "BMP", "COPD", "CHF", "DVT", "ICU", "ED", "PT", "OT", "NPO",
                 "PRN", "BID", "ECHO", "HbA1c", "INR", "IV", "PO")
NEGATIVES = (
    "{opener} {finding}.", "{opener} unremarkable.", "{abbr} within normal limits.", "{opener}: {abbr} stable.",
    "Started {drug} and {drug2}.", "{dept} consulted; {opener} as above.", "{opener} discussed at length.",
    "Seen in {dept} on {day}.", "{eponym} noted on {abbr}.", "{abbr} ordered. {opener} pending.",
    "{opener} {abbr} {drug} per protocol.", "Traveled to {region} in {month}.",
)
FINDINGS = ("reports shortness of breath", "denies chest pain", "presents with a productive cough",
            "is tolerating a regular diet", "was started on {drug}", "continues {drug} 20 mg daily",
            "has been followed by {dept}", "was evaluated for {eponym}", "reports improved mobility")


class NoteGenerator:
    """Generator A: labelled notes (text, [(start, end, NAME|LOCATION)]) from Faker, a fixed seed."""

    def __init__(self, seed: int = 7) -> None:
        from faker import Faker  # development dependency: training time only

        self.random = random.Random(seed)  # noqa: S311 - reproducible fake notes, not secrets
        self.fakers = []
        for index, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed + index)
            self.fakers.append(faker)

    def _faker(self):
        return self.random.choice(self.fakers)

    def person(self) -> tuple[str, str]:
        faker = self._faker()
        return faker.first_name(), faker.last_name()

    def city(self) -> str:
        """A town name built from a locale's surnames and given names (Faker's own city() is not reproducible
        across processes for every locale)."""
        first, last = self.person()
        form = self.random.choice(CITY_FORMS)
        return form.format(first=first, last=last)

    def name_form(self) -> tuple[str, str]:
        """A name as notes write it: full, last-first, an initial, upper or lower case; (text, style)."""
        first, last = self.person()
        style = self.random.choice(("full", "full", "full", "last-first", "initial", "upper", "lower", "last"))
        text = {"full": f"{first} {last}", "last-first": f"{last}, {first}", "initial": f"{first[0]}. {last}",
                "upper": f"{first} {last}".upper(), "lower": f"{first} {last}".lower(), "last": last}[style]
        return text, style

    def sentence(self, note: LabelledNote) -> None:
        r = self.random
        name, _ = self.name_form()
        templates: list[Callable[[], None]] = [
            lambda: (note.add(f"{r.choice(TITLES)} "), note.add(name, "NAME"),
                     note.add(f" {self._finding()}. ")),
            lambda: (note.add(name, "NAME"), note.add(f" {self._finding()}. ")),
            lambda: (note.add(f"Seen with her {r.choice(RELATIONS)} "), note.add(name, "NAME"), note.add(". ")),
            lambda: (note.add("Spoke with "), note.add(name, "NAME"), note.add(" by phone about the plan. ")),
            lambda: (note.add("Home: "), note.add(self.city(), "LOCATION"),
                     note.add(f", {r.choice(('TX', 'OH', 'CA', 'NY', 'MA', 'WA'))}. ")),
            lambda: (note.add("Lives in "), note.add(self.city(), "LOCATION"),
                     note.add(f" with {r.choice(RELATIONS)} "), note.add(self.person()[0], "NAME"), note.add(". ")),
            lambda: (note.add("Transferred from "),
                     note.add(f"{self.city()} {r.choice(('General', 'Regional', 'Memorial'))} Hospital", "LOCATION"),
                     note.add(" for evaluation. ")),
            lambda: (note.add(f"Moved from {r.choice(REGIONS)} to "), note.add(self.city(), "LOCATION"),
                     note.add(" last year. ")),
            lambda: (note.add("Electronically signed: "), note.add(" ".join(self.person()), "NAME"),
                     note.add(f", {r.choice(CREDENTIALS)}\n")),
            lambda: (note.add("PATIENT NAME: "), note.add(" ".join(self.person()).upper(), "NAME"), note.add("\n")),
            lambda: (note.add("Name: "), note.add(f"{self.person()[1]}, {self.person()[0]}", "NAME"),
                     note.add(f" | Unit: {r.choice(DEPARTMENTS)}\n")),
            lambda: note.add(f"Follow up with {r.choice(DEPARTMENTS)} in {r.randint(1, 6)} weeks; "
                             f"continue {r.choice(DRUGS)}. "),
            lambda: note.add(f"History of {r.choice(EPONYMS)}; family in {r.choice(REGIONS)}. "),
            lambda: (note.add("Referred by "), note.add(f"{r.choice(('Dr.', 'Dr'))} "),
                     note.add(self.person()[1], "NAME"), note.add(f" of {r.choice(DEPARTMENTS)}. ")),
            lambda: (note.add(f"{r.choice(DRUGS)} held; discussed with "), note.add(name, "NAME"),
                     note.add(" and agreed. ")),
            lambda: (note.add(f"Dictated by {r.choice(TITLES)} "), note.add(" ".join(self.person()), "NAME"),
                     note.add(f" on transfer to {r.choice(DEPARTMENTS)}.\n")),
        ]
        r.choice(templates)()

    def negative(self, note: LabelledNote) -> None:
        r = self.random
        note.add(r.choice(NEGATIVES).format(
            opener=r.choice(OPENERS), finding=self._finding(), abbr=r.choice(ABBREVIATIONS), drug=r.choice(DRUGS),
            drug2=r.choice(DRUGS), dept=r.choice(DEPARTMENTS), eponym=r.choice(EPONYMS), region=r.choice(REGIONS),
            day=r.choice(("Monday", "Tuesday", "Friday")), month=r.choice(("March", "June", "October"))) + " ")

    def _finding(self) -> str:
        return self.random.choice(FINDINGS).format(drug=self.random.choice(DRUGS),
                                                   dept=self.random.choice(DEPARTMENTS),
                                                   eponym=self.random.choice(EPONYMS))

    def note(self) -> tuple[str, list[tuple[int, int, str]]]:
        note = LabelledNote()
        if self.random.random() < 0.3:
            note.add("HISTORY OF PRESENT ILLNESS:\n")
        for _ in range(self.random.randint(4, 10)):
            (self.sentence if self.random.random() < 0.45 else self.negative)(note)
        return "".join(note.parts), [(span["start"], span["end"], span["type"]) for span in note.spans]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    generator = NoteGenerator(args.seed)
    examples = [generator.note() for _ in range(args.notes)]
    tagger = train(examples, epochs=args.epochs, seed=args.seed)
    tagger.save(args.out)
    print(f"trained on {len(examples)} generated notes ({args.epochs} epochs); wrote {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
