"""An in-memory SQS (standard queues only) that costs one simulated round trip per call, for benchmarks.

Why: moto's SQS scans the whole queue on every call, so its cost grows with queue depth (about half a
second of server CPU per call at ~1,000 messages). A benchmark of 10,000 messages against it measures
that scan, not what the DLQ replay is built for: overlapping and batching network round trips. This
stand-in answers in microseconds and sleeps :attr:`MemorySqs.latency` per call *outside* its lock, so
concurrent calls overlap as they do on a network and batching saves whole round trips.

It is a boto3-shaped SQS client (pass it as ``Queues(sqs=MemorySqs())``) honouring the semantics the
replay and the benchmark's baseline loops rely on, and nothing more:

* ReceiveMessage: 1 to 10 messages, oldest visible first; a received message is invisible for the
  VisibilityTimeout given (or the queue's); each receive gets a new receipt handle and bumps
  ApproximateReceiveCount; ``WaitTimeSeconds`` long-polls (an empty answer has no ``Messages`` key);
  ``MessageAttributeNames`` / ``MessageSystemAttributeNames`` (or ``AttributeNames``) select what comes
  back, ``All`` for everything.
* DeleteMessage(Batch): only the newest receipt handle deletes; an older one succeeds without deleting,
  as SQS documents ("the message might not be deleted"); an unknown handle is ``ReceiptHandleIsInvalid``.
* ChangeMessageVisibility(Batch): only for a message in flight under that handle.
* SendMessage(Batch): per-entry ``Successful`` / ``Failed`` (invalid characters, too large, more than
  ten attributes, duplicate or missing entry ids, more than ten entries fail as on SQS).
* GetQueueUrl, GetQueueAttributes (approximate counts, QueueArn, RedrivePolicy),
  ListDeadLetterSourceQueues, CreateQueue (with ``RedrivePolicy``), PurgeQueue.

Failures raise ``botocore.exceptions.ClientError`` with SQS's error codes, so callers' error handling
runs as against AWS. Every call is counted per operation in :attr:`MemorySqs.calls`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tests.support.latency import CallCounter

REGION = "us-east-1"
ACCOUNT = "123456789012"
ENDPOINT = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"
MAX_MESSAGE_BYTES = 256 * 1024
MAX_ATTRIBUTES = 10
DEFAULT_VISIBILITY = 30
#: SQS accepts #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
_INVALID_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    sent_ms: int
    visible_at: float
    receive_count: int = 0
    first_receive_ms: int | None = None
    receipt: str | None = None  # the newest receipt handle, while the message has been received


@dataclass
class _Queue:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    #: Insertion-ordered: oldest first. Deleted messages are removed, so a scan only passes in-flight ones.
    messages: dict[str, _Message] = field(default_factory=dict)

    @property
    def visibility(self) -> int:
        return int(self.attributes.get("VisibilityTimeout", DEFAULT_VISIBILITY))


class MemorySqs:
    """A thread-safe in-memory SQS client; see the module docstring for what it honours."""

    def __init__(self, latency: float = 0.0) -> None:
        #: Seconds each call sleeps (outside the lock) before it is served; change it at any time.
        self.latency = latency
        self.calls = CallCounter()
        self._cond = threading.Condition()
        self._queues: dict[str, _Queue] = {}  # by URL
        self._handles: dict[str, tuple[str, str]] = {}  # receipt handle -> (queue URL, message id)
        self._ids = itertools.count()

    # -- plumbing ------------------------------------------------------------------------------------
    def _round_trip(self, operation: str) -> None:
        self.calls.add(operation)
        if self.latency > 0:
            time.sleep(self.latency)

    def _queue(self, operation: str, url: str) -> _Queue:
        queue = self._queues.get(url)
        if queue is None:
            raise _error(
                operation, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."
            )
        return queue

    # -- queues --------------------------------------------------------------------------------------
    def create_queue(self, QueueName: str, Attributes: Mapping[str, str] | None = None) -> dict[str, Any]:
        self._round_trip("CreateQueue")
        if QueueName.endswith(".fifo"):
            raise NotImplementedError("MemorySqs models standard queues only")
        url = f"{ENDPOINT}/{QueueName}"
        with self._cond:
            if url not in self._queues:
                self._queues[url] = _Queue(
                    QueueName, url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QueueName}", dict(Attributes or {})
                )
        return {"QueueUrl": url}

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str | None = None) -> dict[str, Any]:
        self._round_trip("GetQueueUrl")
        url = f"{ENDPOINT}/{QueueName}"
        with self._cond:
            if url not in self._queues or QueueOwnerAWSAccountId not in (None, ACCOUNT):
                raise _error(
                    "GetQueueUrl",
                    "AWS.SimpleQueueService.NonExistentQueue",
                    "The specified queue does not exist.",
                )
        return {"QueueUrl": url}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: Sequence[str] = ()) -> dict[str, Any]:
        self._round_trip("GetQueueAttributes")
        now = time.monotonic()
        with self._cond:
            queue = self._queue("GetQueueAttributes", QueueUrl)
            visible = sum(1 for m in queue.messages.values() if m.visible_at <= now)
            everything = {
                **queue.attributes,
                "QueueArn": queue.arn,
                "VisibilityTimeout": str(queue.visibility),
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(queue.messages) - visible),
                "ApproximateNumberOfMessagesDelayed": "0",
            }
        wanted = set(AttributeNames)
        if "All" in wanted:
            return {"Attributes": everything}
        return {"Attributes": {k: v for k, v in everything.items() if k in wanted}}

    def list_dead_letter_source_queues(self, QueueUrl: str, **_: Any) -> dict[str, Any]:
        self._round_trip("ListDeadLetterSourceQueues")
        with self._cond:
            dlq = self._queue("ListDeadLetterSourceQueues", QueueUrl)
            sources = [
                q.url
                for q in self._queues.values()
                if json.loads(q.attributes.get("RedrivePolicy", "{}")).get("deadLetterTargetArn") == dlq.arn
            ]
        return {"queueUrls": sources}

    def purge_queue(self, QueueUrl: str) -> dict[str, Any]:
        self._round_trip("PurgeQueue")
        with self._cond:
            self._queue("PurgeQueue", QueueUrl).messages.clear()
        return {}

    # -- sending -------------------------------------------------------------------------------------
    def _invalid(self, body: Any, attributes: Mapping[str, Any]) -> tuple[str, str] | None:
        """Why SQS would refuse this message (code, message), or None."""
        if not isinstance(body, str) or not body:
            return "InvalidParameterValue", "The request must contain a non-empty message body."
        if _INVALID_CHARS.search(body):
            return "InvalidMessageContents", "Invalid characters found."
        if len(attributes) > MAX_ATTRIBUTES:
            return "InvalidParameterValue", f"Number of message attributes [{len(attributes)}] exceeds 10."
        size = len(body.encode("utf-8")) + sum(
            len(name)
            + len(v.get("DataType", ""))
            + len(v.get("BinaryValue", b"") or v.get("StringValue", ""))
            for name, v in attributes.items()
        )
        if size > MAX_MESSAGE_BYTES:
            return "InvalidParameterValue", f"Message must be shorter than {MAX_MESSAGE_BYTES} bytes."
        return None

    def _append(self, queue: _Queue, body: str, attributes: Mapping[str, Any], delay: int) -> str:
        message_id = str(uuid.UUID(int=next(self._ids)))
        queue.messages[message_id] = _Message(
            message_id,
            body,
            {name: dict(value) for name, value in attributes.items()},
            int(time.time() * 1000),
            time.monotonic() + delay,
        )
        self._cond.notify_all()
        return message_id

    def send_message(
        self,
        QueueUrl: str,
        MessageBody: str,
        MessageAttributes: Mapping[str, Any] | None = None,
        DelaySeconds: int = 0,
    ) -> dict[str, Any]:
        self._round_trip("SendMessage")
        invalid = self._invalid(MessageBody, MessageAttributes or {})
        if invalid:
            raise _error("SendMessage", *invalid)
        with self._cond:
            message_id = self._append(
                self._queue("SendMessage", QueueUrl), MessageBody, MessageAttributes or {}, DelaySeconds
            )
        return {"MessageId": message_id, "MD5OfMessageBody": _md5(MessageBody)}

    def send_message_batch(self, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        self._round_trip("SendMessageBatch")
        _check_batch("SendMessageBatch", Entries)
        total = sum(len(str(e.get("MessageBody", "")).encode("utf-8")) for e in Entries)
        if total > MAX_MESSAGE_BYTES:
            raise _error("SendMessageBatch", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch too long.")
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._cond:
            queue = self._queue("SendMessageBatch", QueueUrl)
            for entry in Entries:
                attributes = entry.get("MessageAttributes") or {}
                invalid = self._invalid(entry.get("MessageBody"), attributes)
                if invalid:
                    code, message = invalid
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": code, "Message": message})
                    continue
                message_id = self._append(
                    queue, entry["MessageBody"], attributes, int(entry.get("DelaySeconds", 0))
                )
                successful.append(
                    {
                        "Id": entry["Id"],
                        "MessageId": message_id,
                        "MD5OfMessageBody": _md5(entry["MessageBody"]),
                    }
                )
        response: dict[str, Any] = {"Successful": successful}
        if failed:
            response["Failed"] = failed
        return response

    # -- receiving -----------------------------------------------------------------------------------
    def receive_message(
        self,
        QueueUrl: str,
        MaxNumberOfMessages: int = 1,
        VisibilityTimeout: int | None = None,
        WaitTimeSeconds: int = 0,
        MessageAttributeNames: Sequence[str] = (),
        MessageSystemAttributeNames: Sequence[str] = (),
        AttributeNames: Sequence[str] = (),
    ) -> dict[str, Any]:
        self._round_trip("ReceiveMessage")
        if not 1 <= MaxNumberOfMessages <= 10:
            raise _error(
                "ReceiveMessage", "InvalidParameterValue", "MaxNumberOfMessages must be between 1 and 10."
            )
        deadline = time.monotonic() + max(0, WaitTimeSeconds)
        with self._cond:
            queue = self._queue("ReceiveMessage", QueueUrl)
            visibility = queue.visibility if VisibilityTimeout is None else VisibilityTimeout
            while True:
                now = time.monotonic()
                taken = list(
                    itertools.islice(
                        (m for m in queue.messages.values() if m.visible_at <= now), MaxNumberOfMessages
                    )
                )
                if taken or now >= deadline:
                    break
                # Long poll: woken by a send, or by the next in-flight message becoming visible again.
                next_visible = min((m.visible_at for m in queue.messages.values()), default=deadline)
                self._cond.wait(max(0.001, min(deadline, next_visible) - now))
            answer = []
            for message in taken:
                self._release_handle(message)
                message.receipt = f"{message.message_id}#{uuid.uuid4().hex}"
                self._handles[message.receipt] = (QueueUrl, message.message_id)
                message.visible_at = now + visibility
                message.receive_count += 1
                if message.first_receive_ms is None:
                    message.first_receive_ms = int(time.time() * 1000)
                answer.append(
                    self._shape(
                        message, MessageAttributeNames, [*MessageSystemAttributeNames, *AttributeNames]
                    )
                )
        return {"Messages": answer} if answer else {}

    def _release_handle(self, message: _Message) -> None:
        """An older handle stays known (deleting with it "succeeds"), but no longer acts on the message."""
        if message.receipt is not None:
            self._handles[message.receipt] = ("", message.message_id)

    @staticmethod
    def _shape(
        message: _Message, attribute_names: Sequence[str], system_names: Sequence[str]
    ) -> dict[str, Any]:
        system = {
            "SentTimestamp": str(message.sent_ms),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
            "SenderId": ACCOUNT,
        }
        every_system = "All" in system_names
        every_attribute = "All" in attribute_names or ".*" in attribute_names
        shaped: dict[str, Any] = {
            "MessageId": message.message_id,
            "ReceiptHandle": message.receipt,
            "MD5OfBody": _md5(message.body),
            "Body": message.body,
        }
        attributes = {k: v for k, v in system.items() if every_system or k in system_names}
        if attributes:
            shaped["Attributes"] = attributes
        chosen = {
            name: dict(value)
            for name, value in message.attributes.items()
            if every_attribute
            or name in attribute_names
            or any(p.endswith(".*") and name.startswith(p[:-1]) for p in attribute_names)
        }
        if chosen:
            shaped["MessageAttributes"] = chosen
        return shaped

    # -- deleting and visibility ---------------------------------------------------------------------
    def _in_flight(self, operation: str, url: str, handle: str) -> _Message | None:
        """The message this handle acts on; None for an older handle of a message (or a deleted one)."""
        where = self._handles.get(handle)
        if where is None:
            raise _error(
                operation, "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not valid.'
            )
        queue_url, message_id = where
        if queue_url != url:
            return None
        return self._queue(operation, url).messages.get(message_id)

    def _delete(self, url: str, handle: str, operation: str) -> None:
        message = self._in_flight(operation, url, handle)
        if message is not None:
            del self._queues[url].messages[message.message_id]
            self._handles[handle] = ("", message.message_id)

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> dict[str, Any]:
        self._round_trip("DeleteMessage")
        with self._cond:
            self._delete(QueueUrl, ReceiptHandle, "DeleteMessage")
        return {}

    def delete_message_batch(self, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        self._round_trip("DeleteMessageBatch")
        _check_batch("DeleteMessageBatch", Entries)
        return self._per_entry(
            "DeleteMessageBatch",
            QueueUrl,
            Entries,
            lambda e: self._delete(QueueUrl, e["ReceiptHandle"], "DeleteMessageBatch"),
        )

    def _change(self, url: str, handle: str, seconds: int, operation: str) -> None:
        message = self._in_flight(operation, url, handle)
        if message is None or message.visible_at <= time.monotonic():
            raise _error(
                operation, "AWS.SimpleQueueService.MessageNotInflight", "The message is not in flight."
            )
        message.visible_at = time.monotonic() + seconds
        if seconds == 0:
            self._cond.notify_all()

    def change_message_visibility(
        self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
    ) -> dict[str, Any]:
        self._round_trip("ChangeMessageVisibility")
        with self._cond:
            self._change(QueueUrl, ReceiptHandle, VisibilityTimeout, "ChangeMessageVisibility")
        return {}

    def change_message_visibility_batch(
        self,
        QueueUrl: str,
        Entries: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        operation = "ChangeMessageVisibilityBatch"
        self._round_trip(operation)
        _check_batch(operation, Entries)
        return self._per_entry(
            operation,
            QueueUrl,
            Entries,
            lambda e: self._change(QueueUrl, e["ReceiptHandle"], int(e["VisibilityTimeout"]), operation),
        )

    def _per_entry(
        self, operation: str, url: str, entries: Sequence[Mapping[str, Any]], act: Any
    ) -> dict[str, Any]:
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._cond:
            self._queue(operation, url)
            for entry in entries:
                try:
                    act(entry)
                except ClientError as exc:
                    error = exc.response["Error"]
                    failed.append(
                        {
                            "Id": entry["Id"],
                            "SenderFault": True,
                            "Code": error["Code"],
                            "Message": error["Message"],
                        }
                    )
                else:
                    successful.append({"Id": entry["Id"]})
        response: dict[str, Any] = {"Successful": successful}
        if failed:
            response["Failed"] = failed
        return response

    # -- for tests -----------------------------------------------------------------------------------
    def bodies(self, url: str) -> list[str]:
        """Every message body on the queue, in flight or not (no round trip, not counted)."""
        with self._cond:
            return [m.body for m in self._queue("bodies", url).messages.values()]


def _check_batch(operation: str, entries: Sequence[Mapping[str, Any]]) -> None:
    if not entries:
        raise _error(
            operation, "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry."
        )
    if len(entries) > 10:
        raise _error(operation, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "At most 10 entries.")
    ids = [str(e.get("Id", "")) for e in entries]
    if len(set(ids)) != len(ids):
        raise _error(operation, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Ids must be distinct.")
    if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,80}", i) for i in ids):
        raise _error(operation, "AWS.SimpleQueueService.InvalidBatchEntryId", "Invalid batch entry id.")
