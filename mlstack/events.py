"""EventBridge pattern matching, shared by local mode and tests (moto's TestEventPattern is missing).

`matches` evaluates the subset of the pattern syntax the stack's rules use: lists of allowed
exact values, and nested objects.
"""

from __future__ import annotations

from typing import Any

ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
SCHEDULE_DETAIL_TYPE = "Scheduled Event"


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True when every pattern field matches: a list of allowed values, or a nested pattern."""
    for field, expected in pattern.items():
        if field not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[field], dict) or not matches(expected, event[field]):
                return False
        elif event[field] not in expected:
            return False
    return True
