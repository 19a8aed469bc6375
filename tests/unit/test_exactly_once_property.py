"""Property: whatever mix of duplicates, transient SES failures and batch splits SQS hands over,
retrying what the consumer reports until nothing is left sends exactly one email per event, and every
invocation reports exactly the records that failed."""

from __future__ import annotations

import random
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer
from consumers.email_notification.logic.rendering import RenderedEmail
from movie_events import MovieCreated
from moviepipe.local.lambda_context import LocalLambdaContext
from tests.support.fakes import FakeSender, InMemoryPersistenceLayer, sqs_record


class FlakySender(FakeSender):
    """Throttles a send whenever the seeded coin says so; remembers which subjects failed."""

    def __init__(self, rng: random.Random, failure_rate: float) -> None:
        super().__init__()
        self.rng = rng
        self.failure_rate = failure_rate
        self.failed_subjects: list[str] = []

    def send(self, email: RenderedEmail) -> str:
        if self.rng.random() < self.failure_rate:
            self.failed_subjects.append(email.subject)
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "x"}}, "SendEmail")
        return super().send(email)


@settings(max_examples=40, deadline=None)
@given(
    # Up to 60 events x 3 copies in batches of up to 100: at the default BATCH_CONCURRENCY (50, threads
    # = min(lanes, 50)) a batch can hold more lanes than threads, as a batch of 100 does in production.
    copies=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=60),
    failure_rate=st.sampled_from([0.0, 0.2, 0.5]),
    batch_size=st.integers(min_value=1, max_value=100),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_retrying_reported_failures_sends_each_event_exactly_once(
    copies: list[int], failure_rate: float, batch_size: int, seed: int
) -> None:
    rng = random.Random(seed)
    events = [
        MovieCreated(data={"id": f"m{i}", "title": f"Movie {i}", "rating": 1, "genres": []})
        for i in range(len(copies))
    ]
    queue = [
        sqs_record(event.to_json(), message_id=f"{i}-{copy}")
        for i, (event, n) in enumerate(zip(events, copies, strict=True))
        for copy in range(n)
    ]
    rng.shuffle(queue)
    sender = FlakySender(rng, failure_rate)
    consumer = EmailConsumer(
        config=ConsumerConfig(idempotency_table="-", sender="s@example.com", recipients=("r@example.com",)),
        sender=sender,
        persistence=InMemoryPersistenceLayer(),
        dead_letters=None,
        logger=Logger(service="property"),
        metrics=Metrics(namespace="property"),
    )
    for _ in range(200):  # SQS's receive loop; failed records come back later
        if not queue:
            break
        batch, queue = queue[:batch_size], queue[batch_size:]
        failed_before = len(sender.failed_subjects)
        response = consumer.handle(
            {"Records": batch}, cast(Any, LocalLambdaContext.new_invocation("property"))
        )
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        # Exactly the records whose send was throttled are reported (a duplicate of a throttled event
        # in the same batch runs after it in the same lane and may succeed or be throttled itself).
        assert len(failed) == len(sender.failed_subjects) - failed_before
        queue += [record for record in batch if record["messageId"] in failed]
    assert queue == []
    subjects = sorted(email.subject for email in sender.sent)
    assert subjects == sorted(f"[moviepipe] Movie created: Movie {i} (m{i})" for i in range(len(events)))
