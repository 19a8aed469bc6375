"""The bounded JSON reader: every hostile shape becomes one clear InvalidEventError, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from movie_events.errors import EventTooLargeError, InvalidEventError, MalformedMessageError
from movie_events.jsonlimits import (
    MAX_DEPTH,
    JsonLimits,
    JsonTooDeepError,
    check_tree,
    load_bounded,
    within_limits_by_text,
)
from movie_events.parsing import parse_event


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ("[" * 50_000 + "]" * 50_000, JsonTooDeepError, "nested more than"),
        ('{"a":' * 300 + "1" + "}" * 300, JsonTooDeepError, "nested more than"),
        ("1" * 5000, MalformedMessageError, "5000 digits"),
        ('{"n": -' + "9" * 65 + "}", MalformedMessageError, "65 digits"),
        ('{"n": 1e999999}', MalformedMessageError, "too large"),
        ('{"n": NaN}', MalformedMessageError, "NaN is not valid JSON"),
        ('{"n": -Infinity}', MalformedMessageError, "-Infinity is not valid JSON"),
        ('{"title": "\\udc80"}', MalformedMessageError, "at title holds a lone surrogate"),
        ('{"\\ud800x": 1}', MalformedMessageError, "a key at"),
        ('{"a": [1, {"b": "\\udfff"}]}', MalformedMessageError, "at a[1].b"),
        (b"\xff\xfe{}", MalformedMessageError, "not valid UTF-8"),
        ("{not json", MalformedMessageError, "not JSON"),
    ],
)
def test_hostile_json_is_refused_with_its_place(body, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_bounded(body)


def test_size_is_checked_before_parsing_for_str_and_bytes():
    limits = JsonLimits(max_bytes=100)
    with pytest.raises(EventTooLargeError, match="at most 100"):
        load_bounded("[" + "1," * 60 + "1]", limits)
    with pytest.raises(EventTooLargeError):
        load_bounded(b" " * 101, limits)
    # Multi-byte characters count as their UTF-8 size.
    with pytest.raises(EventTooLargeError):
        load_bounded('"' + "é" * 60 + '"', limits)
    assert load_bounded('"' + "é" * 40 + '"', limits) == "é" * 40


def test_the_limits_themselves_are_accepted():
    nested: object = 1
    for _ in range(MAX_DEPTH - 1):
        nested = {"a": nested}
    assert load_bounded(json.dumps(nested)) == nested
    assert load_bounded("-" + "9" * 64) == -int("9" * 64)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_valid_json_within_limits_round_trips(value):
    """Anything json.dumps writes from ordinary values (shallow, valid text) reads back unchanged."""
    assert load_bounded(json.dumps(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_input_gives_a_value_or_an_invalid_event_error(body):
    try:
        value = load_bounded(body)
    except InvalidEventError:
        return
    # Whatever is accepted can be serialised and encoded again: nothing poisonous got through.
    json.dumps(value, allow_nan=False).encode("utf-8")


@pytest.mark.parametrize(
    "body",
    [
        '{"specversion": "1.0", "type": "MovieCreated", "data": ' + '{"x":' * 400 + "1" + "}" * 401,
        '{"id": "m", "title": "\\udc80", "rating": 5, "genres": []}',
        '{"id": "m", "title": "t", "rating": 5, "genres": [], "n": ' + "7" * 5000 + "}",
    ],
)
def test_parse_event_refuses_hostile_bodies_permanently(body):
    with pytest.raises(InvalidEventError):
        parse_event(body, {"Type": "MovieCreated"})


# Values that may break the limits: deep nesting, lone surrogates in keys and strings (raw or escaped).
hostile_text = st.text(alphabet=st.characters(), max_size=6) | st.sampled_from(["\udc80", "\ud800x", "é"])
hostile_values = st.recursive(
    st.none() | st.integers() | hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=60,
)


def _nested(depth: int) -> object:
    value: object = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@settings(max_examples=400, deadline=None)
@given(
    hostile_values | st.integers(min_value=MAX_DEPTH - 2, max_value=MAX_DEPTH + 2).map(_nested),
    st.booleans(),
)
def test_the_text_shortcut_never_skips_a_walk_that_would_refuse(value, ensure_ascii):
    """``within_limits_by_text`` only skips ``check_tree`` when the walk would have passed: the reader
    refuses exactly what it refused before the shortcut."""
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    loaded = json.loads(text)
    if within_limits_by_text(text):
        check_tree(loaded)  # must not raise
    try:
        check_tree(loaded)
        walk_refuses = False
    except InvalidEventError:
        walk_refuses = True
    try:
        load_bounded(text)
        reader_refuses = False
    except InvalidEventError:
        reader_refuses = True
    assert reader_refuses == walk_refuses
