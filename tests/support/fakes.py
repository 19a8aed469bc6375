"""In-memory stand-ins for the consumer's adapters and idempotency store, for logic tests."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)

from consumers.email_notification.adapters.legacy_windows import start_for
from consumers.email_notification.logic.failures import Failure
from consumers.email_notification.logic.rendering import RenderedEmail
from moviepipe.runtime.powertools import STATUS_CONSTANTS, DataRecord


class FakeSender:
    """Records emails; ``fail`` maps a subject fragment to the exception its sends raise."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[RenderedEmail] = []
        self.fail: dict[str, Exception] = {}
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, email: RenderedEmail) -> str:
        if self.delay:  # no sleep(0) syscall per send: the CPU benchmark counts this fake's CPU too
            time.sleep(self.delay)
        for fragment, exc in self.fail.items():
            if fragment in email.subject:
                raise exc
        with self._lock:
            self.sent.append(email)
            return f"ses-{len(self.sent)}"


class FakeDeadLetterQueue:
    def __init__(self) -> None:
        self.messages: list[tuple[SQSRecord, Failure]] = []
        self.broken = False

    def send(self, record: SQSRecord, failure: Failure) -> None:
        if self.broken:
            raise ConnectionError("DLQ unreachable")
        self.messages.append((record, failure))


class FakeLegacyWindows:
    """The DynamoDB window store's conditional update over a dict: a copy opens a new window only when
    none exists or it was sent after the current one ended; otherwise it joins (or predates) it."""

    def __init__(self, window_seconds: int = 900) -> None:
        self.window_ms = window_seconds * 1000
        self.starts: dict[str, int] = {}
        self._lock = threading.Lock()

    def window_start(self, content_id: str, sent_ms: int) -> int:
        with self._lock:
            current = self.starts.get(content_id)
            if current is None or current < sent_ms - self.window_ms:
                self.starts[content_id] = sent_ms
                return sent_ms
            return start_for(current, sent_ms, self.window_ms)


class InMemoryPersistenceLayer(BasePersistenceLayer):
    """The DynamoDB layer's conditional-write semantics over a dict (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}
        self._lock = threading.Lock()

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._lock:
            if idempotency_key not in self.records:
                raise IdempotencyItemNotFoundError
            return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        now = dt.datetime.now()
        with self._lock:
            old = self.records.get(data_record.idempotency_key)
            if old is not None:
                expired = old.expiry_timestamp is not None and old.expiry_timestamp < int(now.timestamp())
                lock_expired = (
                    old.status == STATUS_CONSTANTS["INPROGRESS"]
                    and old.in_progress_expiry_timestamp is not None
                    and old.in_progress_expiry_timestamp < int(now.timestamp() * 1000)
                )
                if not (expired or lock_expired):
                    self._validate_payload(data_payload=data_record, stored_data_record=old)
                    raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._lock:
            self.records.pop(data_record.idempotency_key, None)

    def statuses(self) -> list[str]:
        return sorted(record.status for record in self.records.values())


def sqs_record(
    body: str, *, message_id: str, event_type: str | None = "MovieCreated", **attributes: Any
) -> dict[str, Any]:
    """A Lambda SQS record built by hand (logic tests; integration tests convert real messages)."""
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDATEST",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
            **attributes,
        },
        "messageAttributes": (
            {
                "Type": {
                    "stringValue": event_type,
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                }
            }
            if event_type
            else {}
        ),
        "md5OfBody": "-",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }


class FakeConsumer:
    """An :class:`EmailConsumer` over the fakes above, with a ``run`` that answers like Lambda's event
    source sees it: the failed message ids."""

    def __init__(
        self,
        *,
        sender: Any = None,
        dlq: bool = True,
        concurrency: int = 4,
        store: InMemoryPersistenceLayer | None = None,
        windows: FakeLegacyWindows | None = None,
    ) -> None:
        from aws_lambda_powertools import Logger, Metrics

        from consumers.email_notification.config import ConsumerConfig
        from consumers.email_notification.logic.consumer import EmailConsumer

        self.sender = sender or FakeSender()
        self.dlq = FakeDeadLetterQueue() if dlq else None
        self.store = store or InMemoryPersistenceLayer()
        self.windows = windows or FakeLegacyWindows()
        self.consumer = EmailConsumer(
            config=ConsumerConfig(
                idempotency_table="t",
                sender="movies@example.com",
                recipients=("a@example.com",),
                batch_concurrency=concurrency,
            ),
            sender=self.sender,
            persistence=self.store,
            dead_letters=self.dlq,
            logger=Logger(service="fake-consumer"),
            metrics=Metrics(namespace="fake", service="fake-consumer"),
            legacy_windows=self.windows,
        )

    def run(self, *records: dict[str, Any], timeout: float = 30.0) -> list[str]:
        from moviepipe.local.lambda_context import LocalLambdaContext

        context: Any = LocalLambdaContext.new_invocation("f", timeout_seconds=timeout)
        response = self.consumer.handle({"Records": list(records)}, context)
        return [item["itemIdentifier"] for item in response["batchItemFailures"]]

    def dead_letter_codes(self) -> dict[str, str]:
        """Dead-lettered message id → ErrorCode."""
        assert self.dlq is not None
        return {record.message_id: failure.code for record, failure in self.dlq.messages}
