"""Reading queues in tests."""

from __future__ import annotations

from typing import Any

from tests.support import aws


def drain(queue_url: str, *, expected: int | None = None, max_empty_polls: int = 2) -> list[dict[str, Any]]:
    """Receive (and delete) every message on the queue; returns them with attributes.

    Stops after ``expected`` messages, or after ``max_empty_polls`` consecutive empty receives.
    """
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    empty = 0
    while empty < max_empty_polls and (expected is None or len(messages) < expected):
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        )
        batch = response.get("Messages", [])
        if not batch:
            empty += 1
            continue
        empty = 0
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages
