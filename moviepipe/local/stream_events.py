"""Read a DynamoDB stream over its HTTP API and hand out Lambda's DynamoDB-stream events.

This is the reading half of a local stream trigger: :class:`StreamReader` reads the records after a
checkpoint (per shard, the sequence number of the last record handled), converts them to the exact
records Lambda delivers (``Records[*]`` with ``eventID``, ``eventName``, ``dynamodb.NewImage`` ...), and
moves the checkpoint only when told to, so a batch whose handler reported a failure is read again from
the failed record, as Lambda does.

The checkpoint is plain data (``dict`` shard id → sequence number): a caller can keep it across reader
instances or processes. Shard iterators are not kept on purpose: they expire after 15 minutes, sequence
numbers stay valid for as long as the stream keeps the records (24 hours).

Limits: a batch holds records of one shard (as Lambda's do); shards are read parent before child. An
empty GetRecords page is taken as "nothing more for now", which is exact for the embedded AWS and only
approximately true for DynamoDB Streams on AWS.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from moviepipe.runtime.aws import BOTO3_DEFAULTS

#: What Lambda puts in ``eventVersion`` of DynamoDB stream records.
LAMBDA_EVENT_VERSION: Final = "1.1"
EVENT_SOURCE: Final = "aws:dynamodb"
#: Lambda's default batch size for DynamoDB stream triggers.
DEFAULT_BATCH_SIZE: Final = 100
#: GetRecords returns at most 1000 records per call.
_MAX_PAGE: Final = 1000
#: How often a reader re-reads the stream's shard list (Lambda discovers new shards periodically too).
SHARDS_REFRESH_SECONDS: Final = 5.0
#: Errors that mean a kept shard iterator can no longer be used: start again from the checkpoint.
_STALE_ITERATOR: Final = frozenset({"ExpiredIteratorException", "TrimmedDataAccessException"})


def _json_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An AttributeValue as Lambda's JSON carries it: binary values base64-encoded, the rest as is."""
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {kind: base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {kind: [base64.b64encode(item).decode("ascii") for item in inner]}
    if kind == "M":
        return {kind: {name: _json_attribute(item) for name, item in inner.items()}}
    if kind == "L":
        return {kind: [_json_attribute(item) for item in inner]}
    return {kind: inner}


def _json_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _json_attribute(value) for name, value in item.items()}


