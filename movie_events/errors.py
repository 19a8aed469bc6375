"""The one error family for bad movie events.

Consumers route every subclass of :class:`InvalidEventError` to the dead-letter queue with its reason,
so each message must say *what* is wrong and *where* (a dotted field path), in words an on-call engineer
can act on without reading code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class InvalidEventError(ValueError):
    """A message that can never become a valid movie event, however often it is retried."""

    #: Short machine-readable reason, used as the DLQ ``ErrorCode`` attribute and as a metric dimension.
    code = "InvalidEvent"


class MalformedMessageError(InvalidEventError):
    """The body is not a UTF-8 JSON object (empty, not JSON, invalid UTF-8, a JSON array, ...)."""

    code = "MalformedMessage"


class UnknownEventTypeError(InvalidEventError):
    """The event names a type this contract does not know, or names none at all."""

    code = "UnknownEventType"


class SchemaValidationError(InvalidEventError):
    """The JSON is well formed but a field is missing, of the wrong type or out of range."""

    code = "SchemaValidation"

    def __init__(self, event_type: str, problems: Sequence[str]) -> None:
        self.event_type = event_type
        self.problems = list(problems)
        super().__init__(f"invalid {event_type}: " + "; ".join(self.problems))


class EventTooLargeError(InvalidEventError):
    """The serialised event would exceed the transport's size limit (SNS/SQS: 256 KiB)."""

    code = "EventTooLarge"


def describe_validation_errors(errors: Sequence[Any]) -> list[str]:
    """Turn pydantic's error list into ``"data.rating: must be <= 10 (got 11)"`` style lines."""
    lines = []
    for err in errors:
        location = ".".join(str(part) for part in err.get("loc", ())) or "<message>"
        message = err.get("msg", "invalid")
        if err.get("type") == "missing":
            lines.append(f"{location}: required field is missing")
            continue
        value = err.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        lines.append(f"{location}: {message} (got {shown})")
    return lines
