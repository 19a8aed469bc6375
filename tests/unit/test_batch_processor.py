"""The concurrent batch processor: lanes, exact failures, FIFO group order, real concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from consumers.email_notification.logic.batch import ConcurrentBatchProcessor, plan_lanes
from tests.support.fakes import sqs_record


def records(*bodies: str, **attributes: Any) -> list[dict[str, Any]]:
    return [sqs_record(body, message_id=f"id-{i}-{body}", **attributes) for i, body in enumerate(bodies)]


def run(batch: list[dict[str, Any]], handler: Any, *, workers: int = 10, key: Any = None) -> list[str]:
    processor = ConcurrentBatchProcessor(workers, lane_key=key)
    response = process_partial_response(event={"Records": batch}, record_handler=handler, processor=processor)
    return [str(item["itemIdentifier"]) for item in response["batchItemFailures"]]


def test_lanes_group_same_key_and_fifo_groups() -> None:
    standard = records("a", "b", "a", "c")
    lanes = plan_lanes(standard, lambda r: r["body"])
    assert [lane.indices for lane in lanes] == [[0, 2], [1], [3]]
    assert not any(lane.ordered for lane in lanes)
    unkeyed = plan_lanes(standard, lambda r: None)
    assert len(unkeyed) == 4
    fifo = [sqs_record(b, message_id=b, MessageGroupId=g) for b, g in [("1", "x"), ("2", "y"), ("3", "x")]]
    assert [(lane.key, lane.indices, lane.ordered) for lane in plan_lanes(fifo)] == [
        ("group:x", [0, 2], True),
        ("group:y", [1], True),
    ]


def test_failures_are_exactly_the_failed_records() -> None:
    batch = records(*"abcdefghij")

    def handler(record: SQSRecord) -> str:
        if record.body in "bdj":
            raise ValueError(record.body)
        return record.body

    assert sorted(run(batch, handler)) == sorted(r["messageId"] for r in batch if r["body"] in "bdj")


def test_records_run_in_parallel_up_to_the_worker_limit() -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def handler(record: SQSRecord) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    start = time.perf_counter()
    assert run(records(*"abcdefghij"), handler, workers=5) == []
    assert peak[0] == 5
    assert time.perf_counter() - start < 0.25  # two rounds of 50 ms, not ten


def test_same_key_records_never_overlap() -> None:
    active: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()

    def handler(record: SQSRecord) -> None:
        with lock:
            active[record.body] = active.get(record.body, 0) + 1
            if active[record.body] > 1:
                overlaps.append(record.body)
        time.sleep(0.01)
        with lock:
            active[record.body] -= 1

    run(records(*"aaaabbbbcc"), handler, key=lambda r: r["body"])
    assert overlaps == []


def test_fifo_group_stops_at_its_first_failure_and_other_groups_go_on() -> None:
    batch = [
        sqs_record(body, message_id=body, MessageGroupId=group)
        for body, group in [("x1", "x"), ("y1", "y"), ("x2", "x"), ("y2", "y"), ("x3", "x")]
    ]
    seen: list[str] = []
    lock = threading.Lock()

    def handler(record: SQSRecord) -> None:
        with lock:
            seen.append(record.body)
        if record.body == "x2":
            raise RuntimeError("x2 fails")

    assert run(batch, handler) == ["x2", "x3"]
    assert "x3" not in seen  # never processed: order within the group holds
    assert [b for b in seen if b.startswith("x")] == ["x1", "x2"]
    assert [b for b in seen if b.startswith("y")] == ["y1", "y2"]


def test_fifo_order_within_a_group_is_kept_under_concurrency() -> None:
    batch = [sqs_record(f"g{i % 2}-{i}", message_id=str(i), MessageGroupId=f"g{i % 2}") for i in range(10)]
    seen: dict[str, list[str]] = {"g0": [], "g1": []}

    def handler(record: SQSRecord) -> None:
        time.sleep(0.002)
        seen[record.body[:2]].append(record.body)

    assert run(batch, handler) == []
    assert seen["g0"] == [f"g0-{i}" for i in range(0, 10, 2)]
    assert seen["g1"] == [f"g1-{i}" for i in range(1, 10, 2)]


def test_all_failed_is_reported_not_raised() -> None:
    def handler(record: SQSRecord) -> None:
        raise ValueError("no")

    assert len(run(records("a", "b"), handler)) == 2


def test_a_crash_propagates() -> None:
    class Crash(BaseException):
        pass

    def handler(record: SQSRecord) -> None:
        if record.body == "b":
            raise Crash

    with pytest.raises(Crash):
        run(records("a", "b", "c"), handler)


def test_single_worker_runs_inline_in_order() -> None:
    seen: list[str] = []
    names: set[str] = set()

    def handler(record: SQSRecord) -> None:
        seen.append(record.body)
        names.add(threading.current_thread().name)

    run(records(*"abc"), handler, workers=1)
    assert seen == ["a", "b", "c"] and names == {threading.current_thread().name}


def test_an_exception_escaping_a_record_fails_that_record_only() -> None:
    processor = ConcurrentBatchProcessor(4)
    real = processor._process_record

    def process_record(record: dict[str, Any]) -> Any:
        if record["body"] == "b":
            raise RecursionError("escaped the record handler")
        return real(record)

    processor._process_record = process_record  # type: ignore[method-assign]
    batch = records("a", "b", "c")
    response = process_partial_response(
        event={"Records": batch}, record_handler=lambda record: record.body, processor=processor
    )
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [batch[1]["messageId"]]


def test_planning_never_raises_for_one_record() -> None:
    def key(record: dict[str, Any]) -> str:
        if record["body"] == "b":
            raise UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed")
        return str(record["body"])

    lanes = plan_lanes([*records("a", "b", "a"), {"messageId": "odd", "attributes": "not a dict"}], key)
    assert [(lane.key, lane.indices) for lane in lanes] == [
        ("event:a", [0, 2]),
        ("alone:#1", [1]),
        ("alone:#3", [3]),
    ]


@pytest.mark.parametrize("workers", [1, 4])
def test_work_alongside_runs_on_the_invoking_thread_while_the_lanes_run(workers: int) -> None:
    """``alongside`` runs once, on the invoking thread, only when the lanes run on threads of their own
    (with one worker the invoking thread runs the lanes itself); if it raises, the invocation still
    waits for every lane before the error ends it."""
    seen: list[int] = []
    lane_threads: set[int] = set()

    def handler(record: SQSRecord) -> None:
        lane_threads.add(threading.get_ident())
        time.sleep(0.05)

    def alongside() -> None:
        seen.append(threading.get_ident())

    batch = records(*"abcd")
    processor = ConcurrentBatchProcessor(workers, alongside=alongside)
    assert process_partial_response(
        event={"Records": batch}, record_handler=handler, processor=processor
    ) == {"batchItemFailures": []}
    assert seen == ([threading.get_ident()] if workers > 1 else [])
    assert threading.get_ident() not in lane_threads or workers == 1

    finished: list[str] = []

    def slow(record: SQSRecord) -> None:
        time.sleep(0.05)
        finished.append(record.body)

    def broken() -> None:
        raise RuntimeError("alongside")

    if workers > 1:
        processor = ConcurrentBatchProcessor(workers, alongside=broken)
        with pytest.raises(RuntimeError, match="alongside"):
            process_partial_response(event={"Records": batch}, record_handler=slow, processor=processor)
        assert sorted(finished) == list("abcd")  # every lane had ended when the error came out
