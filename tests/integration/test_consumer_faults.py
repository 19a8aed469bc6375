"""Fault injection: failures are reported exactly, and retries never send an email twice.

Faults are injected at the botocore layer of the consumer's own clients (see tests/support/faults.py);
everything else goes over HTTP to the embedded AWS.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any, cast

import pytest

from consumers.email_notification import handler
from consumers.email_notification.adapters import SES_CLIENT_CONFIG
from consumers.email_notification.adapters.dlq import ERROR_CODE
from consumers.email_notification.logic.consumer import EmailConsumer
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER
from movie_events import MovieCreated, parse_event
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.sqs_events import LambdaSqsEvent
from tests.support import aws
from tests.support.consumer import FUNCTION_NAME, ConsumerStack, attribute
from tests.support.faults import SimulatedCrash, crash_on, fail_http, fail_http_when
from tests.support.ses import sent_emails

pytestmark = pytest.mark.integration

#: One attempt per call: a fault is then a record-level failure at once (the SES sender's own retry of
#: throttling is exercised separately in test_a_single_throttle_is_absorbed_by_the_senders_retry).
NO_RETRIES = {"mode": "standard", "total_max_attempts": 1}


def created(n: int) -> MovieCreated:
    return MovieCreated(data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": []})


def client(service: str, **config: Any) -> Any:
    return aws.client(service, retries=config.pop("retries", NO_RETRIES), **config)


def consumer(stack: ConsumerStack, **clients: Any) -> EmailConsumer:
    return stack.build_consumer(**clients)


def invoke(
    target: EmailConsumer, event: LambdaSqsEvent, context: LocalLambdaContext | None = None
) -> list[str]:
    context = context or LocalLambdaContext.new_invocation(FUNCTION_NAME)
    response = target.handle(dict(event), cast(Any, context))
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def email_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for sent in sent_emails():
        key = str(sent.header(EVENT_ID_HEADER))
        counts[key] = counts.get(key, 0) + 1
    return counts


def event_ids_by_message(event: LambdaSqsEvent) -> dict[str, str]:
    return {r["messageId"]: parse_event(r["body"], r["messageAttributes"]).id for r in event["Records"]}


def ses_request_for(event_ids: set[str]) -> Any:
    """A predicate matching SES SendEmail requests for the given event ids (read from the MIME)."""

    def matches(request: Any) -> bool:
        raw = base64.b64decode(json.loads(request.body)["Content"]["Raw"]["Data"]).decode()
        return any(f"{EVENT_ID_HEADER}: {event_id}" in raw for event_id in event_ids)

    return matches


def test_ses_throttling_fails_exactly_the_throttled_records(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(10)]
    stack.publish(*events)
    batch = stack.receive_event()
    by_message = event_ids_by_message(batch)
    throttled = {events[1].id, events[4].id, events[8].id}
    ses = client("sesv2")
    fail_http_when(ses, "SendEmail", ses_request_for(throttled), status=429, code="TooManyRequestsException")
    target = consumer(stack, sesv2=ses)

    failed = invoke(target, batch)

    assert {by_message[m] for m in failed} == throttled
    assert set(email_counts()) == {e.id for e in events} - throttled

    # The whole batch again (more than SQS would redeliver): the throttle is over, the three are sent,
    # the seven already sent are recognised, nothing goes out twice.
    failed_again = invoke(consumer(stack), batch)
    assert failed_again == []
    assert email_counts() == {e.id: 1 for e in events}


def test_a_single_throttle_is_absorbed_by_the_senders_retry(stack: ConsumerStack) -> None:
    stack.publish(created(1))
    ses = aws.client("sesv2", **SES_CLIENT_CONFIG)  # the production configuration: no botocore retries
    throttles = fail_http(ses, "SendEmail", status=429, code="TooManyRequestsException", times=1)

    assert invoke(consumer(stack, sesv2=ses), stack.receive_event()) == []
    assert throttles == [1] and len(sent_emails()) == 1


def test_dynamodb_errors_fail_the_records_and_send_nothing_for_them(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(6)]
    stack.publish(*events)
    batch = stack.receive_event()
    by_message = event_ids_by_message(batch)
    dynamodb = client("dynamodb")
    fail_http(dynamodb, "PutItem", status=500, code="InternalServerError", times=2)

    failed = invoke(consumer(stack, dynamodb=dynamodb), batch)

    assert len(failed) == 2
    assert set(email_counts()) == {e.id for e in events} - {by_message[m] for m in failed}
    assert invoke(consumer(stack), batch) == []
    assert email_counts() == {e.id: 1 for e in events}


@pytest.mark.parametrize(
    ("update_failures", "redelivery_failures"),
    [
        # Powertools' UpdateItem (mark completed) fails once; the consumer's own second attempt
        # succeeds, so a later re-delivery of the event is a plain duplicate.
        (1, 0),
        # The commit never succeeds: a re-delivery while that invocation's lock holds (an SNS
        # duplicate) is reported for retry, not sent.
        (1000, 1),
    ],
    ids=["second-attempt-commits", "commit-never-succeeds"],
)
def test_failed_commit_after_send_counts_as_processed(
    stack: ConsumerStack, update_failures: int, redelivery_failures: int
) -> None:
    event = created(1)
    stack.publish(event)
    batch = stack.receive_event()
    dynamodb = client("dynamodb")
    fail_http(dynamodb, "UpdateItem", status=500, code="InternalServerError", times=update_failures)

    assert invoke(consumer(stack, dynamodb=dynamodb), batch) == []  # the email is out: nothing to retry
    assert len(invoke(consumer(stack), batch)) == redelivery_failures
    assert email_counts() == {event.id: 1}


def test_crash_between_send_and_commit_is_the_documented_window(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(3)]
    stack.publish(*events)
    batch = stack.receive_event()
    dynamodb = client("dynamodb")
    crash_on(dynamodb, "UpdateItem", times=1)  # one record's completion never happens: the process dies

    crashed = LocalLambdaContext.new_invocation(FUNCTION_NAME, timeout_seconds=3.0)
    with pytest.raises(SimulatedCrash):
        invoke(consumer(stack, dynamodb=dynamodb), batch, crashed)
    assert email_counts() == {e.id: 1 for e in events}

    # SQS redelivers the whole batch. While the crashed invocation's lock holds (its deadline), the
    # crashed record is a transient failure and the others are duplicates: nothing is sent.
    assert len(invoke(consumer(stack), batch)) == 1
    assert email_counts() == {e.id: 1 for e in events}

    # After the deadline the lock expires and the crashed record is sent again: the one remaining window,
    # bounded to one extra email per record that was between SES and the commit when the process died.
    time.sleep(crashed.get_remaining_time_in_millis() / 1000 + 0.1)
    assert invoke(consumer(stack), batch) == []
    counts = email_counts()
    assert sorted(counts.values()) == [1, 1, 2]
    assert invoke(consumer(stack), batch) == []  # and never again
    assert email_counts() == counts


def test_ses_rejecting_the_content_dead_letters_the_record(stack: ConsumerStack) -> None:
    good, rejected = created(1), created(2)
    stack.publish(good, rejected)
    ses = client("sesv2")
    fail_http_when(ses, "SendEmail", ses_request_for({rejected.id}), status=400, code="MessageRejected")

    assert invoke(consumer(stack, sesv2=ses), stack.receive_event()) == []

    [dead] = stack.dead_letters()
    assert attribute(dead, ERROR_CODE) == "MessageRejected"
    assert parse_event(dead["Body"], dead["MessageAttributes"]).id == rejected.id
    assert email_counts() == {good.id: 1}
    # The failed send left no idempotency record: a redrive after the cause is fixed sends it.
    stack.send_raw(dead["Body"], {"Type": "MovieCreated"})
    assert invoke(consumer(stack), stack.receive_event()) == []
    assert email_counts() == {good.id: 1, rejected.id: 1}


def test_dead_letter_queue_failure_reports_the_record_and_loses_nothing(stack: ConsumerStack) -> None:
    bad = stack.send_raw("not json", {"Type": "MovieCreated"})
    stack.publish(created(1))
    batch = stack.receive_event()
    sqs = client("sqs")
    fail_http(sqs, "SendMessage", status=500, code="InternalError", times=1)

    assert invoke(consumer(stack, sqs=sqs), batch) == [bad]
    assert stack.dead_letters() == []
    assert invoke(consumer(stack), batch) == []  # the retry reaches the DLQ
    [dead] = stack.dead_letters()
    assert dead["Body"] == "not json"
    assert len(sent_emails()) == 1


def test_id_reused_with_different_data_is_permanent(stack: ConsumerStack) -> None:
    stack.publish(MovieCreated(id="same", data={"id": "m1", "title": "A", "rating": 1, "genres": []}))
    stack.publish(MovieCreated(id="same", data={"id": "m1", "title": "B", "rating": 1, "genres": []}))
    for invocation in stack.run(batch_size=1):
        assert invocation.failed_ids == []
    [dead] = stack.dead_letters()
    assert attribute(dead, ERROR_CODE) == "EventIdReused"
    assert json.loads(dead["Body"])["data"]["title"] == "B"
    assert email_counts() == {"same": 1}


def deferring_consumer(stack: ConsumerStack, **clients: Any) -> EmailConsumer:
    """More lanes than threads (6 events on 2 threads): completions run off the lane threads."""
    return handler.build_consumer(replace(stack.config(), batch_concurrency=2), aws.clients(), **clients)


def test_with_deferred_completions_a_failed_commit_still_counts_as_processed(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(6)]
    stack.publish(*events)
    batch = stack.receive_event()
    dynamodb = client("dynamodb")
    fail_http(dynamodb, "UpdateItem", status=500, code="InternalServerError", times=1)

    assert invoke(deferring_consumer(stack, dynamodb=dynamodb), batch) == []
    assert invoke(deferring_consumer(stack), batch) == []  # all completed: plain duplicates now
    assert email_counts() == {e.id: 1 for e in events}


def test_with_deferred_completions_a_crash_in_a_commit_is_the_same_documented_window(
    stack: ConsumerStack,
) -> None:
    events = [created(i) for i in range(6)]
    stack.publish(*events)
    batch = stack.receive_event()
    dynamodb = client("dynamodb")
    crash_on(dynamodb, "UpdateItem", times=1)

    crashed = LocalLambdaContext.new_invocation(FUNCTION_NAME, timeout_seconds=3.0)
    with pytest.raises(SimulatedCrash):
        invoke(deferring_consumer(stack, dynamodb=dynamodb), batch, crashed)
    assert email_counts() == {e.id: 1 for e in events}
    # Exactly one record was left between SES and its commit: retried (transient) while the lock holds.
    assert len(invoke(deferring_consumer(stack), batch)) == 1
    assert email_counts() == {e.id: 1 for e in events}
