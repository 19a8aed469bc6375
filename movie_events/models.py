"""Typed movie events in a CloudEvents 1.0 structured-JSON envelope.

This is the single source of truth for the event schema: producers build these models, consumers parse
into them, and ``docs/schemas/*.json`` is generated from them. Rules, and why:

* Unknown fields are kept, not rejected (``extra="allow"``): a producer may add a field before every
  consumer knows it, and a consumer must not dead-letter such events.
* Required fields and types are strict (no ``"8.3"`` for a rating, no ``true`` for a string): a wrong
  type is a producer bug that should surface at once, not be coerced into a wrong email.
* ``id`` is unique per event; consumers use it as their idempotency key.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal, Self, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from movie_events.fields import MAX_GENRES as MAX_GENRES
from movie_events.fields import MAX_ID_LENGTH as MAX_ID_LENGTH
from movie_events.fields import MAX_TITLE_LENGTH as MAX_TITLE_LENGTH
from movie_events.fields import EventId as EventId
from movie_events.fields import Genre as Genre
from movie_events.fields import Genres as Genres
from movie_events.fields import MovieId as MovieId
from movie_events.fields import Rating as Rating
from movie_events.fields import Source as Source
from movie_events.fields import Title as Title

SPEC_VERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
DEFAULT_SOURCE = "urn:moviepipe:producer"


class _Open(BaseModel):
    """Base for payloads: tolerant of unknown fields, strict on the known ones.

    ``defer_build``: validators are built on first use, not at import — a process that defines the
    models but validates no event does not pay for building them (one that needs only the field types,
    like the movies API, imports :mod:`movie_events.fields` and never defines them). A multi-threaded user calls
    :func:`build_models` first, from one thread: pydantic's deferred build is not thread-safe in every
    version (pydantic#11849, #13419).
    """

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class MovieData(_Open):
    """A movie as carried by MovieCreated and MovieUpdated."""

    id: MovieId
    title: Title
    rating: Rating
    genres: Genres


class PreviousMovieValues(_Open):
    """The values a MovieUpdated changed, before the change (only the fields that changed)."""

    title: Title | None = None
    rating: Rating | None = None
    genres: Genres | None = None


class MovieUpdatedData(MovieData):
    previous: PreviousMovieValues | None = None


class MovieDeletedData(_Open):
    id: MovieId
    title: Title | None = None


#: Envelope attributes a message on the wire must carry. The models give producers defaults for some of
#: them (a fresh UUID, the current time), but a *received* event missing one is invalid: inventing an id
#: on receipt would defeat idempotency.
REQUIRED_ON_THE_WIRE: Final = ("specversion", "id", "source", "type", "time", "data")

EventType: TypeAlias = Literal["MovieCreated", "MovieUpdated", "MovieDeleted"]

#: Name of the message attribute that carries the event type (SNS and SQS alike). Defined here, with the
#: envelope, so that a producer sets it without loading the parser (:mod:`movie_events.parsing`).
TYPE_ATTRIBUTE: Final = "Type"


class _CloudEvent(BaseModel):
    """CloudEvents 1.0 structured-mode envelope shared by all movie events."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    event_type: ClassVar[EventType]

    specversion: Literal["1.0"] = "1.0"
    id: EventId = Field(default_factory=lambda: str(uuid.uuid4()))
    source: Source = DEFAULT_SOURCE
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: MovieId | None = None
    datacontenttype: Literal["application/json"] = "application/json"

    @field_serializer("time")
    def _rfc3339(self, value: datetime) -> str:
        text = value.astimezone(UTC).isoformat()
        return text.replace("+00:00", "Z")

    @model_validator(mode="before")
    @classmethod
    def _default_subject(cls, values: Any) -> Any:
        # The subject is the movie id; fill it from data so producers need not repeat it.
        if isinstance(values, dict) and values.get("subject") is None:
            data = values.get("data")
            movie_id = data.get("id") if isinstance(data, dict) else getattr(data, "id", None)
            if movie_id is not None:
                values = {**values, "subject": movie_id}
        return values

    @model_validator(mode="after")
    def _subject_matches_data(self) -> Self:
        movie_id = getattr(getattr(self, "data", None), "id", None)
        if self.subject != movie_id:
            raise ValueError(f"subject {self.subject!r} does not match data.id {movie_id!r}")
        return self

    @property
    def movie_id(self) -> str:
        return str(self.subject)

    def to_json(self) -> str:
        """The exact bytes that go on the wire (CloudEvents structured JSON)."""
        return self.model_dump_json(exclude_none=True)


class MovieCreated(_CloudEvent):
    event_type: ClassVar[EventType] = "MovieCreated"
    type: Literal["MovieCreated"] = "MovieCreated"
    data: MovieData


class MovieUpdated(_CloudEvent):
    event_type: ClassVar[EventType] = "MovieUpdated"
    type: Literal["MovieUpdated"] = "MovieUpdated"
    data: MovieUpdatedData


class MovieDeleted(_CloudEvent):
    event_type: ClassVar[EventType] = "MovieDeleted"
    type: Literal["MovieDeleted"] = "MovieDeleted"
    data: MovieDeletedData


MovieEvent: TypeAlias = MovieCreated | MovieUpdated | MovieDeleted

EVENT_CLASSES: dict[str, type[MovieCreated] | type[MovieUpdated] | type[MovieDeleted]] = {
    cls.event_type: cls for cls in (MovieCreated, MovieUpdated, MovieDeleted)
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CLASSES)


_build_lock = threading.Lock()


def build_models() -> None:
    """Build every deferred model of the contract now (idempotent, thread-safe: serialised here).

    Call it once before validating events from several threads (the email consumer does, when it is
    built), so that no two threads ever run pydantic's deferred build of one model at the same time.
    """
    with _build_lock:
        for model in (
            MovieData,
            PreviousMovieValues,
            MovieUpdatedData,
            MovieDeletedData,
            *EVENT_CLASSES.values(),
        ):
            if not model.__pydantic_complete__:
                model.model_rebuild()
