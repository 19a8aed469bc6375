"""End to end on the local stack: HTTP API → DynamoDB → stream → relay → SNS → SQS → consumer → SES.

Everything runs for real over HTTP on loopback: the embedded AWS, the movies API served by werkzeug,
the handlers under the local triggers. Only time is compressed (1 s visibility timeout, 2 receives
before redrive), so retries and redrive happen within the test.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from consumers.email_notification.adapters.dlq import ERROR_CODE, SOURCE_MESSAGE_ID
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER
from movie_events import MovieCreated
from moviepipe.local.demo import http, send_to_queue
from moviepipe.local.faults import email_mentioning
from moviepipe.local.mail_catcher import CaughtEmail
from producers import EventPublisher
from tests.e2e.conftest import RunningStack
from tests.support import aws

pytestmark = pytest.mark.e2e


def eventually(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def emails_for(stack: RunningStack, event_id: str) -> list[CaughtEmail]:
    return [e for e in stack.stack.aws.mail.emails if e.headers.get(EVENT_ID_HEADER) == event_id]


def emails_mentioning(stack: RunningStack, movie_id: str) -> list[CaughtEmail]:
    return [e for e in stack.stack.aws.mail.emails if movie_id in e.subject]


def consumed(stack: RunningStack) -> set[str]:
    """SQS message ids the email consumer completed (deleted from the queue)."""
    return {
        r["messageId"] for i in stack.invocations if i.trigger == "email-notification" for r in i.succeeded
    }


def dead_letter(stack: RunningStack, source_message_id: str) -> dict[str, Any] | None:
    for message in stack.stack.dead_letters():
        attributes = message.get("MessageAttributes", {})
        if attributes.get(SOURCE_MESSAGE_ID, {}).get("StringValue") == source_message_id:
            return message
        if message["MessageId"] == source_message_id:  # moved by the queue's own redrive policy
            return message
    return None


def test_api_changes_become_exactly_one_email_each(local_stack: RunningStack) -> None:
    api = local_stack.deployment.api_url
    status, headers, movie = http(
        "POST", f"{api}/movies", {"title": "Coco", "rating": 8.4, "genres": ["Animation"]}
    )
    assert status == 201
    movie_id, etag = movie["id"], headers["ETag"]
    status, headers, _ = http(
        "PUT",
        f"{api}/movies/{movie_id}",
        {"title": "Coco", "rating": 8.5, "genres": ["Animation"]},
        {"If-Match": etag},
    )
    assert status == 200
    status, _, _ = http("DELETE", f"{api}/movies/{movie_id}", headers={"If-Match": headers["ETag"]})
    assert status == 204

    emails = eventually(
        lambda: (found := emails_mentioning(local_stack, movie_id)) and len(found) >= 3 and found
    )
    time.sleep(1.5)  # anything extra would arrive now
    emails = emails_mentioning(local_stack, movie_id)
    subjects = sorted(e.subject for e in emails)
    assert len(emails) == 3, subjects
    assert [s.split(":")[0] for s in subjects] == [
        "[moviepipe] Movie created",
        "[moviepipe] Movie deleted",
        "[moviepipe] Movie updated",
    ]
    assert len({e.headers[EVENT_ID_HEADER] for e in emails}) == 3  # three events, one email each
    updated = next(e for e in emails if "updated" in e.subject)
    assert "8.4" in updated.text and "8.5" in updated.text  # says what changed
    for email in emails:
        assert movie_id in email.text and email.headers[EVENT_ID_HEADER] in email.text
        assert movie_id in email.html and email.headers[EVENT_ID_HEADER] in email.html


def test_a_conflicting_write_emits_nothing(local_stack: RunningStack) -> None:
    api = local_stack.deployment.api_url
    _, _, movie = http("POST", f"{api}/movies", {"title": "Alien", "rating": 8.5, "genres": []})
    status, _, _ = http(
        "PUT",
        f"{api}/movies/{movie['id']}",
        {"title": "Aliens", "rating": 8.4, "genres": []},
        {"If-Match": '"99"'},
    )
    assert status == 412
    eventually(lambda: emails_mentioning(local_stack, movie["id"]))
    time.sleep(1.5)
    assert len(emails_mentioning(local_stack, movie["id"])) == 1  # the create only


def test_sns_double_delivery_and_replay_send_one_email(local_stack: RunningStack) -> None:
    event = MovieCreated(data={"id": "tt-dup", "title": "Duplicated", "rating": 7, "genres": []})
    publisher = EventPublisher(local_stack.deployment.messaging.topic_arn)
    publisher.publish(event)
    publisher.publish(event)  # SNS delivering twice
    eventually(lambda: emails_for(local_stack, event.id))
    # a dead-letter replay weeks later arrives under a new SQS message id
    replay_id = send_to_queue(
        aws.client("sqs"),
        local_stack.deployment.messaging.queue_url,
        event.to_json(),
        {"Type": {"DataType": "String", "StringValue": event.type}},
    )
    eventually(lambda: replay_id in consumed(local_stack))
    assert len(emails_for(local_stack, event.id)) == 1


def test_legacy_messages_and_their_duplicates(local_stack: RunningStack) -> None:
    sns = aws.client("sns")
    body = json.dumps({"id": "tt-legacy", "title": "Legacy", "rating": 6.5, "genres": ["Drama"]})
    for _ in range(2):
        sns.publish(
            TopicArn=local_stack.deployment.messaging.topic_arn,
            Message=body,
            MessageAttributes={"Type": {"DataType": "String", "StringValue": "MovieCreated"}},
        )
    eventually(lambda: emails_mentioning(local_stack, "tt-legacy"))
    time.sleep(1.5)
    assert len(emails_mentioning(local_stack, "tt-legacy")) == 1


def test_poison_message_goes_to_the_dlq_and_its_batch_is_delivered(local_stack: RunningStack) -> None:
    queue = local_stack.deployment.messaging.queue_url
    good = [
        MovieCreated(data={"id": f"tt-good{i}", "title": f"Good {i}", "rating": 5, "genres": []})
        for i in range(4)
    ]
    type_attribute = {"Type": {"DataType": "String", "StringValue": "MovieCreated"}}
    poison_id = send_to_queue(
        aws.client("sqs"), queue, '{"id": "tt-poison", "title": ["not", "a", "title"]}', type_attribute
    )
    for event in good:
        send_to_queue(aws.client("sqs"), queue, event.to_json(), type_attribute)
    message = eventually(lambda: dead_letter(local_stack, poison_id))
    assert message["MessageAttributes"][ERROR_CODE]["StringValue"] == "SchemaValidation"
    eventually(lambda: all(emails_for(local_stack, e.id) for e in good))
    assert Counter(len(emails_for(local_stack, e.id)) for e in good) == {1: 4}


def test_a_record_that_keeps_failing_is_redriven_by_the_queue(local_stack: RunningStack) -> None:
    """A transient failure that never clears: the trigger leaves the record for SQS, which makes it
    visible again after the visibility timeout and, after maxReceiveCount (2 here) receives, moves it to
    the DLQ through the redrive policy — no one deletes or drops it on the way."""
    event = MovieCreated(data={"id": "tt-stuck", "title": "Stuck", "rating": 1, "genres": []})
    # SES throttles every email about this movie, for ever (a transient error that never clears).
    throttle = local_stack.stack.aws.faults.add(email_mentioning("tt-stuck"))
    message_id = send_to_queue(
        aws.client("sqs"),
        local_stack.deployment.messaging.queue_url,
        event.to_json(),
        {"Type": {"DataType": "String", "StringValue": event.type}},
    )
    eventually(lambda: dead_letter(local_stack, message_id), timeout=30)
    attempts = [i for i in local_stack.invocations if message_id in i.failed_ids]
    assert len(attempts) == 2  # maxReceiveCount receives, each reported failed, none deleted
    assert emails_for(local_stack, event.id) == [] and throttle.hits >= 2
    local_stack.stack.aws.faults.clear()
