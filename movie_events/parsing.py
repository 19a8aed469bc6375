"""Turn a message off the wire into a typed movie event, or an :class:`InvalidEventError` that says why.

Two wire formats are accepted:

* **CloudEvents** structured JSON (what moviepipe producers send), recognised by ``specversion``.
* **Legacy flat** messages from services built on the reference design: the body is the movie's fields
  and the event name is only in the ``Type`` message attribute. They carry no event id, so one is
  derived from the type and the body: two copies of the same legacy message get the same id, which is
  what lets consumers recognise the duplicate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from movie_events.errors import (
    MalformedMessageError,
    SchemaValidationError,
    UnknownEventTypeError,
    describe_validation_errors,
)
from movie_events.jsonlimits import load_bounded
from movie_events.models import EVENT_CLASSES, EVENT_TYPES, REQUIRED_ON_THE_WIRE, MovieEvent

#: Name of the message attribute that carries the event type (SNS and SQS alike).
TYPE_ATTRIBUTE = "Type"

#: Namespace for ids derived from legacy messages. Never change it: doing so would make every legacy
#: message replayed after the change look new to the consumers' idempotency store.
LEGACY_ID_NAMESPACE = uuid.UUID("6f1f0c3e-4a57-4c35-9a8e-7d2f6f1c8b1a")
LEGACY_SOURCE = "urn:moviepipe:legacy"


def _load_json_object(body: str | bytes | None) -> dict[str, Any]:
    if body is None:
        raise MalformedMessageError("message body is missing")
    if not body.strip():
        raise MalformedMessageError("message body is empty")
    # Bounded: size, depth, digits, non-finite numbers and lone surrogates are refused here, before
    # anything recursive, hashing or encoding ever sees the value (see movie_events.jsonlimits).
    loaded = load_bounded(body)
    if not isinstance(loaded, dict):
        raise MalformedMessageError(f"message body must be a JSON object, not {type(loaded).__name__}")
    return loaded


def type_from_attributes(attributes: Mapping[str, Any] | None) -> str | None:
    """Read the ``Type`` attribute from SQS/SNS attributes in any of their shapes.

    Lambda's SQS event uses ``{"stringValue": ...}``, boto3's SQS API ``{"StringValue": ...}``, SNS
    notifications ``{"Value": ...}``; plain strings are accepted too.
    """
    if not attributes:
        return None
    value = attributes.get(TYPE_ATTRIBUTE)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("stringValue", "StringValue", "Value"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def legacy_event_id(event_type: str, body: Mapping[str, Any]) -> str:
    """Deterministic event id for a legacy message: same type and same fields give the same id."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(LEGACY_ID_NAMESPACE, f"{event_type}\n{canonical}"))


def _validate(event_type: str, document: dict[str, Any]) -> MovieEvent:
    cls = EVENT_CLASSES[event_type]
    missing = [name for name in REQUIRED_ON_THE_WIRE if name not in document]
    if missing:
        raise SchemaValidationError(event_type, [f"{name}: required field is missing" for name in missing])
    try:
        return cls.model_validate(document)
    except ValidationError as exc:
        raise SchemaValidationError(event_type, describe_validation_errors(exc.errors())) from exc


def parse_event(
    body: str | bytes | None,
    attributes: Mapping[str, Any] | None = None,
    *,
    received_at: datetime | None = None,
) -> MovieEvent:
    """Parse one message into a movie event.

    :param body: the message body (SQS body with raw delivery, or SNS ``Message``).
    :param attributes: the message attributes; needed for legacy messages (``Type``).
    :param received_at: used as the event time of legacy messages, which carry none.
    :raises InvalidEventError: (a subclass of) with a message naming the problem and its location.
    """
    document = _load_json_object(body)
    attribute_type = type_from_attributes(attributes)

    if "specversion" in document:
        event_type = document.get("type")
        if not isinstance(event_type, str) or event_type not in EVENT_CLASSES:
            raise UnknownEventTypeError(
                f"type: unknown event type {event_type!r}; expected one of {', '.join(EVENT_TYPES)}"
            )
        if attribute_type is not None and attribute_type != event_type:
            raise UnknownEventTypeError(
                f"Type attribute {attribute_type!r} disagrees with the envelope's type {event_type!r}"
            )
        return _validate(event_type, document)

    # Legacy flat format: the movie's fields are the whole body.
    if attribute_type is None:
        raise UnknownEventTypeError(
            "not a CloudEvents envelope (no 'specversion') and no 'Type' message attribute to say "
            "which legacy event it is"
        )
    if attribute_type not in EVENT_CLASSES:
        raise UnknownEventTypeError(
            f"Type attribute: unknown event type {attribute_type!r}; expected one of {', '.join(EVENT_TYPES)}"
        )
    movie_id = document.get("id")
    envelope = {
        "specversion": "1.0",
        "id": legacy_event_id(attribute_type, document),
        "source": LEGACY_SOURCE,
        "type": attribute_type,
        "time": received_at or datetime.now(UTC),
        "subject": movie_id if isinstance(movie_id, str) else None,
        "data": document,
    }
    return _validate(attribute_type, envelope)
