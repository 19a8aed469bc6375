"""With moto in its own process (the local stack's default), the guarantees hold on every path to it.

* The stack's own clients (:meth:`EmbeddedAWS.clients`) hand requests to the middleware in-process
  (moviepipe/local/in_process.py); other programs use the HTTP endpoint. Both reach the same chain: the
  same answers, the same injected faults, queue URLs naming the public endpoint.
* DynamoDB's conditional writes stay atomic with the serialisation done in moto's process.
* Concurrent ReceiveMessage calls never hand out one message twice (moto_speedups' atomic receive).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.in_process import InProcessTransport


def _in_process(client: Any) -> bool:
    """Whether ``client`` has the in-process transport among its ``before-send`` handlers."""
    handlers = client.meta.events._emitter._lookup_cache.get("before-send.sqs.ListQueues")  # filled on use
    if handlers is None:
        client.list_queues()
        handlers = client.meta.events._emitter._lookup_cache["before-send.sqs.ListQueues"]
    return any(isinstance(getattr(h, "__self__", None), InProcessTransport) for h in handlers)


def test_the_stacks_clients_go_in_process_and_others_over_http(separate: EmbeddedAWS) -> None:
    assert _in_process(separate.clients().sqs())
    assert not _in_process(separate.clients(over_http=True).sqs())
    # In-process moto has no second hop to save: every client there goes over HTTP.
    with EmbeddedAWS() as in_process_moto:
        assert not _in_process(in_process_moto.clients().sqs())


def test_both_paths_give_the_same_answers(separate: EmbeddedAWS) -> None:
    inner, outer = separate.clients().sqs(), separate.clients(over_http=True).sqs()
    url = inner.create_queue(QueueName="paths")["QueueUrl"]
    # The queue URL names the endpoint clients use, whichever way the request came.
    assert url.startswith(separate.endpoint_url) and outer.get_queue_url(QueueName="paths")["QueueUrl"] == url
    inner.send_message(
        QueueUrl=url,
        MessageBody="é ünïcode ✓",
        MessageAttributes={"Type": {"DataType": "String", "StringValue": "x"}},
    )
    received = outer.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)[
        "Messages"
    ]
    assert [(m["Body"], m["MessageAttributes"]["Type"]["StringValue"]) for m in received] == [
        ("é ünïcode ✓", "x")
    ]
    with pytest.raises(ClientError) as error:
        inner.get_queue_url(QueueName="no-such-queue")
    assert error.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_injected_faults_reach_in_process_clients(separate: EmbeddedAWS) -> None:
    sqs = separate.clients().sqs(retries={"mode": "standard", "total_max_attempts": 1})
    url = sqs.create_queue(QueueName="faulty")["QueueUrl"]
    fault = separate.faults.add(
        lambda path, body: b"faulty" in body, status=500, code="InternalError", times=1
    )
    try:
        with pytest.raises(ClientError) as error:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        assert error.value.response["Error"]["Code"] == "InternalError" and fault.hits == 1
        sqs.send_message(QueueUrl=url, MessageBody="x")  # the fault was for one request only
    finally:
        separate.faults.clear()


def test_other_endpoints_are_left_to_botocore(separate: EmbeddedAWS) -> None:
    transport = InProcessTransport(separate.faults, separate.endpoint_url)

    class Request:
        url = "http://127.0.0.1:1/elsewhere"

    assert transport.send(Request()) is None  # type: ignore[arg-type]


def test_conditional_writes_stay_atomic_with_moto_in_its_own_process(separate: EmbeddedAWS) -> None:
    dynamodb = separate.clients().dynamodb()
    dynamodb.create_table(
        TableName="atomic-own-process",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    writers = 8
    for round_number in range(10):
        barrier = threading.Barrier(writers)

        def write(n: int, key: str = f"k{round_number}", barrier: threading.Barrier = barrier) -> str:
            client = separate.clients().dynamodb()
            barrier.wait()
            try:
                client.put_item(
                    TableName="atomic-own-process",
                    Item={"id": {"S": key}, "writer": {"N": str(n)}},
                    ConditionExpression="attribute_not_exists(id)",
                )
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            return "won"

        with ThreadPoolExecutor(writers) as pool:
            outcomes = sorted(pool.map(write, range(writers)))
        assert outcomes == ["ConditionalCheckFailedException"] * (writers - 1) + ["won"]


def test_concurrent_receivers_never_get_the_same_message(separate: EmbeddedAWS) -> None:
    sqs = separate.clients().sqs()
    url = sqs.create_queue(QueueName="receivers", Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    total = 300
    for start in range(0, total, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)]
        )

    def drain(_: int) -> list[str]:
        client = separate.clients().sqs()
        got: list[str] = []
        while True:
            batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            if not batch.get("Messages"):
                return got
            got += [m["Body"] for m in batch["Messages"]]

    with ThreadPoolExecutor(8) as pool:
        bodies = [body for got in pool.map(drain, range(8)) for body in got]
    counts = Counter(bodies)
    assert len(counts) == total and set(counts.values()) == {1}, counts.most_common(3)
