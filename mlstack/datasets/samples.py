"""The two sample data sets (no download needed) and their deliberately corrupted variants.

- breast_cancer: scikit-learn's bundled Wisconsin diagnostic data (569 rows), as CSV.
- clinical_notes: synthetic clinical notes with labels, generated with a fixed seed, as
  JSON Lines (and CSV), containing synthetic identifiers for de-identification work.
- clinical_entities: synthetic notes with labelled concept spans (problems, drugs, tests, treatments,
  anatomy) for the `ner` recipe, as JSON Lines; the notes carry synthetic identifiers too, which
  ingestion de-identifies (the spans follow the text).
Each corrupted variant records exactly which rows it broke and how, so tests and the demo
can check that ingestion quarantines those rows and keeps every other one.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlstack.schema import load_schema

CLINICAL_NOTES_SEED = 20261124
LABEL_NOISE = 0.05  # share of notes whose recorded diagnosis is random (realistic label noise)

_FIRST_NAMES = ["Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Fatima", "John", "Priya", "Tomas",
                "Grace", "Ahmed", "Linda", "Kenji", "Rosa", "David", "Amara", "Ivan", "Sofia", "Noah"]
_LAST_NAMES = ["Garcia", "Smith", "Okafor", "Chen", "Ivanova", "Lopez", "Haddad", "Miller", "Patel",
               "Novak", "Kim", "Hassan", "Brown", "Tanaka", "Silva", "Cohen", "Mensah", "Petrov"]
_CITIES = ["Springfield", "Riverside", "Fairview", "Madison", "Georgetown", "Clinton", "Salem"]
_DIAGNOSES = {
    "heart_failure": ("cardiology", [
        "dyspnea on exertion and orthopnea", "bilateral lower extremity edema",
        "elevated BNP", "reduced ejection fraction of 30%", "jugular venous distension",
        "started on furosemide and carvedilol", "weight gain of 3 kg over a week"]),
    "type2_diabetes": ("endocrinology", [
        "polyuria and polydipsia", "HbA1c of 8.9%", "fasting glucose 182 mg/dL",
        "metformin titrated to 1000 mg twice daily", "peripheral neuropathy in both feet",
        "diet counselling provided", "retinal screening ordered"]),
    "copd": ("pulmonology", [
        "chronic productive cough", "FEV1/FVC ratio of 0.62", "40 pack-year smoking history",
        "wheezing on auscultation", "tiotropium inhaler continued", "exacerbation treated with prednisone",
        "pulmonary rehabilitation referral"]),
    "pneumonia": ("internal_medicine", [
        "fever of 38.9 C and rigors", "right lower lobe consolidation on chest x-ray",
        "productive cough with rusty sputum", "elevated white cell count",
        "started on ceftriaxone and azithromycin", "oxygen saturation 91% on room air",
        "crackles at the right base"]),
}
_SHARED_PHRASES = ["fatigue", "shortness of breath", "hypertension, well controlled",
                   "follow-up in two weeks", "patient counselled on warning signs", "no known drug allergies"]


@dataclass
class SampleFile:
    """A sample file's bytes plus what ingestion must make of it."""

    name: str
    content: bytes
    rows: int
    # 1-based data-row numbers that must be quarantined, with the column at fault.
    bad_rows: dict[int, str] = field(default_factory=dict)


