"""The producer library against a real SNS/SQS API (moto server over HTTP)."""

from __future__ import annotations

import json

import pytest

from movie_events import EventTooLargeError, MovieCreated, MovieDeleted, MovieUpdated, parse_event
from movie_events.models import MovieEvent
from moviepipe.local.provision import Messaging, provision_messaging
from producers import EventPublisher, PublishError
from tests.support import aws
from tests.support.faults import PartialPublishBatchFailure, fail_http
from tests.support.sqs import drain

pytestmark = pytest.mark.integration


def created(n: int, **extra: object) -> MovieCreated:
    return MovieCreated(
        data={"id": f"m{n}", "title": f"Movie {n}", "rating": n % 11, "genres": ["Drama"], **extra}
    )


def test_publish_delivers_body_and_type_attribute(messaging: Messaging) -> None:
    event = created(1)
    result = EventPublisher(messaging.topic_arn).publish(event)

    [message] = drain(messaging.queue_url, expected=1)
    assert result.event_id == event.id and result.message_id
    assert message["Body"] == event.to_json()  # raw delivery: the envelope itself, byte for byte
    assert message["MessageAttributes"]["Type"] == {"StringValue": "MovieCreated", "DataType": "String"}
    assert parse_event(message["Body"], message["MessageAttributes"]) == event


def test_publish_many_delivers_every_event_with_attributes(messaging: Messaging) -> None:
    events: list[MovieEvent] = [created(i) for i in range(23)]
    events.append(
        MovieUpdated(
            data={"id": "m1", "title": "New", "rating": 2, "genres": [], "previous": {"title": "Movie 1"}}
        )
    )
    events.append(MovieDeleted(data={"id": "m2", "title": "Movie 2"}))

    results = EventPublisher(messaging.topic_arn).publish_many(events)

    assert [r.event_id for r in results] == [e.id for e in events]
    messages = drain(messaging.queue_url, expected=len(events))
    received = {parse_event(m["Body"], m["MessageAttributes"]).id: m for m in messages}
    assert set(received) == {e.id for e in events}
    for event in events:
        assert received[event.id]["MessageAttributes"]["Type"]["StringValue"] == event.type
        assert json.loads(received[event.id]["Body"]) == json.loads(event.to_json())


def test_publish_many_uses_at_most_ten_entries_per_call(messaging: Messaging) -> None:
    calls: list[int] = []
    sns = aws.client("sns")
    sns.meta.events.register(
        "provide-client-params.sns.PublishBatch",
        lambda params, **_: calls.append(len(params["PublishBatchRequestEntries"])),
    )
    EventPublisher(messaging.topic_arn, sns_client=sns).publish_many([created(i) for i in range(25)])
    assert sorted(calls) == [5, 10, 10]


def test_filter_policy_routes_by_type(aws: object) -> None:
    only_deletes = provision_messaging(
        queue_name="deletes", dlq_name="deletes-dlq", event_types=("MovieDeleted",)
    )
    publisher = EventPublisher(only_deletes.topic_arn)
    deleted = MovieDeleted(data={"id": "m9"})
    publisher.publish_many(
        [created(1), deleted, MovieUpdated(data={"id": "m1", "title": "x", "rating": 1, "genres": []})]
    )

    messages = drain(only_deletes.queue_url)
    assert [parse_event(m["Body"], m["MessageAttributes"]).id for m in messages] == [deleted.id]


def test_partial_batch_failure_is_retried_until_published(messaging: Messaging) -> None:
    events = [created(i) for i in range(10)]
    flaky_ids = {events[2].id, events[7].id}
    sns = PartialPublishBatchFailure(
        aws.client("sns"), lambda entry: json.loads(entry["Message"])["id"] in flaky_ids, times=2
    )
    results = EventPublisher(messaging.topic_arn, sns_client=sns, sleep=lambda _: None).publish_many(events)

    assert sns.injected == 4 and sns.calls == 3
    assert [r.event_id for r in results] == [e.id for e in events]
    ids = sorted(
        parse_event(m["Body"], m["MessageAttributes"]).id for m in drain(messaging.queue_url, expected=10)
    )
    assert ids == sorted(e.id for e in events)  # each exactly once


def test_persistent_failure_is_raised_naming_the_events_never_dropped(messaging: Messaging) -> None:
    events = [created(i) for i in range(12)]
    doomed = {events[0].id, events[11].id}
    sns = PartialPublishBatchFailure(
        aws.client("sns"), lambda entry: json.loads(entry["Message"])["id"] in doomed, times=100
    )
    publisher = EventPublisher(messaging.topic_arn, sns_client=sns, max_attempts=3, sleep=lambda _: None)

    with pytest.raises(PublishError) as raised:
        publisher.publish_many(events)

    assert set(raised.value.event_ids) == doomed
    assert "after 3 attempts" in str(raised.value)
    assert {p.event_id for p in raised.value.published} == {e.id for e in events} - doomed
    delivered = {
        parse_event(m["Body"], m["MessageAttributes"]).id for m in drain(messaging.queue_url, expected=10)
    }
    assert delivered == {e.id for e in events} - doomed


