"""Replaying dead letters (10,000 by default): moviepipe dlq replay vs receive/send/delete loops, 20 ms per AWS call.

The baselines are timed on a slice of the messages and reported per message (a one-at-a-time loop over
all 10,000 would take ten minutes at 60 ms a message); the tool replays them all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from movie_events import aws
from moviepipe.dlq.operations import ReplayRequest, replay
from moviepipe.dlq.replay import ReplayOptions
from moviepipe.dlq.sqs import Queues
from tests.benchmarks.common import LATENCY_SECONDS, embedded_aws, timed, verdict
from tests.support.latency import simulated_latency

#: 10,000 as the issue asks; BENCH_DLQ_MESSAGES makes it smaller (moto's SQS slows down as a queue gets
#: deep, so on a loaded machine the fill alone can take minutes).
MESSAGES = int(os.environ.get("BENCH_DLQ_MESSAGES", "10000"))
ONE_AT_A_TIME_SAMPLE = min(300, MESSAGES)
BATCHED_SAMPLE = min(2_000, MESSAGES)
TARGET_SPEEDUP = 8.0


def _fill(sqs: Any, url: str, count: int) -> None:
    attributes = {"Type": {"DataType": "String", "StringValue": "MovieCreated"}}
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"n": start + i}), "MessageAttributes": attributes}
                for i in range(10)
            ],
        )


def _one_at_a_time(sqs: Any, dlq: str, target: str, count: int) -> int:
    moved = 0
    while moved < count:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        m = messages[0]
        sqs.send_message(
            QueueUrl=target, MessageBody=m["Body"], MessageAttributes=m.get("MessageAttributes", {})
        )
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
        moved += 1
    return moved


def _batched(sqs: Any, dlq: str, target: str, count: int) -> int:
    moved = 0
    while moved < count:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            {"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
            for i, m in enumerate(messages)
        ]
        sent = {
            e["Id"] for e in sqs.send_message_batch(QueueUrl=target, Entries=entries).get("Successful", [])
        }
        sqs.delete_message_batch(
            QueueUrl=dlq,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if str(i) in sent
            ],
        )
        moved += len(sent)
    return moved


def _per_message(fn: Callable[[], int]) -> tuple[int, float]:
    moved, seconds = timed(fn)
    return moved, seconds / max(1, moved)


def run(console: Console) -> bool:
    with embedded_aws():
        sqs = aws.client("sqs")
        target = sqs.create_queue(QueueName="bench-target")["QueueUrl"]
        # One DLQ per method: moto's SQS slows down as a queue gets deep, and the baselines should not
        # pay for the tool's messages (nor the tool for theirs).
        one_dlq, batch_dlq, tool_dlq = (
            sqs.create_queue(QueueName=f"bench-dlq-{name}")["QueueUrl"] for name in ("one", "batch", "tool")
        )
        _fill(sqs, one_dlq, ONE_AT_A_TIME_SAMPLE)
        _fill(sqs, batch_dlq, BATCHED_SAMPLE)
        with simulated_latency(LATENCY_SECONDS):
            slow = aws.client("sqs")
            one_moved, one_each = _per_message(
                lambda: _one_at_a_time(slow, one_dlq, target, ONE_AT_A_TIME_SAMPLE)
            )
            batch_moved, batch_each = _per_message(lambda: _batched(slow, batch_dlq, target, BATCHED_SAMPLE))
        sqs.purge_queue(QueueUrl=target)
        _fill(sqs, tool_dlq, MESSAGES)
        with simulated_latency(LATENCY_SECONDS) as calls:
            queues = Queues()
            report, seconds = timed(
                lambda: replay(
                    queues, ReplayRequest(tool_dlq, to=target, options=ReplayOptions(concurrency=16))
                )
            )
        tool_each = seconds / max(1, report.moved)

    table = Table(title=f"replay, {LATENCY_SECONDS * 1000:.0f} ms simulated latency per AWS call")
    for column in ("method", "messages timed", "ms per message", "messages/s", "speed-up vs one at a time"):
        table.add_column(column, justify="right")
    for name, moved, each in (
        ("receive/send/delete one at a time", one_moved, one_each),
        ("same, batched by 10, no concurrency", batch_moved, batch_each),
        ("moviepipe dlq replay", report.moved, tool_each),
    ):
        table.add_row(name, f"{moved:,}", f"{each * 1000:.2f}", f"{1 / each:,.0f}", f"{one_each / each:.1f}x")
    console.print(table)
    speedup = one_each / tool_each
    ok = report.moved == MESSAGES and report.failed == 0 and speedup >= TARGET_SPEEDUP
    console.print(
        f"moved {report.moved:,}/{MESSAGES:,} in {seconds:.1f} s with {calls.total:,} AWS calls; "
        f"target >= {TARGET_SPEEDUP:.0f}x the one-at-a-time loop ({speedup:.1f}x): {verdict(ok)}"
    )
    return ok
