"""Amazon Comprehend Medical DetectPHI as a de-identification backend (on AWS, where it is allowed).

`Deidentifier(policy, backend=ComprehendMedicalBackend(boto3.client("comprehendmedical")))`.
DetectPHI takes at most 20,000 UTF-8 bytes per call: longer text is sent in chunks cut at
whitespace, and the offsets are moved back onto the whole text. Types are mapped onto ours;
PROFESSION is not a Safe Harbor identifier and is dropped. IAM: `comprehendmedical:DetectPHI`
(no resource-level scoping exists for it); the service is not in every region.
"""

from __future__ import annotations

from typing import Any

from mlstack.deid.recognizers import Span

MAX_BYTES = 20_000
TYPES = {"NAME": "NAME", "AGE": "AGE", "DATE": "DATE", "PHONE_OR_FAX": "PHONE", "EMAIL": "EMAIL", "ID": "ID",
         "URL": "URL", "ADDRESS": "ADDRESS", "IP_ADDRESS": "IP", "SSN": "SSN", "MRN": "MRN", "ACCOUNT": "ACCOUNT"}


def chunks(text: str, max_bytes: int = MAX_BYTES) -> list[tuple[int, str]]:
    """(offset, piece) with each piece at most max_bytes of UTF-8, cut at whitespace where possible."""
    pieces, start = [], 0
    while start < len(text):
        end = len(text)
        while len(text[start:end].encode()) > max_bytes:
            cut = text.rfind(" ", start, start + (end - start) // 2 + 1)
            end = cut if cut > start else start + (end - start) // 2
        pieces.append((start, text[start:end]))
        start = end
    return pieces


class ComprehendMedicalBackend:
    def __init__(self, client: Any, *, min_score: float = 0.5) -> None:
        self.client, self.min_score = client, min_score

    def detect(self, text: str) -> list[Span]:
        spans = []
        for offset, piece in chunks(text):
            for entity in self.client.detect_phi(Text=piece)["Entities"]:
                kind = TYPES.get(entity["Type"])
                if kind and entity.get("Score", 1.0) >= self.min_score:
                    spans.append(Span(offset + entity["BeginOffset"], offset + entity["EndOffset"], kind))
        return sorted(spans)