def breast_cancer_rows() -> list[dict[str, object]]:
    """The 569 rows of scikit-learn's bundled breast cancer data set, with schema column names."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [name.replace(" ", "_") for name in data.feature_names]
    return [
        {**{name: float(value) for name, value in zip(names, features, strict=True)},
         "diagnosis": str(data.target_names[target])}
        for features, target in zip(data.data, data.target, strict=True)
    ]


def _note(rng: random.Random, diagnosis: str, age: int) -> str:
    specialty, phrases = _DIAGNOSES[diagnosis]
    name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    findings = rng.sample(phrases, k=rng.randint(1, 3)) + rng.sample(_SHARED_PHRASES, k=2)
    if rng.random() < 0.4:  # comorbidities: a finding typical of another diagnosis
        other = rng.choice([d for d in _DIAGNOSES if d != diagnosis])
        findings.append(f"history of {rng.choice(_DIAGNOSES[other][1])}")
    rng.shuffle(findings)
    visit = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2019, 2025)}"
    mrn = f"{rng.randint(10**6, 10**7 - 1)}"
    phone = f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    return (
        f"Pt: {name}, {age} y/o, seen on {visit} in {specialty.replace('_', ' ')}. MRN {mrn}. "
        f"Lives in {rng.choice(_CITIES)}; contact {phone}. "
        f"Findings: {'; '.join(findings)}. "
        f"Assessment and plan discussed with Dr. {rng.choice(_LAST_NAMES)}."
    )


def clinical_notes_rows(count: int = 800, seed: int = CLINICAL_NOTES_SEED) -> list[dict[str, object]]:
    """Synthetic labelled notes; the same seed always gives the same rows."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    diagnoses = sorted(_DIAGNOSES)
    rows = []
    for index in range(count):
        diagnosis = rng.choice(diagnoses)
        noted = diagnosis if rng.random() >= LABEL_NOISE else rng.choice(diagnoses)  # coding errors happen
        age = rng.randint(25, 95)
        specialty = _DIAGNOSES[diagnosis][0] if rng.random() < 0.85 else "internal_medicine"
        rows.append({"note_id": f"note-{index:05d}", "patient_age": age, "specialty": specialty,
                     "note_text": _note(rng, diagnosis, age), "diagnosis": noted})
    return rows


CLINICAL_ENTITIES_SEED = 20261201
# Concepts by entity type. The generator draws from a part of each list only (see clinical_entities_rows), so the
# rest are words no training note holds: what a model must generalize to, and what drifted traffic uses.
CONCEPTS = {
    "PROBLEM": ["type 2 diabetes", "hypertension", "heart failure", "community-acquired pneumonia", "COPD exacerbation",
                "atrial fibrillation", "chest pain", "shortness of breath", "urinary tract infection", "anemia",
                "acute kidney injury", "cellulitis", "hypothyroidism", "major depression", "chronic low back pain",
                "hyperlipidemia", "sepsis", "asthma", "gout flare", "migraine", "deep vein thrombosis",
                "obstructive sleep apnea", "osteoarthritis", "peripheral neuropathy", "dehydration",
                "pulmonary embolism", "hypokalemia", "delirium", "pancreatitis", "syncope"],
    "DRUG": ["metformin", "lisinopril", "atorvastatin", "furosemide", "carvedilol", "insulin glargine", "amoxicillin",
             "ceftriaxone", "azithromycin", "prednisone", "albuterol", "tiotropium", "warfarin", "apixaban",
             "metoprolol", "amlodipine", "omeprazole", "gabapentin", "sertraline", "levothyroxine", "allopurinol",
             "enoxaparin", "vancomycin", "hydrochlorothiazide", "tamsulosin", "ondansetron", "acetaminophen",
             "spironolactone", "montelukast", "rosuvastatin"],
    "TEST": ["HbA1c", "chest x-ray", "CT of the abdomen", "complete blood count", "basic metabolic panel",
             "echocardiogram", "troponin", "urinalysis", "ECG", "MRI of the brain", "lipid panel", "blood cultures",
             "TSH", "BNP", "renal ultrasound", "D-dimer", "lactate", "arterial blood gas", "CT angiogram",
             "stress test", "colonoscopy", "liver function tests", "procalcitonin", "spirometry", "INR",
             "Doppler ultrasound", "lumbar puncture", "ferritin", "sleep study", "urine culture"],
    "TREATMENT": ["physical therapy", "oxygen therapy", "hemodialysis", "wound care", "cardiac catheterization",
                  "nebulizer treatments", "IV fluids", "smoking cessation counseling", "insulin sliding scale",
                  "CPAP", "incision and drainage", "knee replacement", "cardioversion", "diet counseling",
                  "blood transfusion", "occupational therapy", "pulmonary rehabilitation", "compression stockings",
                  "bowel regimen", "fluid restriction", "appendectomy", "thoracentesis", "cholecystectomy",
                  "speech therapy", "chemotherapy", "radiation therapy", "pacemaker placement", "splinting",
                  "intubation", "cognitive behavioral therapy"],
    "ANATOMY": ["left lower extremity", "right lung base", "abdomen", "chest wall", "lumbar spine", "left knee",
                "right shoulder", "both feet", "left ventricle", "cervical spine", "right upper quadrant", "bladder",
                "left arm", "skin", "thyroid", "right hip", "sacrum", "left eye", "kidneys", "liver", "colon",
                "right ankle", "scalp", "pelvis", "left hand", "neck", "mitral valve", "right forearm", "throat",
                "lower back"],
}
TRAINING_CONCEPT_SHARE = 0.8  # of each list, what training notes use; the rest only appears in new traffic
_SENTENCES = [
    "Patient presents with {PROBLEM}.", "History of {PROBLEM} and {PROBLEM}.", "Started {DRUG} for {PROBLEM}.",
    "Continue {DRUG} {dose} daily.", "{TEST} showed no acute findings.", "Ordered {TEST} and {TEST}.",
    "Swelling of the {ANATOMY} noted on exam.", "Tenderness over the {ANATOMY}.", "Plan: {TREATMENT}.",
    "Referred for {TREATMENT}.", "Denies {PROBLEM}.", "{TEST} pending; will follow up.",
    "Discontinued {DRUG} due to side effects.", "Pain in the {ANATOMY} since last week.",
    "Assessment: {PROBLEM}, improving on {DRUG}.", "s/p {TREATMENT} with good result.",
    "{DRUG} {dose} twice daily was added.", "Repeat {TEST} in the morning.", "Rash on the {ANATOMY}.",
    "Tolerating {TREATMENT} well.", "Family history of {PROBLEM}.", "Labs: {TEST} elevated, {TEST} normal.",
    "Allergic to {DRUG}.", "Imaging of the {ANATOMY} ordered.", "Vitals stable; afebrile.",
    "Patient ambulating without assistance.", "Discussed goals of care with family.",
]
_DOSES = ["5 mg", "10 mg", "20 mg", "40 mg", "500 mg", "1 g", "2 puffs", "0.5 mg", "100 mcg", "25 mg"]


