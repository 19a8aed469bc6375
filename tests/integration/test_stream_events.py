"""The stream reader over the embedded AWS: Lambda's record shape, batches, and a checkpoint the caller
keeps (the basis of the local stream trigger)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.provision import provision_movies_table
from moviepipe.local.stream_events import StreamReader, lambda_record
from tests.support import aws as aws_module

pytestmark = pytest.mark.integration

TABLE = "stream-test"


def dynamodb() -> Any:
    # The `aws` fixture shadows the module inside tests; this reaches the module.
    return aws_module.client("dynamodb")


def put(movie_id: str, **extra: dict[str, object]) -> None:
    dynamodb().put_item(TableName=TABLE, Item={"id": {"S": movie_id}, **extra})


def test_records_have_lambdas_shape(aws: EmbeddedAWS) -> None:
    stream_arn = provision_movies_table(TABLE)
    put("a", blob={"B": b"\x00\xff"}, tags={"L": [{"BS": [b"x"]}, {"M": {"n": {"N": "1"}}}]})
    put("a")
    dynamodb().delete_item(TableName=TABLE, Key={"id": {"S": "a"}})

    batch = StreamReader(stream_arn).read()

    assert batch is not None
    insert, modify, remove = batch.records
    assert [r["eventName"] for r in batch.records] == ["INSERT", "MODIFY", "REMOVE"]
    assert set(insert) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert insert["eventSource"] == "aws:dynamodb" and insert["eventSourceARN"] == stream_arn
    assert insert["eventVersion"] == "1.1" and insert["awsRegion"] == "us-east-1"
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int)
    assert insert["dynamodb"]["Keys"] == {"id": {"S": "a"}}
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}  # base64, as Lambda's JSON carries it
    assert insert["dynamodb"]["NewImage"]["tags"] == {"L": [{"BS": ["eA=="]}, {"M": {"n": {"N": "1"}}}]}
    assert "OldImage" not in insert["dynamodb"] and "NewImage" not in remove["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["blob"] == {"B": "AP8="}
    assert insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert batch.event == {"Records": batch.records}


def test_checkpoint_resumes_after_acknowledged_records(aws: EmbeddedAWS) -> None:
    stream_arn = provision_movies_table(TABLE)
    for n in range(7):
        put(f"m{n}")
    reader = StreamReader(stream_arn)

    first = reader.read(max_records=3)
    assert first is not None and len(first.records) == 3
    assert reader.read(max_records=3) == first  # reading does not move the checkpoint
    reader.acknowledge(first)

    second = reader.read(max_records=3)
    assert second is not None
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in second.records] == ["m3", "m4", "m5"]
    reader.acknowledge(second, first_failed=second.sequence_numbers[1])  # m4 failed: m3 is done

    # A new reader given the same checkpoint (plain data) carries on from the failed record.
    resumed = StreamReader(stream_arn, checkpoint=dict(reader.checkpoint))
    rest = resumed.read()
    assert rest is not None
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in rest.records] == ["m4", "m5", "m6"]
    resumed.acknowledge(rest)
    assert resumed.read() is None


def test_acknowledging_a_foreign_sequence_number_is_an_error(aws: EmbeddedAWS) -> None:
    stream_arn = provision_movies_table(TABLE)
    put("m1")
    reader = StreamReader(stream_arn)
    batch = reader.read()
    assert batch is not None
    with pytest.raises(ValueError, match="not in the batch"):
        reader.acknowledge(batch, first_failed="1")


def test_lambda_record_converts_a_boto3_record() -> None:
    converted = lambda_record(
        {
            "eventID": "e1",
            "eventName": "INSERT",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime(2026, 1, 1, 0, 0, 1, 900000, tzinfo=UTC),
                "Keys": {"id": {"S": "x"}},
                "NewImage": {"id": {"S": "x"}},
                "SequenceNumber": "7",
                "SizeBytes": 12,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        },
        stream_arn="arn:aws:dynamodb:eu-west-1:1:table/t/stream/s",
        region="eu-west-1",
    )
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == 1_767_225_601  # whole seconds
    assert converted["awsRegion"] == "eu-west-1" and converted["eventID"] == "e1"


def test_a_reader_keeps_its_place_between_reads(aws: EmbeddedAWS) -> None:
    """Idle polls cost one GetRecords each; new records, a partial failure and a checkpoint changed by
    hand are all still read from the right place."""
    stream_arn = provision_movies_table(TABLE)
    calls: list[str] = []
    client = aws_module.client("dynamodbstreams")
    client.meta.events.register("before-call.dynamodbstreams", lambda model, **_: calls.append(model.name))
    reader = StreamReader(stream_arn, client=client)

    assert reader.read() is None  # the first read describes the stream and gets an iterator
    calls.clear()
    assert reader.read() is None and reader.read() is None
    assert calls == ["GetRecords", "GetRecords"]

    for n in range(4):
        put(f"k{n}")
    batch = reader.read()
    assert batch is not None and [r["dynamodb"]["Keys"]["id"]["S"] for r in batch.records] == [
        "k0",
        "k1",
        "k2",
        "k3",
    ]
    reader.acknowledge(batch, first_failed=batch.sequence_numbers[2])  # k2 failed: read again from it
    again = reader.read()
    assert again is not None and [r["dynamodb"]["Keys"]["id"]["S"] for r in again.records] == ["k2", "k3"]
    reader.acknowledge(again)
    calls.clear()
    assert reader.read() is None and calls == ["GetRecords"]  # acknowledged whole: the place is kept

    reader.checkpoint.clear()  # moved by hand: the kept place no longer applies
    replay = reader.read()
    assert replay is not None and len(replay.records) == 4
