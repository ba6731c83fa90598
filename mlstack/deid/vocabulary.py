"""The de-identifier's safe list: common English words that are never names or places (`make deid-model`).

    python -m mlstack.deid.vocabulary [--out mlstack/deid/data/common_words.txt] [--min-zipf 3.0]

A capitalized word the tagger takes for a name ("Tumor board", "Return precautions", "Interpreter Scott
Gibbs") is usually a sentence's first word. Philter (UCSF) reaches its recall by flagging capitalized words that
are not known vocabulary; this list is that vocabulary, the other way round: a span the tagger finds on its own
is dropped when all its words are in it. A word is listed when it is frequent in English (wordfreq's Zipf
frequency, default 3.0: about once per million words and more), it or its stem is a lower-case entry in
Webster's Second (proper nouns are capitalized there: "sheffield" is not listed), and no name or place list
holds it (the shipped lists and every Faker locale's given names and surnames: "rose", "young", "will" are not
listed). wordfreq and english-words are build-time dependencies only (requirements-dev.txt); the list is
committed. Clinical words by form (drug stems, "-itis", "-ectomy") are checked by
recognizers.clinical_form.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

from mlstack.deid.recognizers import DATA_DIR, cities, first_names, last_names, regions

COMMON_WORDS = DATA_DIR / "common_words.txt"

def _stems(word: str) -> tuple[str, ...]:
    """The word and the forms it may be inflected from ("allergies" -> "allergy", "lungs" -> "lung")."""
    forms = [word]
    for ending, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                                ("ing", ""), ("ing", "e"), ("ly", "")):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            forms.append(word[:-len(ending)] + replacement)
    return tuple(forms)


def _faker_names() -> set[str]:
    from faker.providers import person

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = getattr(importlib.import_module(f"faker.providers.person.{module.name}"), "Provider", None)
        for attribute in dir(provider):
            if attribute.startswith(("first_names", "last_names")):
                values = getattr(provider, attribute)
                if isinstance(values, dict | list | tuple | set | frozenset):
                    names.update(value.lower() for value in values)
    return names


def build(min_zipf: float = 3.0) -> list[str]:
    import wordfreq
    from english_words import get_english_words_set

    lower_entries = {word for word in get_english_words_set(["web2"], lower=False, alpha=True) if word.islower()}
    excluded = _faker_names() | {word.lower() for listed in (first_names(), last_names(), cities(), regions())
                                 for entry in listed for word in entry.split()}
    return sorted(word for word in wordfreq.top_n_list("en", 500_000)
                  if word.isascii() and word.isalpha() and len(word) > 1
                  and wordfreq.zipf_frequency(word, "en") >= min_zipf and word not in excluded
                  and any(form in lower_entries for form in _stems(word)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=COMMON_WORDS)
    parser.add_argument("--min-zipf", type=float, default=3.0)
    args = parser.parse_args(argv)
    words = build(args.min_zipf)
    args.out.write_text("# common English words, never names or places: python -m mlstack.deid.vocabulary\n"
                        + "\n".join(words) + "\n")
    print(f"{len(words)} words -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
