"""Generator C: notes carrying Faker's own formats of every identifier type, from 22 locales.

`mlstack deid --evaluate` scores it beside the project's corpus (generator B) and the tagger's generator (A).
B's formats were written with the detector; here every value is what Faker makes for its locale (British and
French phones, German towns, Vietnamese names, IBANs, plates of three countries, MAC addresses, GS1 device
identifiers, street suffixes of USPS Publication 28, weekday-led dates, facilities named after a place), in
short clinical sentences. It was the probe that found the classes the detector now covers, so it measures them
as a regression check, not as held-out text. Faker is a development dependency.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from mlstack.deid.corpus import LabelledNote

SEED = 7
LOCALES = ("en_US", "en_GB", "es_MX", "fr_FR", "de_DE", "it_IT", "pt_BR", "pl_PL", "nl_NL", "vi_VN", "tr_TR", "cs_CZ",
           "sv_SE", "en_IE", "en_IN", "fil_PH", "ro_RO", "hu_HU", "da_DK", "fi_FI", "es_ES", "en_AU")
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%B %d, %Y", "%d %B %Y", "%Y-%m-%d", "%b %d, %Y", "%d-%b-%Y", "%m-%d-%Y",
                 "%d.%m.%Y", "%A, %B %d, %Y", "%b. %d", "%B %d", "%m/%d", "%d/%m/%Y", "%Y%m%d", "%b %Y", "%B of %Y")
_FILLER = ("Vitals stable. ", "No acute distress. ", "Continue lisinopril 10 mg daily. ", "A1c 7.2%. ",
           "Lungs clear bilaterally. ", "Plan: repeat CBC in 2 weeks. ", "Denies chest pain or dyspnea. ",
           "ASSESSMENT AND PLAN:\n", "HISTORY OF PRESENT ILLNESS:\n", "Type 2 diabetes, controlled. ",
           "MRI of the lumbar spine showed L4-L5 disc bulge. ", "Troponin negative x2. ")


class ProbeGenerator:
    def __init__(self, seed: int = SEED) -> None:
        from faker import Faker

        self.rng = random.Random(seed)  # noqa: S311 - reproducible fake notes, not secrets
        self.fakers = {locale: Faker(locale) for locale in LOCALES}
        for faker in self.fakers.values():
            faker.seed_instance(self.rng.randrange(10**9))
        self.us = self.fakers["en_US"]
        self.codes = self._code_forms()
        self.sentences = self._sentences()

    def _any(self):
        return self.fakers[self.rng.choice(LOCALES)]

    def person(self, style: str | None = None) -> str:
        faker = self._any()
        first, last = faker.first_name(), faker.last_name()
        style = style or self.rng.choice(("first last", "first last", "last, first", "initial", "middle", "caps",
                                          "last"))
        return {"first last": f"{first} {last}", "last, first": f"{last}, {first}", "initial": f"{first[0]}. {last}",
                "middle": f"{first} {faker.first_name()[0]}. {last}", "caps": f"{first} {last}".upper(),
                "last": last}[style]

    def date(self) -> str:
        # fixed bounds, not "-60y" to "today": the same notes whatever day they are made
        return self.us.date_between(date(1965, 1, 1), date(2025, 12, 31)).strftime(self.rng.choice(_DATE_FORMATS))

    def phone(self) -> str:
        return self.fakers[self.rng.choice(("en_US", "en_US", "en_US", "en_GB", "fr_FR", "de_DE", "en_AU",
                                            "es_MX"))].phone_number()

    def city(self) -> str:
        return self.fakers[self.rng.choice(("en_US", "en_US", "en_GB", "de_DE", "fr_FR"))].city()

    def facility(self) -> str:
        city, us = self.us.city(), self.us
        return self.rng.choice((f"{city} General Hospital", f"{city} Medical Center", f"{city} Regional Clinic",
                                f"{us.last_name()} Memorial Hospital", f"St. {us.first_name()} Hospital of {city}"))

    def _code_forms(self) -> dict[str, tuple[Callable[[], str], ...]]:
        """Faker's forms of each kind of number, made once."""
        us, rng = self.us, self.rng
        return {
            "MRN": (lambda: str(rng.randrange(10**6, 10**9)), lambda: us.bothify("?#######").upper(),
                    lambda: us.numerify("###-###-###"), lambda: us.bothify("??#######").upper()),
            "ACCOUNT": (us.bban, us.iban, lambda: us.numerify("#####-####"), lambda: str(rng.randrange(10**8, 10**12)),
                        lambda: us.bothify("???#########").upper(), us.credit_card_number),
            "LICENSE": (lambda: us.bothify("??#######").upper(), lambda: us.bothify("?###-####-####").upper(),
                        lambda: str(rng.randrange(10**9, 10**10)), lambda: us.bothify("MD######"),
                        lambda: us.bothify("RN-#####")),
            "VEHICLE": (us.license_plate, self.fakers["en_GB"].license_plate, self.fakers["de_DE"].license_plate,
                        us.vin),
            "DEVICE": (lambda: us.bothify("SN-########"), lambda: us.bothify("??##-####-??").upper(),
                       lambda: us.bothify("#########??").upper(), us.mac_address, lambda: us.bothify("DEV#####"),
                       lambda: f"(01){us.numerify('#' * 14)}(17){us.numerify('2#####')}(21)"
                               f"{us.bothify('???####').upper()}"),
            "IP": (us.ipv4, us.ipv4_private, us.ipv6, us.ipv4_public),
        }

    def code(self, kind: str) -> str:
        return self.rng.choice(self.codes[kind])()

    def _sentences(self) -> list[Callable[[LabelledNote], Any]]:
        us = self.us
        return [
            lambda n: n.text("Patient ").phi("NAME", self.person()).text(" was seen in clinic on ")
            .phi("DATE", self.date()).text(". "),
            lambda n: n.text("PATIENT NAME: ").phi("NAME", self.person("caps")).text("\n"),
            lambda n: n.text("DOB: ").phi("DATE", self.date()).text("   MRN: ").phi("MRN", self.code("MRN"))
            .text("\n"),
            lambda n: n.text("The patient is a ").phi("AGE", str(self.rng.randrange(90, 106)))
            .text("-year-old woman who lives in ").phi("LOCATION", self.city()).text(". "),
            lambda n: n.text("Home address: ").phi("ADDRESS", self.rng.choice((us.street_address, us.street_address,
                                                                                self.fakers["en_GB"].street_address))())
            .text(", ").phi("LOCATION", us.city()).text(f", {us.state_abbr()} ").phi("ZIP", us.zipcode()).text(".\n"),
            lambda n: n.text("Her daughter ").phi("NAME", self.person("first last")).text(" can be reached at ")
            .phi("PHONE", self.phone()).text(". "),
            lambda n: n.text("Email: ").phi("EMAIL", us.email()).text("\n"),
            lambda n: n.text("Insurance account ").phi("ACCOUNT", self.code("ACCOUNT")).text(" was verified. "),
            lambda n: n.text("SSN ").phi("SSN", us.ssn()).text(" on file. "),
            lambda n: n.text("Referred by Dr. ").phi("NAME", self.person(self.rng.choice(("first last", "last"))))
            .text(" of ").phi("LOCATION", self.facility()).text(". "),
            lambda n: n.text("Transferred from ").phi("LOCATION", self.facility()).text(" on ")
            .phi("DATE", self.date()).text(". "),
            lambda n: n.text("Driver's license ").phi("ID", self.code("LICENSE")).text(" scanned at registration. "),
            lambda n: n.text("He arrived by car, plate number ").phi("ID", self.code("VEHICLE")).text(". "),
            lambda n: n.text("Pacemaker serial ").phi("ID", self.code("DEVICE")).text(" interrogated. "),
            lambda n: n.text("Portal login from IP ").phi("IP", self.code("IP")).text(". "),
            lambda n: n.text("Patient portal: ").phi("URL", us.url()).text(" "),
            lambda n: n.text("Signed: ").phi("NAME", self.person(self.rng.choice(("first last", "middle"))))
            .text(", MD ").phi("DATE", self.date()).text("\n"),
            lambda n: n.text("Spoke with ").phi("NAME", self.person("first last"))
            .text(f" ({self.rng.choice(('son', 'wife', 'neighbor', 'case manager'))}) by phone. "),
            lambda n: n.text("Lives with husband ").phi("NAME", self.person("first last")).text(" in ")
            .phi("LOCATION", self.city()).text(". "),
            lambda n: n.phi("NAME", self.person("first last")).text(" reports worsening knee pain since ")
            .phi("DATE", self.date()).text(". "),
            lambda n: n.text("Fax results to ").phi("PHONE", self.phone()).text(" attn ")
            .phi("NAME", self.person("first last")).text(". "),
            lambda n: n.text("Interpreter ").phi("NAME", self.person("first last")).text(" present. "),
            lambda n: n.text("Born ").phi("DATE", self.date()).text(" in ").phi("LOCATION", self.city()).text(". "),
        ]

    def note(self) -> dict[str, Any]:
        note = LabelledNote()
        for _ in range(self.rng.randrange(5, 11)):
            if self.rng.random() < 0.75:
                self.rng.choice(self.sentences)(note)
            else:
                note.text(self.rng.choice(_FILLER))
        return note.as_document()


