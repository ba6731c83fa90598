"""The live model: found through the serving pointer, loaded once, re-checked cheaply, predicted in batch.

- ModelStore reads the stage's pointer (mlstack/pointer.py) at most every `recheck_seconds`; when
  the pointer moved it loads the new version (signature + model) before switching, so a request
  never sees half a model, and a failed re-check keeps serving the loaded version. During a canary
  it holds both versions and sends the pointer's `canary_weight` share of requests to the candidate;
  a candidate that fails to load is reported (the canary alarm rolls it back) and gets no traffic.
- OnnxPredictor: one onnxruntime call per request, whatever the batch size; EntityPredictor (ner models)
  likewise scores every token of every instance in one call, then decodes each instance's spans in numpy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lambdas.inference.validation import InstanceValidator, RequestError
from mlstack.pointer import Live, parse_live, version_label
from mlstack.signature import ModelSignature

RETRY_AFTER_SECONDS = 5


def unavailable(message: str) -> RequestError:
    return RequestError(503, "backend_unavailable", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class Predictor(Protocol):
    def predict(self, features: np.ndarray) -> list[dict[str, Any]]: ...


class OnnxPredictor:
    """The ONNX model in this process: input `features` (float32) or `text` (strings); label + probabilities."""

    def __init__(self, onnx_bytes: bytes, signature: ModelSignature) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # small models, one request at a time per Lambda environment
        self.session = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.classes = signature.classes

    def predict(self, features: np.ndarray) -> list[dict[str, Any]]:
        labels, probabilities = self.session.run(None, {self.input_name: features})
        classes = self.classes
        return [{"label": label, "probabilities": dict(zip(classes, row, strict=True))}
                for label, row in zip(labels.tolist(), probabilities.tolist(), strict=True)]


class EntityPredictor:
    """An exported entity tagger (mlstack/entity_tagger.py): per instance its spans with type, offsets and score."""

    def __init__(self, onnx_bytes: bytes) -> None:
        from mlstack.entity_tagger import OnnxEntityTagger

        self.tagger = OnnxEntityTagger(onnx_bytes)

    def predict(self, features: np.ndarray) -> list[dict[str, Any]]:
        return [{"entities": spans} for spans in self.tagger.predict(features.reshape(-1).tolist())]


def predictor_for(onnx_bytes: bytes, signature: ModelSignature) -> Predictor:
    return EntityPredictor(onnx_bytes) if signature.kind == "ner" else OnnxPredictor(onnx_bytes, signature)


@dataclass(frozen=True)
class LoadedModel:
    live: Live
    signature: ModelSignature
    validator: InstanceValidator
    predictor: Predictor
    is_canary: bool = False

    @property
    def version(self) -> str:
        return version_label(self.live.version)


class ModelStore:
    """The model for the stage's current pointer; loaded on first use and when the pointer moves."""

    def __init__(self, *, read_pointer: Callable[[], str | None], read_object: Callable[[str], bytes],
                 max_instances: int,
                 recheck_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic,
                 on_reload_error: Callable[[Exception], None] = lambda error: None,
                 on_canary_error: Callable[[Exception], None] = lambda error: None,
                 draw: Callable[[], float] = random.random) -> None:
        self.read_pointer, self.read_object = read_pointer, read_object
        self.max_instances, self.recheck_seconds, self.clock = max_instances, recheck_seconds, clock
        self.on_reload_error, self.on_canary_error, self.draw = on_reload_error, on_canary_error, draw
        self.loaded: LoadedModel | None = None
        self.canary: LoadedModel | None = None
        self.canary_weight = 0.0
        self._checked_at = -float("inf")

    def current(self) -> LoadedModel | None:
        now = self.clock()
        if now - self._checked_at >= self.recheck_seconds:
            self._checked_at = now
            try:
                self._refresh()
            except Exception as error:
                if self.loaded is None:
                    raise
                self.on_reload_error(error)  # keep serving the version already loaded
        return self.loaded

    def require(self) -> LoadedModel:
        """The model for this request: the canary for its share of requests, else the stable one."""
        model = self.current()
        if model is None:
            raise unavailable("no model version is deployed to this stage yet")
        canary = self.canary
        return canary if canary is not None and self.draw() < self.canary_weight else model

    def _refresh(self) -> None:
        value = self.read_pointer()
        if value is None:
            self.loaded = self.canary = None
            return
        live = parse_live(value)
        stable = live.stable()
        if not (self.loaded and self.loaded.live == stable):
            self.loaded = self._load(stable)
        self.canary_weight = live.canary_weight
        if live.canary is None:
            self.canary = None
        elif not (self.canary and self.canary.live == live.canary):
            self.canary = None
            try:
                self.canary = self._load(live.canary, is_canary=True)
            except Exception as error:
                self.on_canary_error(error)  # the stable version keeps all traffic

    def _load(self, live: Live, *, is_canary: bool = False) -> LoadedModel:
        if not live.signature_uri:
            raise ValueError(f"pointer for v{live.version} has no signature_uri; redeploy the version")
        signature = ModelSignature.model_validate_json(self.read_object(live.signature_uri))
        predictor = predictor_for(self.read_object(live.model_uri), signature)
        return LoadedModel(live, signature, InstanceValidator(signature, self.max_instances), predictor, is_canary)
