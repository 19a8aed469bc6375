"""Turn a message off the wire into a typed movie event, or an :class:`InvalidEventError` that says why.

Two wire formats are accepted:

* **CloudEvents** structured JSON (what moviepipe producers send), recognised by ``specversion``.
* **Legacy flat** messages from services built on the reference design: the body is the movie's fields
  and the event name is only in the ``Type`` message attribute. Their quirks are tolerated: ``genres``
  null or missing is an empty list, and genres are a set (the reference design keeps them in a DynamoDB
  string set, which has no order), so they are sorted and deduplicated. They carry no event id, so one is
  derived from the type and the normalised body (:func:`legacy_event_id`): two copies of the same legacy
  message get the same *content id*. A content id alone would make a real repeat of a change (rating
  8 → 9 → 8) a duplicate for as long as idempotency lasts, so consumers narrow it to a deduplication
  window with :func:`legacy_window_event_id` (see docs/events.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from movie_events.errors import (
    MalformedMessageError,
    SchemaValidationError,
    UnknownEventTypeError,
    describe_validation_errors,
)
from movie_events.jsonlimits import load_bounded
from movie_events.models import EVENT_CLASSES, EVENT_TYPES, REQUIRED_ON_THE_WIRE, MovieEvent
from movie_events.models import TYPE_ATTRIBUTE as TYPE_ATTRIBUTE

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


#: Legacy event types whose data carries ``genres``.
_WITH_GENRES = frozenset({"MovieCreated", "MovieUpdated"})


def _genre_set(value: Any) -> Any:
    """A list of strings as a set (sorted, without repeats); anything else unchanged for validation to name."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(set(value))
    return value


def normalise_legacy_body(event_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The legacy body as the contract reads it: ``genres`` null or missing → ``[]``; genres (and
    ``previous.genres``) as a set, sorted. Other fields are untouched."""
    document = dict(body)
    if event_type in _WITH_GENRES:
        genres = document.get("genres")
        document["genres"] = [] if genres is None else _genre_set(genres)
        previous = document.get("previous")
        if isinstance(previous, dict) and previous.get("genres") is not None:
            document["previous"] = {**previous, "genres": _genre_set(previous["genres"])}
    return document


def legacy_event_id(event_type: str, body: Mapping[str, Any]) -> str:
    """The *content id* of a legacy message: same type and same (normalised) fields give the same id,
    whatever the key order, white space or genre order."""
    canonical = json.dumps(
        normalise_legacy_body(event_type, body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return str(uuid.uuid5(LEGACY_ID_NAMESPACE, f"{event_type}\n{canonical}"))


def legacy_window_event_id(content_id: str, window_start_ms: int) -> str:
    """The event id of a legacy message whose deduplication window started at ``window_start_ms`` (the
    SQS ``SentTimestamp``, in milliseconds, of the first copy in that window)."""
    return str(uuid.uuid5(LEGACY_ID_NAMESPACE, f"{content_id}\n{window_start_ms}"))


def _validate(event_type: str, document: dict[str, Any]) -> MovieEvent:
    cls = EVENT_CLASSES[event_type]
    missing = [name for name in REQUIRED_ON_THE_WIRE if name not in document]
    if missing:
        raise SchemaValidationError(event_type, [f"{name}: required field is missing" for name in missing])
    try:
        return cls.model_validate(document)
    except ValidationError as exc:
        raise SchemaValidationError(event_type, describe_validation_errors(exc.errors())) from exc


class ParsedMessage(NamedTuple):
    """A parsed message and whether it came in the legacy flat format (its id is then a content id)."""

    event: MovieEvent
    legacy: bool


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
    return parse_message(body, attributes, received_at=received_at).event


def parse_message(
    body: str | bytes | None,
    attributes: Mapping[str, Any] | None = None,
    *,
    received_at: datetime | None = None,
) -> ParsedMessage:
    """:func:`parse_event`, also saying whether the message was legacy (consumers window its id)."""
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
        return ParsedMessage(_validate(event_type, document), legacy=False)

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
    document = normalise_legacy_body(attribute_type, document)
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
    return ParsedMessage(_validate(attribute_type, envelope), legacy=True)