def probe_documents(count: int = 300, seed: int = SEED) -> list[dict[str, Any]]:
    generator = ProbeGenerator(seed)
    return [generator.note() for _ in range(count)]


# Notes with no identifier at all: capitalized words that are not names or places, where names would stand.
_DRUGS = ("Lipitor", "Eliquis", "Xarelto", "Lasix", "Coumadin", "Norco", "Zofran", "Keppra", "Humalog", "Lantus",
          "Synthroid", "Plavix", "Zoloft", "Lexapro", "Seroquel", "Flomax", "Protonix", "Neurontin", "Ativan",
          "Dilaudid", "Toradol", "Augmentin", "Cipro", "Bactrim", "Keflex", "Vancomycin", "Zosyn", "Solu-Medrol")
_LABS = ("Troponin", "Hemoglobin", "Creatinine", "Lipase", "Potassium", "Sodium", "Magnesium", "Lactate",
         "Procalcitonin", "Ferritin", "Albumin", "Bilirubin", "TSH", "BNP", "INR", "D-dimer", "Urinalysis",
         "Blood cultures")
_EPONYMS = ("Parkinson disease", "Foley catheter", "Doppler ultrasound", "Babinski sign", "Glasgow Coma Scale 15",
            "Apgar scores 8 and 9", "Bell palsy", "Crohn disease", "Hashimoto thyroiditis", "Epley maneuver",
            "Cushing syndrome", "Wells score 2", "Hodgkin lymphoma", "Barrett esophagus", "Graves disease")
