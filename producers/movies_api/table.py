"""The Movies table: every read and conditional write the API makes, and nothing else.

Items are ``{id: S, title: S, rating: N, genres: L<S>, version: N}``. ``version`` starts at 1 and grows by
one with every write; it is the optimistic-concurrency token (the API's ETag). Every write is conditional,
so two writers that read the same version cannot both succeed: DynamoDB decides, atomically, which of
them wins, and the loser learns the version that beat it.

Writes are single-item and the table's stream (NEW_AND_OLD_IMAGES) is the outbox: a write that succeeds
is, by that fact alone, a change the relay will publish. Nothing here talks to SNS.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from movie_events.models import MovieId
from producers.movies_api.models import Movie, MovieFields
from producers.movies_api.preconditions import IfMatch

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_MOVIE_ID: TypeAdapter[str] = TypeAdapter(MovieId)


class MovieNotFoundError(LookupError):
    def __init__(self, movie_id: str) -> None:
        self.movie_id = movie_id
        super().__init__(f"movie {movie_id!r} does not exist")


class MovieExistsError(RuntimeError):
    """A create found the id taken."""

    def __init__(self, current: Movie) -> None:
        self.current = current
        super().__init__(f"movie {current.id!r} already exists (version {current.version})")


class VersionMismatchError(RuntimeError):
    """A conditional replace or delete found the movie at a version the caller did not expect."""

    def __init__(self, current: Movie, expected: IfMatch) -> None:
        self.current = current
        self.expected = expected
        super().__init__(
            f"movie {current.id!r} is at version {current.version}, not {expected.describe()}; "
            "read it again and retry with its current ETag"
        )


class InvalidPageTokenError(ValueError):
    """A ``next_token`` this table did not hand out."""


@dataclass(frozen=True)
class Page:
    items: list[Movie]
    next_token: str | None


def to_item(movie: Movie) -> dict[str, Any]:
    """The DynamoDB item (AttributeValue form) for a movie."""
    plain = movie.model_dump()
    # DynamoDB numbers are decimals; repr() is the shortest text that reads back as the same float.
    plain["rating"] = Decimal(repr(float(movie.rating)))
    return {name: _serializer.serialize(value) for name, value in plain.items()}


def from_item(item: Mapping[str, Any]) -> Movie:
    """A movie from a DynamoDB item in AttributeValue form."""
    return movie_from_plain({name: _deserializer.deserialize(value) for name, value in item.items()})


def movie_from_plain(plain: Mapping[str, Any]) -> Movie:
    """A movie from a deserialized item (numbers as Decimal), such as a stream image."""
    return Movie(
        id=plain["id"],
        title=plain["title"],
        rating=float(plain["rating"]),
        genres=list(plain.get("genres", [])),
        version=int(plain["version"]),
    )


class MoviesTable:
    """Data access for the Movies table (partition key ``id``), through a boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self._client = client

    def get(self, movie_id: str) -> Movie:
        response = self._client.get_item(
            TableName=self.table_name, Key=self._key(movie_id), ConsistentRead=True
        )
        if "Item" not in response:
            raise MovieNotFoundError(movie_id)
        return from_item(response["Item"])

    def create(self, movie_id: str, fields: MovieFields) -> Movie:
        """Store a new movie at version 1; :class:`MovieExistsError` if the id is taken."""
        movie = Movie(id=movie_id, version=1, **fields.model_dump())
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=to_item(movie),
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            raise MovieExistsError(self._existing(exc, movie_id)) from exc
        return movie

    def replace(self, movie_id: str, fields: MovieFields, expected: IfMatch) -> Movie:
        """Replace the movie's fields if its version satisfies ``expected``; the result has version + 1."""
        condition, values = self._version_condition(expected)
        names = {"#title": "title", "#rating": "rating", "#genres": "genres", "#version": "version"}
        draft = Movie(id=movie_id, version=1, **fields.model_dump())
        item = to_item(draft)
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key=self._key(movie_id),
                UpdateExpression="SET #title = :title, #rating = :rating, #genres = :genres "
                "ADD #version :one",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":title": item["title"],
                    ":rating": item["rating"],
                    ":genres": item["genres"],
                    ":one": {"N": "1"},
                    **values,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            raise VersionMismatchError(self._existing(exc, movie_id), expected) from exc
        return from_item(response["Attributes"])

    def delete(self, movie_id: str, expected: IfMatch) -> Movie:
        """Delete the movie if its version satisfies ``expected``; returns what was deleted."""
        condition, values = self._version_condition(expected)
        try:
            response = self._client.delete_item(
                TableName=self.table_name,
                Key=self._key(movie_id),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#version": "version"},
                **({"ExpressionAttributeValues": values} if values else {}),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            raise VersionMismatchError(self._existing(exc, movie_id), expected) from exc
        return from_item(response["Attributes"])

    def page(self, limit: int, token: str | None = None) -> Page:
        """Up to ``limit`` movies in the table's own (hash) order, and the token for the next page."""
        params: dict[str, Any] = {"TableName": self.table_name, "Limit": limit + 1, "ConsistentRead": True}
        if token is not None:
            params["ExclusiveStartKey"] = self._key(decode_page_token(token))
        response = self._client.scan(**params)
        items = [from_item(item) for item in response.get("Items", [])]
        # Asking for one more than the page holds tells whether another page exists, so the last page
        # carries no token (DynamoDB alone would hand out a token that leads to an empty page).
        if len(items) > limit:
            return Page(items[:limit], encode_page_token(items[limit - 1].id))
        last_key = response.get("LastEvaluatedKey")
        next_token = encode_page_token(_deserializer.deserialize(last_key["id"])) if last_key else None
        return Page(items, next_token)

    def _existing(self, exc: ClientError, movie_id: str) -> Movie:
        """The item a failed conditional write met, or the reason it failed if not a condition."""
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise exc
        old: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
        if not old:
            raise MovieNotFoundError(movie_id) from exc
        return from_item(old)

    @staticmethod
    def _version_condition(expected: IfMatch) -> tuple[str, dict[str, Any]]:
        if expected.any_version:
            return "attribute_exists(#version)", {}
        if not expected.versions:
            # Only tags this API never hands out (weak ones, say): nothing can match, but the write still
            # has to be attempted to learn whether the movie exists (404) or not (412).
            return "attribute_exists(#version) AND attribute_not_exists(#version)", {}
        placeholders = {f":v{i}": {"N": str(version)} for i, version in enumerate(expected.versions)}
        return f"#version IN ({', '.join(placeholders)})", placeholders

    @staticmethod
    def _key(movie_id: str) -> dict[str, Any]:
        return {"id": {"S": movie_id}}


# Page tokens are opaque to clients: base64url of the last key seen. Nothing is signed: a forged token
# only starts the scan somewhere else in the same table, which any client may read in full anyway.
def encode_page_token(movie_id: str) -> str:
    raw = json.dumps({"id": movie_id}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw.decode("utf-8"))
        return _MOVIE_ID.validate_python(document["id"])
    except (ValueError, TypeError, KeyError) as exc:  # binascii.Error and ValidationError are ValueErrors
        raise InvalidPageTokenError("next_token is not a token this API handed out") from exc
