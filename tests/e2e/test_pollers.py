"""The local stack runs the consumer's declared maximum concurrency of invocations side by side (two
pollers of the email queue), and still tells each invocation's outcomes apart exactly: what `local up`
prints per invocation adds up, record for record, to what happened."""

from __future__ import annotations

import threading
import time

import pytest

from movie_events import MovieCreated
from moviepipe.local.demo import send_to_queue
from moviepipe.local.stack import CONSUMER, CONSUMER_TRIGGER, LocalStack, StackSettings
from moviepipe.local.triggers import Invocation
from producers import EventPublisher

pytestmark = pytest.mark.e2e

UNIQUE, REPEATED, POISON = 120, 15, 3


def test_side_by_side_invocations_keep_their_own_outcomes() -> None:
    invocations: list[Invocation] = []
    stack = LocalStack(StackSettings(aws_port=0, api_port=0, mail_folder=None), observer=invocations.append)
    with stack.running() as deployment:
        pollers = [t for t in threading.enumerate() if t.name.startswith(f"{CONSUMER_TRIGGER}-sqs-trigger")]
        assert len(pollers) == CONSUMER.trigger.maximum_concurrency == 2  # type: ignore[union-attr]
        events = [
            MovieCreated(data={"id": f"p{n}", "title": f"Movie {n}", "rating": 5, "genres": ["Drama"]})
            for n in range(UNIQUE)
        ]
        publisher = EventPublisher(deployment.messaging.topic_arn, clients=stack.aws.clients(over_http=True))
        publisher.publish_many(events)
        publisher.publish_many(events[:REPEATED])  # the same events again: one email each all the same
        sqs = stack.aws.clients(over_http=True).sqs()
        for n in range(POISON):
            send_to_queue(sqs, deployment.messaging.queue_url, f'{{"not": "an event {n}"}}', {})

        def consumed() -> int:
            return sum(len(i.succeeded) for i in list(invocations) if i.trigger == CONSUMER_TRIGGER)

        deadline = time.monotonic() + 90
        while consumed() < UNIQUE + REPEATED + POISON and time.monotonic() < deadline:
            time.sleep(0.1)
        emails = len(stack.aws.mail.emails)

    mine = [i for i in invocations if i.trigger == CONSUMER_TRIGGER]
    assert sum(len(i.succeeded) for i in mine) == UNIQUE + REPEATED + POISON
    assert emails == UNIQUE
    for invocation in mine:
        outcomes = invocation.outcomes
        assert outcomes is not None
        assert outcomes["emails_sent"] + outcomes["duplicates_suppressed"] + outcomes["dead_lettered"] == len(
            invocation.succeeded
        ), (outcomes, len(invocation.succeeded))
    totals = {
        key: sum((i.outcomes or {})[key] for i in mine)
        for key in ("emails_sent", "duplicates_suppressed", "dead_lettered")
    }
    assert totals == {"emails_sent": UNIQUE, "duplicates_suppressed": REPEATED, "dead_lettered": POISON}


def test_a_stack_can_be_held_to_one_poller() -> None:
    """The soak's setting: its compressed idempotency lock is shorter than an invocation can take."""
    stack = LocalStack(StackSettings(aws_port=0, api_port=0, mail_folder=None, consumer_pollers=1))
    with stack.running():
        pollers = [t for t in threading.enumerate() if t.name.startswith(f"{CONSUMER_TRIGGER}-sqs-trigger")]
        assert len(pollers) == 1