_SERVICES = ("Cardiology", "Nephrology", "Physical Therapy", "Social Work", "Palliative Care", "General Surgery",
             "Infectious Disease", "Case Management", "Nutrition", "Wound Care", "Interventional Radiology")
_REGIONS = ("Texas", "Ohio", "Mexico", "Vietnam", "Florida", "Canada", "Puerto Rico", "Germany", "Guatemala", "Oregon",
            "the Philippines", "India", "Nigeria", "Poland", "California")
_PHI_FREE = (
    "{drug} was started for {problem}.", "Continue {drug} at the current dose.", "{lab} was within normal limits.",
    "{lab} trended down overnight.", "History of {eponym}.", "{eponym} noted.", "Seen by {service} today.",
    "{service} following; appreciate recommendations.", "Recently traveled to {region}.", "Family lives in {region}.",
    "Spanish interpreter used for the visit.", "Medicare Part D formulary reviewed.", "Case discussed at Tumor Board.",
    "Return precautions reviewed.", "Questions answered to satisfaction.", "Allergies: Penicillin (rash).",
    "ASSESSMENT AND PLAN:", "HISTORY OF PRESENT ILLNESS:", "Lungs clear. Heart regular rate and rhythm.",
    "Vaccines: Influenza and COVID-19 boosters up to date.", "MRI Brain without contrast: no acute findings.",
    "Gram stain with gram-positive cocci in clusters.", "Plan discussed with the patient and family.",
    "Will follow up in Clinic in two weeks.", "Follow up with Primary Care as scheduled.",
    "Hope to discharge tomorrow.",
    "Patient ambulating with a walker.", "Diet: Cardiac, carbohydrate controlled.", "Code status: Full Code.",
    "Denies fever, chills, or night sweats.", "{problem} improving on {drug}.", "Held {drug} for {problem}.",
)
_PROBLEMS = ("atrial fibrillation", "cellulitis", "community-acquired pneumonia", "acute kidney injury",
             "COPD exacerbation", "hyperkalemia", "diabetic ketoacidosis", "new-onset seizure", "DVT prophylaxis",
             "hypothyroidism")


def phi_free_documents(count: int = 200, seed: int = SEED) -> list[str]:
    """Notes without identifiers: every span found in them is a false positive."""
    rng = random.Random(seed)  # noqa: S311 - reproducible fake notes, not secrets
    notes = []
    for _ in range(count):
        sentences = [rng.choice(_PHI_FREE).format(drug=rng.choice(_DRUGS), lab=rng.choice(_LABS),
                                                  eponym=rng.choice(_EPONYMS), service=rng.choice(_SERVICES),
                                                  region=rng.choice(_REGIONS), problem=rng.choice(_PROBLEMS))
                     for _ in range(rng.randrange(5, 11))]
        notes.append(" ".join(sentence[:1].upper() + sentence[1:] for sentence in sentences))
    return notes
