"""A Powertools ``BatchProcessor`` that processes the records of a batch concurrently.

Powertools processes records one after another (its thread-pool processor is still an open request,
issue #2500). This subclass keeps everything else of ``BatchProcessor`` — the record data classes, the
success/failure bookkeeping, ``process_partial_response`` and the ``batchItemFailures`` response — and
overrides only :meth:`process` to run *lanes* of records on a thread pool:

* Standard queues: one lane per lane key (the event id). Records of the same event run one after the
  other in one lane, so a duplicate inside a batch finds the first copy's completed idempotency record
  and is skipped, instead of colliding with its in-progress lock and being retried for nothing.
* FIFO queues (records carry ``MessageGroupId``): one lane per message group, in batch order. The first
  failure stops its group: the rest of the group is reported failed without being processed, exactly as
  Powertools' ``SqsFifoPartialProcessor(skip_group_on_error=True)`` does, so order within a group holds.
  Other groups go on.

**Deferred work.** When a batch has more lanes than threads, a record may hand work that no longer
decides its outcome to :func:`defer` (the consumer: the idempotency completion after SES accepted the
email), so its thread takes its next lane instead of waiting for one more round trip. The rules that
keep every guarantee:

* a thread has at most one deferred item pending: :func:`wait_for_deferred` waits for it, and the
  processor calls it before a thread runs the next record of the same lane (so a duplicate of an event
  in the batch finds the first copy's completed record), the consumer before sending another email;
* :meth:`ConcurrentBatchProcessor.process` returns only once every deferred item has finished, so the
  response is built after all of them; a ``BaseException`` raised by one (the process dying) ends the
  invocation there, as it would have on the lane thread.

Deferred work runs on its own pool of as many threads as the lanes', so up to twice
``max_workers`` calls are in flight at once (lanes + deferred items). With no more lanes than
threads nothing is deferred (a thread would have no next lane to take), nor on one thread (one call
at a time is what a concurrency of 1 asks for).

**Work alongside the lanes.** While the lanes run, the invoking thread has nothing to do but wait.
``alongside`` (optional) runs there once the lanes are submitted: work that is useful to the records
but decides nothing about them (the consumer renders the batch's emails ahead of their lanes, while
the lanes wait for their first round trip). It must never raise for a record; the processor waits for
every lane whatever it does.

Each record runs in a copy of the invoking thread's ``contextvars`` context, so thread-safe logger keys
set per record (the correlation id) never leak between records.

**Confinement.** Planning runs before any record is handled, so it must never raise for one record: a
lane key that raises (or a record whose shape is odd) only gives that record a lane of its own, and its
own processing then meets — and reports — the problem. Likewise any ``Exception`` escaping a record's
processing becomes that record's failure. Only a ``BaseException`` that is not an ``Exception`` (the
process dying) ends the invocation, as it would on Lambda.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, FailureResponse, SuccessResponse
from aws_lambda_powertools.utilities.batch.exceptions import SQSFifoMessageGroupCircuitBreakerError

from moviepipe.runtime.powertools import process_record, to_batch_type

LaneKey = Callable[[dict[str, Any]], str | None]

_GROUP_STOPPED = (
    SQSFifoMessageGroupCircuitBreakerError,
    SQSFifoMessageGroupCircuitBreakerError("A previous record from this message group failed processing"),
    None,
)


@dataclass
class Lane:
    """Records (by index into the batch) that must run one after another."""

    key: str
    ordered: bool
    indices: list[int] = field(default_factory=list)


def plan_lanes(records: Sequence[dict[str, Any]], lane_key: LaneKey | None = None) -> list[Lane]:
    """Group a batch into lanes, preserving batch order inside each lane and among lanes."""
    lanes: dict[str, Lane] = {}
    for index, record in enumerate(records):
        key, ordered = _lane_of(index, record, lane_key)
        lanes.setdefault(key, Lane(key, ordered)).indices.append(index)
    return list(lanes.values())


def _lane_of(index: int, record: Any, lane_key: LaneKey | None) -> tuple[str, bool]:
    """The lane of one record; never raises (an unplannable record is alone in its lane)."""
    alone = f"alone:#{index}"
    try:
        attributes = record.get("attributes") or {}
        group = attributes.get("MessageGroupId") if isinstance(attributes, dict) else None
        if group is not None:
            return f"group:{group}", True
        event_key = lane_key(record) if lane_key else None
    except Exception:  # noqa: BLE001 - the record's processing meets the problem and reports it
        return alone, False
    return (f"event:{event_key}", False) if isinstance(event_key, str) and event_key else (alone, False)


class Pools:
    """The threads lanes and deferred work run on, kept for the life of the execution environment.

    Creating and ending a thread costs ~0.1-0.5 ms of CPU under the GIL; a batch of 100 at the default
    concurrency used 100 of them per invocation. These pools start their threads on first need and
    keep them across invocations (Lambda freezes them between invocations). Shared by invocations that
    run at once in one process (the local stack): correct, since lane work only ever waits for deferred
    work and deferred work never waits; they then share ``workers`` threads.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.lanes = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="batch")
        self.deferred = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="deferred")
        #: Per thread: its deferred item not known to be finished (at most one).
        self.pending = threading.local()


