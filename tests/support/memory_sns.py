"""An in-memory SNS topic with SQS subscriptions that costs one simulated round trip per call, for benchmarks.

Why: the embedded moto server fans a message out to its subscribed queues *inside* the Publish call, in
this process and under the GIL, and its queues get slower as they fill, so a publishing benchmark against
it measures moto. Real SNS answers first and delivers afterwards, on its own machines. This stand-in
sleeps :attr:`MemorySns.latency` per call (outside any lock, so concurrent calls overlap as on a network)
and then delivers each message to every subscribed :class:`~tests.support.memory_sqs.MemorySqs` queue whose
filter policy on ``Type`` matches, raw, as SNS's raw message delivery does: the fan-out is attached and
its (small) CPU cost is paid by the publishing process, but no extra round trip is invented for it.

Honoured, and nothing more: ``create_topic``, ``subscribe`` (protocol ``sqs``, ``RawMessageDelivery``,
a ``FilterPolicy`` of the form ``{"Type": [...]}``), ``publish`` and ``publish_batch`` (at most ten
entries, unique ids, per-entry ``Successful``; FIFO topics are not modelled).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tests.support.latency import CallCounter
from tests.support.memory_sqs import MemorySqs

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class _Subscription:
    queue_url: str
    types: frozenset[str] | None  # None: no filter policy


class MemorySns:
    """A thread-safe in-memory SNS client delivering to ``sqs`` (a :class:`MemorySqs`)."""

    def __init__(self, sqs: MemorySqs, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls = CallCounter()
        self._sqs = sqs
        self._lock = threading.Lock()
        self._topics: dict[str, list[_Subscription]] = {}
        self._ids = itertools.count()

    def _round_trip(self, operation: str) -> None:
        self.calls.add(operation)
        if self.latency > 0:
            time.sleep(self.latency)

    def create_topic(self, Name: str, **_: Any) -> dict[str, Any]:
        self._round_trip("CreateTopic")
        arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{Name}"
        with self._lock:
            self._topics.setdefault(arn, [])
        return {"TopicArn": arn}

    def subscribe(
        self, TopicArn: str, Protocol: str, Endpoint: str, Attributes: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """``Endpoint`` is the queue's URL here (MemorySqs resolves URLs, not ARNs)."""
        self._round_trip("Subscribe")
        if Protocol != "sqs":
            raise NotImplementedError("MemorySns delivers to SQS only")
        attributes = dict(Attributes or {})
        if attributes.get("RawMessageDelivery", "false") != "true":
            raise NotImplementedError("MemorySns models raw message delivery only")
        policy = json.loads(attributes["FilterPolicy"]) if "FilterPolicy" in attributes else None
        types = frozenset(policy["Type"]) if policy is not None else None
        with self._lock:
            self._topic("Subscribe", TopicArn).append(_Subscription(Endpoint, types))
        return {"SubscriptionArn": f"{TopicArn}:{next(self._ids)}"}

    def publish(
        self, TopicArn: str, Message: str, MessageAttributes: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self._round_trip("Publish")
        message_id = self._deliver("Publish", TopicArn, Message, MessageAttributes or {})
        return {"MessageId": message_id}

    def publish_batch(
        self, TopicArn: str, PublishBatchRequestEntries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        self._round_trip("PublishBatch")
        entries = list(PublishBatchRequestEntries)
        if not 1 <= len(entries) <= 10:
            raise _error("PublishBatch", "TooManyEntriesInBatchRequest", "1 to 10 entries per call")
        if len({entry["Id"] for entry in entries}) != len(entries):
            raise _error("PublishBatch", "BatchEntryIdsNotDistinct", "entry ids must be distinct")
        successful = [
            {
                "Id": entry["Id"],
                "MessageId": self._deliver(
                    "PublishBatch", TopicArn, entry["Message"], entry.get("MessageAttributes") or {}
                ),
            }
            for entry in entries
        ]
        return {"Successful": successful, "Failed": []}

    def _topic(self, operation: str, arn: str) -> list[_Subscription]:
        subscriptions = self._topics.get(arn)
        if subscriptions is None:
            raise _error(operation, "NotFound", "Topic does not exist")
        return subscriptions

    def _deliver(self, operation: str, arn: str, body: str, attributes: Mapping[str, Any]) -> str:
        with self._lock:
            subscriptions = list(self._topic(operation, arn))
        event_type = (attributes.get("Type") or {}).get("StringValue")
        for subscription in subscriptions:
            if subscription.types is None or event_type in subscription.types:
                self._sqs.send_message(
                    QueueUrl=subscription.queue_url, MessageBody=body, MessageAttributes=dict(attributes)
                )
        return f"sns-{next(self._ids)}"


def _error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
