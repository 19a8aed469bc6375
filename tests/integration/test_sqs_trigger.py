"""The one SQS event-source emulation (:class:`moviepipe.local.triggers.SqsTrigger`): declared settings,
the release-on-failure policy, partial batch responses and batches larger than one receive."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from moviepipe.deployment import DEPLOYMENT
from moviepipe.deployment import SqsTrigger as DeclaredSqsTrigger
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.provision import Messaging, provision_messaging
from moviepipe.local.triggers import Release, SqsTrigger
from tests.support import aws as clients

CONSUMER = DEPLOYMENT.function("email_notification")


def send(messaging: Messaging, *bodies: str) -> list[str]:
    sqs = clients.client("sqs")
    return [str(sqs.send_message(QueueUrl=messaging.queue_url, MessageBody=b)["MessageId"]) for b in bodies]


def failing(*bad_bodies: str) -> Any:
    """A handler reporting the records with these bodies as failed."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = [r["messageId"] for r in event["Records"] if r["body"] in bad_bodies]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}

    return handler


def queue_counts(messaging: Messaging) -> tuple[int, int]:
    attributes = clients.client("sqs").get_queue_attributes(
        QueueUrl=messaging.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_declared_settings_are_the_triggers_settings(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    trigger = SqsTrigger.declared(CONSUMER, queue_url=messaging.queue_url, handler=failing())
    declared = CONSUMER.trigger
    assert isinstance(declared, DeclaredSqsTrigger)
    assert trigger.batch_size == declared.batch_size
    assert trigger.batching_window_seconds == declared.batching_window_seconds
    assert trigger.report_batch_item_failures == declared.report_batch_item_failures
    assert trigger.function_timeout == CONSUMER.timeout_seconds
    assert trigger.function_name == DEPLOYMENT.name(CONSUMER.suffix)
    assert trigger.release is Release.AFTER_VISIBILITY_TIMEOUT, "as Lambda, unless a caller says otherwise"
    overridden = SqsTrigger.declared(CONSUMER, queue_url=messaging.queue_url, handler=failing(), batch_size=3)
    assert overridden.batch_size == 3 and overridden.function_timeout == CONSUMER.timeout_seconds
    with pytest.raises(TypeError):
        SqsTrigger.declared(
            DEPLOYMENT.function("outbox_relay"), queue_url=messaging.queue_url, handler=failing()
        )


def test_after_visibility_timeout_a_failed_record_stays_in_flight(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    send(messaging, "good", "bad")
    trigger = SqsTrigger.declared(
        CONSUMER, queue_url=messaging.queue_url, handler=failing("bad"), wait_seconds=0
    )
    invocation = trigger.poll_once()
    assert invocation is not None and len(invocation.failed_ids) == 1
    # The good one is deleted; the bad one is neither deleted nor visible (the declared 180 s timeout).
    assert queue_counts(messaging) == (0, 1)
    assert trigger.poll_once() is None


def test_at_once_a_failed_record_is_received_again_and_redriven_after_max_receives(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging(max_receive_count=2)
    [bad] = send(messaging, "bad")
    trigger = SqsTrigger.declared(
        CONSUMER,
        queue_url=messaging.queue_url,
        handler=failing("bad"),
        wait_seconds=0,
        release=Release.AT_ONCE,
    )
    invocations = trigger.drain(max_batches=10)
    # Received twice (maxReceiveCount 2), then the queue's redrive policy moved it to the DLQ.
    assert [i.failed_ids for i in invocations] == [[bad], [bad]]
    dead = clients.client("sqs").receive_message(QueueUrl=messaging.dlq_url).get("Messages", [])
    assert [m["MessageId"] for m in dead] == [bad]


def test_without_partial_batch_responses_only_an_exception_fails_the_batch(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    send(messaging, "good", "bad")
    trigger = SqsTrigger.declared(
        CONSUMER,
        queue_url=messaging.queue_url,
        handler=failing("bad"),
        wait_seconds=0,
        report_batch_item_failures=False,
    )
    invocation = trigger.poll_once()
    assert invocation is not None and invocation.failed_ids == [] and len(invocation.succeeded) == 2
    assert queue_counts(messaging) == (0, 0)


def test_a_raising_handler_fails_and_keeps_the_whole_batch(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    ids = send(messaging, "a", "b")

    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    trigger = SqsTrigger.declared(CONSUMER, queue_url=messaging.queue_url, handler=crash, wait_seconds=0)
    invocation = trigger.poll_once()
    assert invocation is not None and sorted(invocation.failed_ids) == sorted(ids)
    assert invocation.error is not None and "boom" in invocation.error
    assert queue_counts(messaging) == (0, 2)


def test_a_batch_larger_than_one_receive_is_gathered_and_settled_whole(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    ids = send(messaging, *(f"m{i}" for i in range(15)))
    seen: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(len(event["Records"]))
        return {"batchItemFailures": []}

    trigger = SqsTrigger.declared(
        CONSUMER, queue_url=messaging.queue_url, handler=handler, wait_seconds=0, batch_size=15
    )
    invocations = trigger.drain()
    assert sum(seen) == 15 and max(seen) > 10, seen
    assert sorted(r["messageId"] for i in invocations for r in i.succeeded) == sorted(ids)
    assert queue_counts(messaging) == (0, 0)


def test_the_declared_batch_size_bounds_each_invocation(aws: EmbeddedAWS) -> None:
    messaging = provision_messaging()
    send(messaging, *(f"m{i}" for i in range(25)))
    sizes: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append(len(event["Records"]))

    assert isinstance(CONSUMER.trigger, DeclaredSqsTrigger)
    declared = dataclasses.replace(CONSUMER, trigger=dataclasses.replace(CONSUMER.trigger, batch_size=4))
    trigger = SqsTrigger.declared(declared, queue_url=messaging.queue_url, handler=handler, wait_seconds=0)
    trigger.drain()
    assert sum(sizes) == 25 and max(sizes) <= 4
