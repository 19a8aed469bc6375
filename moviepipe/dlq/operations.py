"""The DLQ commands as plain functions over :class:`Queues`: stats, peek, replay (choosing the method),
export, import, purge, and AWS's move tasks. The CLI (:mod:`moviepipe.dlq.cli`) only parses options and
prints what these return."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from moviepipe.dlq.filters import Filter
from moviepipe.dlq.messages import (
    DeadLetter,
    Summary,
    from_json_line,
    to_json_line,
)
from moviepipe.dlq.replay import (
    METHOD_MOVE_TASK,
    METHOD_RECEIVE,
    QueueTarget,
    Replayer,
    ReplayOptions,
    ReplayReport,
    Target,
    TopicTarget,
    choose_method,
)
from moviepipe.dlq.scan import DEFAULT_VISIBILITY_SECONDS, Holder, read_all
from moviepipe.dlq.sqs import AwsError, Queues

READING_RAISES_RECEIVE_COUNTS = (
    "reading a message raises its receive count (ApproximateReceiveCount); the DLQ has no redrive "
    "policy of its own, so nothing moves because of it"
)


class UsageError(ValueError):
    """Bad arguments (exit 2): the message says what to pass instead."""


# -- stats -------------------------------------------------------------------------------------------
def stats(queues: Queues, url: str, *, limit: int = 10_000) -> dict[str, Any]:
    """Depth from the queue's attributes; age and counts from reading (up to ``limit``) messages, which
    are released at once afterwards."""
    attributes = queues.attributes(url)
    holder = Holder(queues, url, DEFAULT_VISIBILITY_SECONDS).start()
    try:
        letters = read_all(queues, url, holder, limit=limit)
    finally:
        not_released = holder.release_all()
    summaries = [letter.summary() for letter in letters]
    sent = [s.sent_at for s in summaries if s.sent_at is not None]
    oldest = min(sent) if sent else None
    now = datetime.now(UTC)
    return {
        "queue": url,
        "depth": _int(attributes.get("ApproximateNumberOfMessages")),
        "in_flight": _int(attributes.get("ApproximateNumberOfMessagesNotVisible")),
        "delayed": _int(attributes.get("ApproximateNumberOfMessagesDelayed")),
        "scanned": len(letters),
        "oldest_sent": oldest.isoformat().replace("+00:00", "Z") if oldest else None,
        "oldest_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "by_type": dict(Counter(s.event_type for s in summaries).most_common()),
        "by_error": dict(Counter(s.error_code for s in summaries).most_common()),
        "not_released": len(not_released),
        "note": READING_RAISES_RECEIVE_COUNTS,
    }


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


# -- peek --------------------------------------------------------------------------------------------
def peek(queues: Queues, url: str, *, limit: int, filter: Filter | None = None) -> tuple[list[Summary], int]:
    """Up to ``limit`` messages (matching ``filter``), released at once; (summaries, not released)."""
    holder = Holder(queues, url, DEFAULT_VISIBILITY_SECONDS).start()
    shown: list[Summary] = []
    try:
        while len(shown) < limit:
            batch = read_all(queues, url, holder, limit=10)
            if not batch:
                break
            for letter in batch:
                summary = letter.summary()
                if (filter is None or filter.matches(letter, summary)) and len(shown) < limit:
                    shown.append(summary)
    finally:
        not_released = holder.release_all()
    return shown, len(not_released)


# -- replay ------------------------------------------------------------------------------------------
@dataclass
class ReplayRequest:
    queue: str
    to: str | None = None
    to_topic: str | None = None
    method: str = "auto"
    options: ReplayOptions = field(default_factory=ReplayOptions)


def resolve_target(queues: Queues, dlq_url: str, request: ReplayRequest) -> tuple[Target, bool]:
    """The target, and whether it is the DLQ's (only) source queue."""
    if request.to and request.to_topic:
        raise UsageError("--to and --to-topic are exclusive")
    if request.to_topic:
        if not request.to_topic.startswith("arn:"):
            raise UsageError(f"--to-topic must be a topic ARN, not {request.to_topic!r}")
        return TopicTarget(queues, request.to_topic), False
    sources = queues.source_queues(dlq_url)
    if request.to:
        url = queues.resolve(request.to)
        if url == dlq_url:
            raise UsageError("--to names the dead-letter queue itself")
        return QueueTarget(queues, url), url in sources
    if not sources:
        raise UsageError("no queue uses this one as its dead-letter queue; pass --to QUEUE or --to-topic ARN")
    if len(sources) > 1:
        raise UsageError(
            f"{len(sources)} queues use this dead-letter queue ({', '.join(sources)}); pass --to"
        )
    return QueueTarget(queues, sources[0]), True


