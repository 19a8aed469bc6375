"""The event contract: field rules, error messages, the legacy format, the committed JSON Schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movie_events import (
    EVENT_TYPES,
    InvalidEventError,
    MalformedMessageError,
    MovieCreated,
    MovieDeleted,
    MovieUpdated,
    SchemaValidationError,
    UnknownEventTypeError,
    legacy_event_id,
    legacy_window_event_id,
    parse_event,
    parse_message,
)
from movie_events.schema import render_all

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
MOVIE = {"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]}


def envelope(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:test",
        "type": "MovieCreated",
        "time": "2026-11-22T07:00:00Z",
        "subject": "42",
        "datacontenttype": "application/json",
        "data": dict(MOVIE),
    }
    document.update(overrides)
    return document


def data_with(**fields: Any) -> dict[str, Any]:
    return envelope(data={**MOVIE, **fields})


# -- valid events ----------------------------------------------------------------------------------


def test_cloudevents_envelope_parses_to_typed_event() -> None:
    event = parse_event(json.dumps(envelope()))
    assert isinstance(event, MovieCreated)
    assert (event.id, event.source, event.subject, event.movie_id) == ("evt-1", "urn:test", "42", "42")
    assert event.time == datetime(2026, 11, 22, 7, tzinfo=UTC)
    assert event.data.title == "Up" and event.data.rating == 8.3 and event.data.genres == ["Animation"]


def test_serialised_envelope_has_the_documented_shape() -> None:
    event = MovieCreated(data=MOVIE, time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    wire = json.loads(event.to_json())
    assert set(wire) == {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"}
    assert wire["specversion"] == "1.0" and wire["type"] == "MovieCreated"
    assert wire["time"] == "2026-01-02T03:04:05Z" and wire["subject"] == "42"
    assert wire["datacontenttype"] == "application/json"


def test_library_generates_unique_ids_unless_given() -> None:
    ids = {MovieCreated(data=MOVIE).id for _ in range(100)}
    assert len(ids) == 100
    assert MovieCreated(id="deterministic-1", data=MOVIE).id == "deterministic-1"


def test_unknown_fields_are_tolerated_and_kept() -> None:
    document = envelope(traceparent="00-abc", data={**MOVIE, "director": "Docter"})
    event = parse_event(json.dumps(document))
    assert json.loads(event.to_json())["data"]["director"] == "Docter"
    assert json.loads(event.to_json())["traceparent"] == "00-abc"


def test_updated_carries_previous_values_and_deleted_title_is_optional() -> None:
    updated = parse_event(
        json.dumps(envelope(type="MovieUpdated", data={**MOVIE, "previous": {"rating": 7.9}}))
    )
    assert isinstance(updated, MovieUpdated) and updated.data.previous is not None
    assert updated.data.previous.rating == 7.9 and updated.data.previous.title is None
    deleted = parse_event(json.dumps(envelope(type="MovieDeleted", data={"id": "42"})))
    assert isinstance(deleted, MovieDeleted) and deleted.data.title is None


def test_integer_ratings_are_numbers() -> None:
    assert parse_event(json.dumps(data_with(rating=8))).data.rating == 8  # type: ignore[union-attr]


# -- bad events: each raises the one error family, saying what and where ---------------------------

BAD_FIELDS = [
    ("title", "", "data.title"),
    ("title", "   ", "data.title: Value error, must not be blank"),
    ("title", 42, "data.title: Input should be a valid string"),
    ("title", "a\r\nBcc: x@evil", "data.title: Value error, must not contain control characters"),
    ("title", "x" * 501, "data.title: String should have at most 500 characters"),
    ("rating", "8.3", "data.rating: Input should be a valid number"),
    ("rating", True, "data.rating: Input should be a valid number"),
    ("rating", 10.5, "data.rating: Input should be less than or equal to 10"),
    ("rating", -1, "data.rating: Input should be greater than or equal to 0"),
    ("genres", "Drama", "data.genres: Input should be a valid list"),
    ("genres", ["Drama", 3], "data.genres.1: Input should be a valid string"),
    ("id", 42, "data.id: Input should be a valid string"),
]


def test_lone_surrogate_is_refused_while_reading_with_its_path() -> None:
    # Refused by the bounded reader, before validation: no later step ever hashes or encodes it.
    with pytest.raises(MalformedMessageError, match=r"data\.title holds a lone surrogate"):
        parse_event(json.dumps(data_with(title="bad \ud800 text")))


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_bad_field_is_named_in_the_error(field: str, value: Any, message: str) -> None:
    document = data_with(**{field: value})
    if field == "id":
        document.pop("subject")
    with pytest.raises(SchemaValidationError) as raised:
        parse_event(json.dumps(document))
    assert message in str(raised.value)
    assert isinstance(raised.value, InvalidEventError) and raised.value.code == "SchemaValidation"


@pytest.mark.parametrize("field", ["id", "title", "rating", "genres"])
def test_missing_data_field_is_named(field: str) -> None:
    document = envelope()
    del document["data"][field]
    with pytest.raises(SchemaValidationError, match=rf"data\.{field}: required field is missing"):
        parse_event(json.dumps(document))


@pytest.mark.parametrize("field", ["specversion", "id", "source", "time", "data"])
def test_missing_envelope_attribute_is_named(field: str) -> None:
    document = envelope()
    del document[field]
    if field == "specversion":  # without it the message is read as legacy, which needs a Type attribute
        with pytest.raises(UnknownEventTypeError):
            parse_event(json.dumps(document))
        return
    with pytest.raises(SchemaValidationError, match=rf"{field}: required field is missing"):
        parse_event(json.dumps(document))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"specversion": "0.3"}, "specversion: Input should be '1.0'"),
        ({"time": "yesterday"}, "time: Input should be a valid datetime"),
        ({"time": "2026-11-22T07:00:00"}, "time: Input should have timezone info"),
        ({"datacontenttype": "text/xml"}, "datacontenttype"),
        ({"subject": "43"}, "does not match data.id"),
        ({"id": ""}, "id: String should have at least 1 character"),
        ({"data": "not an object"}, "data: Input should be a valid dictionary"),
    ],
)
def test_bad_envelope_is_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaValidationError, match=message):
        parse_event(json.dumps(envelope(**overrides)))


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ("", MalformedMessageError, "empty"),
        ("   ", MalformedMessageError, "empty"),
        (None, MalformedMessageError, "missing"),
        ("not json", MalformedMessageError, "not JSON"),
        ('{"id": "42",', MalformedMessageError, "not JSON"),
        ("[1, 2]", MalformedMessageError, "JSON object, not list"),
        ('"a string"', MalformedMessageError, "JSON object, not str"),
        (b"\xff\xfe{}", MalformedMessageError, "not valid UTF-8"),
        ('{"rating": NaN}', MalformedMessageError, "NaN is not valid JSON"),
        (
            json.dumps(envelope(type="MovieRenamed")),
            UnknownEventTypeError,
            "unknown event type 'MovieRenamed'",
        ),
        (json.dumps(envelope(type=None)), UnknownEventTypeError, "unknown event type None"),
    ],
)
def test_malformed_messages(body: Any, error: type[InvalidEventError], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_event(body, {"Type": "MovieCreated"})


def test_type_attribute_must_agree_with_envelope() -> None:
    with pytest.raises(UnknownEventTypeError, match="disagrees"):
        parse_event(json.dumps(envelope()), {"Type": {"stringValue": "MovieDeleted", "dataType": "String"}})


# -- legacy flat format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {"Type": {"stringValue": "MovieCreated", "dataType": "String"}},  # Lambda SQS event shape
        {"Type": {"StringValue": "MovieCreated", "DataType": "String"}},  # boto3 receive_message shape
        {"Type": {"Type": "String", "Value": "MovieCreated"}},  # SNS notification shape
        {"Type": "MovieCreated"},
    ],
)
def test_legacy_message_parses_with_type_attribute(attributes: dict[str, Any]) -> None:
    received = datetime(2026, 5, 1, tzinfo=UTC)
    event = parse_event(json.dumps(MOVIE), attributes, received_at=received)
    assert isinstance(event, MovieCreated)
    assert event.data.title == "Up" and event.subject == "42" and event.time == received
    assert event.source == "urn:moviepipe:legacy"


def test_legacy_delete_needs_only_the_id() -> None:
    event = parse_event('{"id":"42"}', {"Type": "MovieDeleted"})
    assert isinstance(event, MovieDeleted) and event.movie_id == "42"


def test_legacy_duplicates_get_the_same_id_and_different_messages_do_not() -> None:
    first = parse_event(
        '{"id":"42","title":"Up","rating":8.3,"genres":["Animation"]}', {"Type": "MovieCreated"}
    )
    # the same fields, serialised differently by another producer, are the same message
    again = parse_event(
        '{ "genres":["Animation"], "rating":8.3, "title":"Up", "id":"42" }', {"Type": "MovieCreated"}
    )
    updated = parse_event(json.dumps(MOVIE), {"Type": "MovieUpdated"})
    changed = parse_event(json.dumps({**MOVIE, "rating": 9}), {"Type": "MovieCreated"})
    assert first.id == again.id == legacy_event_id("MovieCreated", MOVIE)
    assert len({first.id, updated.id, changed.id}) == 3


@pytest.mark.parametrize("genres", ["null", "missing"])
def test_legacy_genres_null_or_missing_is_an_empty_list(genres: str) -> None:
    body = {"id": "42", "title": "Up", "rating": 8.3}
    if genres == "null":
        body["genres"] = None
    parsed = parse_message(json.dumps(body), {"Type": "MovieCreated"})
    assert parsed.legacy and isinstance(parsed.event, MovieCreated) and parsed.event.data.genres == []
    assert parsed.event.id == legacy_event_id("MovieCreated", {**body, "genres": []})


def test_legacy_genres_are_a_set() -> None:
    one = parse_event(json.dumps({**MOVIE, "genres": ["Drama", "Animation"]}), {"Type": "MovieCreated"})
    other = parse_event(
        json.dumps({**MOVIE, "genres": ["Animation", "Drama", "Drama"]}), {"Type": "MovieCreated"}
    )
    assert one.id == other.id and isinstance(one, MovieCreated) and one.data.genres == ["Animation", "Drama"]
    changed = parse_event(json.dumps({**MOVIE, "genres": ["Drama"]}), {"Type": "MovieCreated"})
    assert changed.id != one.id


def test_cloudevents_keep_their_strictness_and_their_id() -> None:
    document = json.loads(MovieCreated(id="e1", data=MOVIE).to_json())
    document["data"]["genres"] = None
    with pytest.raises(SchemaValidationError, match=r"data\.genres"):
        parse_event(json.dumps(document))
    parsed = parse_message(MovieCreated(id="e1", data=MOVIE).to_json())
    assert not parsed.legacy and parsed.event.id == "e1"


def test_legacy_window_ids_differ_per_window_and_are_stable() -> None:
    content = legacy_event_id("MovieCreated", MOVIE)
    assert legacy_window_event_id(content, 1000) == legacy_window_event_id(content, 1000)
    assert legacy_window_event_id(content, 1000) != legacy_window_event_id(content, 2000) != content


def test_legacy_without_type_attribute_or_with_unknown_type() -> None:
    with pytest.raises(UnknownEventTypeError, match="no 'Type' message attribute"):
        parse_event(json.dumps(MOVIE))
    with pytest.raises(UnknownEventTypeError, match="unknown event type 'MovieArchived'"):
        parse_event(json.dumps(MOVIE), {"Type": "MovieArchived"})


def test_legacy_bad_fields_are_named() -> None:
    with pytest.raises(SchemaValidationError, match=r"data\.rating: Input should be a valid number"):
        parse_event('{"id":"42","title":"Up","rating":"high","genres":[]}', {"Type": "MovieCreated"})


# -- JSON Schema -----------------------------------------------------------------------------------


def test_committed_json_schemas_are_up_to_date() -> None:
    expected = render_all()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == expected, "docs/schemas is stale: run `python -m movie_events.schema docs/schemas`"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_events_on_the_wire_validate_against_their_schema(event_type: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{event_type}.schema.json").read_text())
    data: dict[str, Any] = {"id": "42"} if event_type == "MovieDeleted" else dict(MOVIE)
    event = parse_event(json.dumps(envelope(type=event_type, data=data)))
    jsonschema.validate(json.loads(event.to_json()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in json.loads(event.to_json()).items() if k != "id"}, schema)


# -- round trips -----------------------------------------------------------------------------------

texts = st.text(min_size=1, max_size=40).filter(
    lambda s: s.strip() != "" and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s)
)
ratings = st.floats(min_value=0, max_value=10, allow_nan=False) | st.integers(min_value=0, max_value=10)
movies = st.fixed_dictionaries(
    {"id": texts, "title": texts, "rating": ratings, "genres": st.lists(texts, max_size=5)}
)
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
extras = st.dictionaries(st.sampled_from(["director", "year", "tags"]), st.integers() | texts, max_size=2)


@st.composite
def events(draw: st.DrawFn) -> MovieCreated | MovieUpdated | MovieDeleted:
    movie = {**draw(movies), **draw(extras)}
    kind = draw(st.sampled_from(EVENT_TYPES))
    common = {"id": draw(texts), "source": draw(texts), "time": draw(times)}
    if kind == "MovieCreated":
        return MovieCreated(data=movie, **common)
    if kind == "MovieUpdated":
        previous = draw(st.fixed_dictionaries({}, optional={"title": texts, "rating": ratings}))
        return MovieUpdated(data={**movie, "previous": previous or None}, **common)
    return MovieDeleted(data={"id": movie["id"], "title": draw(st.none() | texts)}, **common)


@settings(max_examples=300, deadline=None)
@given(events())
def test_round_trip_model_json_model(event: MovieCreated | MovieUpdated | MovieDeleted) -> None:
    wire = event.to_json()
    again = parse_event(wire)
    assert again == event
    assert again.to_json() == wire


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_input_never_escapes_the_error_family(body: bytes | str) -> None:
    try:
        event = parse_event(body, {"Type": "MovieCreated"})
    except InvalidEventError as error:
        assert str(error)  # every rejection says why
    else:
        assert event.type == "MovieCreated"
