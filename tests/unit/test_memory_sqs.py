"""The in-memory SQS the DLQ benchmark runs on keeps the semantics the replay depends on, and the real
replay moves every message through it exactly once. (If these broke, the benchmark's figures would
describe a queue that loses or repeats messages.)"""

from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError

from moviepipe.dlq.operations import ReplayRequest, replay
from moviepipe.dlq.replay import METHOD_RECEIVE, ReplayOptions
from moviepipe.dlq.sqs import Queues
from tests.support.memory_sqs import MemorySqs

TYPE = {"Type": {"DataType": "String", "StringValue": "MovieCreated"}}


def _queue(sqs: MemorySqs, name: str = "q", **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _depth(sqs: MemorySqs, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_received_message_is_hidden_until_released_and_only_its_newest_handle_deletes_it() -> None:
    sqs = MemorySqs()
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="one", MessageAttributes=TYPE)

    first = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=60,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
    )["Messages"]
    assert [(m["Body"], m["MessageAttributes"]) for m in first] == [("one", TYPE)]
    assert first[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(first[0]["Attributes"]["SentTimestamp"]) > 0
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert _depth(sqs, url) == (0, 1)

    sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[{"Id": "a", "ReceiptHandle": first[0]["ReceiptHandle"], "VisibilityTimeout": 0}],
    )
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert again[0]["MessageId"] == first[0]["MessageId"]
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"

    # The older handle "succeeds" without deleting (as SQS documents); the newest one deletes.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert _depth(sqs, url) == (0, 1)
    answer = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": again[0]["ReceiptHandle"]}]
    )
    assert answer["Successful"] == [{"Id": "x"}]
    assert _depth(sqs, url) == (0, 0)
    with pytest.raises(ClientError) as invalid:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="made-up")
    assert invalid.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_batch_calls_answer_per_entry_and_refuse_bad_batches_whole() -> None:
    sqs = MemorySqs()
    url = _queue(sqs)
    answer = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "fine", "MessageAttributes": TYPE},
            {"Id": "bad", "MessageBody": "nul \x00 inside"},
            {"Id": "empty", "MessageBody": ""},
        ],
    )
    assert [e["Id"] for e in answer["Successful"]] == ["ok"]
    assert {e["Id"]: e["Code"] for e in answer["Failed"]} == {
        "bad": "InvalidMessageContents",
        "empty": "InvalidParameterValue",
    }
    assert sqs.bodies(url) == ["fine"]
    # Through the product's adapter: exactly the failed entries come back.
    failed = Queues(sqs=sqs).send_batch(
        url, [{"Id": "0", "MessageBody": "x"}, {"Id": "1", "MessageBody": "\x01"}]
    )
    assert list(failed) == ["1"]

    for entries, code in (
        ([{"Id": str(i), "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "same", "MessageBody": "x"}] * 2, "BatchEntryIdsNotDistinct"),
        ([], "EmptyBatchRequest"),
    ):
        with pytest.raises(ClientError) as refused:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert refused.value.response["Error"]["Code"].endswith(code)
    assert sqs.bodies(url) == ["fine", "x"]

    stale = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "h", "ReceiptHandle": "nope"}])
    assert stale["Successful"] == [] and stale["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


def test_a_long_poll_returns_what_is_sent_while_it_waits_and_unknown_queues_are_errors() -> None:
    sqs = MemorySqs()
    url = _queue(sqs)
    sender = threading.Timer(0.05, lambda: sqs.send_message(QueueUrl=url, MessageBody="late"))
    sender.start()
    answer = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    sender.join()
    assert [m["Body"] for m in answer["Messages"]] == ["late"]
    with pytest.raises(ClientError) as missing:
        sqs.get_queue_url(QueueName="nothing-here")
    assert missing.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_the_real_replay_moves_every_message_once_through_the_stand_in() -> None:
    sqs = MemorySqs(latency=0.001)
    dlq = _queue(sqs, "dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = _queue(
        sqs, "source", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    )
    bodies = [json.dumps({"n": n}) for n in range(200)]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=dlq,
            Entries=[
                {"Id": str(i), "MessageBody": body, "MessageAttributes": TYPE}
                for i, body in enumerate(bodies[start : start + 10])
            ],
        )

    sends_before = sqs.calls.calls["SendMessageBatch"]
    report = replay(
        Queues(sqs=sqs),
        ReplayRequest("dlq", method=METHOD_RECEIVE, options=ReplayOptions(concurrency=8)),
    )

    assert report.target == source
    assert (report.matched, report.moved, report.failed, report.skipped, report.not_deleted) == (
        200,
        200,
        0,
        0,
        0,
    )
    assert sorted(sqs.bodies(source)) == sorted(bodies)  # each exactly once
    assert sqs.bodies(dlq) == []
    moved = sqs.receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"][0]
    assert moved["MessageAttributes"] == TYPE
    assert sqs.calls.calls["SendMessageBatch"] - sends_before == 20  # batched by ten
