"""De-identification of free text: Safe Harbor identifiers found, replaced per policy, reported as spans.

    from mlstack.deid import Deidentifier, Policy
    result = Deidentifier(Policy(mode="pseudonymize", key=b"...")).deidentify(text)
    result.text    # the de-identified text
    result.spans   # [Span(start, end, type)], offsets into the input; never the original values

Modes: `redact` replaces each identifier with its type tag (`[NAME]`), `pseudonymize` with a tag
plus a keyed hash of the value (`[NAME-7f3a9c]`: the same value gives the same pseudonym within
a document, and nothing links pseudonyms made with different keys), `remove` deletes it. With
`keep_year`, dates keep their year (Safe Harbor allows the year). The default backend is
offline (mlstack/deid/recognizers.py); `backend=` takes any object with `detect(text) ->
list[Span]`, e.g. Amazon Comprehend Medical (mlstack/deid/comprehend.py).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mlstack.deid import recognizers
from mlstack.deid.recognizers import PHI_TYPES, Span

Mode = Literal["redact", "pseudonymize", "remove"]

__all__ = ["PHI_TYPES", "Backend", "CombinedBackend", "Deidentified", "Deidentifier", "PatternBackend", "Policy",
           "Span"]


class Backend(Protocol):
    def detect(self, text: str) -> list[Span]: ...


class PatternBackend:
    """Patterns, checksums, context cues and shipped dictionaries, with a learned tagger for names and places (the
    shipped one, or `learned`: a team's model, mlstack/deid/model_backend.py); no network."""

    def __init__(self, learned: recognizers.LearnedTagger | None = None) -> None:
        self.learned = learned

    def detect(self, text: str) -> list[Span]:
        return recognizers.detect(text, self.learned)


class CombinedBackend:
    """Every identifier any of the backends finds (e.g. the patterns and Comprehend Medical): recall of the
    union, overlaps resolved as one backend resolves its own."""

    def __init__(self, *backends: Backend) -> None:
        self.backends = backends

    def detect(self, text: str) -> list[Span]:
        return recognizers.resolve_overlaps(span for backend in self.backends for span in backend.detect(text))


@dataclass(frozen=True)
class Policy:
    mode: Mode = "redact"
    keep_year: bool = False
    key: bytes = b""  # pseudonymize: a secret (e.g. from Secrets Manager); required for that mode
    types: tuple[str, ...] = PHI_TYPES  # which identifier types to act on

    def __post_init__(self) -> None:
        if self.mode == "pseudonymize" and len(self.key) < 16:
            raise ValueError("pseudonymize needs a key of at least 16 bytes")
        unknown = sorted(set(self.types) - set(PHI_TYPES))
        if unknown:
            raise ValueError(f"unknown identifier types {unknown}; known: {list(PHI_TYPES)}")


@dataclass(frozen=True)
class Deidentified:
    text: str
    spans: list[Span] = field(default_factory=list)
    # (start, end) of each replacement in `text`, in the order of `spans`.
    replaced: list[tuple[int, int]] = field(default_factory=list)

    def moved(self, offset: int, *, end: bool = False) -> int:
        """Where an offset of the original text is in the de-identified one; inside an identifier, the start
        (or, for an `end` offset, the end) of its replacement: labelled spans keep covering what they covered."""
        shift = 0
        for span, (start, stop) in zip(self.spans, self.replaced, strict=True):
            if offset <= span.start:
                break
            if offset < span.end:
                return stop if end else start
            shift = stop - span.end
        return offset + shift

    def as_json(self) -> dict:
        return {"text": self.text, "spans": [{"type": s.type, "start": s.start, "end": s.end} for s in self.spans]}


class Deidentifier:
    def __init__(self, policy: Policy | None = None, backend: Backend | None = None) -> None:
        self.policy, self.backend = policy or Policy(), backend or PatternBackend()

    def deidentify(self, text: str, *, document_id: str = "") -> Deidentified:
        """`document_id` scopes pseudonyms to one document (the same value elsewhere gets another one)."""
        spans = [span for span in self.backend.detect(text) if span.type in self.policy.types]
        pieces, position, length, replaced = [], 0, 0, []
        for span in spans:
            kept, replacement = text[position:span.start], self._replacement(text[span.start:span.end], span.type,
                                                                            document_id)
            pieces += [kept, replacement]
            length += len(kept)
            replaced.append((length, length + len(replacement)))
            length += len(replacement)
            position = span.end
        pieces.append(text[position:])
        return Deidentified("".join(pieces), spans, replaced)

    def _replacement(self, value: str, kind: str, document_id: str) -> str:
        policy = self.policy
        if policy.mode == "remove":
            return ""
        if kind == "DATE" and policy.keep_year:
            year = recognizers.date_year(value)
            if year:
                return year
        if policy.mode == "redact":
            return f"[{kind}]"
        normalized = " ".join(value.lower().split())
        digest = hmac.new(policy.key, f"{document_id}\x1f{kind}\x1f{normalized}".encode(), hashlib.sha256)
        return f"[{kind}-{digest.hexdigest()[:6]}]"


def deidentify(text: str, policy: Policy | None = None) -> Deidentified:
    return Deidentifier(policy).deidentify(text)
