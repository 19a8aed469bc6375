"""``moviepipe dlq replay``: put dead letters back, losing and duplicating nothing.

How each guarantee is kept:

* **Loss-safe.** A message leaves the DLQ only after its own copy was accepted: every entry of each
  SendMessageBatch / PublishBatch answer is checked, and only the entries reported successful are
  deleted. A failed entry, a failed call, a message filtered out, a dry run: all are released
  (visibility 0) when the run ends. A crash at any point leaves at most the batches in flight sent and
  not deleted — they reappear in the DLQ, and replaying them again sends no second email because the
  consumer is idempotent on the event id (and on FIFO queues SQS drops the copy: the deduplication id is
  derived from the DLQ message id).
* **Attributes.** :func:`moviepipe.dlq.messages.original_attributes`: reason attributes off,
  ``OverflowAttributes`` unpacked, every data type kept. A message whose attributes cannot be rebuilt is
  reported as failed and stays.
* **FIFO.** The message group is kept; one worker sends in receive order; once an entry of a group fails,
  later messages of that group are not sent in this run (they would overtake it).
* **One pass.** Messages that reach the DLQ after the run started (a replayed poison message the consumer
  dead-letters again) are left for the next run, so a replay always ends.
* **Reporting.** Every message received ends in exactly one of matched (then moved, failed or
  not_deleted) or skipped; the counts are made from the per-entry answers, not from the plan.

On real AWS an unfiltered replay to the source queue can use SQS's own StartMessageMoveTask instead
(:func:`choose_method`); it moves messages as they are (reason attributes included, overflow still
packed: the consumer ignores them) and cannot filter or dry-run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from moviepipe.dlq.filters import Filter
from moviepipe.dlq.messages import (
    DeadLetter,
    RestoreError,
    Summary,
    dedup_id,
    group_id,
    original_attributes,
)
from moviepipe.dlq.scan import Holder, RateLimiter, visibility_for
from moviepipe.dlq.sqs import AwsError, Queues
from moviepipe.runtime.settings import Env, Resources

METHOD_AUTO = "auto"
METHOD_MOVE_TASK = "move-task"
METHOD_RECEIVE = "receive-send-delete"
METHODS = (METHOD_AUTO, METHOD_MOVE_TASK, METHOD_RECEIVE)

MAX_REPORTED_FAILURES = 100
IDEMPOTENCY_NOTE = (
    "a re-run is safe: the consumer sends no second email for an event it already handled "
    "(idempotency on the event id)"
)


class Target(Protocol):
    """Where replayed messages go: a queue or a topic."""

    description: str
    fifo: bool

    def send(self, letters: list[DeadLetter], restore: bool) -> dict[str, str]:
        """Send one batch (at most 10); ``{message_id: reason}`` for each message not accepted."""
        ...


@dataclass
class QueueTarget:
    queues: Queues
    url: str
    description: str = ""

    def __post_init__(self) -> None:
        self.description = self.description or self.url
        self.fifo = self.url.endswith(".fifo")

    def send(self, letters: list[DeadLetter], restore: bool) -> dict[str, str]:
        entries, failed = _entries(letters, restore, self.fifo, body_key="MessageBody")
        for chunk in _by_size(entries, "MessageBody"):
            try:
                answer = self.queues.send_batch(self.url, chunk)
            except AwsError as exc:
                answer = {e["Id"]: str(exc) for e in chunk}
            failed.update({letters[int(entry_id)].message_id: why for entry_id, why in answer.items()})
        return failed


@dataclass
class TopicTarget:
    queues: Queues
    topic_arn: str
    description: str = ""

    def __post_init__(self) -> None:
        self.description = self.description or self.topic_arn
        self.fifo = self.topic_arn.endswith(".fifo")

    def send(self, letters: list[DeadLetter], restore: bool) -> dict[str, str]:
        entries, failed = _entries(letters, restore, self.fifo, body_key="Message")
        for chunk in _by_size(entries, "Message"):
            try:
                answer = self.queues.publish_batch(self.topic_arn, chunk)
            except AwsError as exc:
                answer = {e["Id"]: str(exc) for e in chunk}
            failed.update({letters[int(entry_id)].message_id: why for entry_id, why in answer.items()})
        return failed


#: Keep each batch call within the classic 256 KiB payload limit (SQS and SNS); a message larger than
#: that goes in a call of its own.
MAX_BATCH_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any], body_key: str) -> int:
    """Bytes an entry counts for against the batch payload limit (body, attribute names, types, values)."""
    size = len(str(entry[body_key]).encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += (
            len(value["BinaryValue"])
            if "BinaryValue" in value
            else len(str(value.get("StringValue", "")).encode())
        )
    return size


def _by_size(entries: list[dict[str, Any]], body_key: str) -> list[list[dict[str, Any]]]:
    """Split entries into batch calls that stay within :data:`MAX_BATCH_BYTES` (and 10 entries)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_size = 0
    for entry in entries:
        size = entry_size(entry, body_key)
        if current and (current_size + size > MAX_BATCH_BYTES or len(current) == 10):
            chunks.append(current)
            current, current_size = [], 0
        current.append(entry)
        current_size += size
    if current:
        chunks.append(current)
    return chunks