def _entity_note(rng: random.Random, concepts: dict[str, list[str]]) -> tuple[str, list[dict[str, object]]]:
    name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    visit = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2019, 2025)}"
    parts: list[str] = [f"Seen on {visit}." if rng.random() < 0.5 else f"Pt {name} seen today."]
    spans: list[dict[str, object]] = []
    for template in rng.sample(_SENTENCES, k=rng.randint(3, 7)):
        sentence = ""
        for piece in re.split(r"(\{\w+\})", template):
            slot = piece[1:-1] if piece.startswith("{") else None
            if slot is None:
                sentence += piece
                continue
            value = rng.choice(_DOSES) if slot == "dose" else rng.choice(concepts[slot])
            if not sentence:  # a sentence opens with a capital: "Echocardiogram showed ..."
                value = value[0].upper() + value[1:]
            if slot != "dose":
                start = sum(len(part) + 1 for part in parts) + len(sentence)
                spans.append({"type": slot, "start": start, "end": start + len(value)})
            sentence += value
        parts.append(sentence)
    return " ".join(parts), spans


def clinical_entities_rows(count: int = 600, seed: int = CLINICAL_ENTITIES_SEED, *,
                           unseen_concepts: bool = False) -> list[dict[str, object]]:
    """Synthetic notes with sorted, non-overlapping concept spans; the same seed gives the same rows.
    `unseen_concepts`: draw from the part of each concept list training notes never use (new traffic)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    cut = {kind: round(len(values) * TRAINING_CONCEPT_SHARE) for kind, values in CONCEPTS.items()}
    concepts = {kind: values[cut[kind]:] if unseen_concepts else values[:cut[kind]]
                for kind, values in CONCEPTS.items()}
    rows = []
    for index in range(count):
        text, spans = _entity_note(rng, concepts)
        rows.append({"note_id": f"ent-{index:05d}", "text": text, "entities": spans})
    return rows


def clinical_entities_files() -> list[SampleFile]:
    """Clean labelled notes, and a corrupted file whose bad records break the span rules."""
    rows = clinical_entities_rows()
    clean = SampleFile("clinical_entities.jsonl", to_jsonl(rows), len(rows))
    broken = [json.loads(json.dumps(row)) for row in rows[:40]]
    broken[3]["entities"][-1]["end"] = len(str(broken[3]["text"])) + 5  # past the end of the text
    broken[8]["entities"] = list(reversed(broken[8]["entities"]))  # not sorted
    broken[12]["entities"][0]["type"] = "GENE"  # not a declared type
    broken[17]["entities"][0]["start"] = -1
    del broken[25]["text"]
    bad = {4: "entities", 9: "entities", 13: "entities", 18: "entities", 26: "text"}
    return [clean, SampleFile("clinical_entities.corrupted.jsonl", to_jsonl(broken), 40, bad)]


def to_csv(rows: list[dict[str, object]], columns: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_jsonl(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")


def breast_cancer_files() -> list[SampleFile]:
    """The clean CSV and a corrupted CSV with known bad rows (including a truncated last row)."""
    rows = breast_cancer_rows()
    columns = list(load_schema("breast_cancer").column_names)
    clean = SampleFile("breast_cancer.csv", to_csv(rows, columns), len(rows))

    broken = [dict(row) for row in rows[:100]]
    broken[4]["mean_radius"] = "not-a-number"
    broken[9]["mean_texture"] = -3.0
    broken[19]["diagnosis"] = "unknown"
    broken[29]["worst_area"] = ""
    broken[39]["mean_area"] = float("inf")
    text = to_csv(broken, columns).decode()
    # A row with too few fields, and a final row cut off mid-record (a truncated upload).
    lines = text.splitlines()
    lines[51] = ",".join(lines[51].split(",")[:10])
    text = "\n".join(lines)[: -len(lines[-1]) // 2]
    bad = {5: "mean_radius", 10: "mean_texture", 20: "diagnosis", 30: "worst_area", 40: "mean_area",
           51: "worst_fractal_dimension", 100: "mean_radius"}
    return [clean, SampleFile("breast_cancer.corrupted.csv", text.encode(), 100, bad)]


def clinical_notes_files() -> list[SampleFile]:
    """Clean notes as JSON Lines, and a corrupted JSON Lines file with known bad records."""
    rows = clinical_notes_rows()
    clean = SampleFile("clinical_notes.jsonl", to_jsonl(rows), len(rows))

    broken = [dict(row) for row in rows[:60]]
    broken[2]["patient_age"] = 150
    broken[7]["specialty"] = "dermatology"
    del broken[11]["note_text"]
    broken[15]["surprise"] = "extra field"
    lines = to_jsonl(broken).decode().splitlines()
    lines[21] = "[1, 2, 3]"
    lines[33] = lines[33][:40]
    content = ("\n".join(lines) + "\n").encode()
    bad = {3: "patient_age", 8: "specialty", 12: "note_text", 16: "surprise", 22: "", 34: ""}
    return [clean, SampleFile("clinical_notes.corrupted.jsonl", content, 60, bad)]


def sample_rows(dataset: str) -> list[dict[str, object]]:
    """A sample data set's clean rows, by data set name."""
    generators = {"breast_cancer": breast_cancer_rows, "clinical_notes": clinical_notes_rows,
                  "clinical_entities": clinical_entities_rows}
    return generators[dataset]()


def sample_files() -> dict[str, list[SampleFile]]:
    """Every sample file by data set name."""
    return {"breast_cancer": breast_cancer_files(), "clinical_notes": clinical_notes_files(),
            "clinical_entities": clinical_entities_files()}


def write_samples(out_dir: Path) -> list[Path]:
    """Write all sample files to out_dir/<dataset>/ and return their paths."""
    written = []
    for dataset, files in sample_files().items():
        folder = out_dir / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for sample in files:
            path = folder / sample.name
            path.write_bytes(sample.content)
            written.append(path)
    return written
