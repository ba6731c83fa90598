"""Sampled capture of predictions for drift monitoring, batched, scrubbed, never failing a request.

A configurable share of requests is kept (features, prediction, model version, time) in memory and
written as one JSON-lines object per batch to the capture zone. Free-text features are never written as
sent: they are de-identified first (mlstack/deid, redact: identifiers become [TYPE] tags), the same
policy ingestion applies by default, so captured text compares with training text. De-identification,
serialization and the PUT all run on a background thread, never in the request that is answered: a
request holding a megabyte of notes is not slowed by capturing it. A failed write is logged by count and
dropped: capture never fails a prediction. Records still buffered when Lambda retires the environment are
lost (capture is a sample; documented).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from mlstack.drift import entity_outputs
from mlstack.lake import capture_key
from mlstack.signature import ModelSignature


@cache
def _redactor() -> Any:
    """Imported on first use: only text models need it, and its patterns cost ~30 ms of cold start."""
    from mlstack.deid import Deidentifier

    return Deidentifier()


def watched(signature: ModelSignature, instance: dict[str, Any], prediction: dict[str, Any]
            ) -> tuple[dict[str, Any], Any]:
    """(what drift reads of a prediction besides the instance's features, the prediction as the record stores it):
    a classifier's label; an entity model's span types, with its entity outputs measured on the text as sent."""
    if signature.kind != "ner":
        return {}, prediction.get("label")
    text = instance.get(signature.features[0])
    entities = prediction["entities"]
    return entity_outputs(len(text) if isinstance(text, str) else 0, entities), [span["type"] for span in entities]


def scrub(text_columns: frozenset[str], instance: dict[str, Any]) -> dict[str, Any]:
    """The instance as it may be stored: text features de-identified (no identifier reaches capture)."""
    if not text_columns:
        return instance
    redact = _redactor().deidentify
    return {name: (redact(value).text if name in text_columns and isinstance(value, str) else value)
            for name, value in instance.items()}


class CaptureBuffer:
    def __init__(self, s3: Any, bucket: str, *, sample_rate: float, batch_size: int = 200,
                 max_age_seconds: float = 60.0, random_draw: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic,
                 on_error: Callable[[Exception, int], None] = lambda error, count: None) -> None:
        self.s3, self.bucket, self.sample_rate = s3, bucket, sample_rate
        self.batch_size, self.max_age_seconds = batch_size, max_age_seconds
        self.random_draw, self.clock, self.on_error = random_draw, clock, on_error
        # (at, instance as sent, watched outputs, label): the instance is scrubbed later, on the capture thread
        self.records: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
        self.text_columns: frozenset[str] = frozenset()
        self.key_parts: tuple[str, str] | None = None
        self.started = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capture")
        self.pending: Future | None = None

    def offer(self, signature: ModelSignature, version: str, instances: list[dict[str, Any]],
              predictions: list[dict[str, Any]]) -> bool:
        """Keep this request's rows if it is sampled; flush when the batch is full or old. True if kept."""
        if self.sample_rate <= 0 or self.random_draw() >= self.sample_rate:
            return False
        parts = (signature.dataset, version)
        if self.key_parts not in (None, parts):
            self.flush()  # a new model version starts a new object
        if not self.records:
            self.started = self.clock()
        self.key_parts = parts
        self.text_columns = frozenset(column.name for column in signature.columns if column.type == "text")
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.records += [(at, instance, *watched(signature, instance, prediction))
                         for instance, prediction in zip(instances, predictions, strict=True)]
        if len(self.records) >= self.batch_size or self.clock() - self.started >= self.max_age_seconds:
            self.flush()
        return True

    def flush(self, wait: bool = False) -> None:
        if self.records and self.key_parts:
            dataset, version = self.key_parts
            key = capture_key(dataset, version, datetime.now(UTC).date().isoformat(), f"{uuid.uuid4().hex}.jsonl")
            records, self.records = self.records, []
            self.pending = self._executor.submit(self._write, key, version, self.text_columns, records)
        if wait and self.pending is not None:
            self.pending.result()

    def _write(self, key: str, version: str, text_columns: frozenset[str],
               records: list[tuple[str, dict[str, Any], dict[str, Any], Any]]) -> None:
        """On the capture thread: scrub, serialize and PUT one batch; a failure drops it, counted."""
        try:
            body = b"".join(orjson.dumps({"at": at, "model_version": version,
                                          "features": {**scrub(text_columns, instance), **outputs},
                                          "prediction": label}) + b"\n"
                            for at, instance, outputs, label in records)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        except Exception as error:
            self.on_error(error, len(records))
