"""Publish movie events to the SNS events topic, reliably and in as few calls as possible.

Guarantees:

* Every message carries the ``Type`` message attribute, so subscription filter policies can route by type.
* ``publish_many`` uses PublishBatch (at most 10 entries and 256 KiB per call). Throttling, 5xx and
  network errors of a whole call are retried by botocore's standard retry mode; entries that PublishBatch
  reports as ``Failed`` through no fault of the sender are retried here with jittered exponential backoff,
  a bounded number of times.
* Nothing is dropped silently: whatever could not be published is raised as one :class:`PublishError`
  naming the event ids (and carrying what *was* published, so a caller can resume precisely).
* On FIFO topics (ARN ending in ``.fifo``) the message group is the movie id, so events of one movie stay
  in order, and the deduplication id is the event id.
* An event over the SNS size limit is refused before anything is sent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from movie_events.errors import EventTooLargeError
from movie_events.models import TYPE_ATTRIBUTE, MovieEvent
from moviepipe.runtime.aws import BOTO3_DEFAULTS, Clients, describe_error

#: SNS limit for one message, body and attributes together; also the limit of a whole PublishBatch call.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_BATCH_ENTRIES = 10


@dataclass(frozen=True)
class PublishedEvent:
    event_id: str
    message_id: str
    sequence_number: str | None = None


class PublishError(RuntimeError):
    """Some events could not be published. ``failures`` maps each event id to the reason."""

    def __init__(self, failures: dict[str, str], published: Sequence[PublishedEvent] = ()) -> None:
        self.failures = dict(failures)
        self.published = list(published)
        shown = ", ".join(f"{event_id} ({reason})" for event_id, reason in list(self.failures.items())[:10])
        more = f" and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        super().__init__(f"{len(self.failures)} event(s) not published: {shown}{more}")

    @property
    def event_ids(self) -> list[str]:
        return list(self.failures)


@dataclass
class _Entry:
    event: MovieEvent
    body: str
    size: int
    attempts: int = 0
    last_error: str = ""
    batch_id: str = field(default="")


def message_size(body: str, event_type: str) -> int:
    """Bytes SNS counts against its limit: the body plus each attribute's name, type and value."""
    return len(body.encode("utf-8")) + len(TYPE_ATTRIBUTE) + len("String") + len(event_type.encode("utf-8"))


