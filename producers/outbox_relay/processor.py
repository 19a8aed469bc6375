"""Powertools' BatchProcessor for the Movies stream, publishing a whole batch in PublishBatch calls
while keeping the stream's order and its retry guarantees.

How one batch goes:

1. Each record is translated to its event (or to none) in stream order, by the record handler. The first
   record that cannot be translated ends this step: nothing after it is looked at.
2. The events of the records before that point are published together with ``publish_many`` (10 per
   PublishBatch call, failed entries retried with backoff by the publisher).
3. The first record that failed, in stream order (untranslatable, or its event not published), is the
   batch's checkpoint: only its sequence number is reported in ``batchItemFailures``. Lambda then
   retries from that record onwards, in order. Records after it are not reported at all; they come back
   with the retry whatever happened to them here.

Why this holds "no event missing, no extra distinct id": every record from the checkpoint on is
redelivered and republished, so nothing is skipped; a record after the checkpoint whose event did get out
is republished with the same id (ids come from the record), which consumers deduplicate. The price of
batching is that duplicate: at-least-once delivery, exactly one id per change.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from movie_events.models import MovieEvent
from producers.outbox_relay.translate import to_event
from producers.publisher import EventPublisher, PublishError

logger = logging.getLogger(__name__)

RecordHandler = Callable[[DynamoDBRecord], MovieEvent | None]
_Translated = tuple[DynamoDBRecord, MovieEvent | None]


class EventNotPublishedError(RuntimeError):
    """The record's event was not published (the publisher gave up on it)."""

    def __init__(self, event: MovieEvent, reason: str) -> None:
        super().__init__(f"event {event.id} ({event.type} of movie {event.movie_id}) not published: {reason}")


class OutboxBatchProcessor(BatchProcessor):
    """Translate every record, publish the batch's events together, report the first failure only."""

    def __init__(self, publisher: EventPublisher) -> None:
        # A batch whose every record failed is reported like any other (its first record), rather than
        # raised: the outcome for Lambda is the same (retry from the first record), and the reason is
        # logged once instead of wrapped in a BatchProcessingError.
        super().__init__(EventType.DynamoDBStreams, raise_on_entire_batch_failure=False, logger=logger)
        self.publisher = publisher

    def process(self) -> list[tuple[Any, ...]]:
        translated, failure = self._translate()
        unpublished = self._publish([event for _, event in translated if event is not None])
        results: list[tuple[Any, ...]] = []
        for record, event in translated:
            if event is not None and event.id in unpublished:
                not_published = EventNotPublishedError(event, unpublished[event.id])
                failure = (record, (type(not_published), not_published, None))
                break
            results.append(self.success_handler(record.raw_event, event))
        if failure is not None:
            results.append(self._fail(*failure))
        return results

    def _fail(self, record: DynamoDBRecord, exception: ExceptionInfo) -> tuple[Any, ...]:
        # Powertools logs only failures that carry a traceback; the checkpoint must show either way.
        logger.error(
            "stream record %s (sequence number %s) failed, Lambda retries from it: %s",
            record.event_id,
            record.dynamodb.sequence_number if record.dynamodb else "?",
            exception[1],
        )
        return self.failure_handler(record, exception)

    def _translate(self) -> tuple[list[_Translated], tuple[DynamoDBRecord, ExceptionInfo] | None]:
        translated: list[_Translated] = []
        for raw in self.records:
            record = DynamoDBRecord(raw)
            try:
                translated.append((record, self.handler(record=record)))
            except Exception:  # noqa: BLE001 - whatever it is, Lambda retries from this record
                return translated, (record, sys.exc_info())
        return translated, None

    def _publish(self, events: list[MovieEvent]) -> dict[str, str]:
        """Publish; the ids of events that did not get out, with the reason."""
        try:
            self.publisher.publish_many(events)
        except PublishError as exc:
            return exc.failures
        return {}


def relay(
    event: dict[str, Any],
    context: Any,
    processor: OutboxBatchProcessor,
    record_handler: RecordHandler = to_event,
) -> PartialItemFailureResponse:
    """Relay one DynamoDB stream batch (a Lambda event) through ``processor``; the partial batch response."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
