"""Property (issue 8): whatever mix of valid events, duplicates, hostile bodies and transient SES faults
a batch holds, on a standard or a FIFO queue —

* ``batchItemFailures`` is exactly the records whose send failed transiently in that invocation (on FIFO,
  plus the rest of that record's message group, left unprocessed to keep the order);
* every hostile record is dead-lettered on its first receive, with a code and a reason;
* retrying what was reported until the queue is empty gives every valid event exactly one email.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.email_notification.logic.rendering import MOVIE_ID_HEADER, RenderedEmail
from movie_events import MovieCreated
from tests.support.fakes import FakeConsumer, FakeSender, sqs_record

HOSTILE_CODES = {"MalformedMessage", "SchemaValidation", "EventTooLarge", "UnknownEventType"}


class FaultySender(FakeSender):
    """Throttles the first ``budget[movie_id]`` sends of each movie; logs the throws of this invocation."""

    def __init__(self, budget: dict[str, int]) -> None:
        super().__init__()
        self.budget = dict(budget)
        self.thrown: list[str] = []

    def send(self, email_: RenderedEmail) -> str:
        movie = movie_of(email_)
        with self._lock:
            if self.budget.get(movie, 0) > 0:
                self.budget[movie] -= 1
                self.thrown.append(movie)
                raise ClientError(
                    {"Error": {"Code": "TooManyRequestsException", "Message": "x"}}, "SendEmail"
                )
        return super().send(email_)


def movie_of(rendered: RenderedEmail) -> str:
    head = rendered.mime.split(b"\r\n\r\n", 1)[0]
    return str(email.message_from_bytes(head, policy=email.policy.default)[MOVIE_ID_HEADER])


@dataclass(frozen=True)
class Message:
    body: str
    type_attribute: str | None
    movie: str | None  # the movie of a valid message; None for a hostile one


# -- valid messages ----------------------------------------------------------------------------------

ENCODED_WORDS = [
    "Hi =?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_spy@evil.example?=",
    "=?utf-8?b?QmNjOiBzcHlAZXZpbC5leGFtcGxl?=",
    "=?iso-8859-1?q?=0ABcc:?= tail",
]
TITLES = st.one_of(
    st.sampled_from(ENCODED_WORDS),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(str.strip),
)
GENRES = st.lists(st.sampled_from(["Drama", "Crime", "Animation", "Noir"]), max_size=4)


@st.composite
def valid_message(draw: st.DrawFn, movie: str) -> Message:
    title = draw(TITLES)
    rating = draw(st.one_of(st.integers(0, 10), st.floats(0, 10, allow_nan=False)))
    genres = draw(GENRES)
    if draw(st.booleans()):
        event = MovieCreated(data={"id": movie, "title": title, "rating": rating, "genres": genres})
        return Message(event.to_json(), "MovieCreated", movie)
    body: dict[str, Any] = {"id": movie, "title": title, "rating": rating}
    legacy_genres = draw(st.sampled_from(["null", "missing", "list"]))
    if legacy_genres == "null":
        body["genres"] = None
    elif legacy_genres == "list":
        body["genres"] = genres
    return Message(json.dumps(body), draw(st.sampled_from(["MovieCreated", "MovieUpdated"])), movie)


# -- hostile messages --------------------------------------------------------------------------------


def envelope(**data: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        MovieCreated(data={"id": "h", "title": "Hostile", "rating": 1, "genres": []}).to_json()
    )
    document["data"].update(data)
    return document


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"x": value}
    return value


def swap_rating(body: str, literal: str) -> str:
    assert '"rating":1' in body
    return body.replace('"rating":1', f'"rating":{literal}', 1)


@st.composite
def lone_surrogate(draw: st.DrawFn) -> str:
    escape = f"\\u{draw(st.integers(0xD800, 0xDFFF)):04x}"
    where = draw(st.sampled_from(["title", "key", "extra", "legacy"]))
    if where == "key":
        return compact(envelope()).replace('"rating"', f'"r{escape}"', 1)
    if where == "legacy":
        return f'{{"id":"m","title":"{escape}","rating":8,"genres":[]}}'
    field = "title" if where == "title" else "extra"
    return compact(envelope(**{field: "PLACEHOLDER"})).replace("PLACEHOLDER", f"a{escape}b")


HOSTILE = st.one_of(
    st.sampled_from([33, 1000, 50_000]).map(lambda n: "[" * n + "]" * n),
    st.integers(33, 400).map(lambda n: compact(envelope(extra=nested(n)))),
    lone_surrogate(),
    st.integers(65, 6000).map(lambda d: swap_rating(compact(envelope()), "9" * d)),
    st.sampled_from(["1e400", "-1e999", "NaN", "Infinity"]).map(
        lambda n: swap_rating(compact(envelope()), n)
    ),
    st.sampled_from(
        [
            ("title", 5),
            ("title", None),
            ("title", ["x"]),
            ("rating", "8"),
            ("rating", True),
            ("rating", 11),
            ("genres", "Drama"),
            ("genres", [1]),
            ("id", 7),
            ("title", "Heat\r\nBcc: spy@evil.example"),
        ]
    ).map(lambda kv: compact(envelope(**{kv[0]: kv[1]}))),
    st.integers(501, 5000).map(lambda n: compact(envelope(title="x" * n))),
    st.just(compact(envelope(title="x" * 270_000))),
    st.text(max_size=40),
)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[Message], dict[str, int]]:
    movies = [f"movie-{n}" for n in range(draw(st.integers(1, 8)))]
    messages = [draw(valid_message(movie)) for movie in movies]
    messages += [messages[i] for i in draw(st.lists(st.integers(0, len(movies) - 1), max_size=4))]  # copies
    messages += [Message(body, "MovieCreated", None) for body in draw(st.lists(HOSTILE, max_size=6))]
    # A valid-looking body under a wrong, unknown or missing Type attribute.
    wrong_type = st.one_of(
        st.tuples(st.just(compact(envelope())), st.sampled_from(["MovieDeleted", "MovieRated"])),
        st.tuples(st.just('{"id":"m","title":"T","rating":1}'), st.sampled_from(["movie_created", None])),
    )
    messages += [Message(body, kind, None) for body, kind in draw(st.lists(wrong_type, max_size=2))]
    order = draw(st.permutations(range(len(messages))))
    budget = {movie: draw(st.integers(0, 2)) for movie in movies}
    return [messages[i] for i in order], budget


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(case=scenario(), fifo=st.booleans(), batch_size=st.integers(1, 10), groups=st.integers(1, 3))
def test_hostile_batches_keep_the_contract(
    case: tuple[list[Message], dict[str, int]], fifo: bool, batch_size: int, groups: int
) -> None:
    messages, budget = case
    sender = FaultySender(budget)
    h = FakeConsumer(sender=sender, concurrency=4)
    queue: list[dict[str, Any]] = []
    kind: dict[str, Message] = {}
    for n, message in enumerate(messages):
        extra: dict[str, Any] = {}
        if fifo:  # a movie's messages share a group (as FIFO producers send them); hostile ones spread
            extra["MessageGroupId"] = f"g{hash(message.movie or n) % groups}"
        record = sqs_record(message.body, message_id=f"msg-{n}", event_type=message.type_attribute, **extra)
        queue.append(record)
        kind[record["messageId"]] = message

    for _ in range(100):
        if not queue:
            break
        batch, queue = queue[:batch_size], queue[batch_size:]
        sender.thrown.clear()
        dead_before = len(h.dlq.messages) if h.dlq else 0
        failed = h.run(*batch)

        ids = [r["messageId"] for r in batch]
        thrown = Counter(sender.thrown)
        if not fifo:
            # Exactly the records whose send was throttled: per movie, as many records as throws, and
            # those are its first copies in batch order (one lane per event, in order).
            expected: list[str] = []
            for movie, count in thrown.items():
                expected += [i for i in ids if kind[i].movie == movie][:count]
        else:
            # Per group: from the first record whose send was throttled to the end of the group (the
            # rest is left unprocessed, hostile records included, to keep the group's order).
            expected = []
            for group in {r["attributes"]["MessageGroupId"] for r in batch}:
                members = [r["messageId"] for r in batch if r["attributes"]["MessageGroupId"] == group]
                stop = next((k for k, i in enumerate(members) if kind[i].movie in thrown), None)
                expected += members[stop:] if stop is not None else []
            assert all(count == 1 for count in thrown.values())  # a group stops at its first failure
        assert sorted(failed) == sorted(expected)

        processed_hostile = {i for i in ids if kind[i].movie is None} - set(expected)
        assert h.dlq is not None
        dead_now = {record.message_id: failure for record, failure in h.dlq.messages[dead_before:]}
        assert set(dead_now) == processed_hostile, "every hostile record processed is dead-lettered at once"
        for failure in dead_now.values():
            assert failure.code in HOSTILE_CODES and failure.permanent and failure.message.strip()
        retry = [r for r in batch if r["messageId"] in failed]
        # SQS redelivers a FIFO group's failed records before anything later in that group.
        queue = retry + queue if fifo else queue + retry
    assert queue == []
    valid_movies = {m.movie for m in messages if m.movie is not None}
    assert Counter(movie_of(e) for e in sender.sent) == {movie: 1 for movie in valid_movies}