def test_sender_fault_entries_are_not_retried(messaging: Messaging) -> None:
    events = [created(i) for i in range(3)]
    sns = PartialPublishBatchFailure(
        aws.client("sns"),
        lambda entry: json.loads(entry["Message"])["id"] == events[1].id,
        times=100,
        sender_fault=True,
    )
    with pytest.raises(PublishError) as raised:
        EventPublisher(messaging.topic_arn, sns_client=sns, sleep=lambda _: None).publish_many(events)
    assert raised.value.event_ids == [events[1].id]
    assert sns.calls == 1


def test_throttled_calls_are_retried(messaging: Messaging) -> None:
    sns = aws.client("sns")
    answered = fail_http(sns, "PublishBatch", status=400, code="Throttling", times=2)
    results = EventPublisher(messaging.topic_arn, sns_client=sns, sleep=lambda _: None).publish_many(
        [created(i) for i in range(4)]
    )
    assert answered[0] == 2 and len(results) == 4
    assert len(drain(messaging.queue_url, expected=4)) == 4


def test_server_errors_beyond_the_bound_are_raised(messaging: Messaging) -> None:
    sns = aws.client("sns")
    fail_http(sns, "PublishBatch", status=500, code="InternalFailure", times=1000)
    events = [created(i) for i in range(3)]
    with pytest.raises(PublishError) as raised:
        EventPublisher(
            messaging.topic_arn, sns_client=sns, max_attempts=2, sleep=lambda _: None
        ).publish_many(events)
    assert set(raised.value.event_ids) == {e.id for e in events}
    assert drain(messaging.queue_url) == []


def test_single_publish_failure_names_the_event(messaging: Messaging) -> None:
    sns = aws.client("sns")
    fail_http(sns, "Publish", status=400, code="InvalidParameter", times=1)
    event = created(1)
    with pytest.raises(PublishError) as raised:
        EventPublisher(messaging.topic_arn, sns_client=sns).publish(event)
    assert raised.value.event_ids == [event.id]


def test_oversized_event_is_refused_before_sending(messaging: Messaging) -> None:
    huge = created(1, synopsis="x" * (256 * 1024))
    publisher = EventPublisher(messaging.topic_arn)
    with pytest.raises(EventTooLargeError, match="at most 262144"):
        publisher.publish_many([created(2), huge])
    with pytest.raises(EventTooLargeError):
        publisher.publish(huge)
    assert drain(messaging.queue_url) == []  # nothing of the call was sent


def test_batches_respect_the_total_size_limit(messaging: Messaging) -> None:
    sizes: list[int] = []
    sns = aws.client("sns")
    sns.meta.events.register(
        "provide-client-params.sns.PublishBatch",
        lambda params, **_: sizes.append(
            sum(len(e["Message"]) for e in params["PublishBatchRequestEntries"])
        ),
    )
    events = [created(i, synopsis="y" * 100_000) for i in range(5)]
    EventPublisher(messaging.topic_arn, sns_client=sns).publish_many(events)
    assert len(sizes) == 3 and max(sizes) <= 256 * 1024
    assert len(drain(messaging.queue_url, expected=5)) == 5


def test_fifo_topic_sets_group_and_deduplication_ids(aws: object) -> None:
    fifo = provision_messaging(topic_name="events.fifo", queue_name="email.fifo", dlq_name="email-dlq.fifo")
    first = created(1)
    again = MovieUpdated(data={"id": "m1", "title": "Changed", "rating": 3, "genres": []})
    other = created(2)
    EventPublisher(fifo.topic_arn).publish_many([first, again, other])
    EventPublisher(fifo.topic_arn).publish(first)  # same event id: deduplicated by SNS FIFO

    messages = drain(fifo.queue_url)
    assert [m["Attributes"]["MessageGroupId"] for m in messages].count("m1") == 2
    by_id = {m["Attributes"]["MessageDeduplicationId"]: m for m in messages}
    assert set(by_id) == {first.id, again.id, other.id}
    group_m1 = [
        parse_event(m["Body"], m["MessageAttributes"]).id
        for m in messages
        if m["Attributes"]["MessageGroupId"] == "m1"
    ]
    assert group_m1 == [first.id, again.id]  # order within a movie holds


def test_the_relay_reads_its_topic_from_the_environment_mapping_it_is_given(messaging: Messaging) -> None:
    from moviepipe.runtime.settings import ConfigurationError
    from producers.outbox_relay.handler import RelayConfig

    assert (
        RelayConfig.from_env({"EVENTS_TOPIC_ARN": messaging.topic_arn}).events_topic_arn
        == messaging.topic_arn
    )
    with pytest.raises(ConfigurationError, match="EVENTS_TOPIC_ARN"):
        RelayConfig.from_env({})
    with pytest.raises(ValueError, match="topic"):
        EventPublisher("")
