"""One DynamoDB stream record → at most one movie event. Pure: no I/O, same record, same event.

* INSERT → MovieCreated; REMOVE → MovieDeleted (id and title, from the old image);
* MODIFY → MovieUpdated with ``previous`` holding the old values of the fields that changed, or nothing
  at all when no visible field changed (a write that only bumped ``version``).

The event id is a UUIDv5 of the record's ``eventID``, which DynamoDB Streams assigns once per change and
repeats on every redelivery: a retried batch re-publishes the same ids, and consumers deduplicate them.
The event time is the change's ``ApproximateCreationDateTime``, not the time of publishing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from movie_events.models import MovieCreated, MovieDeleted, MovieEvent, MovieUpdated

#: Namespace of event ids derived from stream records. Never change it: every record redelivered after
#: the change would get a new id and reach consumers a second time.
STREAM_EVENT_NAMESPACE: Final = uuid.UUID("0d5a6f0e-3c41-4b7e-9a53-6a3f1b2e8c71")
EVENT_SOURCE: Final = "urn:moviepipe:movies-api"

#: The attributes a consumer sees; ``version`` (the concurrency token) is not one of them.
VISIBLE_FIELDS: Final = ("title", "rating", "genres")


class UntranslatableRecordError(ValueError):
    """A stream record that cannot become an event (not a Movies table record, or an image missing)."""


def event_id(record: DynamoDBRecord) -> str:
    if not record.event_id:
        raise UntranslatableRecordError("stream record has no eventID")
    return str(uuid.uuid5(STREAM_EVENT_NAMESPACE, record.event_id))


def change_time(record: DynamoDBRecord) -> datetime:
    raw = record.dynamodb.get("ApproximateCreationDateTime") if record.dynamodb else None
    if raw is None:
        raise UntranslatableRecordError(f"stream record {record.event_id} has no ApproximateCreationDateTime")
    return datetime.fromtimestamp(float(raw), UTC)


def _movie(image: dict[str, Any]) -> dict[str, Any]:
    """The event's view of a table item: DynamoDB's Decimal rating as the contract's number."""
    genres = image.get("genres") or []
    # The reference design's items may hold genres as a string set, which has no order: sorted, so every
    # redelivery of the record yields the same event (consumers compare a duplicate's data).
    genres = sorted(genres) if isinstance(genres, set | frozenset) else list(genres)
    movie = {"id": image.get("id"), "title": image.get("title"), "genres": genres}
    rating = image.get("rating")
    movie["rating"] = float(rating) if rating is not None else None
    return movie


def to_event(record: DynamoDBRecord) -> MovieEvent | None:
    """The event for one stream record, or None when the change is invisible to consumers.

    Raises :class:`UntranslatableRecordError`, or pydantic's ValidationError for an item that breaks the
    event contract (written around the API): the record then fails rather than vanish.
    """
    stream = record.dynamodb
    if stream is None:
        raise UntranslatableRecordError(f"stream record {record.event_id} has no dynamodb section")
    envelope: dict[str, Any] = {"id": event_id(record), "time": change_time(record), "source": EVENT_SOURCE}
    name = record.event_name
    if name is DynamoDBRecordEventName.INSERT:
        return MovieCreated(**envelope, data=_movie(_image(stream.new_image, "NewImage", record)))
    if name is DynamoDBRecordEventName.REMOVE:
        old = _image(stream.old_image, "OldImage", record)
        return MovieDeleted(**envelope, data={"id": old.get("id"), "title": old.get("title")})
    if name is DynamoDBRecordEventName.MODIFY:
        new = _movie(_image(stream.new_image, "NewImage", record))
        old = _movie(_image(stream.old_image, "OldImage", record))
        changed = {field: old[field] for field in VISIBLE_FIELDS if old[field] != new[field]}
        if not changed:
            return None
        return MovieUpdated(**envelope, data={**new, "previous": changed})
    raise UntranslatableRecordError(f"stream record {record.event_id} has unknown eventName {name}")


def _image(image: dict[str, Any], name: str, record: DynamoDBRecord) -> dict[str, Any]:
    # An empty image means the stream is not NEW_AND_OLD_IMAGES: a deployment error worth stopping for.
    if not image:
        raise UntranslatableRecordError(
            f"record {record.event_id} has no {name}: the stream must be NEW_AND_OLD_IMAGES"
        )
    return image