def _entries(
    letters: list[DeadLetter], restore: bool, fifo: bool, body_key: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Batch entries (``Id`` = the letter's index) and the letters that cannot be sent at all."""
    entries: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for index, letter in enumerate(letters):
        try:
            attributes = original_attributes(letter) if restore else letter.attributes
        except RestoreError as exc:
            failed[letter.message_id] = f"attributes cannot be restored: {exc}"
            continue
        entry: dict[str, Any] = {"Id": str(index), body_key: letter.body}
        if attributes:
            entry["MessageAttributes"] = attributes
        if fifo:
            entry["MessageGroupId"] = group_id(letter)
            entry["MessageDeduplicationId"] = dedup_id(letter)
        entries.append(entry)
    return entries, failed


@dataclass
class ReplayOptions:
    filter: Filter = field(default_factory=Filter)
    max_messages: int | None = None
    rate: float | None = None
    dry_run: bool = False
    concurrency: int = 8
    visibility: int | None = None
    #: Long-poll time of each receive: an empty long-poll answer means the queue has nothing visible.
    wait_seconds: int = 1
    #: Put the original attributes back (False for ``import``, which writes messages as exported).
    restore: bool = True
    #: The consumer's IDEMPOTENCY_TTL_SECONDS: older messages are counted (it may have forgotten them).
    idempotency_ttl: timedelta = timedelta(seconds=Resources.IDEMPOTENCY_TTL_SECONDS)


@dataclass
class ReplayReport:
    method: str
    source: str
    target: str
    dry_run: bool
    matched: int = 0
    moved: int = 0
    failed: int = 0
    skipped: int = 0
    not_deleted: int = 0
    not_released: int = 0
    #: Second deliveries of messages this run had already sent, deleted without sending them again.
    copies_deleted: int = 0
    interrupted: bool = False
    error: str | None = None
    older_than_idempotency_ttl: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    note: str = ""
    task_handle: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "source": self.source,
            "target": self.target,
            "dry_run": self.dry_run,
            "matched": self.matched,
            "moved": self.moved,
            "would_move": self.matched if self.dry_run else 0,
            "failed": self.failed,
            "skipped": self.skipped,
            "not_deleted": self.not_deleted,
            "not_released": self.not_released,
            "copies_deleted": self.copies_deleted,
            "interrupted": self.interrupted,
            "error": self.error,
            "older_than_idempotency_ttl": self.older_than_idempotency_ttl,
            "failures": self.failures,
            "note": self.note,
            "task_handle": self.task_handle,
        }

    @property
    def ok(self) -> bool:
        return not (self.failed or self.not_deleted or self.interrupted or self.error)


def idempotency_ttl(environ: Mapping[str, str]) -> timedelta:
    """The consumer's IDEMPOTENCY_TTL_SECONDS as the operator's environment gives it (else the default)."""
    raw = environ.get(Env.IDEMPOTENCY_TTL_SECONDS, "")
    seconds = int(raw) if raw.isdigit() else Resources.IDEMPOTENCY_TTL_SECONDS
    return timedelta(seconds=seconds)


def older_than_ttl(summary: Summary, now: datetime, ttl: timedelta) -> bool:
    """Older than the idempotency TTL: the consumer may no longer remember having emailed it."""
    when = summary.event_time or summary.sent_at
    return when is not None and now - when > ttl


class Replayer:
    """One replay run (receive, filter, send, delete; or, dry, just count)."""

    def __init__(
        self,
        queues: Queues,
        dlq_url: str,
        target: Target,
        options: ReplayOptions,
        *,
        on_progress: Callable[[ReplayReport], None] | None = None,
        method: str = METHOD_RECEIVE,
    ) -> None:
        self.queues = queues
        self.dlq_url = dlq_url
        self.target = target
        self.options = options
        self.on_progress = on_progress
        self.fifo = target.fifo or dlq_url.endswith(".fifo")
        self.batch = 10 if not options.rate else max(1, min(10, int(options.rate)))
        self.holder = Holder(queues, dlq_url, options.visibility or visibility_for(options.rate, self.batch))
        self.report = ReplayReport(method, dlq_url, target.description, options.dry_run)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._limiter = RateLimiter(options.rate)
        self._blocked_groups: set[str] = set()
        self._moved_ids: set[str] = set()
        self._ttl = options.idempotency_ttl
        #: Messages sent to the DLQ after the run started are left for the next run: a replayed message
        #: that fails again comes straight back (the consumer dead-letters it anew), and taking it again
        #: would loop for ever.
        self.started_at = datetime.now(UTC)

    # -- accounting (under the lock) -----------------------------------------------------------------
    def _take(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        """The letters this run acts on; the others are counted as skipped."""
        now = datetime.now(UTC)
        chosen = []
        with self._lock:
            for letter in letters:
                summary = letter.summary()
                budget_left = (
                    self.options.max_messages is None or self.report.matched < self.options.max_messages
                )
                arrived_during_run = summary.sent_at is not None and summary.sent_at > self.started_at
                if budget_left and not arrived_during_run and self.options.filter.matches(letter, summary):
                    self.report.matched += 1
                    if older_than_ttl(summary, now, self._ttl):
                        self.report.older_than_idempotency_ttl += 1
                    chosen.append(letter)
                else:
                    self.report.skipped += 1
        return chosen

    def _budget_spent(self) -> bool:
        with self._lock:
            return self.options.max_messages is not None and self.report.matched >= self.options.max_messages

    def _fail(self, letters: list[DeadLetter], reasons: dict[str, str]) -> None:
        with self._lock:
            for letter in letters:
                self.report.failed += 1
                if len(self.report.failures) < MAX_REPORTED_FAILURES:
                    self.report.failures.append(
                        {
                            "message_id": letter.message_id,
                            "event_id": letter.summary().event_id,
                            "reason": reasons.get(letter.message_id, "failed"),
                        }
                    )
                if self.fifo:
                    self._blocked_groups.add(group_id(letter))

    def _progress(self) -> None:
        if self.on_progress is not None:
            with self._lock:
                snapshot = ReplayReport(**{**self.report.__dict__, "failures": list(self.report.failures)})
            self.on_progress(snapshot)

    # -- the work --------------------------------------------------------------------------------------
    def _process(self, letters: list[DeadLetter]) -> None:
        chosen = self._take(letters)
        if self.options.dry_run or not chosen:
            return
        if self.fifo:
            with self._lock:
                blocked = [x for x in chosen if group_id(x) in self._blocked_groups]
            if blocked:
                self._fail(
                    blocked,
                    dict.fromkeys(
                        (x.message_id for x in blocked), "an earlier message of its FIFO group failed"
                    ),
                )
                chosen = [x for x in chosen if x not in blocked]
        if not chosen:
            return
        if not self._limiter.acquire(len(chosen), self._stop):
            self._fail(chosen, dict.fromkeys((x.message_id for x in chosen), "not sent: interrupted"))
            return
        failures = self.target.send(chosen, self.options.restore)
        if failures:
            self._fail([x for x in chosen if x.message_id in failures], failures)
        sent = [x for x in chosen if x.message_id not in failures]
        if not sent:
            return
        receipts = {x.message_id: self.holder.receipt(x.message_id) for x in sent}
        not_deleted = self.queues.delete_batch(self.dlq_url, receipts)
        deleted = [mid for mid in receipts if mid not in not_deleted]
        self.holder.forget(deleted)
        with self._lock:
            self._moved_ids.update(receipts)  # sent: never send again, even if it is handed out again
            self.report.moved += len(deleted)
            self.report.not_deleted += len(not_deleted)
            for message_id, reason in not_deleted.items():
                if len(self.report.failures) < MAX_REPORTED_FAILURES:
                    self.report.failures.append(
                        {
                            "message_id": message_id,
                            "event_id": "-",
                            "reason": f"sent but not deleted: {reason}",
                        }
                    )

    def _delete_copies_of_moved(self, letters: list[DeadLetter]) -> None:
        """A standard queue may hand a message out again after this run sent it (at-least-once
        delivery; or the delete used an older receipt handle). Such a copy is deleted with its newest
        handle, never sent twice."""
        with self._lock:
            copies = {x.message_id: x.receipt_handle for x in letters if x.message_id in self._moved_ids}
        if not copies:
            return
        not_deleted = self.queues.delete_batch(self.dlq_url, copies)
        with self._lock:
            self.report.copies_deleted += len(copies) - len(not_deleted)

    def _worker(self) -> None:
        try:
            while not self._stop.is_set() and not self._budget_spent():
                letters = self.queues.receive(
                    self.dlq_url, self.batch, self.holder.visibility, self.options.wait_seconds
                )
                if not letters:
                    return
                self._delete_copies_of_moved(letters)
                fresh = self.holder.hold([x for x in letters if x.message_id not in self._moved_ids])
                self._process(fresh)
                self._progress()
        except AwsError as exc:
            with self._lock:
                self.report.error = self.report.error or str(exc)
            self._stop.set()
        except Exception as exc:  # noqa: BLE001 - a bug must stop the run and show in the report, not vanish
            with self._lock:
                self.report.error = self.report.error or f"internal error: {type(exc).__name__}: {exc}"
            self._stop.set()

    def run(self) -> ReplayReport:
        """Run to the end, or until Ctrl-C (KeyboardInterrupt in the calling thread): the batches in
        flight finish, everything held is released, and the report says ``interrupted``.

        The calling thread waits on events, not on ``Thread.join``: a join interrupted by
        KeyboardInterrupt can leave the thread looking finished while it still runs (CPython 3.11),
        and releasing before a worker's receive returns would strand what that receive took.
        """
        self.holder.start()
        workers = 1 if self.fifo else max(1, self.options.concurrency)
        finished = [threading.Event() for _ in range(workers)]

        def work(done: threading.Event) -> None:
            try:
                self._worker()
            finally:
                done.set()

        for i, done in enumerate(finished):
            threading.Thread(target=work, args=(done,), name=f"dlq-replay-{i}", daemon=True).start()
        try:
            for done in finished:
                while not done.wait(0.2):
                    pass
        except KeyboardInterrupt:
            self.report.interrupted = True
            self._stop.set()
            for done in finished:
                done.wait()
        finally:
            self.report.not_released = len(self.holder.release_all())
        self.report.note = IDEMPOTENCY_NOTE
        self._progress()
        return self.report


def choose_method(
    requested: str, *, filtered: bool, to_source: bool, dry_run: bool, limited: bool
) -> tuple[str, str | None]:
    """The method a replay uses, and why not the other (None when there is nothing to explain).

    AWS's StartMessageMoveTask moves everything from a DLQ back to its source, fast and server-side, but
    cannot filter, dry-run, stop after ``--max``, or send elsewhere than a queue.
    """
    if requested == METHOD_RECEIVE:
        return METHOD_RECEIVE, None
    reasons = []
    if filtered:
        reasons.append("filters")
    if limited:
        reasons.append("--max")
    if dry_run:
        reasons.append("--dry-run")
    if not to_source:
        reasons.append("a target other than the source queue")
    if not reasons:
        return METHOD_MOVE_TASK, None
    why = "StartMessageMoveTask cannot do " + ", ".join(reasons)
    if requested == METHOD_MOVE_TASK:
        raise ValueError(f"--method {METHOD_MOVE_TASK}: {why}")
    return METHOD_RECEIVE, why
