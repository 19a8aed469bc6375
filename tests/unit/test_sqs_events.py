"""receive_message output → Lambda SQS event."""

from __future__ import annotations

import base64

import pytest

from moviepipe.local.sqs_events import region_of, to_lambda_event, to_lambda_record

ARN = "arn:aws:sqs:eu-west-1:123456789012:queue.fifo"


def test_record_shape_with_string_binary_and_fifo_attributes() -> None:
    message = {
        "MessageId": "mid",
        "ReceiptHandle": "rh",
        "MD5OfBody": "md5",
        "MD5OfMessageAttributes": "md5a",
        "Body": "{}",
        "Attributes": {
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "2",
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "MessageGroupId": "g",
            "SequenceNumber": "18",
            "MessageDeduplicationId": "d",
            "SqsManagedSseEnabled": "true",  # not forwarded by Lambda
        },
        "MessageAttributes": {
            "Type": {"StringValue": "MovieCreated", "DataType": "String"},
            "Blob": {"BinaryValue": b"\x00\xff", "DataType": "Binary"},
        },
    }
    record = to_lambda_record(message, ARN)
    assert record == {
        "messageId": "mid",
        "receiptHandle": "rh",
        "body": "{}",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "2",
            "SequenceNumber": "18",
            "MessageGroupId": "g",
            "MessageDeduplicationId": "d",
        },
        "messageAttributes": {
            "Type": {
                "stringValue": "MovieCreated",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "Blob": {
                "binaryValue": base64.b64encode(b"\x00\xff").decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": "md5",
        "md5OfMessageAttributes": "md5a",
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "eu-west-1",
    }


def test_event_wraps_records_and_omits_absent_md5_of_attributes() -> None:
    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": "x", "MD5OfBody": "5"}
    event = to_lambda_event([message, message], ARN)
    assert len(event["Records"]) == 2
    assert "md5OfMessageAttributes" not in event["Records"][0]
    assert event["Records"][0]["messageAttributes"] == {} and event["Records"][0]["attributes"] == {}


def test_region_of_rejects_non_queue_arns() -> None:
    assert region_of("arn:aws-cn:sqs:cn-north-1:1:q") == "cn-north-1"
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        region_of("arn:aws:sns:us-east-1:1:topic")
