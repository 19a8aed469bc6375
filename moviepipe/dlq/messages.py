"""Pure functions over dead-letter messages: what they say, whether a filter picks them, and how to put
them back exactly as they were first sent.

Nothing here talks to AWS, and nothing here raises on a weird message: a body that is not JSON, a
hostile ``OverflowAttributes`` value or a missing timestamp gives "unknown" fields or a
:class:`RestoreError`, so one bad message can be reported and left in the DLQ without stopping the others.

The consumer's scheme (see :mod:`consumers.email_notification.adapters.dlq`): a permanent failure is sent
to the DLQ with the original body and attributes plus ``ErrorCode``, ``ErrorClass``, ``ErrorMessage`` and
``SourceMessageId``; originals that did not fit in SQS's ten attributes are packed, JSON-encoded, into
``OverflowAttributes``. A message the queue's redrive policy moved carries none of these, only its own
attributes, and is replayed as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from movie_events.parsing import TYPE_ATTRIBUTE, legacy_event_id
from moviepipe.runtime.wire import (
    DEAD_LETTER_ATTRIBUTES,
    ERROR_CLASS,
    ERROR_CODE,
    ERROR_MESSAGE,
    MAX_MESSAGE_ATTRIBUTES,
    OVERFLOW_ATTRIBUTES,
    SOURCE_MESSAGE_ID,
)

#: The system attributes a dead letter is read with (and exported with).
SYSTEM_ATTRIBUTES = (
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
    "DeadLetterQueueSourceArn",
    "SenderId",
    "AWSTraceHeader",
)
#: Group of a FIFO replay whose message has none (cannot happen on a FIFO DLQ; kept for imports).
DEFAULT_GROUP = "dead-letters"
#: Prefix of the deduplication ids replays use: a second replay of the same DLQ message within SQS's
#: five-minute deduplication window (a re-run after a crash) is dropped by SQS itself.
DEDUP_PREFIX = "moviepipe-dlq-replay"

UNKNOWN = "-"


class RestoreError(ValueError):
    """The message's original attributes cannot be rebuilt; it stays in the DLQ, reported."""


@dataclass(frozen=True)
class DeadLetter:
    """One message as read from a DLQ: body, attributes in SendMessage shape, system attributes."""

    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    system: dict[str, str] = field(default_factory=dict)
    receipt_handle: str = ""
    md5_of_body: str = ""

    @classmethod
    def from_sqs(cls, message: Mapping[str, Any]) -> DeadLetter:
        """From a ReceiveMessage entry (``Attributes`` and ``MessageAttributes`` read with ``All``)."""
        attributes: dict[str, dict[str, Any]] = {}
        for name, value in (message.get("MessageAttributes") or {}).items():
            shaped: dict[str, Any] = {"DataType": value.get("DataType", "String")}
            if "BinaryValue" in value:
                shaped["BinaryValue"] = bytes(value["BinaryValue"])
            else:
                shaped["StringValue"] = value.get("StringValue", "")
            attributes[name] = shaped
        return cls(
            message_id=str(message.get("MessageId", "")),
            body=str(message.get("Body", "")),
            attributes=attributes,
            system={k: str(v) for k, v in (message.get("Attributes") or {}).items()},
            receipt_handle=str(message.get("ReceiptHandle", "")),
            md5_of_body=str(message.get("MD5OfBody", "")),
        )

    # -- what the consumer recorded ------------------------------------------------------------------
    @property
    def dead_lettered_by_consumer(self) -> bool:
        """True when the consumer sent it (it carries the reason); False when the redrive policy moved
        it (its attributes are exactly the original ones)."""
        return ERROR_CODE in self.attributes and SOURCE_MESSAGE_ID in self.attributes

    def _reason(self, name: str) -> str | None:
        if not self.dead_lettered_by_consumer:
            return None
        value = self.attributes.get(name, {}).get("StringValue")
        return None if value is None else str(value)

    @property
    def error_code(self) -> str:
        """The consumer's ``ErrorCode``; ``MaxReceiveCountExceeded`` for a message the redrive policy
        moved (it failed transiently ``maxReceiveCount`` times)."""
        return self._reason(ERROR_CODE) or MAX_RECEIVES

    @property
    def error_class(self) -> str:
        return self._reason(ERROR_CLASS) or UNKNOWN

    @property
    def error_message(self) -> str:
        if not self.dead_lettered_by_consumer:
            return "moved by the queue's redrive policy after maxReceiveCount receives"
        return self._reason(ERROR_MESSAGE) or UNKNOWN

    @property
    def source_message_id(self) -> str:
        return self._reason(SOURCE_MESSAGE_ID) or self.message_id

    # -- timestamps ----------------------------------------------------------------------------------
    @property
    def sent_at(self) -> datetime | None:
        """When the message was sent to the DLQ (by the consumer), or first sent (redrive policy)."""
        return _millis(self.system.get("SentTimestamp"))

    @property
    def receive_count(self) -> int:
        value = self.system.get("ApproximateReceiveCount", "")
        return int(value) if value.isdigit() else 0

    @property
    def group_id(self) -> str | None:
        return self.system.get("MessageGroupId") or None

    # -- what the body says --------------------------------------------------------------------------
    def document(self) -> Any:
        """The body as JSON, or None when it is not JSON (never raises)."""
        return parse_body(self.body)

    def summary(self) -> Summary:
        return summarize(self)


