"""If-Match parsing and page tokens: the two bits of the API's input that are not plain JSON."""

from __future__ import annotations

import re

import pytest

from producers.movies_api.preconditions import (
    IF_MATCH_PATTERN,
    MAX_IF_MATCH_TAGS,
    IfMatch,
    InvalidIfMatchError,
    etag,
)
from producers.movies_api.table import InvalidPageTokenError, decode_page_token, encode_page_token


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("*", IfMatch(any_version=True)),
        (' "3" ', IfMatch(versions=(3,))),
        ('"3", "12"', IfMatch(versions=(3, 12))),
        ('W/"3"', IfMatch(versions=())),  # weak tags never match: strong comparison
        ('"abc", "4"', IfMatch(versions=(4,))),  # tags this API never issues cannot match either
        ('"03"', IfMatch(versions=())),  # another opaque tag than "3": strong comparison is by characters
        ('"0"', IfMatch(versions=(0,))),  # an item stored without version
        ('"00", "3", "+3", "3.0", "1e0"', IfMatch(versions=(3,))),
        ('"' + "9" * 19 + '"', IfMatch(versions=())),  # longer than any version this API hands out
    ],
)
def test_if_match_parses(header: str, parsed: IfMatch) -> None:
    assert IfMatch.parse(header) == parsed
    assert re.fullmatch(IF_MATCH_PATTERN, header)  # the OpenAPI document says the same


@pytest.mark.parametrize(
    "header", ["", "3", '"3" x', '"3",,"4"', ", ".join(['"1"'] * (MAX_IF_MATCH_TAGS + 1))]
)
def test_malformed_if_match_is_refused_by_parser_and_pattern(header: str) -> None:
    with pytest.raises(InvalidIfMatchError):
        IfMatch.parse(header)
    assert re.fullmatch(IF_MATCH_PATTERN, header) is None


@pytest.mark.parametrize("version", [0, 1, 3, 10, 999_999_999_999_999_999])
def test_only_the_issued_etag_of_a_version_matches_it(version: int) -> None:
    assert IfMatch.parse(etag(version)).allows(version)
    for other in (f'"0{version}"', f'"{version} "'.replace(" ", ""), f'"+{version}"', f'W/"{version}"'):
        assert not IfMatch.parse(other).allows(version) or other == etag(version)


def test_a_body_version_narrows_if_match() -> None:
    assert IfMatch(any_version=True).narrowed_to(3) == IfMatch(versions=(3,))
    assert IfMatch(versions=(2, 3)).narrowed_to(3) == IfMatch(versions=(3,))
    assert IfMatch(versions=(2,)).narrowed_to(3) == IfMatch(versions=())  # disjoint: nothing matches


def test_etag_round_trips_through_if_match() -> None:
    assert IfMatch.parse(etag(41)).versions == (41,)
    assert IfMatch.parse(f"{etag(1)}, {etag(2)}").describe() == '"1" or "2"'


@pytest.mark.parametrize("movie_id", ["m1", "tt0078748", "a b/c?d", "é" * 256])
def test_page_token_round_trips(movie_id: str) -> None:
    token = encode_page_token(movie_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert decode_page_token(token) == movie_id


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "é",
        encode_page_token("m1")[:-3],
        "W10",  # []
        "eyJpZCI6MX0",  # {"id":1}
        "eyJpZCI6IiJ9",  # {"id":""}
    ],
)
def test_foreign_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(token)
