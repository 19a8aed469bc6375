"""Local triggers that invoke Lambda handlers the way AWS event source mappings do.

* :class:`SqsTrigger` long-polls a queue for batches of up to 10, invokes the handler, and deletes
  exactly the records not listed in ``batchItemFailures``. A raised exception, or a response that names a
  record not in the batch, fails the whole batch (as Lambda does). Failed records are *not* deleted and
  not made visible early: they reappear after the queue's visibility timeout, and after
  ``maxReceiveCount`` receives the queue's own redrive policy moves them to the DLQ — as on AWS.
* :class:`StreamTrigger` reads every shard of a DynamoDB stream in order, in batches, invokes the
  handler, and on a partial batch failure resumes from the reported sequence number (records before it
  are done; it and everything after it are retried, in order), with a backoff between retries.

Both run in a thread until their ``stop`` event is set, and report each invocation to an observer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from movie_events import aws
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.provision import queue_arn
from moviepipe.local.sqs_events import to_lambda_event
from moviepipe.local.stream_events import StreamReader

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Invocation:
    """What one local invocation did, for the console and for the demo's bookkeeping."""

    trigger: str
    records: list[dict[str, Any]]
    failed_ids: list[str]
    error: str | None = None
    seconds: float = 0.0
    #: What the handler returned (None when it raised).
    response: Any = None
    #: What became of the records, when the stack can tell (email consumer): ``emails_sent``,
    #: ``duplicates_suppressed``, ``dead_lettered``.
    outcomes: dict[str, int] = field(default_factory=dict)

    def outcome_text(self) -> str:
        """``": 1 email sent, 1 duplicate suppressed, 1 dead-lettered"`` (empty when unknown)."""
        labels = (
            ("emails_sent", "email sent", "emails sent"),
            ("duplicates_suppressed", "duplicate suppressed", "duplicates suppressed"),
            ("dead_lettered", "dead-lettered", "dead-lettered"),
        )
        parts = [
            f"{self.outcomes[key]} {one if self.outcomes[key] == 1 else many}"
            for key, one, many in labels
            if self.outcomes.get(key)
        ]
        return ": " + ", ".join(parts) if parts else ""

    @property
    def succeeded(self) -> list[dict[str, Any]]:
        failed = set(self.failed_ids)
        return [r for r in self.records if _record_id(r) not in failed]


Observer = Callable[[Invocation], None]


def _record_id(record: dict[str, Any]) -> str:
    if "messageId" in record:
        return str(record["messageId"])
    return str(record.get("dynamodb", {}).get("SequenceNumber", ""))


def failed_item_ids(response: Any, batch_ids: list[str]) -> list[str] | None:
    """The ids a partial batch response reports as failed, or None when the response is unusable
    (Lambda then treats the whole batch as failed)."""
    if response is None:
        return []
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return None
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return None
        ids.append(identifier)
    return ids


def invoke(
    handler: Handler, event: dict[str, Any], name: str, timeout: float, batch_ids: list[str]
) -> tuple[list[str], str | None, float, Any]:
    """Invoke a batch handler as Lambda does and read its answer: (failed ids, error, seconds, response).

    A raised exception, or a partial batch response Lambda would not accept, fails the whole batch.
    """
    started = time.perf_counter()
    error, response = None, None
    try:
        response = handler(event, LocalLambdaContext.new_invocation(name, timeout))
        failed = failed_item_ids(response, batch_ids)
        if failed is None:
            error, failed = f"invalid partial batch response: {response!r}"[:300], batch_ids
    except Exception as exc:  # noqa: BLE001 - a crashing handler fails the batch, as on Lambda
        error, failed = f"{type(exc).__name__}: {exc}", batch_ids
    return failed, error, time.perf_counter() - started, response


@dataclass
class SqsTrigger:
    """Feeds an SQS queue to a handler as Lambda's SQS event source mapping does (with
    ``ReportBatchItemFailures``); see the module docstring for the rules."""

    name: str
    queue_url: str
    handler: Handler
    function_timeout: float = 30.0
    batch_size: int = 10
    wait_seconds: int = 1
    observer: Observer | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._sqs = aws.client("sqs")
        self.queue_arn = queue_arn(self._sqs, self.queue_url)

    def poll_once(self) -> Invocation | None:
        """Receive one batch and process it; None when the queue had nothing."""
        messages = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return None
        event: dict[str, Any] = dict(to_lambda_event(messages, self.queue_arn))
        records = event["Records"]
        failed, error, seconds, response = invoke(
            self.handler, event, self.name, self.function_timeout, [r["messageId"] for r in records]
        )
        failed_ids = set(failed)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        if done:  # one call: a receive returns at most 10 messages, DeleteMessageBatch takes 10
            result = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            for failure in result.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure)
        invocation = Invocation(self.name, records, list(failed), error, seconds, response)
        if self.observer:
            self.observer(invocation)
        return invocation

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("%s: polling failed", self.name)
                self.stop.wait(1.0)


@dataclass
class StreamTrigger:
    """Feeds a DynamoDB stream to a handler as Lambda's stream event source mapping does (with
    ``ReportBatchItemFailures``): shard by shard, in order, in batches; a failed batch is retried from
    its first failed record (the lowest sequence number reported), or whole if the handler raised."""

    name: str
    stream_arn: str
    handler: Handler
    function_timeout: float = 30.0
    batch_size: int = 100
    idle_seconds: float = 0.2
    max_backoff_seconds: float = 5.0
    observer: Observer | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.reader = StreamReader(self.stream_arn)
        self._consecutive_failures = 0

    def poll_once(self) -> Invocation | None:
        """Read and process one batch; None when the stream has nothing new."""
        batch = self.reader.read(self.batch_size)
        if batch is None:
            return None
        sequence_numbers = batch.sequence_numbers
        failed, error, seconds, response = invoke(
            self.handler, batch.event, self.name, self.function_timeout, sequence_numbers
        )
        first_failed = min(failed, key=sequence_numbers.index) if failed else None
        self.reader.acknowledge(batch, first_failed)
        retried = sequence_numbers[sequence_numbers.index(first_failed) :] if first_failed else []
        self._consecutive_failures = self._consecutive_failures + 1 if retried else 0
        invocation = Invocation(self.name, batch.records, retried, error, seconds, response)
        if self.observer:
            self.observer(invocation)
        return invocation

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                invocation = self.poll_once()
            except Exception:
                log.exception("%s: reading the stream failed", self.name)
                invocation = None
                self._consecutive_failures += 1
            if invocation is None or self._consecutive_failures:
                # Idle, or backing off before retrying a failed batch (doubling, bounded).
                backoff = min(self.max_backoff_seconds, 0.2 * 2 ** max(0, self._consecutive_failures - 1))
                self.stop.wait(backoff if self._consecutive_failures else self.idle_seconds)
