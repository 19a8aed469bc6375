"""Replaying dead letters (10,000): moviepipe dlq replay vs receive/send/delete loops, 20 ms per AWS call.

What the issue's target is about is how each method overlaps and batches network round trips, so the
main table runs all three on an in-memory SQS (:mod:`tests.support.memory_sqs`) that costs exactly one
simulated 20 ms round trip per call, slept outside its lock so concurrent calls overlap as on a network
(the "latency only" pair of bench_consumer, for SQS). Every run checks that each method moved each of
its messages exactly once. The tool replays all 10,000 messages; the loops are timed on a slice and
reported per message (a one-at-a-time loop over 10,000 would take ten minutes at 60 ms a message; on the
stand-in neither loop's cost per call depends on queue depth, so a slice is representative).

A second, smaller table runs the same three methods on the embedded AWS (moto's server over HTTP), so
the real API path is shown too. Its figures are limited by moto, not by the methods: moto serves each
call with milliseconds of CPU under one GIL (stock moto's SQS also scanned the whole queue on each call;
the embedded AWS's speed fixes, moviepipe/local/moto_speedups.py, remove that scan), so it shows that the
real API path works rather than how fast it is.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from moviepipe.dlq.operations import ReplayRequest, replay
from moviepipe.dlq.replay import METHOD_RECEIVE, ReplayOptions
from moviepipe.dlq.sqs import Queues
from tests.benchmarks.common import LATENCY_SECONDS, embedded_aws, plain, timed, verdict
from tests.benchmarks.report import Report
from tests.support import aws
from tests.support.latency import simulated_latency
from tests.support.memory_sqs import MemorySqs

#: The issue's 10,000 (the tool replays them all, on the stand-in).
MESSAGES = int(os.environ.get("BENCH_DLQ_MESSAGES", "10000"))
ONE_AT_A_TIME_SAMPLE = min(int(os.environ.get("BENCH_DLQ_ONE_AT_A_TIME_MESSAGES", "200")), MESSAGES)
BATCHED_SAMPLE = min(int(os.environ.get("BENCH_DLQ_BATCHED_MESSAGES", "2000")), MESSAGES)
ROUNDS = int(os.environ.get("BENCH_DLQ_ROUNDS", "3"))
#: Messages per method on the embedded AWS (0: skip that table). Small: moto's per-call cost grows with depth.
MOTO_MESSAGES = int(os.environ.get("BENCH_DLQ_MOTO_MESSAGES", "200"))
#: The CLI's default ``--concurrency``: the figure is what an operator gets without tuning.
CONCURRENCY = 8
TARGET_SPEEDUP = 8.0
#: Wide enough that the tables do not wrap when the output is piped (rich assumes 80 columns then).
WIDTH = 120

ONE, BATCHED, TOOL = ("one at a time", "batched, serial", f"dlq replay, {CONCURRENCY} workers")
LEGEND = (
    f"{ONE}: receive 1 / send 1 / delete 1 in a loop; {BATCHED}: the same loop with receive 10 / "
    f"SendMessageBatch / DeleteMessageBatch, no concurrency; {TOOL}: moviepipe dlq replay at its default "
    "--concurrency. ms per message: median over the runs; spread: fastest-slowest run."
)


def _bodies(count: int) -> list[str]:
    return [json.dumps({"n": n}) for n in range(count)]


def _fill(sqs: Any, url: str, bodies: list[str]) -> None:
    attributes = {"Type": {"DataType": "String", "StringValue": "MovieCreated"}}
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": body, "MessageAttributes": attributes}
                for i, body in enumerate(bodies[start : start + 10])
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


def _tool(sqs: Any, dlq: str, target: str, count: int) -> int:
    """The product's replay, unchanged, with the client given through ``Queues``' own seam."""
    report = replay(
        Queues(sqs=sqs),
        ReplayRequest(dlq, to=target, method=METHOD_RECEIVE, options=ReplayOptions(concurrency=CONCURRENCY)),
    )
    assert report.ok and report.failed == 0 and report.skipped == 0, report.as_dict()
    return report.moved


Method = Callable[[Any, str, str, int], int]


@dataclass
class Figures:
    """Seconds per message of each run of one method, and the AWS calls it made."""

    messages: int
    per_message: list[float] = field(default_factory=list)
    calls: int = 0
    exact: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.per_message)


def _on_stand_in(method: Method, count: int) -> Figures:
    figures = Figures(count)
    for _ in range(ROUNDS):
        sqs = MemorySqs()
        dlq, target = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("bench-dlq", "bench-target"))
        bodies = _bodies(count)
        _fill(sqs, dlq, bodies)
        before = sqs.calls.total
        sqs.latency = LATENCY_SECONDS
        moved, seconds = timed(lambda: method(sqs, dlq, target, count))  # noqa: B023 - called at once
        sqs.latency = 0.0
        figures.calls += sqs.calls.total - before
        figures.per_message.append(seconds / max(1, moved))
        # Each message exactly once at the target, none left behind.
        figures.exact &= (
            moved == count and sorted(sqs.bodies(target)) == sorted(bodies) and not sqs.bodies(dlq)
        )
    figures.calls //= ROUNDS
    return figures


def _on_moto(method: Method, name: str, count: int) -> Figures:
    sqs = aws.client("sqs")
    dlq, target = (sqs.create_queue(QueueName=f"bench-{name}-{q}")["QueueUrl"] for q in ("dlq", "target"))
    _fill(sqs, dlq, _bodies(count))
    with simulated_latency(LATENCY_SECONDS) as calls:
        slow = aws.client("sqs")
        moved, seconds = timed(lambda: method(slow, dlq, target, count))
    return Figures(count, [seconds / max(1, moved)], calls.total, moved == count)


COLUMNS = ["method", "messages", "AWS calls", "ms/message", "spread", "messages/s", "vs one at a time"]


def _rows(rows: list[tuple[str, Figures]]) -> list[list[str]]:
    baseline = rows[0][1].median
    out = []
    for name, f in rows:
        spread = (
            f"{min(f.per_message) * 1000:.2f}-{max(f.per_message) * 1000:.2f}"
            if len(f.per_message) > 1
            else "-"
        )
        out.append(
            [
                name,
                f"{f.messages:,}" + ("" if f.exact else " NOT exact"),
                f"{f.calls:,}",
                f"{f.median * 1000:.2f}",
                spread,
                f"{1 / f.median:,.0f}",
                f"{baseline / f.median:.1f}x",
            ]
        )
    return out


def run(console: Console, report: Report) -> bool:
    console = Console(file=console.file, width=max(console.width, WIDTH), force_terminal=console.is_terminal)
    rows = [
        (ONE, _on_stand_in(_one_at_a_time, ONE_AT_A_TIME_SAMPLE)),
        (BATCHED, _on_stand_in(_batched, BATCHED_SAMPLE)),
        (TOOL, _on_stand_in(_tool, MESSAGES)),
    ]
    report.table(
        f"replay on an in-memory SQS, {LATENCY_SECONDS * 1000:.0f} ms per AWS call, "
        f"{ROUNDS} runs each (the loops timed on a slice, per message)",
        COLUMNS,
        _rows(rows),
    )
    report.note(LEGEND)
    one, tool = rows[0][1], rows[2][1]
    speedup = one.median / tool.median
    exact = all(f.exact for _, f in rows)
    ok = exact and speedup >= TARGET_SPEEDUP
    report.note(
        f"Every method moved each of its messages exactly once: {'yes' if exact else 'NO'}. "
        f"Target >= {TARGET_SPEEDUP:.0f}x the one-at-a-time loop: {speedup:.1f}x, {plain(ok)}."
    )
    console.print(f"dlq replay target: {verdict(ok)}")

    if MOTO_MESSAGES > 0:
        with embedded_aws():
            moto_rows = [
                (ONE, _on_moto(_one_at_a_time, "one", MOTO_MESSAGES)),
                (BATCHED, _on_moto(_batched, "batched", MOTO_MESSAGES)),
                (TOOL, _on_moto(_tool, "tool", MOTO_MESSAGES)),
            ]
        report.table(
            f"Over HTTP (secondary): the same on the embedded AWS (moto), {MOTO_MESSAGES:,} messages, one run "
            "each: limited by moto's CPU per call, not by the methods",
            COLUMNS,
            _rows(moto_rows),
        )
    return ok
