"""DLQ message attributes: originals kept, error attributes added, never more than ten."""

from __future__ import annotations

import base64
import json
import re
import sys

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from consumers.email_notification.adapters.dlq import (
    _NOT_XML,
    MAX_ERROR_MESSAGE_LENGTH,
    dead_letter_attributes,
)
from consumers.email_notification.logic.failures import Failure, Kind
from tests.support.fakes import sqs_record

FAILURE = Failure(Kind.PERMANENT, "SchemaValidation", "SchemaValidationError", "data.title: missing")


def with_attributes(count: int) -> SQSRecord:
    raw = sqs_record("{}", message_id="m1")
    for i in range(count - 1):
        raw["messageAttributes"][f"A{i}"] = {"stringValue": str(i), "dataType": "String"}
    return SQSRecord(raw)


def test_originals_and_errors() -> None:
    attributes = dead_letter_attributes(with_attributes(2), FAILURE)
    assert attributes["Type"] == {"DataType": "String", "StringValue": "MovieCreated"}
    assert attributes["A0"] == {"DataType": "String", "StringValue": "0"}
    assert attributes["ErrorCode"]["StringValue"] == "SchemaValidation"
    assert attributes["ErrorClass"]["StringValue"] == "SchemaValidationError"
    assert attributes["ErrorMessage"]["StringValue"] == "data.title: missing"
    assert attributes["SourceMessageId"]["StringValue"] == "m1"
    assert len(attributes) == 6


def test_at_most_ten_with_overflow_kept_as_json() -> None:
    record = with_attributes(10)
    record.raw_event["messageAttributes"]["Bin"] = {
        "binaryValue": base64.b64encode(b"\x01").decode(),
        "dataType": "Binary",
    }
    attributes = dead_letter_attributes(record, FAILURE)
    assert len(attributes) == 10
    overflow = json.loads(attributes["OverflowAttributes"]["StringValue"])
    kept = {k for k in attributes if k.startswith("A") or k in ("Type", "Bin")}
    assert kept | set(overflow) == {"Type", "Bin", *(f"A{i}" for i in range(9))}
    assert overflow["Bin"] == {"DataType": "Binary", "BinaryValue": "AQ=="}


def test_error_message_is_bounded_and_sqs_safe() -> None:
    failure = Failure(Kind.PERMANENT, "X", "Y", "\ud800bad" + "z" * 5000)
    message = dead_letter_attributes(with_attributes(1), failure)["ErrorMessage"]["StringValue"]
    assert len(message) == MAX_ERROR_MESSAGE_LENGTH and message.startswith("?bad")


def test_previous_error_attributes_are_replaced_on_a_second_failure() -> None:
    record = with_attributes(1)
    record.raw_event["messageAttributes"]["ErrorCode"] = {"stringValue": "Old", "dataType": "String"}
    assert dead_letter_attributes(record, FAILURE)["ErrorCode"]["StringValue"] == "SchemaValidation"


def test_not_xml_is_exactly_the_complement_of_the_xml_character_range() -> None:
    """The cheap-to-compile class matches exactly the code points outside XML 1.0's Char production
    (what SQS accepts), checked on every code point against that production written as a negated class."""
    xml_char = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert _NOT_XML.findall(every) == xml_char.findall(every)
    assert len(_NOT_XML.findall(every)) == 0x20 - 3 + 0x800 + 2  # C0 less TAB/LF/CR, surrogates, FFFE/FFFF
