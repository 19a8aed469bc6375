"""The AWS side of the DLQ tools, behind one small class: every call the tools make, and nothing else.

Batch calls return what failed *per entry* (SQS and SNS batch calls succeed as a whole while failing
some entries); a failed call raises :class:`AwsError`. Tests swap this for a stub to drive decisions the
embedded AWS cannot (a working StartMessageMoveTask).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from moviepipe.dlq.messages import SYSTEM_ATTRIBUTES, DeadLetter
from moviepipe.runtime.aws import BOTO3_DEFAULTS, Clients, describe_error

#: Error codes meaning "this endpoint has no such API" (moto, older regions, the local stack's answer).
UNSUPPORTED_CODES = frozenset(
    {
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        "InvalidAction",
        "NotImplemented",
        "UnknownOperationException",
    }
)
NOT_FOUND_CODES = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound", "ResourceNotFoundException"}
)


class AwsError(RuntimeError):
    """An AWS call failed as a whole; the message is one line: ``Operation: Code: message``."""

    def __init__(self, operation: str, exc: BaseException) -> None:
        self.code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
        super().__init__(f"{operation}: {describe_error(exc)}")

    @property
    def unsupported(self) -> bool:
        return self.code in UNSUPPORTED_CODES

    @property
    def not_found(self) -> bool:
        return self.code in NOT_FOUND_CODES


class Queues:
    """SQS and SNS for the DLQ tools. One instance is shared by the worker threads (boto3 clients are
    thread-safe)."""

    def __init__(self, sqs: Any = None, sns: Any = None, *, clients: Clients | None = None) -> None:
        self._clients = clients or BOTO3_DEFAULTS
        self._sqs = sqs or self._clients.sqs()
        self._sns = sns

    @property
    def sns(self) -> Any:
        if self._sns is None:
            self._sns = self._clients.sns()
        return self._sns

    def _call(self, operation: str, fn: Any, **params: Any) -> Any:
        try:
            return fn(**params)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError(operation, exc) from exc

    # -- queues ------------------------------------------------------------------------------------
    def resolve(self, queue: str) -> str:
        """A queue URL from a URL, an ARN or a name."""
        if queue.startswith(("https://", "http://")):
            return queue
        params: dict[str, str] = {"QueueName": queue}
        if queue.startswith("arn:"):
            parts = queue.split(":")
            if len(parts) != 6 or not parts[5]:
                raise ValueError(f"not an SQS queue ARN: {queue!r}")
            params = {"QueueName": parts[5], "QueueOwnerAWSAccountId": parts[4]}
        return str(self._call("GetQueueUrl", self._sqs.get_queue_url, **params)["QueueUrl"])

    def attributes(self, url: str) -> dict[str, str]:
        response = self._call(
            "GetQueueAttributes", self._sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"]
        )
        return {k: str(v) for k, v in response.get("Attributes", {}).items()}

    def source_queues(self, url: str) -> list[str]:
        """The queues whose redrive policy names this DLQ (ListDeadLetterSourceQueues, every page)."""
        urls: list[str] = []
        params: dict[str, Any] = {"QueueUrl": url, "MaxResults": 1000}
        while True:
            response = self._call(
                "ListDeadLetterSourceQueues", self._sqs.list_dead_letter_source_queues, **params
            )
            urls.extend(response.get("queueUrls", []))
            token = response.get("NextToken")
            if not token:
                return urls
            params["NextToken"] = token

    def receive(self, url: str, max_messages: int, visibility: int, wait_seconds: int) -> list[DeadLetter]:
        response = self._call(
            "ReceiveMessage",
            self._sqs.receive_message,
            QueueUrl=url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=visibility,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=list(SYSTEM_ATTRIBUTES),
        )
        return [DeadLetter.from_sqs(m) for m in response.get("Messages", [])]

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """SendMessageBatch (at most 10 entries); returns ``{entry Id: reason}`` for each failed entry.
        An entry SQS neither lists as successful nor as failed counts as failed."""
        response = self._call("SendMessageBatch", self._sqs.send_message_batch, QueueUrl=url, Entries=entries)
        return _batch_failures(entries, response)

    def delete_batch(self, url: str, receipts: Mapping[str, str]) -> dict[str, str]:
        """DeleteMessageBatch by ``{entry Id: receipt handle}``; returns the failed ones with reasons."""
        return self._by_tens(url, receipts, "DeleteMessageBatch", self._sqs.delete_message_batch, {})

    def change_visibility(self, url: str, receipts: Mapping[str, str], seconds: int) -> dict[str, str]:
        """ChangeMessageVisibilityBatch for many messages (in calls of ten)."""
        return self._by_tens(
            url,
            receipts,
            "ChangeMessageVisibilityBatch",
            self._sqs.change_message_visibility_batch,
            {"VisibilityTimeout": seconds},
        )

    def _by_tens(
        self, url: str, receipts: Mapping[str, str], operation: str, fn: Any, extra: dict[str, Any]
    ) -> dict[str, str]:
        failed: dict[str, str] = {}
        items = list(receipts.items())
        for start in range(0, len(items), 10):
            entries = [
                {"Id": entry_id, "ReceiptHandle": h, **extra} for entry_id, h in items[start : start + 10]
            ]
            try:
                response = self._call(operation, fn, QueueUrl=url, Entries=entries)
            except AwsError as exc:
                failed.update({e["Id"]: str(exc) for e in entries})
                continue
            failed.update(_batch_failures(entries, response))
        return failed

    def send(self, url: str, params: Mapping[str, Any]) -> str:
        return str(self._call("SendMessage", self._sqs.send_message, QueueUrl=url, **params)["MessageId"])

    # -- SNS ----------------------------------------------------------------------------------------
    def publish_batch(self, topic_arn: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        response = self._call(
            "PublishBatch", self.sns.publish_batch, TopicArn=topic_arn, PublishBatchRequestEntries=entries
        )
        return _batch_failures(entries, response)

    # -- AWS's own redrive ------------------------------------------------------------------------------
    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        params: dict[str, Any] = {"SourceArn": source_arn}
        if destination_arn:
            params["DestinationArn"] = destination_arn
        if rate:
            params["MaxNumberOfMessagesPerSecond"] = rate
        return str(
            self._call("StartMessageMoveTask", self._sqs.start_message_move_task, **params)["TaskHandle"]
        )

    def list_move_tasks(self, source_arn: str) -> list[dict[str, Any]]:
        response = self._call(
            "ListMessageMoveTasks", self._sqs.list_message_move_tasks, SourceArn=source_arn, MaxResults=10
        )
        return [dict(task) for task in response.get("Results", [])]

    def cancel_move_task(self, task_handle: str) -> int:
        response = self._call(
            "CancelMessageMoveTask", self._sqs.cancel_message_move_task, TaskHandle=task_handle
        )
        return int(response.get("ApproximateNumberOfMessagesMoved", 0))


def _batch_failures(entries: Iterable[Mapping[str, Any]], response: Mapping[str, Any]) -> dict[str, str]:
    ids = [str(entry["Id"]) for entry in entries]
    succeeded = {str(item.get("Id")) for item in response.get("Successful", []) or []}
    failed = {
        str(item.get("Id")): f"{item.get('Code', 'Failed')}: {item.get('Message', '')}".rstrip(": ")
        for item in response.get("Failed", []) or []
    }
    for entry_id in ids:
        if entry_id not in succeeded and entry_id not in failed:
            failed[entry_id] = "not reported as successful"
    return {entry_id: failed[entry_id] for entry_id in ids if entry_id in failed}