def replay(
    queues: Queues,
    request: ReplayRequest,
    *,
    on_progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    dlq_url = queues.resolve(request.queue)
    target, to_source = resolve_target(queues, dlq_url, request)
    options = request.options
    try:
        method, why = choose_method(
            request.method,
            filtered=not options.filter.empty,
            to_source=to_source,
            dry_run=options.dry_run,
            limited=options.max_messages is not None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    note = why
    if method == METHOD_MOVE_TASK:
        assert isinstance(target, QueueTarget)
        try:
            return start_move_task(queues, dlq_url, target, options.rate)
        except AwsError as exc:
            if not exc.unsupported or request.method == METHOD_MOVE_TASK:
                raise
            note = f"StartMessageMoveTask is not available here ({exc}); fell back to {METHOD_RECEIVE}"
    report = Replayer(queues, dlq_url, target, options, on_progress=on_progress, method=METHOD_RECEIVE).run()
    if note:
        report.note = f"{note}. {report.note}"
    return report


def start_move_task(queues: Queues, dlq_url: str, target: QueueTarget, rate: float | None) -> ReplayReport:
    """AWS's own redrive: every message, server-side. Returns at once; ``dlq tasks`` follows it."""
    dlq_arn = queues.attributes(dlq_url)["QueueArn"]
    destination = queues.attributes(target.url)["QueueArn"]
    depth = _int(queues.attributes(dlq_url).get("ApproximateNumberOfMessages"))
    handle = queues.start_move_task(dlq_arn, destination, int(rate) if rate else None)
    report = ReplayReport(METHOD_MOVE_TASK, dlq_url, target.description, dry_run=False, matched=depth)
    report.task_handle = handle
    report.note = (
        "StartMessageMoveTask started: SQS moves every message server-side; follow it with "
        "`moviepipe dlq tasks`, stop it with `moviepipe dlq cancel`. Messages keep their reason attributes "
        "(the consumer ignores them); use --method receive-send-delete to restore attributes exactly"
    )
    return report


def list_tasks(queues: Queues, queue: str) -> list[dict[str, Any]]:
    url = queues.resolve(queue)
    return queues.list_move_tasks(queues.attributes(url)["QueueArn"])


# -- export / import -----------------------------------------------------------------------------------
def export(
    queues: Queues,
    url: str,
    out: IO[str],
    *,
    filter: Filter | None = None,
    limit: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Every (matching) message as one JSON line each; the DLQ is left as it was (all released)."""
    holder = Holder(queues, url, DEFAULT_VISIBILITY_SECONDS).start()
    exported = skipped = 0
    now = datetime.now(UTC)
    stop = threading.Event()

    def write(batch: list[DeadLetter]) -> None:
        nonlocal exported, skipped
        for letter in batch:
            if (filter is None or filter.matches(letter)) and (limit is None or exported < limit):
                out.write(to_json_line(letter, url, now) + "\n")
                exported += 1
            else:
                skipped += 1
        if limit is not None and exported >= limit:
            stop.set()
        if on_batch is not None:
            on_batch(len(batch))

    try:
        read_all(queues, url, holder, on_batch=write, stop=stop)
    finally:
        out.flush()
        not_released = holder.release_all()
    return {"queue": url, "exported": exported, "skipped": skipped, "not_released": len(not_released)}


def read_export(lines: Iterable[str]) -> list[DeadLetter]:
    """Every line of an export, or a UsageError naming the first bad line (nothing is sent then)."""
    letters = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            letters.append(from_json_line(line))
        except ValueError as exc:
            raise UsageError(f"line {number}: {exc}") from None
    return letters


def import_(
    queues: Queues,
    url: str,
    letters: list[DeadLetter],
    *,
    dry_run: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Send exported messages to a queue exactly as exported (body and every attribute); FIFO group
    from the export, deduplication id derived from the exported message id."""
    target = QueueTarget(queues, url)
    imported = 0
    failures: list[dict[str, str]] = []
    if not dry_run:
        for chunk in _chunks(letters, 10):
            failed = target.send(chunk, restore=False)
            imported += len(chunk) - len(failed)
            failures.extend({"message_id": mid, "reason": why} for mid, why in failed.items())
            if on_batch is not None:
                on_batch(len(chunk))
    return {
        "queue": url,
        "read": len(letters),
        "imported": imported,
        "failed": len(failures),
        "failures": failures[:100],
        "dry_run": dry_run,
    }


def _chunks(items: list[DeadLetter], size: int) -> Iterator[list[DeadLetter]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- purge ----------------------------------------------------------------------------------------------
def purge(
    queues: Queues,
    url: str,
    *,
    filter: Filter | None = None,
    dry_run: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Delete every (matching) message; the others are released. Counts come from DeleteMessageBatch's
    per-entry answers."""
    holder = Holder(queues, url, DEFAULT_VISIBILITY_SECONDS).start()
    matched = deleted = skipped = 0
    failures: list[dict[str, str]] = []

    def delete(batch: list[DeadLetter]) -> None:
        nonlocal matched, deleted, skipped
        chosen = [x for x in batch if filter is None or filter.matches(x)]
        matched += len(chosen)
        skipped += len(batch) - len(chosen)
        if chosen and not dry_run:
            failed = queues.delete_batch(url, {x.message_id: x.receipt_handle for x in chosen})
            holder.forget([x.message_id for x in chosen if x.message_id not in failed])
            deleted += len(chosen) - len(failed)
            failures.extend({"message_id": mid, "reason": why} for mid, why in failed.items())
        if on_batch is not None:
            on_batch(len(batch))

    try:
        read_all(queues, url, holder, on_batch=delete)
    finally:
        not_released = holder.release_all()
    return {
        "queue": url,
        "matched": matched,
        "deleted": deleted,
        "would_delete": matched if dry_run else 0,
        "failed": len(failures),
        "skipped": skipped,
        "failures": failures[:100],
        "dry_run": dry_run,
        "not_released": len(not_released),
    }
