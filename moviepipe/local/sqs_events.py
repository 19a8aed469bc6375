"""Turn what SQS ``ReceiveMessage`` returns into the event Lambda hands an SQS-triggered function.

The local triggers and the tests invoke handlers with exactly the shape the Lambda SQS event source
produces, so a handler cannot come to depend on something only the local stack provides. Receive with
``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]`` to get every field Lambda would pass.

Shape (per record): ``messageId``, ``receiptHandle``, ``body``, ``attributes`` (the system attributes
Lambda forwards, as strings), ``messageAttributes`` (``{name: {stringValue | binaryValue (base64),
stringListValues, binaryListValues, dataType}}``), ``md5OfBody``, ``md5OfMessageAttributes`` (only when
the message has attributes), ``eventSource`` ``"aws:sqs"``, ``eventSourceARN`` and ``awsRegion``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

EVENT_SOURCE = "aws:sqs"

#: System attributes the Lambda event source forwards, in the order Lambda writes them.
FORWARDED_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


class LambdaMessageAttribute(TypedDict, total=False):
    """A message attribute as Lambda passes it (binary values base64-encoded)."""

    stringValue: str
    binaryValue: str
    stringListValues: list[str]
    binaryListValues: list[str]
    dataType: str


class LambdaSqsRecord(TypedDict, total=False):
    """One record of a Lambda SQS event."""

    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, LambdaMessageAttribute]
    md5OfBody: str
    md5OfMessageAttributes: str
    eventSource: str
    eventSourceARN: str
    awsRegion: str


class LambdaSqsEvent(TypedDict):
    """The event Lambda hands a function triggered by an SQS queue."""

    Records: list[LambdaSqsRecord]


def region_of(queue_arn: str) -> str:
    """``arn:aws:sqs:REGION:ACCOUNT:NAME`` → ``REGION``."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":  # any partition (aws, aws-cn, ...)
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
    return parts[3]


def _b64(value: bytes | str) -> str:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def to_lambda_attribute(value: Mapping[str, Any]) -> LambdaMessageAttribute:
    """One boto3 message attribute (``StringValue``/``BinaryValue`` bytes) → Lambda's shape."""
    shaped: LambdaMessageAttribute = {}
    if value.get("StringValue") is not None:
        shaped["stringValue"] = str(value["StringValue"])
    if value.get("BinaryValue") is not None:
        shaped["binaryValue"] = _b64(value["BinaryValue"])
    shaped["stringListValues"] = [str(v) for v in value.get("StringListValues", [])]
    shaped["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues", [])]
    shaped["dataType"] = str(value.get("DataType", "String"))
    return shaped


def to_lambda_record(message: Mapping[str, Any], queue_arn: str) -> LambdaSqsRecord:
    """One message of a ``receive_message`` response → one record of a Lambda SQS event."""
    system = message.get("Attributes") or {}
    record: LambdaSqsRecord = {
        "messageId": str(message["MessageId"]),
        "receiptHandle": str(message["ReceiptHandle"]),
        "body": str(message.get("Body", "")),
        "attributes": {name: str(system[name]) for name in FORWARDED_ATTRIBUTES if name in system},
        "messageAttributes": {
            name: to_lambda_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": str(message.get("MD5OfBody", "")),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = str(message["MD5OfMessageAttributes"])
    record["eventSource"] = EVENT_SOURCE
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region_of(queue_arn)
    return record


def to_lambda_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> LambdaSqsEvent:
    """A ``receive_message`` response's ``Messages`` → the Lambda SQS event (``{"Records": [...]}``)."""
    return {"Records": [to_lambda_record(message, queue_arn) for message in messages]}
