"""Publishing 1,000 events: publish_many (PublishBatch) vs one Publish per event, same worker count.

Both methods run on the same number of threads (the publisher's ``max_workers``, default 4: the
one-by-one baseline maps ``publish`` over a thread pool of that size), and the topic has an SQS
subscription attached (raw delivery, filter on ``Type``), as in the deployment: every run checks that
the queue received each event exactly once. So the speed-up is what batching buys, not thread count.

*Latency only* (the target): an in-memory SNS topic (:mod:`tests.support.memory_sns`) that costs one
simulated 20 ms round trip per call and fans each message out to an in-memory SQS queue, as SNS does after
answering. *Over HTTP* (secondary, labelled): the embedded moto server, 20 ms added per request, fewer
events — moto fans out to SQS inside each Publish call, in this process, and its queue slows down as it
fills, so that table measures moto as much as the publisher.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rich.console import Console

from movie_events import MovieCreated
from producers import EventPublisher
from tests.benchmarks.common import LATENCY_SECONDS, embedded_aws, median_spread, plain, timed, verdict
from tests.benchmarks.report import Report
from tests.support import aws
from tests.support.latency import simulated_latency
from tests.support.memory_sns import MemorySns
from tests.support.memory_sqs import MemorySqs

EVENTS = 1_000
HTTP_EVENTS = int(os.environ.get("BENCH_PUBLISH_HTTP_EVENTS", "200"))
ROUNDS = int(os.environ.get("BENCH_PUBLISH_ROUNDS", "3"))
#: The publisher's default: both methods get exactly this many threads.
WORKERS = EventPublisher.DEFAULT_MAX_WORKERS
TARGET_MAX_CALLS = 100
TARGET_SPEEDUP = 8.0
FILTER = {"Type": ["MovieCreated", "MovieUpdated", "MovieDeleted"]}


def _events(count: int) -> list[MovieCreated]:
    return [
        MovieCreated(data={"id": f"m{i}", "title": f"Movie {i}", "rating": i % 11, "genres": ["Drama"]})
        for i in range(count)
    ]


def _one_by_one(publisher: EventPublisher, events: list[MovieCreated]) -> None:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(publisher.publish, events))


def _drained_ids(sqs: Any, url: str) -> list[str]:
    """Every event id on the queue (received and deleted), so the next run starts empty."""
    ids: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return ids
        ids += [json.loads(m["Body"])["id"] for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def _measure(publisher: EventPublisher, sqs: Any, url: str, count: int, rounds: int) -> dict[str, Any]:
    """Seconds per run of each method, and calls per run; checks the subscription got each event once."""
    out: dict[str, Any] = {"one": [], "many": []}
    for _ in range(rounds):
        for name, method in (("one", _one_by_one), ("many", EventPublisher.publish_many)):
            events = _events(count)
            _, seconds = timed(lambda method=method, events=events: method(publisher, events))  # type: ignore[misc]
            out[name].append(seconds)
            delivered = _drained_ids(sqs, url)
            assert sorted(delivered) == sorted(e.id for e in events), (
                f"{name}: subscription got {len(delivered)}"
            )
    return out


def _latency_only() -> tuple[dict[str, Any], dict[str, int]]:
    sqs = MemorySqs()
    sns = MemorySns(sqs, latency=LATENCY_SECONDS)
    url = sqs.create_queue(QueueName="bench-email")["QueueUrl"]
    topic = sns.create_topic(Name="bench-events")["TopicArn"]
    sns.subscribe(topic, "sqs", url, {"RawMessageDelivery": "true", "FilterPolicy": json.dumps(FILTER)})
    publisher = EventPublisher(topic, sns_client=sns)
    # Calls per method, counted once (the figures do not depend on the round).
    before = sns.calls.total
    _one_by_one(publisher, _events(EVENTS))
    one_calls = sns.calls.total - before
    publisher.publish_many(_events(EVENTS))
    many_calls = sns.calls.total - before - one_calls
    _drained_ids(sqs, url)
    return _measure(publisher, sqs, url, EVENTS, ROUNDS), {"one": one_calls, "many": many_calls}


def _over_http() -> dict[str, Any]:
    with embedded_aws():
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName="bench-email")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns = aws.client("sns")
        topic = sns.create_topic(Name="bench-events")["TopicArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps(FILTER)},
        )
        with simulated_latency(LATENCY_SECONDS):
            publisher = EventPublisher(topic, clients=aws.clients())
        return _measure(publisher, sqs, url, HTTP_EVENTS, 1)


def run(console: Console, report: Report) -> bool:
    figures, calls = _latency_only()
    http = _over_http()
    one, many = figures["one"], figures["many"]
    speedups = sorted(o / m for o, m in zip(one, many, strict=True))
    speedup = speedups[len(speedups) // 2]
    report.table(
        f"{EVENTS} events, {WORKERS} workers each, SQS subscription attached, latency only "
        f"({LATENCY_SECONDS * 1000:.0f} ms per call), median (min-max) of {ROUNDS} runs",
        ["method", "SNS calls", "ms / run", "events/s (median)", "speed-up vs one by one"],
        [
            [
                "publish() one by one, thread pool",
                calls["one"],
                median_spread(one),
                f"{EVENTS / sorted(one)[len(one) // 2]:,.0f}",
                "1.0x",
            ],
            [
                "publish_many() (PublishBatch)",
                calls["many"],
                median_spread(many),
                f"{EVENTS / sorted(many)[len(many) // 2]:,.0f}",
                f"{speedup:.1f}x ({speedups[0]:.1f}-{speedups[-1]:.1f}, per run)",
            ],
        ],
    )
    http_speedup = http["one"][0] / http["many"][0]
    report.table(
        f"Over HTTP (secondary: embedded moto, fan-out inside each call), {HTTP_EVENTS} events, {WORKERS} workers, 1 run",
        ["method", "ms / run", "speed-up vs one by one"],
        [
            ["publish() one by one, thread pool", f"{http['one'][0] * 1000:.0f}", "1.0x"],
            ["publish_many() (PublishBatch)", f"{http['many'][0] * 1000:.0f}", f"{http_speedup:.1f}x"],
        ],
    )
    ok = calls["many"] <= TARGET_MAX_CALLS and speedup >= TARGET_SPEEDUP
    report.table(
        "Targets",
        ["", "target", "measured", "verdict"],
        [
            [
                "PublishBatch calls for 1,000 events",
                f"<= {TARGET_MAX_CALLS}",
                str(calls["many"]),
                plain(calls["many"] <= TARGET_MAX_CALLS),
            ],
            [
                "speed-up at equal workers, subscription attached",
                f">= {TARGET_SPEEDUP:.0f}x",
                f"{speedup:.1f}x",
                plain(speedup >= TARGET_SPEEDUP),
            ],
        ],
    )
    console.print(f"publish targets: {verdict(ok)}")
    return ok
