"""How the publisher splits events into PublishBatch calls (no AWS needed)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movie_events import MovieCreated
from producers.publisher import (
    MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
    EventPublisher,
    _chunk,
    _Entry,
    message_size,
)


def entry(n: int, size: int) -> _Entry:
    event = MovieCreated(id=f"e{n}", data={"id": f"m{n}", "title": "t", "rating": 1, "genres": []})
    return _Entry(event=event, body="", size=size)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=MAX_MESSAGE_BYTES), max_size=60))
def test_chunks_respect_both_limits_and_keep_order(sizes: list[int]) -> None:
    entries = [entry(n, size) for n, size in enumerate(sizes)]
    batches = list(_chunk(entries))
    assert [e for batch in batches for e in batch] == entries  # nothing lost, nothing reordered
    for batch in batches:
        assert 1 <= len(batch) <= MAX_BATCH_ENTRIES
        assert sum(e.size for e in batch) <= MAX_MESSAGE_BYTES
    # greedy: a batch is closed only when the next entry would not fit
    for current, following in itertools.pairwise(batches):
        assert (
            len(current) == MAX_BATCH_ENTRIES
            or sum(e.size for e in current) + following[0].size > MAX_MESSAGE_BYTES
        )


def test_message_size_counts_body_and_type_attribute_in_utf8_bytes() -> None:
    assert message_size("é", "MovieCreated") == 2 + len("Type") + len("String") + len("MovieCreated")


class _InFlightSns:
    """A PublishBatch client that records how many calls overlap (each call takes a little time)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    def publish_batch(
        self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        import time

        with self.lock:
            self.in_flight += 1
            self.calls += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        return {
            "Successful": [
                {"Id": e["Id"], "MessageId": f"{e['Id']}-{self.calls}"} for e in PublishBatchRequestEntries
            ]
        }


def _events(count: int) -> list[MovieCreated]:
    return [MovieCreated(data={"id": f"m{n}", "title": "t", "rating": 1, "genres": []}) for n in range(count)]


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_publish_many_keeps_at_most_max_workers_calls_in_flight(workers: int) -> None:
    sns = _InFlightSns()
    publisher = EventPublisher("arn:aws:sns:us-east-1:123456789012:t", sns_client=sns, max_workers=workers)
    events = _events(200)
    published = publisher.publish_many(events)
    assert [p.event_id for p in published] == [e.id for e in events]  # input order, each once
    assert sns.calls == 20
    assert sns.peak <= workers
    if workers > 1:
        assert sns.peak > 1  # the workers are used, not just allowed


def test_a_fifo_topic_publishes_its_batches_one_after_another_whatever_max_workers() -> None:
    sns = _InFlightSns()
    publisher = EventPublisher("arn:aws:sns:us-east-1:123456789012:t.fifo", sns_client=sns, max_workers=8)
    publisher.publish_many(_events(50))
    assert (sns.calls, sns.peak) == (5, 1)


def test_max_workers_is_exposed_and_checked() -> None:
    sns = _InFlightSns()
    assert (
        EventPublisher("arn:aws:sns:us-east-1:1:t", sns_client=sns).max_workers
        == EventPublisher.DEFAULT_MAX_WORKERS
    )
    assert EventPublisher("arn:aws:sns:us-east-1:1:t", sns_client=sns, max_workers=6).max_workers == 6
    with pytest.raises(ValueError, match="max_workers"):
        EventPublisher("arn:aws:sns:us-east-1:1:t", sns_client=sns, max_workers=0)