class _Deferral:
    """Deferred work of one invocation: its futures, on the pools' deferred threads."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.futures: list[Future[None]] = []
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        wait_pending(self)

        def run() -> None:
            _DEFERRAL.set(None)  # deferred work runs its own writes itself, never defers again
            work()

        future = self.pools.deferred.submit(contextvars.copy_context().run, run)
        self.pools.pending.future = future
        with self._lock:
            self.futures.append(future)

    def join(self) -> None:
        """Wait for every deferred item, then re-raise the first failure (none is expected: deferred
        work handles its own errors; a ``BaseException`` is the process dying)."""
        wait(self.futures)
        for future in self.futures:
            future.result()


def wait_pending(deferral: _Deferral) -> None:
    future: Future[None] | None = getattr(deferral.pools.pending, "future", None)
    if future is not None:
        wait([future])
        deferral.pools.pending.future = None


#: The deferral of the invocation whose record the current thread runs (None: do the work inline).
_DEFERRAL: contextvars.ContextVar[_Deferral | None] = contextvars.ContextVar("deferral", default=None)


def defer(work: Callable[[], None]) -> bool:
    """Run ``work`` off this lane thread if the running batch defers work; else return False and the
    caller does it itself. Waits first for this thread's previous deferred item (at most one pending)."""
    deferral = _DEFERRAL.get()
    if deferral is None:
        return False
    deferral.submit(work)
    return True


def wait_for_deferred() -> None:
    """Wait until this thread's deferred item, if any, has finished."""
    deferral = _DEFERRAL.get()
    if deferral is not None:
        wait_pending(deferral)


class _RawRecord:
    """What ``failure_handler`` needs of a record (its message id) when even wrapping it failed."""

    def __init__(self, raw: Any) -> None:
        self.raw_event = raw
        self.message_id = raw.get("messageId") if isinstance(raw, dict) else None


class ConcurrentBatchProcessor(BatchProcessor):
    """``BatchProcessor`` for SQS whose records run on up to ``max_workers`` threads.

    :param lane_key: maps a raw record to the key of records that must not run concurrently (the event
        id); ``None`` for a record that needs no lane of its own (it is then alone in one).
    :param raise_on_entire_batch_failure: Powertools raises when every record failed; the consumer turns
        that off so the response always lists exactly the failed records.
    :param pools: long-lived threads to run on (the consumer's, at least ``max_workers`` of each kind);
        None: threads of this invocation's own, ended before :meth:`process` returns.
    :param alongside: run on the invoking thread while the lanes run (only when they run on more than
        one thread): see "Work alongside the lanes" above.
    """

    def __init__(
        self,
        max_workers: int = 10,
        lane_key: LaneKey | None = None,
        *,
        raise_on_entire_batch_failure: bool = False,
        pools: Pools | None = None,
        alongside: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=raise_on_entire_batch_failure)
        self._alongside = alongside
        self.max_workers = max(1, max_workers)
        self._lane_key = lane_key
        self._lock = threading.Lock()
        #: Long-lived threads (the consumer's); None: this invocation's own, ended when it returns.
        self._pools = pools if pools is not None and pools.workers >= self.max_workers else None

    def process(self) -> list[tuple[Any, ...]]:
        records: list[dict[str, Any]] = list(self.records)
        results: list[tuple[Any, ...] | None] = [None] * len(records)
        lanes = plan_lanes(records, self._lane_key)
        workers = min(self.max_workers, len(lanes))
        pools = self._pools or Pools(workers)
        deferral = _Deferral(pools) if 1 < workers < len(lanes) else None

        def run(lane: Lane) -> None:
            stopped = False
            for position, index in enumerate(lane.indices):
                if position and deferral is not None:
                    wait_pending(deferral)  # e.g. a duplicate must find the first copy completed
                try:
                    if stopped:
                        record = to_batch_type(self, records[index])
                        results[index] = self.failure_handler(record, _GROUP_STOPPED)
                        continue
                    # A fresh context per record: keys one record sets are gone for the next one.
                    result = contextvars.copy_context().run(process_record, self, records[index])
                except Exception:  # noqa: BLE001 - confined: this record fails, its lane goes on
                    result = self.failure_handler(_RawRecord(records[index]), sys.exc_info())
                results[index] = result
                stopped = lane.ordered and result[0] == "fail"

        token = _DEFERRAL.set(deferral)
        try:
            if workers <= 1:
                for lane in lanes:
                    run(lane)
            else:
                futures = [pools.lanes.submit(contextvars.copy_context().run, run, lane) for lane in lanes]
                try:
                    if self._alongside is not None:
                        self._alongside()
                finally:
                    wait(futures)  # every lane ends, whatever one of them (or the work alongside) raised
                for future in futures:
                    # Re-raises what a lane could not handle (a BaseException: the invocation dies,
                    # as it would on Lambda, and SQS redelivers the whole batch).
                    future.result()
        finally:
            _DEFERRAL.reset(token)
            try:
                if deferral is not None:
                    deferral.join()  # no response before every deferred item has finished
            finally:
                if pools is not self._pools:
                    pools.lanes.shutdown(wait=True)
                    pools.deferred.shutdown(wait=True)
        return [result for result in results if result is not None]

    # The base class appends to shared lists; appends from several threads are serialised here so that
    # the success/failure lists, and so batchItemFailures, are exact.
    def success_handler(self, record: Any, result: Any) -> SuccessResponse:
        with self._lock:
            return super().success_handler(record, result)

    def failure_handler(self, record: Any, exception: Any) -> FailureResponse:
        with self._lock:
            return super().failure_handler(record, exception)