MAX_RECEIVES = "MaxReceiveCountExceeded"


@dataclass(frozen=True)
class Summary:
    """What ``peek`` shows and filters look at. Fields the body does not give are ``"-"``."""

    message_id: str
    event_type: str
    event_id: str
    movie_id: str
    title: str
    error_code: str
    error_class: str
    reason: str
    receive_count: int
    sent_at: datetime | None
    event_time: datetime | None
    source_message_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "movie_id": self.movie_id,
            "title": self.title,
            "error_code": self.error_code,
            "error_class": self.error_class,
            "reason": self.reason,
            "receive_count": self.receive_count,
            "first_sent": _iso(self.sent_at),
            "event_time": _iso(self.event_time),
            "source_message_id": self.source_message_id,
        }


def parse_body(body: str) -> Any:
    """JSON of the body, or None. NaN/Infinity and absurd nesting count as not JSON."""
    try:
        return json.loads(body, parse_constant=_reject)
    except (ValueError, RecursionError):
        return None


def _reject(name: str) -> Any:
    raise ValueError(name)


def summarize(letter: DeadLetter) -> Summary:
    """Event type, event id, movie id and title, as far as the body (and ``Type``) tell them.

    The event id is the one the consumer's idempotency uses: the envelope's ``id``, or for a legacy flat
    message the id derived from its type and fields.
    """
    document = letter.document()
    doc = document if isinstance(document, dict) else {}
    type_attribute = letter.attributes.get(TYPE_ATTRIBUTE, {}).get("StringValue")
    data = doc.get("data") if "specversion" in doc else doc
    data = data if isinstance(data, dict) else {}
    if "specversion" in doc:
        event_type = _text(doc.get("type")) or _text(type_attribute)
        event_id = _text(doc.get("id"))
        movie_id = _text(doc.get("subject")) or _text(data.get("id"))
        event_time = _parse_time(doc.get("time"))
    else:
        event_type = _text(type_attribute)
        event_id = None
        if event_type and isinstance(document, dict):
            try:
                event_id = legacy_event_id(event_type, document)
            except (TypeError, ValueError):  # unserialisable or surrogates: no id
                event_id = None
        movie_id = _text(data.get("id"))
        event_time = None
    return Summary(
        message_id=letter.message_id,
        event_type=event_type or UNKNOWN,
        event_id=event_id or UNKNOWN,
        movie_id=movie_id or UNKNOWN,
        title=_text(data.get("title")) or UNKNOWN,
        error_code=letter.error_code,
        error_class=letter.error_class,
        reason=letter.error_message,
        receive_count=letter.receive_count,
        sent_at=letter.sent_at,
        event_time=event_time,
        source_message_id=letter.source_message_id,
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _millis(value: str | None) -> datetime | None:
    if not value or not value.isdigit() or len(value) > 15:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- putting it back ---------------------------------------------------------------------------------
def original_attributes(letter: DeadLetter) -> dict[str, dict[str, Any]]:
    """The message attributes the message had before it was dead-lettered, in SendMessage shape.

    For a message the consumer dead-lettered: its reason attributes removed and ``OverflowAttributes``
    unpacked back into the attributes it holds (binary values base64-decoded), every data type kept
    (``String``, ``Number``, ``Binary`` and custom ones like ``String.foo``). For a message the redrive
    policy moved: its attributes, untouched.

    :raises RestoreError: the overflow value is not what the consumer writes, or the result would not
        be a valid SQS message (more than ten attributes): the message must stay in the DLQ.
    """
    if not letter.dead_lettered_by_consumer:
        return {name: dict(value) for name, value in letter.attributes.items()}
    restored = {
        name: dict(value) for name, value in letter.attributes.items() if name not in DEAD_LETTER_ATTRIBUTES
    }
    packed = letter.attributes.get(OVERFLOW_ATTRIBUTES)
    if packed is not None:
        for name, value in unpack_overflow(packed.get("StringValue")).items():
            if name in restored:
                raise RestoreError(f"{OVERFLOW_ATTRIBUTES} repeats attribute {name!r}")
            restored[name] = value
    if len(restored) > MAX_MESSAGE_ATTRIBUTES:
        raise RestoreError(f"{len(restored)} attributes once unpacked; SQS allows {MAX_MESSAGE_ATTRIBUTES}")
    return restored


def unpack_overflow(text: Any) -> dict[str, dict[str, Any]]:
    """``OverflowAttributes``' JSON back to SendMessage-shaped attributes (the inverse of the consumer's
    packing; binary values travel base64-encoded)."""
    if not isinstance(text, str):
        raise RestoreError(f"{OVERFLOW_ATTRIBUTES} is not a string attribute")
    document = parse_body(text)
    if not isinstance(document, dict):
        raise RestoreError(f"{OVERFLOW_ATTRIBUTES} is not a JSON object")
    unpacked: dict[str, dict[str, Any]] = {}
    for name, value in document.items():
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise RestoreError(f"{OVERFLOW_ATTRIBUTES}[{name!r}] has no DataType")
        if isinstance(value.get("BinaryValue"), str):
            try:
                binary = base64.b64decode(value["BinaryValue"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise RestoreError(f"{OVERFLOW_ATTRIBUTES}[{name!r}] is not base64") from exc
            unpacked[name] = {"DataType": value["DataType"], "BinaryValue": binary}
        elif isinstance(value.get("StringValue"), str):
            unpacked[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        else:
            raise RestoreError(f"{OVERFLOW_ATTRIBUTES}[{name!r}] has neither StringValue nor BinaryValue")
    return unpacked


def dedup_id(letter: DeadLetter) -> str:
    """A deterministic FIFO deduplication id: the same DLQ message replayed twice (a re-run after a crash
    between send and delete) gets the same id, so SQS drops the second copy within five minutes."""
    return hashlib.sha256(f"{DEDUP_PREFIX}\n{letter.message_id}".encode()).hexdigest()


def group_id(letter: DeadLetter) -> str:
    """The FIFO message group to replay into: the message's own (the consumer keeps it)."""
    return letter.group_id or DEFAULT_GROUP


# -- JSON Lines (export / import) ----------------------------------------------------------------------
def to_json_line(letter: DeadLetter, queue: str, exported_at: datetime) -> str:
    """One export line: body, every attribute (binary base64), ids and timestamps. Lossless."""
    return json.dumps(
        {
            "message_id": letter.message_id,
            "body": letter.body,
            "md5_of_body": letter.md5_of_body,
            "attributes": {name: _json_attribute(v) for name, v in sorted(letter.attributes.items())},
            "system_attributes": dict(sorted(letter.system.items())),
            "queue": queue,
            "exported_at": _iso(exported_at),
        },
        sort_keys=True,
    )


def from_json_line(line: str) -> DeadLetter:
    """The inverse of :func:`to_json_line`. :raises ValueError: naming what is wrong with the line."""
    document = parse_body(line)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    body, message_id = document.get("body"), document.get("message_id")
    if not isinstance(body, str) or not body:
        raise ValueError("'body' must be a non-empty string")
    if not isinstance(message_id, str) or not message_id:
        raise ValueError("'message_id' must be a non-empty string")
    raw_attributes = document.get("attributes", {})
    system = document.get("system_attributes", {})
    if not isinstance(raw_attributes, dict) or not isinstance(system, dict):
        raise ValueError("'attributes' and 'system_attributes' must be objects")
    if len(raw_attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise ValueError(f"{len(raw_attributes)} attributes; SQS allows {MAX_MESSAGE_ATTRIBUTES}")
    attributes: dict[str, dict[str, Any]] = {}
    for name, value in raw_attributes.items():
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise ValueError(f"attribute {name!r} has no DataType")
        if isinstance(value.get("BinaryValue"), str):
            try:
                attributes[name] = {
                    "DataType": value["DataType"],
                    "BinaryValue": base64.b64decode(value["BinaryValue"], validate=True),
                }
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"attribute {name!r}: BinaryValue is not base64") from exc
        elif isinstance(value.get("StringValue"), str):
            attributes[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        else:
            raise ValueError(f"attribute {name!r} has neither StringValue nor BinaryValue")
    return DeadLetter(
        message_id=message_id,
        body=body,
        attributes=attributes,
        system={str(k): str(v) for k, v in system.items()},
        md5_of_body=str(document.get("md5_of_body", "")),
    )


def _json_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    if "BinaryValue" in value:
        return {"DataType": value["DataType"], "BinaryValue": base64.b64encode(value["BinaryValue"]).decode()}
    return {"DataType": value["DataType"], "StringValue": value.get("StringValue", "")}
