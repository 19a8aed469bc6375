"""The outbox relay: Movies table stream → events on the topic → the subscribed queue."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from werkzeug.test import Client

from movie_events import MovieCreated, MovieDeleted, MovieUpdated
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.provision import Messaging
from moviepipe.local.stream_events import StreamReader
from producers.outbox_relay.processor import OutboxBatchProcessor
from producers.outbox_relay.translate import STREAM_EVENT_NAMESPACE, VISIBLE_FIELDS
from producers.publisher import EventPublisher
from tests.support import aws
from tests.support.faults import PartialPublishBatchFailure
from tests.support.movies import (  # noqa: F401 - fixtures
    api_fixture,
    movies_stream_fixture,
    received_events,
    relay_env_fixture,
    relay_lambda,
    run_trigger,
)

pytestmark = pytest.mark.integration

ALIEN = {"title": "Alien", "rating": 8.5, "genres": ["Horror"]}


def make_changes(api: Client, movies: int) -> None:
    """For each movie: create, change the title, re-save unchanged (invisible), delete: 3 events each."""
    for n in range(movies):
        location = api.post("/movies", json={**ALIEN, "title": f"Movie {n}"}).headers["Location"]
        api.put(location, json={**ALIEN, "title": f"Movie {n} (director's cut)"}, headers={"If-Match": '"1"'})
        api.put(location, json={**ALIEN, "title": f"Movie {n} (director's cut)"}, headers={"If-Match": '"2"'})
        assert api.delete(location, headers={"If-Match": '"3"'}).status_code == 204


def stream_records(stream_arn: str) -> list[dict[str, Any]]:
    batch = StreamReader(stream_arn).read(1000)
    return batch.records if batch else []


def expected_ids(records: list[dict[str, Any]]) -> set[str]:
    """One id per record, except MODIFYs that left every visible field as it was."""
    ids = set()
    for record in records:
        images = record["dynamodb"]
        if record["eventName"] == "MODIFY" and all(
            images["NewImage"][field] == images["OldImage"][field] for field in VISIBLE_FIELDS
        ):
            continue
        ids.add(str(uuid.uuid5(STREAM_EVENT_NAMESPACE, record["eventID"])))
    return ids


def test_each_committed_change_becomes_one_event(
    api: Client, relay_env: Messaging, movies_stream: str
) -> None:
    location = api.post("/movies", json=ALIEN).headers["Location"]
    movie_id = location.rsplit("/", 1)[1]
    api.put(location, json={**ALIEN, "rating": 9.0, "genres": ["Horror", "SF"]}, headers={"If-Match": '"1"'})
    api.put(location, json={**ALIEN, "rating": 9.0, "genres": ["Horror", "SF"]}, headers={"If-Match": '"2"'})
    api.delete(location, headers={"If-Match": '"3"'})

    [invocation] = run_trigger(movies_stream)
    assert invocation.response == {"batchItemFailures": []}
    assert len(invocation.records) == 4

    events = received_events(relay_env.queue_url)
    by_type = {type(event): event for event in events}
    assert len(events) == 3 and set(by_type) == {MovieCreated, MovieUpdated, MovieDeleted}
    created, updated, deleted = by_type[MovieCreated], by_type[MovieUpdated], by_type[MovieDeleted]
    assert created.data.model_dump() == {"id": movie_id, **ALIEN}
    assert updated.data.model_dump(exclude_none=True) == {
        "id": movie_id,
        "title": "Alien",
        "rating": 9.0,
        "genres": ["Horror", "SF"],
        "previous": {"rating": 8.5, "genres": ["Horror"]},
    }
    assert deleted.data.model_dump() == {"id": movie_id, "title": "Alien"}
    assert {event.subject for event in events} == {movie_id}
    assert {event.id for event in events} == expected_ids(invocation.records)
    insert = invocation.records[0]["dynamodb"]
    assert created.time.timestamp() == insert["ApproximateCreationDateTime"]  # the change's time


def test_redelivered_batch_republishes_the_same_ids(
    api: Client, relay_env: Messaging, movies_stream: str
) -> None:
    make_changes(api, 2)
    reader = StreamReader(movies_stream)
    batch = reader.read()
    assert batch is not None
    context = LocalLambdaContext.new_invocation("outbox-relay")
    for _ in range(2):  # Lambda may deliver a batch twice (a timeout after publishing, say)
        assert relay_lambda(batch.event, context) == {"batchItemFailures": []}

    events = received_events(relay_env.queue_url)
    counts = Counter(event.id for event in events)
    assert set(counts) == expected_ids(batch.records) and set(counts.values()) == {2}


def test_publish_failing_mid_batch_loses_nothing_and_invents_nothing(
    api: Client, relay_env: Messaging, movies_stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_changes(api, 5)  # 20 records, 15 events: two PublishBatch calls and more
    records = stream_records(movies_stream)
    victim = records[9]  # the MovieUpdated of the third movie
    victim_id = str(uuid.uuid5(STREAM_EVENT_NAMESPACE, victim["eventID"]))
    faulty = PartialPublishBatchFailure(
        aws.client("sns"), should_fail=lambda entry: victim_id in entry["Message"], times=3
    )
    publisher = EventPublisher(relay_env.topic_arn, sns_client=faulty, max_attempts=2, sleep=lambda _: None)

    invocations = run_trigger(movies_stream, OutboxBatchProcessor(publisher))

    first, retry = invocations
    assert first.response == {"batchItemFailures": [{"itemIdentifier": victim["dynamodb"]["SequenceNumber"]}]}
    assert retry.records == records[9:]  # the retry starts at the failed record, in order
    assert retry.response == {"batchItemFailures": []}
    events = received_events(relay_env.queue_url)
    assert {event.id for event in events} == expected_ids(records)  # none missing, none extra
    assert faulty.injected == 3
    [logged] = [r.getMessage() for r in caplog.records if "retries from it" in r.getMessage()]
    assert victim["dynamodb"]["SequenceNumber"] in logged and victim_id in logged


def test_untranslatable_record_stops_the_batch_there(
    api: Client, relay_env: Messaging, movies_stream: str
) -> None:
    make_changes(api, 1)
    location = api.post("/movies", json=ALIEN).headers["Location"]
    movie_id = location.rsplit("/", 1)[1]
    # A write around the API that breaks the contract: the relay must stop, not skip it.
    aws.client("dynamodb").update_item(
        TableName="moviepipe-movies",
        Key={"id": {"S": movie_id}},
        UpdateExpression="SET rating = :r",
        ExpressionAttributeValues={":r": {"N": "11"}},
    )
    api.put(location, json=ALIEN, headers={"If-Match": '"1"'})
    records = stream_records(movies_stream)

    reader = StreamReader(movies_stream)
    [invocation] = run_trigger(movies_stream, reader=reader, max_invocations=1)

    assert invocation.response == {
        "batchItemFailures": [{"itemIdentifier": records[5]["dynamodb"]["SequenceNumber"]}]
    }
    assert list(reader.checkpoint.values()) == [records[4]["dynamodb"]["SequenceNumber"]]
    assert {event.id for event in received_events(relay_env.queue_url)} == expected_ids(records[:5])
