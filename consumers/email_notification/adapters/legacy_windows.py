"""Where each legacy message's deduplication window starts: one small item per content id.

A legacy message has no event id, only content (see ``movie_events.parsing``). Identical bodies are one
event when their SQS ``SentTimestamp`` lies within ``LEGACY_DEDUP_WINDOW_SECONDS`` of the first copy of
a window, and a new event after it — as SQS FIFO's content-based deduplication works, on the time the
message was sent rather than the time it happens to be processed (a copy held back by retries is still
the duplicate it was when it was sent).

The window start is kept in the idempotency table, beside Powertools' records, under the key
``moviepipe-legacy-window#<content id>``; a conditional ``UpdateItem`` moves it forward only when a copy
was sent after the current window ended, so concurrent copies agree on one start without a lock. The
event id is then derived from the content id and that start
(:func:`movie_events.parsing.legacy_window_event_id`), and the usual idempotency does the rest.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "moviepipe-legacy-window#"


def start_for(current: int, sent_ms: int, window_ms: int) -> int:
    """Given the stored window start ``current`` that the copy did not replace, the start it belongs to.

    Sent within the window (or up to one window *before* its start: a copy held back while a later one
    opened the window) it is that window. Sent earlier still, it belongs to an older window, counted back
    from the current start in whole windows, so the copies of one old change agree with each other.
    """
    if sent_ms >= current - window_ms:
        return current
    windows_back = -(-(current - sent_ms) // window_ms)  # ceiling division
    return current - windows_back * window_ms


class DynamoDbLegacyWindows:
    """:class:`LegacyWindows` in a DynamoDB table with a string partition key ``id`` (the idempotency
    table); items carry ``expiration`` so the table's TTL removes them with the idempotency records."""

    def __init__(self, client: DynamoDBClient, table: str, *, window_seconds: int, ttl_seconds: int) -> None:
        self._client = client
        self._table = table
        self._window_ms = window_seconds * 1000
        self._ttl_seconds = ttl_seconds

    def window_start(self, content_id: str, sent_ms: int) -> int:
        key = {"id": {"S": KEY_PREFIX + content_id}}
        for _ in range(2):  # a second round only if the item vanished (TTL) between the two calls
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET window_start = :sent, expiration = :expiration",
                    ConditionExpression="attribute_not_exists(window_start) OR window_start < :oldest",
                    ExpressionAttributeValues={
                        ":sent": {"N": str(sent_ms)},
                        ":oldest": {"N": str(sent_ms - self._window_ms)},
                        ":expiration": {"N": str(int(time.time()) + self._ttl_seconds)},
                    },
                )
                return sent_ms  # this copy opened a new window
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if item is not None:
                return start_for(int(item["window_start"]["N"]), sent_ms, self._window_ms)
        return sent_ms
