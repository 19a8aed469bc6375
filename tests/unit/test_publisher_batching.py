"""How the publisher splits events into PublishBatch calls (no AWS needed)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from movie_events import MovieCreated
from producers.publisher import MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, _chunk, _Entry, message_size


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
