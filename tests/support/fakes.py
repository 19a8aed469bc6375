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
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from consumers.email_notification.logic.failures import Failure
from consumers.email_notification.rendering import RenderedEmail


class FakeSender:
    """Records emails; ``fail`` maps a subject fragment to the exception its sends raise."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[RenderedEmail] = []
        self.fail: dict[str, Exception] = {}
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, email: RenderedEmail) -> str:
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
