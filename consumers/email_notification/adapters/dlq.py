"""Move a permanently failed record to the dead-letter queue, with the reason attached.

The DLQ message is the original body, byte for byte, with the original message attributes (so a redrive
to the source queue replays exactly what was received) plus attributes naming the error. SQS allows at
most 10 message attributes: when the original ones and the error ones do not fit, the originals that do
not fit are kept, JSON-encoded, in one ``OverflowAttributes`` attribute rather than dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from consumers.email_notification.ports import Failure
from moviepipe.runtime.wire import DEAD_LETTER_ATTRIBUTES, MAX_MESSAGE_ATTRIBUTES, OVERFLOW_ATTRIBUTES
from moviepipe.runtime.wire import ERROR_CLASS as ERROR_CLASS
from moviepipe.runtime.wire import ERROR_CODE as ERROR_CODE
from moviepipe.runtime.wire import ERROR_MESSAGE as ERROR_MESSAGE
from moviepipe.runtime.wire import SOURCE_MESSAGE_ID as SOURCE_MESSAGE_ID

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: Long enough for every contract error message; keeps the DLQ message far from the 256 KiB limit.
MAX_ERROR_MESSAGE_LENGTH = 1000

# The names are the wire's (moviepipe.runtime.wire), shared with the CLI; kept here under their old names.
MAX_ATTRIBUTES = MAX_MESSAGE_ATTRIBUTES
OVERFLOW = OVERFLOW_ATTRIBUTES
RESERVED = DEAD_LETTER_ATTRIBUTES

# Characters SQS refuses in strings: it accepts the XML 1.0 character range only (#x9, #xA, #xD,
# #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF), so these are the code points outside it, written as the
# complement's ranges: the negated class over the accepted ranges takes ~9 ms to compile at import (its
# charset spans every code point), this one well under 1 ms. A test holds the two equal on every code point.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class SqsDeadLetterQueue:
    """:class:`DeadLetterQueue` over an SQS boto3 client and a queue URL."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def send(self, record: SQSRecord, failure: Failure) -> None:
        params: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": record.body,
            "MessageAttributes": dead_letter_attributes(record, failure),
        }
        if self._fifo:
            # A FIFO source has a FIFO DLQ: keep the group (order) and deduplicate on the source message.
            params["MessageGroupId"] = record.attributes.message_group_id or "dead-letters"
            params["MessageDeduplicationId"] = hashlib.sha256(record.message_id.encode()).hexdigest()
        self._client.send_message(**params)


def dead_letter_attributes(record: SQSRecord, failure: Failure) -> dict[str, dict[str, Any]]:
    """The original message attributes (SendMessage shape) plus the error attributes, at most 10."""
    errors = {
        ERROR_CODE: _string(failure.code),
        ERROR_CLASS: _string(failure.error_class),
        ERROR_MESSAGE: _string(_clean(failure.message)[:MAX_ERROR_MESSAGE_LENGTH] or "-"),
        SOURCE_MESSAGE_ID: _string(record.message_id),
    }
    originals = {
        name: _send_shape(value)
        for name, value in (record.raw_event.get("messageAttributes") or {}).items()
        if name not in RESERVED
    }
    room = MAX_ATTRIBUTES - len(errors)
    if len(originals) <= room:
        return {**originals, **errors}
    names = list(originals)
    kept = {name: originals[name] for name in names[: room - 1]}
    overflow = {name: _json_shape(originals[name]) for name in names[room - 1 :]}
    return {**kept, OVERFLOW: _string(json.dumps(overflow, sort_keys=True)), **errors}


def _string(value: str) -> dict[str, Any]:
    return {"DataType": "String", "StringValue": value}


def _clean(text: str) -> str:
    return _NOT_XML.sub("?", text)


def _send_shape(value: dict[str, Any]) -> dict[str, Any]:
    """Lambda's ``{"stringValue", "binaryValue" (base64), "dataType"}`` → SendMessage's shape."""
    shaped: dict[str, Any] = {"DataType": value.get("dataType", "String")}
    if value.get("stringValue") is not None:
        shaped["StringValue"] = value["stringValue"]
    elif value.get("binaryValue") is not None:
        shaped["BinaryValue"] = base64.b64decode(value["binaryValue"])
    else:
        shaped["StringValue"] = ""
    return shaped


def _json_shape(value: dict[str, Any]) -> dict[str, Any]:
    if "BinaryValue" in value:
        return {"DataType": value["DataType"], "BinaryValue": base64.b64encode(value["BinaryValue"]).decode()}
    return dict(value)
