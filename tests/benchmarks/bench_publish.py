"""Publishing 1,000 events: publish_many (PublishBatch) vs one Publish per event, 20 ms per AWS call."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from movie_events import MovieCreated
from producers import EventPublisher
from tests.benchmarks.common import LATENCY_SECONDS, embedded_aws, timed, verdict
from tests.benchmarks.report import Report
from tests.support import aws
from tests.support.latency import simulated_latency

EVENTS = 1_000
TARGET_MAX_CALLS = 100
TARGET_SPEEDUP = 8.0


def _events() -> list[MovieCreated]:
    return [
        MovieCreated(data={"id": f"m{i}", "title": f"Movie {i}", "rating": i % 11, "genres": ["Drama"]})
        for i in range(EVENTS)
    ]


def run(console: Console, report: Report) -> bool:
    with embedded_aws():
        # No subscription: moto fans a message out to SQS inside the Publish call (real SNS does it
        # after answering) and its queues slow down as they fill, which would measure moto, not us.
        topic_arn = aws.client("sns").create_topic(Name="bench-events")["TopicArn"]
        rows = []
        with simulated_latency(LATENCY_SECONDS) as calls:
            publisher = EventPublisher(topic_arn, clients=aws.clients())
            events = _events()
            _, one_by_one = timed(lambda: [publisher.publish(e) for e in events])
            one_by_one_calls = calls.total
            events = _events()
            _, batched = timed(lambda: publisher.publish_many(events))
            batched_calls = calls.total - one_by_one_calls
        rows.append(("publish() one by one", one_by_one_calls, one_by_one, 1.0))
        rows.append(("publish_many()", batched_calls, batched, one_by_one / batched))

    table = Table(title=f"{EVENTS} events, {LATENCY_SECONDS * 1000:.0f} ms simulated latency per AWS call")
    for column in ("method", "AWS calls", "seconds", "events/s", "speed-up vs one by one"):
        table.add_column(column, justify="right")
    for name, n_calls, seconds, ratio in rows:
        table.add_row(name, str(n_calls), f"{seconds:.2f}", f"{EVENTS / seconds:,.0f}", f"{ratio:.1f}x")
    console.print(table)
    speedup = one_by_one / batched
    ok = batched_calls <= TARGET_MAX_CALLS and speedup >= TARGET_SPEEDUP
    console.print(
        f"target: <= {TARGET_MAX_CALLS} calls ({batched_calls}) and >= {TARGET_SPEEDUP:.0f}x "
        f"({speedup:.1f}x): {verdict(ok)}"
    )
    return ok
