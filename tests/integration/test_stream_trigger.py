"""The local DynamoDB stream trigger behaves like Lambda's event source mapping."""

from __future__ import annotations

from typing import Any

import pytest

from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.provision import provision_movies_table
from moviepipe.local.triggers import StreamTrigger
from tests.support import aws

RELAY = DEPLOYMENT.function("outbox_relay")

pytestmark = pytest.mark.integration


def write_movies(n: int) -> None:
    dynamodb = aws.client("dynamodb")
    for i in range(n):
        dynamodb.put_item(
            TableName="moviepipe-movies", Item={"id": {"S": f"m{i}"}, "title": {"S": f"Movie {i}"}}
        )


class Recorder:
    """A handler that records what it saw and fails as told."""

    def __init__(self, fail_at: dict[str, int] | None = None, raise_times: int = 0) -> None:
        self.seen: list[str] = []
        self.fail_at = dict(fail_at or {})  # movie id -> how many times to report it failed
        self.raise_times = raise_times

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.get_remaining_time_in_millis() > 0
        if self.raise_times:
            self.raise_times -= 1
            raise RuntimeError("handler crashed")
        failures = []
        for record in event["Records"]:
            movie = record["dynamodb"]["Keys"]["id"]["S"]
            if self.fail_at.get(movie):
                self.fail_at[movie] -= 1
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
                break  # an ordered processor stops at its first failure
            self.seen.append(movie)
        return {"batchItemFailures": failures}


def drain(trigger: StreamTrigger, limit: int = 30) -> None:
    trigger.drain(limit)


def test_every_record_in_order_in_batches(aws: EmbeddedAWS) -> None:
    stream = provision_movies_table()
    write_movies(7)
    handler = Recorder()
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream, handler=handler, batch_size=3)
    sizes = []
    for _ in range(10):
        invocation = trigger.poll_once()
        if invocation is None:
            break
        sizes.append(len(invocation.records))
    assert sizes == [3, 3, 1]
    assert handler.seen == [f"m{i}" for i in range(7)]


def test_partial_failure_resumes_from_the_first_failed_record(aws: EmbeddedAWS) -> None:
    stream = provision_movies_table()
    write_movies(6)
    handler = Recorder(fail_at={"m2": 2})
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream, handler=handler, batch_size=10)
    first = trigger.poll_once()
    assert first is not None and len(first.failed_ids) == 4  # m2..m5 are retried
    drain(trigger)
    assert handler.seen == ["m0", "m1", "m2", "m3", "m4", "m5"]  # nothing skipped, nothing twice


def test_a_crashing_handler_gets_the_whole_batch_again(aws: EmbeddedAWS) -> None:
    stream = provision_movies_table()
    write_movies(3)
    handler = Recorder(raise_times=2)
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream, handler=handler)
    crashed = trigger.poll_once()
    assert (
        crashed is not None
        and crashed.error == "RuntimeError: handler crashed"
        and len(crashed.failed_ids) == 3
    )
    drain(trigger)
    assert handler.seen == ["m0", "m1", "m2"]


def test_an_unusable_response_fails_the_batch(aws: EmbeddedAWS) -> None:
    stream = provision_movies_table()
    write_movies(2)
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]}, None])
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream, handler=lambda event, context: next(answers))
    bad = trigger.poll_once()
    assert bad is not None and bad.error is not None and "invalid partial batch response" in bad.error
    good = trigger.poll_once()
    assert good is not None and good.failed_ids == [] and len(good.records) == 2
    assert trigger.poll_once() is None