def _epoch_seconds(value: Any) -> int:
    # Lambda's events carry whole seconds since the epoch (the streams API rounds down to the second).
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def lambda_record(record: Mapping[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """One record of a GetRecords answer (boto3 shape) as Lambda delivers it to a stream trigger."""
    stream = record["dynamodb"]
    converted: dict[str, Any] = {
        "ApproximateCreationDateTime": _epoch_seconds(stream["ApproximateCreationDateTime"]),
        "Keys": _json_item(stream["Keys"]),
        "SequenceNumber": stream["SequenceNumber"],
        "SizeBytes": stream["SizeBytes"],
        "StreamViewType": stream["StreamViewType"],
    }
    for image in ("NewImage", "OldImage"):
        if image in stream:
            converted[image] = _json_item(stream[image])
    out: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": LAMBDA_EVENT_VERSION,
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": converted,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # present for deletions made by TTL
        out["userIdentity"] = record["userIdentity"]
    return out


def region_of(arn: str) -> str:
    return arn.split(":")[3]


@dataclass(frozen=True)
class StreamBatch:
    """Records of one shard, in order, as one Lambda invocation receives them."""

    shard_id: str
    records: list[dict[str, Any]]

    @property
    def event(self) -> dict[str, Any]:
        """The Lambda event for this batch."""
        return {"Records": self.records}

    @property
    def sequence_numbers(self) -> list[str]:
        return [record["dynamodb"]["SequenceNumber"] for record in self.records]


@dataclass
class StreamReader:
    """Reads a DynamoDB stream from a checkpoint the caller controls.

    ``read()`` returns the next batch without moving the checkpoint; ``acknowledge(batch, failed)`` moves
    it past the records handled (all of them, or those before the first failed one).

    Like Lambda's stream poller, it keeps its place between reads instead of asking again each time: the
    shard list is re-read every :data:`SHARDS_REFRESH_SECONDS`, and the iterator a read ended on is used
    for the next read of that shard while the checkpoint is where that read left it (an empty read, or a
    batch acknowledged whole). So a poll of an idle stream is one GetRecords call, not three
    (DescribeStream, GetShardIterator, GetRecords): the local stack polls five times a second, and those
    idle polls were a tenth of its AWS calls in a burst. A partial failure, a checkpoint changed by hand,
    or an expired iterator falls back to a new iterator from the checkpoint, as before.
    """

    stream_arn: str
    #: shard id → sequence number of the last record handled in that shard (reading resumes after it).
    checkpoint: dict[str, str] = field(default_factory=dict)
    client: Any = None
    #: shard id → (the checkpoint it follows, a shard iterator positioned right after that checkpoint).
    _positions: dict[str, tuple[str | None, str]] = field(default_factory=dict, init=False, repr=False)
    #: shard id → (last sequence number of the batch read, the iterator after it), until acknowledged.
    _pending: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)
    _shards: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _shards_read_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = BOTO3_DEFAULTS.dynamodbstreams()
        self.region = region_of(self.stream_arn)

    def shards(self) -> list[dict[str, Any]]:
        """Every shard of the stream, each parent before its children."""
        shards: list[dict[str, Any]] = []
        params: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.client.describe_stream(**params)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return list(_parents_first(shards))
            params["ExclusiveStartShardId"] = last

    def read(self, max_records: int = DEFAULT_BATCH_SIZE) -> StreamBatch | None:
        """The next records after the checkpoint (one shard's, at most ``max_records``), or None."""
        for shard in self._known_shards():
            records = self._read_shard(shard["ShardId"], max_records)
            if records:
                return StreamBatch(shard["ShardId"], records)
        return None

    def acknowledge(self, batch: StreamBatch, first_failed: str | None = None) -> None:
        """Move the checkpoint past what the handler handled: the whole batch, or the records before
        ``first_failed`` (a sequence number from ``batchItemFailures``), which is then read again."""
        pending = self._pending.pop(batch.shard_id, None)
        handled = batch.sequence_numbers
        if first_failed is not None:
            if first_failed not in handled:
                raise ValueError(f"sequence number {first_failed} is not in the batch")
            handled = handled[: handled.index(first_failed)]
        if handled:
            self.checkpoint[batch.shard_id] = handled[-1]
        if first_failed is None and pending is not None and handled and pending[0] == handled[-1]:
            self._positions[batch.shard_id] = (handled[-1], pending[1])

    def _known_shards(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._shards is None or now - self._shards_read_at >= SHARDS_REFRESH_SECONDS:
            self._shards, self._shards_read_at = self.shards(), now
        return self._shards

    def _read_shard(self, shard_id: str, max_records: int) -> list[dict[str, Any]]:
        after = self.checkpoint.get(shard_id)
        kept = self._positions.pop(shard_id, None)
        iterator = kept[1] if kept is not None and kept[0] == after else None
        reused = iterator is not None
        if iterator is None:
            iterator = self._iterator(shard_id, after)
        records: list[dict[str, Any]] = []
        while iterator and len(records) < max_records:
            try:
                page = self.client.get_records(
                    ShardIterator=iterator, Limit=min(_MAX_PAGE, max_records - len(records))
                )
            except ClientError as exc:
                if not reused or exc.response.get("Error", {}).get("Code") not in _STALE_ITERATOR:
                    raise
                iterator, reused = self._iterator(shard_id, after), False  # a kept iterator expired
                continue
            found = page.get("Records") or []
            records.extend(
                lambda_record(record, stream_arn=self.stream_arn, region=self.region) for record in found
            )
            iterator = page.get("NextShardIterator")
            if not found:
                break
        if iterator:
            if records:
                self._pending[shard_id] = (records[-1]["dynamodb"]["SequenceNumber"], iterator)
            else:
                self._positions[shard_id] = (after, iterator)
        return records

    def _iterator(self, shard_id: str, after: str | None) -> str | None:
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator: str | None = self.client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, **position
        ).get("ShardIterator")
        return iterator

    def _lambda_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return lambda_record(record, stream_arn=self.stream_arn, region=self.region)


def _parents_first(shards: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    by_id = {shard["ShardId"]: shard for shard in shards}
    seen: set[str] = set()

    def visit(shard: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if shard["ShardId"] in seen:
            return
        seen.add(shard["ShardId"])
        parent = by_id.get(shard.get("ParentShardId", ""))
        if parent is not None:
            yield from visit(parent)
        yield shard

    for shard in shards:
        yield from visit(shard)
