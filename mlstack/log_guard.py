"""A logging filter that keeps payloads out of logs: the last line of defence for PHI.

Handlers log ids, sizes, timings and versions by construction (never bodies or model inputs).
The guard enforces it for every record a function's logger emits: an `extra` field with a
payload's name (a request body, instances, features, note text, rows, an event) is replaced by
a marker unless it is a number (a count such as `instances=3` is fine), and log records never
carry the raw Lambda event (Powertools' log_event stays off). Attach it once per logger:
`guard(logger)`.
"""

from __future__ import annotations

import logging
from typing import Any

PAYLOAD_FIELDS = frozenset({"body", "instances", "instance", "features", "feature_values", "note_text", "text",
                            "rows", "row", "records", "record", "event", "payload", "data", "raw", "predictions",
                            "request", "response"})
DROPPED = "[dropped: payload field]"


class PayloadGuard(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in PAYLOAD_FIELDS & record.__dict__.keys():
            value = record.__dict__[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                record.__dict__[name] = DROPPED
        if isinstance(record.msg, dict):
            record.msg = {key: (DROPPED if key in PAYLOAD_FIELDS and not isinstance(value, (int, float)) else value)
                          for key, value in record.msg.items()}
        return True


def guard(logger: Any) -> Any:
    """Attach the guard to a Powertools (or stdlib) logger; returns the logger."""
    logger.addFilter(PayloadGuard())
    return logger
