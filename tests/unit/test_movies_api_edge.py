"""The movies API's edge, without AWS: which front sent an event, what counts as JSON, the configuration,
and how stored items are read (leniently, for the reference design's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from movie_events import MovieCreated, MovieUpdated
from movie_events.errors import EventTooLargeError, MalformedMessageError
from movie_events.jsonlimits import JsonTooDeepError, LoneSurrogateError, NumberTooLargeError, PlacedJsonError
from moviepipe.runtime.settings import ConfigurationError, Env, Resources
from producers.movies_api.config import ApiConfig
from producers.movies_api.gateway import (
    MAX_BODY_BYTES,
    UnsupportedEventError,
    is_json_media_type,
    payload_format,
    read_json_body,
)
from producers.movies_api.idempotency import InvalidIdempotencyKeyError, normalize_key
from producers.movies_api.table import UnreadableMovieError, movie_from_plain, stored_version
from producers.outbox_relay.translate import to_event
from tests.unit.test_translate import record

HTTP_CONTEXT = {"http": {"method": "GET"}, "stage": "$default"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"httpMethod": "GET", "path": "/movies"}, "rest"),
        ({"version": "1.0", "httpMethod": "GET", "path": "/movies"}, "rest"),  # HTTP API, format 1.0
        ({"version": "2.0", "rawPath": "/movies", "requestContext": HTTP_CONTEXT}, "http"),
        (
            {
                "version": "2.0",
                "rawPath": "/movies",
                "requestContext": {**HTTP_CONTEXT, "domainName": "abc.lambda-url.eu-west-1.on.aws"},
            },
            "function-url",
        ),
    ],
)
def test_payload_format_is_read_from_the_event(event: dict[str, Any], expected: str) -> None:
    assert payload_format(event) == expected


@pytest.mark.parametrize(
    "event",
    [
        None,
        "GET /movies",
        {},
        {"version": 2},
        {"version": "2.0"},
        {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": None}}},
        {"httpMethod": "GET", "path": None},
        {"httpMethod": "GET", "path": "/", "multiValueHeaders": {"a": "b"}},
        {"httpMethod": "GET", "path": "/", "isBase64Encoded": "yes"},
    ],
)
def test_other_events_are_refused_with_a_reason(event: Any) -> None:
    with pytest.raises(UnsupportedEventError, match=r"\S"):
        payload_format(event)


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        (" Application/JSON ", True),
        ("", False),
        ("application/x-www-form-urlencoded", False),
        ("application/json-patch+json", False),
        ("text/json", False),
        ("application/jsonp", False),
    ],
)
def test_json_media_type(content_type: str, is_json: bool) -> None:
    assert is_json_media_type(content_type) is is_json


@pytest.mark.parametrize(
    ("body", "error", "path"),
    [
        ('{"genres": ' + "[" * 40 + "]" * 40 + "}", JsonTooDeepError, ("genres",) + (0,) * 31),
        ('{"rating": ' + "1" * 65 + "}", NumberTooLargeError, ()),
        ('{"rating": 1e999}', NumberTooLargeError, ()),
        ('{"genres": ["a", "\\ud800"]}', LoneSurrogateError, ("genres", 1)),
    ],
)
def test_valid_json_no_movie_can_hold_is_refused_with_its_place(
    body: str, error: type[PlacedJsonError], path: tuple[Any, ...]
) -> None:
    with pytest.raises(error) as raised:
        read_json_body(body)
    assert raised.value.path == path


def test_body_size_limit() -> None:
    read_json_body("{}".ljust(MAX_BODY_BYTES))
    with pytest.raises(EventTooLargeError, match=str(MAX_BODY_BYTES)):
        read_json_body("{}".ljust(MAX_BODY_BYTES + 1))
    with pytest.raises(MalformedMessageError):
        read_json_body('{"a": NaN}')


def test_a_surrogate_in_a_key_is_escaped_in_the_message() -> None:
    with pytest.raises(LoneSurrogateError) as raised:
        read_json_body('{"\\udc80": 1}')
    str(raised.value).encode("utf-8")  # the message itself is valid text


@pytest.mark.parametrize(
    ("header", "key"), [("abc", "abc"), ('"abc"', "abc"), (' "a b" ', "a b"), ('"', '"')]
)
def test_idempotency_key_is_the_header_without_its_quotes(header: str, key: str) -> None:
    assert normalize_key(header) == key


def test_an_empty_quoted_idempotency_key_names_nothing() -> None:
    with pytest.raises(InvalidIdempotencyKeyError, match="Idempotency-Key"):
        normalize_key('""')


def test_config_defaults_and_strict_mode() -> None:
    config = ApiConfig.from_env({Env.MOVIES_TABLE_NAME: "movies"})
    assert config == ApiConfig(movies_table="movies")
    assert config.idempotency_ttl_seconds == Resources.MOVIES_API_IDEMPOTENCY_TTL_SECONDS
    strict = ApiConfig.from_env(
        {
            Env.MOVIES_TABLE_NAME: "m",
            Env.MOVIES_API_REQUIRE_IF_MATCH: "TRUE",
            Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS: "60",
        }
    )
    assert strict.require_if_match and strict.idempotency_ttl_seconds == 60


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, Env.MOVIES_TABLE_NAME),
        (
            {Env.MOVIES_TABLE_NAME: "m", Env.MOVIES_API_REQUIRE_IF_MATCH: "maybe"},
            Env.MOVIES_API_REQUIRE_IF_MATCH,
        ),
        (
            {Env.MOVIES_TABLE_NAME: "m", Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS: "0"},
            Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS,
        ),
        (
            {Env.MOVIES_TABLE_NAME: "m", Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS: "1h"},
            Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS,
        ),
    ],
)
def test_bad_configuration_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        ApiConfig.from_env(env)


def test_stored_items_are_read_leniently() -> None:
    movie = movie_from_plain(
        {"id": "42", "title": "Up", "rating": Decimal("8.3"), "genres": {"b", "a"}, "year": Decimal(2009)}
    )
    assert (movie.version, movie.genres, movie.rating) == (0, ["a", "b"], 8.3)
    assert movie_from_plain({"id": "1", "title": "T", "rating": "7", "version": Decimal(4)}).version == 4
    with pytest.raises(UnreadableMovieError, match="title"):
        movie_from_plain({"id": "1", "rating": Decimal(5)})


@pytest.mark.parametrize(
    ("item", "version"),
    [
        (None, 0),
        ({}, 0),
        ({"version": {"N": "7"}}, 7),
        ({"version": {"S": "7"}}, 0),
        ({"version": {"N": "x"}}, 0),
    ],
)
def test_stored_version(item: dict[str, Any] | None, version: int) -> None:
    assert stored_version(item) == version


def test_the_relay_reads_a_reference_design_item_without_version_deterministically() -> None:
    legacy = {
        "id": {"S": "m1"},
        "title": {"S": "Up"},
        "rating": {"N": "8.3"},
        "genres": {"SS": ["Drama", "Animation", "Adventure"]},
        "year": {"N": "2009"},
    }
    created = to_event(record("INSERT", new=legacy))
    assert isinstance(created, MovieCreated) and created.data.genres == ["Adventure", "Animation", "Drama"]
    # Its first write through the API (genres now a list, version 1) changes nothing a consumer sees.
    rewritten = {**legacy, "genres": {"L": [{"S": g} for g in created.data.genres]}, "version": {"N": "1"}}
    assert to_event(record("MODIFY", new=rewritten, old=legacy)) is None
    retitled = {**rewritten, "title": {"S": "Up!"}}
    updated = to_event(record("MODIFY", new=retitled, old=legacy))
    assert isinstance(updated, MovieUpdated) and updated.data.previous is not None
    assert updated.data.previous.title == "Up"
