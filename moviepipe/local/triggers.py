"""Local triggers that invoke Lambda handlers the way AWS event source mappings do.

* :class:`SqsTrigger` long-polls a queue for batches of the declared size, invokes the handler, and
  deletes exactly the records not listed in ``batchItemFailures``. A raised exception, or a response that
  names a record not in the batch, fails the whole batch (as Lambda does). What happens to failed records
  is a parameter (:class:`Release`): as on AWS they are *not* deleted and not made visible early, so they
  reappear after the queue's visibility timeout; tests release them at once instead. Either way the
  queue's own redrive policy moves them to the DLQ after ``maxReceiveCount`` receives.
* :class:`StreamTrigger` reads every shard of a DynamoDB stream in order, in batches, invokes the
  handler, and on a partial batch failure resumes from the reported sequence number (records before it
  are done; it and everything after it are retried, in order), with a backoff between retries.

Both are built from the declaration (``declared``), with explicit overrides where a caller needs them,
and run in a thread until their ``stop`` event is set, and report each invocation to an observer.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moviepipe import deployment as declaration
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.provision import queue_arn
from moviepipe.local.sqs_events import LambdaSqsEvent, to_lambda_event
from moviepipe.local.stream_events import StreamReader
from moviepipe.runtime.aws import BOTO3_DEFAULTS, Clients

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)
#: SQS returns, and DeleteMessageBatch takes, at most 10 messages per call.
_MAX_RECEIVE = 10


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
    def event(self) -> dict[str, Any]:
        """The event the handler got."""
        return {"Records": self.records}

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


def _function_settings(
    function: declaration.Function, deployment: declaration.Deployment, batch_size: int
) -> dict[str, Any]:
    """What every trigger takes from its declared function: names, timeout and batch size."""
    return {
        "name": function.suffix,
        "function_name": deployment.name(function.suffix),
        "function_timeout": function.timeout_seconds,
        "batch_size": batch_size,
    }


def _drain(poll_once: Callable[[], Invocation | None], limit: int) -> list[Invocation]:
    """Call ``poll_once`` until it finds nothing (or ``limit`` invocations were made)."""
    done = []
    for _ in range(limit):
        invocation = poll_once()
        if invocation is None:
            break
        done.append(invocation)
    return done


class Release(enum.Enum):
    """What the SQS event source does with a record the handler reported as failed (or with every record
    of a batch whose invocation failed)."""

    #: As Lambda does: leave it; it reappears once the queue's visibility timeout has passed, and the
    #: queue's redrive policy moves it to the DLQ after ``maxReceiveCount`` receives.
    AFTER_VISIBILITY_TIMEOUT = "after-visibility-timeout"
    #: Make it visible again at once (visibility timeout 0), so the next receive gets it: the same
    #: receive counts and redrive, without waiting — how the tests step through retries.
    AT_ONCE = "at-once"


@dataclass
class SqsTrigger:
    """Feeds an SQS queue to a handler as Lambda's SQS event source mapping does; see the module
    docstring for the rules. The one SQS event-source emulation of the project: ``local up``, the tests
    and the benchmarks all use it, each step on its own when they need to (:meth:`receive`,
    :meth:`invoke`, :meth:`settle`) or all together (:meth:`poll_once`, :meth:`drain`, :meth:`run`).

    Build it from the declaration with :meth:`declared`, so batch size, batching window, partial
    batch responses and timeout are the deployed ones.
    """

    name: str
    queue_url: str
    handler: Handler
    batch_size: int
    function_timeout: float
    #: How long to keep gathering a batch that is not full yet (Lambda's MaximumBatchingWindowInSeconds).
    batching_window_seconds: float = 0.0
    #: With False, Lambda ignores ``batchItemFailures``: only a raised exception fails the batch.
    report_batch_item_failures: bool = True
    release: Release = Release.AFTER_VISIBILITY_TIMEOUT
    #: The function name the handler's context carries (None: ``name``); on AWS, the physical name.
    function_name: str | None = None
    #: Long polling of each receive that starts a batch (0: return at once when the queue is empty).
    wait_seconds: int = 1
    observer: Observer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    sqs: Any = None
    #: Where the queue is (None: boto3's defaults); used when ``sqs`` is not given.
    clients: Clients | None = None

    def __post_init__(self) -> None:
        if self.sqs is None:
            self.sqs = (self.clients or BOTO3_DEFAULTS).sqs()
        self.queue_arn = queue_arn(self.sqs, self.queue_url)

    @classmethod
    def declared(
        cls,
        function: declaration.Function,
        *,
        queue_url: str,
        handler: Handler,
        deployment: declaration.Deployment = declaration.DEPLOYMENT,
        **overrides: Any,
    ) -> SqsTrigger:
        """The trigger a declared function has on AWS; ``overrides`` replace declared values explicitly
        (e.g. ``release=Release.AT_ONCE`` in tests)."""
        trigger = function.trigger
        if not isinstance(trigger, declaration.SqsTrigger):
            raise TypeError(f"function {function.key!r} is not triggered by SQS")
        settings = {
            **_function_settings(function, deployment, trigger.batch_size),
            "batching_window_seconds": trigger.batching_window_seconds,
            "report_batch_item_failures": trigger.report_batch_item_failures,
        }
        return cls(queue_url=queue_url, handler=handler, **{**settings, **overrides})

    def receive(self, max_messages: int | None = None) -> list[dict[str, Any]]:
        """One batch of messages, as the event source gathers it: up to ``max_messages`` (the batch size),
        receiving 10 at a time (SQS's maximum) while more are there or the batching window is open."""
        wanted = max_messages or self.batch_size
        deadline = time.monotonic() + self.batching_window_seconds
        messages: list[dict[str, Any]] = []
        wait = self.wait_seconds
        while len(messages) < wanted:
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(_MAX_RECEIVE, wanted - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += received
            if not messages or (not received and time.monotonic() >= deadline):
                break
            wait = 0
        return messages

    def invoke(self, event: LambdaSqsEvent) -> Invocation:
        """Invoke the handler with one event and read its answer as Lambda would (nothing settled yet)."""
        records = event["Records"]
        ids = [r["messageId"] for r in records]
        failed, error, seconds, response = invoke(
            self.handler, dict(event), self.function_name or self.name, self.function_timeout, ids
        )
        if not self.report_batch_item_failures and error is None:
            failed = []
        return Invocation(self.name, [dict(r) for r in records], list(failed), error, seconds, response)

    def settle(self, invocation: Invocation) -> None:
        """Delete exactly the records that succeeded; release the failed ones by :attr:`release`."""
        failed = set(invocation.failed_ids)
        done = [r["receiptHandle"] for r in invocation.records if r["messageId"] not in failed]
        for start in range(0, len(done), _MAX_RECEIVE):  # DeleteMessageBatch takes 10 entries
            result = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(done[start : start + 10])],
            )
            for failure in result.get("Failed", []):
                log.warning("could not delete a processed message: %s", failure)
        if self.release is Release.AT_ONCE:
            for record in invocation.records:
                if record["messageId"] in failed:
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )

    def poll_once(self) -> Invocation | None:
        """Receive one batch, invoke, settle; None when the queue had nothing."""
        messages = self.receive()
        if not messages:
            return None
        invocation = self.invoke(to_lambda_event(messages, self.queue_arn))
        self.settle(invocation)
        if self.observer:
            self.observer(invocation)
        return invocation

    def drain(self, max_batches: int = 20) -> list[Invocation]:
        """Poll until the queue is empty (or ``max_batches`` were invoked)."""
        return _drain(self.poll_once, max_batches)

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
    batch_size: int
    function_timeout: float
    idle_seconds: float = 0.2
    max_backoff_seconds: float = 5.0
    #: The function name the handler's context carries (None: ``name``); on AWS, the physical name.
    function_name: str | None = None
    observer: Observer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    #: Where the stream is (None: boto3's defaults).
    clients: Clients | None = None

    def __post_init__(self) -> None:
        self.reader = StreamReader(self.stream_arn, client=(self.clients or BOTO3_DEFAULTS).dynamodbstreams())
        self._consecutive_failures = 0

    @classmethod
    def declared(
        cls,
        function: declaration.Function,
        *,
        stream_arn: str,
        handler: Handler,
        deployment: declaration.Deployment = declaration.DEPLOYMENT,
        **overrides: Any,
    ) -> StreamTrigger:
        """The trigger a declared function has on AWS; ``overrides`` replace declared values explicitly."""
        trigger = function.trigger
        if not isinstance(trigger, declaration.StreamTrigger):
            raise TypeError(f"function {function.key!r} is not triggered by a DynamoDB stream")
        settings = _function_settings(function, deployment, trigger.batch_size)
        return cls(stream_arn=stream_arn, handler=handler, **{**settings, **overrides})

    def poll_once(self) -> Invocation | None:
        """Read and process one batch; None when the stream has nothing new."""
        batch = self.reader.read(self.batch_size)
        if batch is None:
            return None
        sequence_numbers = batch.sequence_numbers
        failed, error, seconds, response = invoke(
            self.handler,
            batch.event,
            self.function_name or self.name,
            self.function_timeout,
            sequence_numbers,
        )
        first_failed = min(failed, key=sequence_numbers.index) if failed else None
        self.reader.acknowledge(batch, first_failed)
        retried = sequence_numbers[sequence_numbers.index(first_failed) :] if first_failed else []
        self._consecutive_failures = self._consecutive_failures + 1 if retried else 0
        invocation = Invocation(self.name, batch.records, retried, error, seconds, response)
        if self.observer:
            self.observer(invocation)
        return invocation

    def drain(self, max_invocations: int = 50) -> list[Invocation]:
        """Poll until the stream has nothing new (or ``max_invocations`` were made), with no backoff."""
        return _drain(self.poll_once, max_invocations)

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
