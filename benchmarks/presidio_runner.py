"""Presidio's analyzer on a list of texts, run inside its own virtual environment by benchmarks/deid.py.

    .mlstack/presidio-venv/bin/python benchmarks/presidio_runner.py texts.json result.json

Standalone (it imports nothing of the project). Only the recognizers that run offline: Presidio's pattern,
checksum and context recognizers, with a blank English spaCy pipeline for tokens (spaCy's trained models,
which its name and place recognizer needs, are not on the package index). The network is blocked: tldextract,
which Presidio's e-mail and URL recognizers use, would otherwise try to download the public suffix list and
falls back to its bundled copy.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import time


def _block_network() -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked in the benchmark")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]


def _analyzer() -> object:
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())  # the bundled snapshot
    model = tempfile.mkdtemp(prefix="blank-en-")
    spacy.blank("en").to_disk(model)
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    engine.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=engine)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


def main(source: str, target: str) -> None:
    _block_network()
    with open(source) as handle:
        texts = json.load(handle)
    analyzer = _analyzer()
    analyzer.analyze(texts[0], language="en")  # warm: the first call compiles patterns
    started = time.perf_counter()
    spans = [[(r.start, r.end, r.entity_type) for r in analyzer.analyze(text, language="en")] for text in texts]
    seconds = time.perf_counter() - started
    recognizers = sorted(r.name for r in analyzer.registry.recognizers)
    with open(target, "w") as out:
        json.dump({"spans": spans, "seconds": seconds, "recognizers": recognizers}, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