class EventPublisher:
    """Publishes :mod:`movie_events` events to one SNS topic.

    :param topic_arn: the topic (a service reads it from its settings, e.g. ``EVENTS_TOPIC_ARN``).
    :param sns_client: a boto3 SNS client; defaults to one from ``clients``.
    :param clients: where AWS is (:class:`moviepipe.runtime.aws.Clients`); defaults to boto3's defaults.
    :param max_attempts: attempts per event for entries PublishBatch reports as failed.
    :param max_workers: PublishBatch calls in flight at once in :meth:`publish_many` (standard topics
        only; FIFO topics publish their batches one after another so that per-movie order holds). Each
        worker holds one HTTP connection: keep it at or below the SNS client's ``max_pool_connections``
        (10 by default). Default :attr:`DEFAULT_MAX_WORKERS`.
    """

    #: PublishBatch calls in flight by default: 4 x 10 entries, well inside SNS's publish quotas.
    DEFAULT_MAX_WORKERS = 4

    def __init__(
        self,
        topic_arn: str,
        *,
        sns_client: Any = None,
        clients: Clients | None = None,
        max_attempts: int = 5,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        max_workers: int = DEFAULT_MAX_WORKERS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not topic_arn:
            raise ValueError("EventPublisher needs the topic's ARN")
        self.topic_arn = topic_arn
        self.fifo = self.topic_arn.endswith(".fifo")
        self._sns: Any = sns_client if sns_client is not None else (clients or BOTO3_DEFAULTS).sns()
        self._max_attempts = max(1, max_attempts)
        self._base_delay = base_delay
        self._max_delay = max_delay
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers}")
        self.max_workers = max_workers
        self._sleep = sleep

    # -- one event ---------------------------------------------------------------------------------
    def publish(self, event: MovieEvent) -> PublishedEvent:
        """Publish one event (one Publish call). Raises :class:`PublishError` if SNS refuses it."""
        entry = self._prepare(event)
        params: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": entry.body,
            "MessageAttributes": self._attributes(event),
            **self._fifo_params(event),
        }
        try:
            response = self._sns.publish(**params)
        except (ClientError, BotoCoreError) as exc:
            raise PublishError({event.id: describe_error(exc)}) from exc
        return PublishedEvent(event.id, response["MessageId"], response.get("SequenceNumber"))

    # -- many events -------------------------------------------------------------------------------
    def publish_many(self, events: Iterable[MovieEvent]) -> list[PublishedEvent]:
        """Publish events in PublishBatch calls; returns one result per event, in input order.

        All events that fit are validated before the first call, so an oversized event fails the whole
        call before anything is sent. Raises :class:`PublishError` naming every event not published.
        """
        entries = [self._prepare(event) for event in events]
        if not entries:
            return []
        results: dict[str, PublishedEvent] = {}
        failures: dict[str, str] = {}
        pending = entries
        while pending:
            batches = list(_chunk(pending))
            if self.fifo or self.max_workers == 1 or len(batches) == 1:
                outcomes = [self._send_batch(batch) for batch in batches]
            else:
                with ThreadPoolExecutor(max_workers=min(self.max_workers, len(batches))) as pool:
                    outcomes = list(pool.map(self._send_batch, batches))
            retry: list[_Entry] = []
            for published, retryable, permanent in outcomes:
                results.update({p.event_id: p for p in published})
                failures.update(permanent)
                for entry in retryable:
                    if entry.attempts >= self._max_attempts:
                        failures[entry.event.id] = f"{entry.last_error} after {entry.attempts} attempts"
                    else:
                        retry.append(entry)
            if retry:
                self._sleep(self._backoff(max(entry.attempts for entry in retry)))
            pending = retry
        ordered = [results[e.event.id] for e in entries if e.event.id in results]
        if failures:
            raise PublishError(failures, ordered)
        return ordered

    # -- internals ---------------------------------------------------------------------------------
    def _prepare(self, event: MovieEvent) -> _Entry:
        body = event.to_json()
        size = message_size(body, event.type)
        if size > MAX_MESSAGE_BYTES:
            raise EventTooLargeError(
                f"event {event.id} ({event.type}) is {size} bytes; SNS accepts at most {MAX_MESSAGE_BYTES}"
            )
        return _Entry(event=event, body=body, size=size)

    def _attributes(self, event: MovieEvent) -> dict[str, Any]:
        return {TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": event.type}}

    def _fifo_params(self, event: MovieEvent) -> dict[str, str]:
        if not self.fifo:
            return {}
        return {"MessageGroupId": event.movie_id, "MessageDeduplicationId": event.id}

    def _send_batch(self, batch: list[_Entry]) -> tuple[list[PublishedEvent], list[_Entry], dict[str, str]]:
        """One PublishBatch call. Returns (published, retryable entries, permanent failures)."""
        by_id = {}
        request = []
        for index, entry in enumerate(batch):
            entry.attempts += 1
            entry.batch_id = f"e{index}"
            by_id[entry.batch_id] = entry
            request.append(
                {
                    "Id": entry.batch_id,
                    "Message": entry.body,
                    "MessageAttributes": self._attributes(entry.event),
                    **self._fifo_params(entry.event),
                }
            )
        try:
            response = self._sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=request)
        except (ClientError, BotoCoreError) as exc:
            # botocore has already retried throttling/5xx; what is left is permanent for this call,
            # unless it is a transient error that ran out of botocore's attempts: retry those here too.
            reason = describe_error(exc)
            if _is_retryable(exc):
                for entry in batch:
                    entry.last_error = reason
                return [], batch, {}
            return [], [], {entry.event.id: reason for entry in batch}
        published = [
            PublishedEvent(by_id[ok["Id"]].event.id, ok["MessageId"], ok.get("SequenceNumber"))
            for ok in response.get("Successful", [])
        ]
        retryable: list[_Entry] = []
        permanent: dict[str, str] = {}
        for failed in response.get("Failed", []):
            entry = by_id[failed["Id"]]
            reason = f"{failed.get('Code', 'Failed')}: {failed.get('Message', '')}".rstrip(": ")
            if failed.get("SenderFault"):
                permanent[entry.event.id] = reason
            else:
                entry.last_error = reason
                retryable.append(entry)
        answered = {p.event_id for p in published} | {e.event.id for e in retryable} | set(permanent)
        for entry in batch:  # an entry SNS did not mention at all must not vanish
            if entry.event.id not in answered:
                entry.last_error = "no result in PublishBatch response"
                retryable.append(entry)
        return published, retryable, permanent

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS architecture blog): spreads retries of concurrent publishers apart.
        return random.uniform(0, min(self._max_delay, self._base_delay * 2 ** (attempt - 1)))


def _chunk(entries: list[_Entry]) -> Iterable[list[_Entry]]:
    """Split into PublishBatch calls of at most 10 entries and 256 KiB in total."""
    batch: list[_Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + entry.size > MAX_MESSAGE_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "KMSThrottling",
}


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return exc.response.get("Error", {}).get("Code") in _RETRYABLE_CODES or status >= 500
    return True  # connection errors, timeouts
