"""The Movies table: every read and conditional write the API makes, and nothing else.

Items are ``{id: S, title: S, rating: N, genres: L<S>, version: N}``. ``version`` starts at 1 and grows by
one with every write; it is the optimistic-concurrency token (the API's ETag). A conditional write (one
with If-Match) is checked by DynamoDB in the same atomic step as the write, so two writers that read the
same version cannot both succeed, and the loser learns the version that beat it. An unconditional
PUT replaces (an ``UpdateItem`` that adds 1 to the version) or creates: however many race, each gets its
own version number and the last one wins, as the reference design's clients expect.

Items written by the reference design's service have no ``version`` (and may hold genres as a string
set, or attributes this API does not know): they read as version 0, their first write here makes them
version 1, and attributes the API does not know are left alone.

Writes are single-item and the table's stream (NEW_AND_OLD_IMAGES) is the outbox: a write that succeeds
is, by that fact alone, a change the relay will publish. Nothing here talks to SNS.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import TypeAdapter, ValidationError

from movie_events.errors import describe_validation_errors
from movie_events.fields import MovieId
from producers.movies_api.models import Movie, MovieFields
from producers.movies_api.preconditions import IfMatch

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_MOVIE_ID: TypeAdapter[str] = TypeAdapter(MovieId)


class MovieNotFoundError(LookupError):
    def __init__(self, movie_id: str) -> None:
        self.movie_id = movie_id
        super().__init__(f"movie {movie_id!r} does not exist")


class MovieExistsError(RuntimeError):
    """A create-only write (strict mode's PUT without If-Match) found the id taken."""

    def __init__(self, movie_id: str, current_version: int) -> None:
        self.movie_id = movie_id
        self.current_version = current_version
        super().__init__(f"movie {movie_id!r} already exists (version {current_version})")


class VersionMismatchError(RuntimeError):
    """A conditional replace or delete found the movie at a version the caller did not expect."""

    def __init__(self, movie_id: str, current_version: int, expected: IfMatch) -> None:
        self.movie_id = movie_id
        self.current_version = current_version
        self.expected = expected
        super().__init__(
            f"movie {movie_id!r} is at version {current_version}, not {expected.describe()}; "
            "read it again and retry with its current ETag"
        )


class UnreadableMovieError(RuntimeError):
    """A stored item that is not a movie even read leniently (written around the API, breaking the
    contract): the server's data is wrong, not the request, and the message says which item and why."""

    def __init__(self, movie_id: object, problems: list[str]) -> None:
        self.movie_id = movie_id
        self.problems = problems
        super().__init__(f"the stored item {movie_id!r} is not a valid movie: " + "; ".join(problems))


class InvalidPageTokenError(ValueError):
    """A ``next_token`` this table did not hand out."""


@dataclass(frozen=True)
class Page:
    items: list[Movie]
    next_token: str | None


@dataclass(frozen=True)
class Written:
    """The result of a create-or-replace: the movie as stored, and whether the write created it."""

    movie: Movie
    created: bool


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
    """A movie from a deserialized item (numbers as Decimal), read leniently: no ``version`` is version
    0, genres may be a list or a string set (sorted, as a set has no order), a rating may be a number or
    its text, and attributes the API does not know are ignored. What still breaks the contract raises
    :class:`UnreadableMovieError`."""
    try:
        return Movie(
            id=plain.get("id"),
            title=plain.get("title"),
            rating=_number(plain.get("rating")),
            genres=_genres(plain.get("genres")),
            version=_version(plain.get("version")),
        )
    except ValidationError as exc:
        raise UnreadableMovieError(plain.get("id"), describe_validation_errors(exc.errors())) from None


def _number(value: Any) -> Any:
    if isinstance(value, Decimal | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _genres(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return list(value) if isinstance(value, list | tuple) else value


def _version(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def stored_version(item: Mapping[str, Any] | None) -> int:
    """The version of an item in AttributeValue form, without reading the rest of it (0 if absent)."""
    attribute = (item or {}).get("version")
    if not isinstance(attribute, Mapping) or "N" not in attribute:
        return 0
    try:
        return int(Decimal(attribute["N"]))
    except (ArithmeticError, ValueError, TypeError):
        return 0


class MoviesTable:
    """Data access for the Movies table (partition key ``id``), through a boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
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
        movie = Movie(id=movie_id, version=1, **_plain_fields(fields))
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=to_item(movie),
                ConditionExpression="attribute_not_exists(id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            raise MovieExistsError(movie_id, stored_version(self._failed_item(exc, movie_id))) from exc
        return movie

    def put(self, movie_id: str, fields: MovieFields) -> Written:
        """Create the movie, or replace its fields whatever its version (no precondition).

        Two conditional writes rather than one upsert: replace if the item exists, else create if it
        does not (and start over if another writer created or deleted it in between). Each is atomic,
        so the version this returns is exactly the one this write produced. (An ``UpdateItem`` that
        creates the item would do in one call on DynamoDB, but the embedded AWS's stream reports such a
        write as two INSERTs, the first holding only the key, which no relay can publish.)
        """
        for _ in range(_PUT_ATTEMPTS):
            request = self._replace_request(movie_id, fields)
            request["ExpressionAttributeNames"]["#id"] = "id"
            try:
                response = self._client.update_item(
                    **request, ConditionExpression="attribute_exists(#id)", ReturnValues="ALL_OLD"
                )
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
            else:
                # ALL_OLD is the item just before this very update (one atomic step on DynamoDB), so
                # its version + 1 is the version this write produced, even with other writers racing.
                version = stored_version(response.get("Attributes")) + 1
                return Written(Movie(id=movie_id, version=version, **_plain_fields(fields)), created=False)
            try:
                return Written(self.create(movie_id, fields), created=True)
            except MovieExistsError:
                continue  # created by another writer since: replace it
        raise RuntimeError(f"movie {movie_id!r} kept being created and deleted by other writers; retry")

    def replace(self, movie_id: str, fields: MovieFields, expected: IfMatch) -> Movie:
        """Replace the movie's fields if its version satisfies ``expected``; the result has version + 1."""
        condition, names, values = self._version_condition(expected)
        request = self._replace_request(movie_id, fields)
        request["ExpressionAttributeNames"].update(names)
        request["ExpressionAttributeValues"].update(values)
        try:
            response = self._client.update_item(
                **request,
                ConditionExpression=condition,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            raise VersionMismatchError(
                movie_id, stored_version(self._failed_item(exc, movie_id)), expected
            ) from exc
        return from_item(response["Attributes"])

    def delete(self, movie_id: str, expected: IfMatch | None = None) -> None:
        """Delete the movie (if its version satisfies ``expected``, when given)."""
        request: dict[str, Any] = {"TableName": self.table_name, "Key": self._key(movie_id)}
        if expected is None:
            response = self._client.delete_item(**request, ReturnValues="ALL_OLD")
            if not response.get("Attributes"):
                raise MovieNotFoundError(movie_id)
            return
        condition, names, values = self._version_condition(expected)
        request |= {"ConditionExpression": condition, "ExpressionAttributeNames": names}
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._client.delete_item(**request, ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            raise VersionMismatchError(
                movie_id, stored_version(self._failed_item(exc, movie_id)), expected
            ) from exc

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

    def _replace_request(self, movie_id: str, fields: MovieFields) -> dict[str, Any]:
        """The UpdateItem that sets the movie's fields and adds 1 to its version (a missing version
        counts as 0, so an item without one becomes version 1)."""
        item = to_item(Movie(id=movie_id, version=1, **_plain_fields(fields)))
        return {
            "TableName": self.table_name,
            "Key": self._key(movie_id),
            "UpdateExpression": "SET #title = :title, #rating = :rating, #genres = :genres ADD #version :one",
            "ExpressionAttributeNames": {
                "#title": "title",
                "#rating": "rating",
                "#genres": "genres",
                "#version": "version",
            },
            "ExpressionAttributeValues": {
                ":title": item["title"],
                ":rating": item["rating"],
                ":genres": item["genres"],
                ":one": {"N": "1"},
            },
        }

    def _failed_item(self, exc: ClientError, movie_id: str) -> Mapping[str, Any]:
        """The item a failed conditional write met, or the reason it failed if not a condition."""
        if not _condition_failed(exc):
            raise exc
        old: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
        if not old:
            raise MovieNotFoundError(movie_id) from exc
        return old

    @staticmethod
    def _version_condition(expected: IfMatch) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The condition for ``expected``, with the names and values it uses (DynamoDB refuses unused
        ones). Every condition requires the item to exist: If-Match never matches a missing movie."""
        if expected.any_version:
            return "attribute_exists(#id)", {"#id": "id"}, {}
        if not expected.versions:
            # Only tags this API never hands out (weak ones, say): nothing can match, but the write still
            # has to be attempted to learn whether the movie exists (404) or not (412).
            return "attribute_exists(#id) AND attribute_not_exists(#id)", {"#id": "id"}, {}
        placeholders = {f":v{i}": {"N": str(version)} for i, version in enumerate(expected.versions)}
        condition = f"#version IN ({', '.join(placeholders)})"
        names = {"#version": "version"}
        if 0 in expected.versions:
            # Version 0 is an item stored without the attribute.
            condition = f"{condition} OR (attribute_exists(#id) AND attribute_not_exists(#version))"
            names["#id"] = "id"
        return condition, names, placeholders

    @staticmethod
    def _key(movie_id: str) -> dict[str, Any]:
        return {"id": {"S": movie_id}}


#: Rounds of replace-else-create a PUT makes before giving up (each lost round means another writer
#: created or deleted the movie in the few milliseconds between two writes).
_PUT_ATTEMPTS = 5


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _plain_fields(fields: MovieFields) -> dict[str, Any]:
    """Only the three fields a write stores (a PUT body may also hold ``id`` and ``version``)."""
    return {"title": fields.title, "rating": fields.rating, "genres": list(fields.genres)}


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
