"""The movies API's request and response bodies.

Field rules come from the event contract (:mod:`movie_events.models`): a movie the API accepts is exactly
a movie the relay can put into an event, so the outbox never meets a row it cannot publish.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from movie_events.fields import Genres, MovieId, Rating, Title
from producers.movies_api.preconditions import MAX_VERSION

#: Page sizes GET /movies accepts; 100 keeps one page well inside DynamoDB's 1 MB scan page.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


#: DynamoDB's smallest non-zero number (its Number type underflows below it).
SMALLEST_STORABLE_NUMBER = 1e-130


def _storable(rating: float) -> float:
    # The contract allows any number from 0 to 10; the table cannot hold 1e-300. Refusing it here gives
    # the client a 422 that says why, instead of the write failing inside DynamoDB.
    if 0 < rating < SMALLEST_STORABLE_NUMBER:
        raise ValueError(f"must be 0 or at least {SMALLEST_STORABLE_NUMBER:g} (the table cannot store it)")
    return rating


def _utf8(value: str) -> str:
    # JSON can spell an unpaired surrogate ("\ud800"); no UTF-8 text, hence no table item and no event,
    # can hold one. (The contract's Text type lets it through: reported to its owners.)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text (it holds an unpaired surrogate)") from exc
    return value


def _utf8_all(values: list[str]) -> list[str]:
    for value in values:
        _utf8(value)
    return values


#: The contract's text rules (not blank, no control characters) as a JSON-schema pattern, so that the
#: OpenAPI document tells clients (and schemathesis' generator) the real rules. Only the document uses
#: it: validation stays with the contract's own validators.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_TEXT_SCHEMA = Field(json_schema_extra={"pattern": TEXT_PATTERN})

StorableRating = Annotated[
    Rating,
    AfterValidator(_storable),
    Field(json_schema_extra={"not": {"exclusiveMinimum": 0, "exclusiveMaximum": SMALLEST_STORABLE_NUMBER}}),
]
StorableTitle = Annotated[Title, AfterValidator(_utf8), _TEXT_SCHEMA]


def _genre_pattern(schema: dict[str, Any]) -> None:
    schema["items"]["pattern"] = TEXT_PATTERN


StorableGenres = Annotated[Genres, AfterValidator(_utf8_all), Field(json_schema_extra=_genre_pattern)]
ApiMovieId = Annotated[MovieId, _TEXT_SCHEMA]


class MovieFields(BaseModel):
    """What a client sends to create or replace a movie (POST, PUT)."""

    # Unknown fields are refused: a misspelt "raiting" must not be stored as a silent no-op.
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: StorableTitle
    rating: StorableRating
    genres: StorableGenres = Field(default_factory=list)


#: A movie's version: 1 on creation, +1 on every write; 0 for an item stored without one.
Version = Annotated[int, Field(strict=True, ge=0, le=MAX_VERSION)]


class Movie(MovieFields):
    """A stored movie. ``version`` is the same number the ETag header carries (quoted).

    Version 0 is an item written without a ``version`` attribute (by the reference design's service, or
    by hand): it reads as version 0 and its first write through this API makes it version 1.
    """

    id: ApiMovieId
    version: Version


class MovieReplacement(MovieFields):
    """What a client sends to PUT: the movie's fields, or the whole movie as GET returned it.

    ``id``, if present, must be the id in the path. ``version``, if present, is a precondition like an
    If-Match naming that version: a GET body PUT back unchanged replaces exactly the version it read.
    """

    id: ApiMovieId | None = None
    version: Version | None = None

    def fields(self) -> MovieFields:
        return MovieFields(title=self.title, rating=self.rating, genres=self.genres)


class MoviePage(BaseModel):
    """One page of GET /movies. Pass ``next_token`` back to get the next page; null on the last one."""

    model_config = ConfigDict(extra="forbid")

    items: list[Movie]
    next_token: str | None = None


class ErrorDetail(BaseModel):
    """One problem with the request: where (``body.rating``, ``query.limit``, ...) and what."""

    location: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx answer: a machine-readable ``error`` code and a sentence saying what is wrong."""

    error: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
