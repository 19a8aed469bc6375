"""Stream record → event, on records in the exact shape Lambda delivers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pydantic import ValidationError

from movie_events import MovieCreated, MovieDeleted, MovieUpdated
from producers.outbox_relay.translate import STREAM_EVENT_NAMESPACE, UntranslatableRecordError, to_event

WHEN = 1_763_800_000


def image(title: str = "Alien", rating: str = "8.5", genres: tuple[str, ...] = ("Horror",), version: int = 1):
    return {
        "id": {"S": "m1"},
        "title": {"S": title},
        "rating": {"N": rating},
        "genres": {"L": [{"S": g} for g in genres]},
        "version": {"N": str(version)},
    }


def record(name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> DynamoDBRecord:
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": WHEN,
        "Keys": {"id": {"S": "m1"}},
        "SequenceNumber": "100",
        "SizeBytes": 10,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    return DynamoDBRecord(
        {
            "eventID": "c81e728d9d4c2f636f067f89cc14862c",
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": stream,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/moviepipe-movies/stream/x",
        }
    )


def test_insert_is_movie_created_with_id_and_time_from_the_record() -> None:
    event = to_event(record("INSERT", new=image()))
    assert isinstance(event, MovieCreated)
    assert event.data.model_dump() == {"id": "m1", "title": "Alien", "rating": 8.5, "genres": ["Horror"]}
    assert event.id == str(uuid.uuid5(STREAM_EVENT_NAMESPACE, "c81e728d9d4c2f636f067f89cc14862c"))
    assert event.time == datetime.fromtimestamp(WHEN, UTC) and event.subject == "m1"


def test_same_record_same_event() -> None:
    one, two = (to_event(record("INSERT", new=image())) for _ in range(2))
    assert one is not None and two is not None and one.to_json() == two.to_json()


def test_modify_carries_previous_values_of_changed_fields_only() -> None:
    event = to_event(record("MODIFY", new=image(rating="9", version=2), old=image()))
    assert isinstance(event, MovieUpdated)
    assert event.data.rating == 9.0 and event.data.previous is not None
    assert event.data.previous.model_dump(exclude_none=True) == {"rating": 8.5}


def test_modify_of_version_only_emits_nothing() -> None:
    assert to_event(record("MODIFY", new=image(version=2), old=image())) is None


def test_genre_order_is_a_visible_change() -> None:
    event = to_event(record("MODIFY", new=image(genres=("b", "a")), old=image(genres=("a", "b"))))
    assert isinstance(event, MovieUpdated) and event.data.previous is not None
    assert event.data.previous.genres == ["a", "b"]


def test_remove_is_movie_deleted_with_title() -> None:
    event = to_event(record("REMOVE", old=image()))
    assert isinstance(event, MovieDeleted)
    assert event.data.model_dump() == {"id": "m1", "title": "Alien"}


@pytest.mark.parametrize(
    ("name", "new", "old"),
    [("INSERT", None, None), ("MODIFY", image(), None), ("REMOVE", None, None)],
)
def test_missing_images_fail_loudly(name: str, new: Any, old: Any) -> None:
    with pytest.raises(UntranslatableRecordError, match="NEW_AND_OLD_IMAGES"):
        to_event(record(name, new=new, old=old))


def test_item_breaking_the_contract_fails_the_record() -> None:
    with pytest.raises(ValidationError, match="rating"):
        to_event(record("INSERT", new=image(rating="11")))
