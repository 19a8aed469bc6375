"""A catalogue of bad inputs: each ends in the dead-letter queue with its reason, byte for byte, and the
good messages around them are delivered exactly once, with no record left for SQS to retry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from consumers.email_notification.adapters.dlq import (
    ERROR_CLASS,
    ERROR_CODE,
    ERROR_MESSAGE,
    SOURCE_MESSAGE_ID,
)
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER
from movie_events import MovieCreated
from tests.support import aws
from tests.support.consumer import ConsumerStack, attribute
from tests.support.ses import sent_emails

pytestmark = pytest.mark.integration

MOVIE = {"id": "m1", "title": "Heat", "rating": 8.3, "genres": ["Crime"]}


def envelope(**overrides: Any) -> str:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-" + json.dumps(overrides, sort_keys=True)[:40],
        "source": "urn:test",
        "type": "MovieCreated",
        "time": "2026-01-01T00:00:00Z",
        "data": dict(MOVIE),
    }
    data_overrides = overrides.pop("data_overrides", {})
    document["data"].update(data_overrides)
    document.update(overrides)
    return json.dumps(document)


def without(key: str) -> str:
    document = json.loads(envelope())
    del document["data"][key]
    return json.dumps(document)


@dataclass(frozen=True)
class Bad:
    name: str
    body: str
    code: str
    reason: str  # a fragment the ErrorMessage attribute must contain
    type_attribute: str | None = "MovieCreated"


CATALOGUE = [
    Bad("not JSON", "this is not json", "MalformedMessage", "not JSON"),
    Bad("blank body", "   ", "MalformedMessage", "empty"),
    Bad("JSON array", "[1, 2, 3]", "MalformedMessage", "JSON object, not list"),
    Bad("JSON string", '"MovieCreated"', "MalformedMessage", "JSON object, not str"),
    Bad("truncated JSON", '{"specversion": "1.0", "id": ', "MalformedMessage", "not JSON"),
    Bad("NaN rating", '{"id": "m1", "title": "x", "rating": NaN, "genres": []}', "MalformedMessage", "NaN"),
    Bad(
        "invalid UTF-8 (lone surrogate)",
        envelope(data_overrides={"title": "Bad \udc80 byte"}),
        "MalformedMessage",
        "data.title holds a lone surrogate",
    ),
    Bad("unknown type", envelope(type="MovieRated"), "UnknownEventType", "MovieRated"),
    Bad("no type anywhere", json.dumps(MOVIE), "UnknownEventType", "no 'Type' message attribute", None),
    Bad("unknown legacy type", json.dumps(MOVIE), "UnknownEventType", "MovieRenamed", "MovieRenamed"),
    Bad("type attribute disagrees", envelope(), "UnknownEventType", "disagrees", "MovieDeleted"),
    Bad("missing title", without("title"), "SchemaValidation", "data.title: required field is missing"),
    Bad("missing movie id", without("id"), "SchemaValidation", "data.id: required field is missing"),
    Bad("rating as string", envelope(data_overrides={"rating": "8.3"}), "SchemaValidation", "data.rating"),
    Bad("rating out of range", envelope(data_overrides={"rating": 11}), "SchemaValidation", "data.rating"),
    Bad("genres not a list", envelope(data_overrides={"genres": "Crime"}), "SchemaValidation", "data.genres"),
    Bad("huge title", envelope(data_overrides={"title": "x" * 20_000}), "SchemaValidation", "data.title"),
    Bad(
        "CR/LF in title",
        envelope(data_overrides={"title": "Heat\r\nBcc: all@example.com"}),
        "SchemaValidation",
        "control characters",
    ),
    Bad(
        "NUL in title",
        envelope(data_overrides={"title": "Heat\u0000"}),
        "SchemaValidation",
        "control characters",
    ),
    Bad("TAB in movie id", envelope(data_overrides={"id": "m\t1"}), "SchemaValidation", "control characters"),
    Bad("blank title", envelope(data_overrides={"title": "   "}), "SchemaValidation", "blank"),
    Bad("data is null", envelope(data=None), "SchemaValidation", "data"),
    Bad("time is not a time", envelope(time="yesterday"), "SchemaValidation", "time"),
    Bad("subject disagrees with data.id", envelope(subject="m2"), "SchemaValidation", "does not match"),
    Bad("legacy body missing fields", json.dumps({"id": "m1"}), "SchemaValidation", "data.title"),
]


def test_every_bad_input_is_dead_lettered_with_its_reason(stack: ConsumerStack) -> None:
    assert len(CATALOGUE) >= 20
    # An event id reused for different data: the original is delivered first, the impostor later.
    original = MovieCreated(id="reused-id", data=dict(MOVIE))
    impostor = MovieCreated(id="reused-id", data={**MOVIE, "title": "Not Heat"})
    stack.publish(original)
    stack.run()
    cases = [
        *CATALOGUE,
        Bad("event id reused with other data", impostor.to_json(), "EventIdReused", "different"),
    ]

    good = [MovieCreated(data={**MOVIE, "id": f"good{i}"}) for i in range(5)]
    sent_ids: dict[str, Bad] = {}
    for i, case in enumerate(cases):
        attributes = {"Type": case.type_attribute} if case.type_attribute else {}
        sent_ids[stack.send_raw(case.body, attributes)] = case
        if i % 6 == 0:  # good messages spread among the bad ones, so batches mix both
            stack.publish(good[i // 6])

    invocations = stack.run()

    assert all(i.failed_ids == [] for i in invocations), "nothing is left for SQS to retry"
    dead = {attribute(m, SOURCE_MESSAGE_ID): m for m in stack.dead_letters()}
    assert set(dead) == set(sent_ids)
    for message_id, case in sent_ids.items():
        message = dead[message_id]
        assert message["Body"] == case.body, case.name
        assert attribute(message, ERROR_CODE) == case.code, case.name
        assert case.reason in str(attribute(message, ERROR_MESSAGE)), (
            case.name,
            attribute(message, ERROR_MESSAGE),
        )
        assert attribute(message, ERROR_CLASS), case.name
        assert attribute(message, "Type") == case.type_attribute, case.name  # original attributes kept
    delivered = [str(s.header(EVENT_ID_HEADER)) for s in sent_emails()]
    assert sorted(delivered) == sorted([original.id, *(g.id for g in good)])


def test_bad_inputs_through_the_topic_are_dead_lettered_too(stack: ConsumerStack) -> None:
    sns = aws.client("sns")
    for body in ("not json", envelope(data_overrides={"rating": -1})):
        sns.publish(
            TopicArn=stack.messaging.topic_arn,
            Message=body,
            MessageAttributes={"Type": {"DataType": "String", "StringValue": "MovieCreated"}},
        )
    stack.run()
    codes = sorted(str(attribute(m, ERROR_CODE)) for m in stack.dead_letters())
    assert codes == ["MalformedMessage", "SchemaValidation"]
    assert sent_emails() == []


def test_without_a_dead_letter_queue_permanent_failures_are_reported(
    stack: ConsumerStack,
) -> None:
    stack.configure(dlq=False)
    bad = stack.send_raw("not json", {"Type": "MovieCreated"})
    stack.publish(MovieCreated(data=dict(MOVIE)))

    invocation = stack.invoke(stack.receive_event())

    assert invocation.failed_ids == [bad]  # left to the queue's redrive policy
    assert len(sent_emails()) == 1
    assert stack.dead_letters() == []


def test_attributes_beyond_the_sqs_limit_are_kept_in_one_overflow_attribute(stack: ConsumerStack) -> None:
    attributes = {f"Attr{i}": f"value {i}" for i in range(9)}
    attributes["Type"] = "MovieCreated"
    stack.send_raw("not json", attributes)
    stack.run()

    [message] = stack.dead_letters()
    names = set(message["MessageAttributes"])
    assert len(names) == 10
    assert {ERROR_CODE, ERROR_CLASS, ERROR_MESSAGE, SOURCE_MESSAGE_ID, "OverflowAttributes"} <= names
    overflow = json.loads(str(attribute(message, "OverflowAttributes")))
    kept = {name: attribute(message, name) for name in names if name in attributes}
    assert {**kept, **{k: v["StringValue"] for k, v in overflow.items()}} == attributes
