"""Hostile input on the movies API's two entry points, as properties (hypothesis):

* over HTTP, through the local API Gateway in each payload format: any method, path, headers and body
  (deep nesting, huge numbers, invalid UTF-8, lone surrogates, encoded words, oversized fields, other
  content types) gets a status below 500; every refusal is a JSON error body that says what is wrong,
  and leaves the table exactly as it was;
* as raw Lambda events of any shape: the handler answers (no exception, no KeyError), below 500, and a
  refusal is a JSON error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.http_api import PayloadFormat, movies_api_app
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.settings import Resources
from producers.movies_api.gateway import MAX_BODY_BYTES
from tests.support import aws
from tests.support.movies import api_deployed, api_lambda

pytestmark = pytest.mark.integration

FORMATS: tuple[PayloadFormat, ...] = ("rest", "http", "function-url")
CLIENTS = {payload: Client(movies_api_app(api_lambda, payload_format=payload)) for payload in FORMATS}
SEEDED = {"id": {"S": "seed"}, "title": {"S": "Seed"}, "rating": {"N": "5"}, "version": {"N": "3"}}


@pytest.fixture(autouse=True, scope="module")
def movies_table(moto_server: EmbeddedAWS) -> Iterator[None]:
    with api_deployed(moto_server):
        aws.client("dynamodb").put_item(TableName=Resources.MOVIES_TABLE, Item=SEEDED)
        yield


def table_state() -> list[str]:
    items = aws.client("dynamodb").scan(TableName=Resources.MOVIES_TABLE, ConsistentRead=True)["Items"]
    return sorted(json.dumps(item, sort_keys=True) for item in items)


# -- hostile pieces ------------------------------------------------------------------------------------
def _deep(levels: int, opener: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * levels + "1" + closer * levels


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_movie_field_values = st.one_of(
    _json,
    st.text(min_size=1, max_size=40),
    st.sampled_from(
        ["=?utf-8?b?QWxpZW4=?=", "=?iso-8859-1?q?Caf=E9?=", "A\r\nBcc: x@example.com", "x" * 600]
    ),
    st.floats(min_value=0, max_value=10),
)
_movie_like = st.fixed_dictionaries(
    {"title": _movie_field_values, "rating": _movie_field_values},
    optional={"genres": _movie_field_values, "id": _movie_field_values, "version": _movie_field_values},
).map(lambda value: json.dumps(value).encode())

BODIES = st.one_of(
    _movie_like,
    st.builds(_deep, st.integers(30, 3000), st.sampled_from(["[", '{"a":'])).map(str.encode),
    st.integers(60, 6000).map(lambda n: b'{"title": "A", "rating": ' + b"9" * n + b"}"),
    st.sampled_from(
        [
            b'{"title": "A", "rating": 1e400}',
            b'{"title": "A", "rating": -Infinity}',
            b'{"title": "\\ud800", "rating": 5}',
            b'{"\\udfff": 1}',
            b'{"title": "\xff\xfe", "rating": 5}',
            b'{"title": "A", "rating": 5}' + b" " * (MAX_BODY_BYTES + 1),
            b'{"title": "' + b"x" * 200_000 + b'", "rating": 5}',
            b"",
            b"null",
            b"[]",
        ]
    ),
    st.binary(max_size=64),
    _json.map(lambda value: json.dumps(value).encode()),
)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/xml",
        ]
    ),
)
_header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
IF_MATCH = st.one_of(
    st.none(), st.sampled_from(['"3"', '"03"', "*", 'W/"3"', '"0"', '"1", "3"']), _header_text
)
IDEMPOTENCY_KEYS = st.one_of(st.none(), st.sampled_from(["k1", '"k1"', '""', "k2"]), _header_text)
PATHS = st.one_of(
    st.sampled_from(["/movies", "/movies/seed", "/movies/new", "/movies/", "/films", "/movies/seed/x"]),
    st.text(max_size=20).map(lambda text: "/movies/" + text.encode("utf-8", "surrogatepass").hex()),
    st.sampled_from(["/movies/a%0Ab", "/movies/%ED%A0%80", "/movies/%FF", "/movies/" + "x" * 300]),
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])


def assert_clear_error(status: int, raw: bytes, *, has_body: bool = True) -> None:
    assert status < 500, raw[:300]
    if status >= 400 and has_body:
        body = json.loads(raw)
        assert isinstance(body["error"], str) and body["error"], body
        assert isinstance(body["message"], str) and body["message"].strip(), body


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    payload=st.sampled_from(FORMATS),
    method=METHODS,
    path=PATHS,
    body=BODIES,
    content_type=CONTENT_TYPES,
    if_match=IF_MATCH,
    idempotency_key=IDEMPOTENCY_KEYS,
)
def test_hostile_http_requests_never_get_a_5xx_and_refusals_change_nothing(
    payload: PayloadFormat,
    method: str,
    path: str,
    body: bytes,
    content_type: str | None,
    if_match: str | None,
    idempotency_key: str | None,
) -> None:
    headers = {"Content-Type": content_type, "If-Match": if_match, "Idempotency-Key": idempotency_key}
    before = table_state()
    response = CLIENTS[payload].open(
        path,
        method=method,
        data=body,
        headers={name: value for name, value in headers.items() if value is not None},
    )
    raw = response.get_data()
    # A HEAD answer has no body (HTTP strips it; API Gateway too): only its status can be checked.
    assert_clear_error(response.status_code, raw, has_body=method != "HEAD")
    if response.status_code >= 400:
        assert table_state() == before, (response.status_code, raw[:300])


# -- raw events of any shape ------------------------------------------------------------------------------
_values = st.one_of(
    _json_leaf, st.lists(_json_leaf, max_size=3), st.dictionaries(st.text(max_size=5), _json_leaf)
)
_string_maps = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["content-type", "Content-Type", "if-match", "idempotency-key"]), st.text()
    ),
    _values,
)
EVENT_FIELDS = {
    "httpMethod": st.one_of(METHODS, _values),
    "path": st.one_of(PATHS, _values),
    "version": st.one_of(st.sampled_from(["1.0", "2.0", "3"]), _values),
    "rawPath": st.one_of(PATHS, _values),
    "rawQueryString": st.one_of(st.text(max_size=20), _values),
    "headers": _string_maps,
    "multiValueHeaders": st.one_of(
        st.none(), _values, st.dictionaries(st.text(max_size=5), st.lists(st.text()))
    ),
    "queryStringParameters": st.one_of(_string_maps, st.just({"limit": "2"}), st.just({"next_token": "x"})),
    "body": st.one_of(BODIES.map(lambda raw: raw.decode("utf-8", "surrogateescape")), _values),
    "isBase64Encoded": st.one_of(st.booleans(), _values),
    "cookies": st.one_of(st.none(), st.lists(st.text(max_size=10)), _values),
    "requestContext": st.one_of(
        _values,
        st.fixed_dictionaries(
            {"http": st.one_of(st.fixed_dictionaries({"method": METHODS}), _values)},
            optional={
                "stage": st.one_of(st.sampled_from(["$default", "prod"]), _values),
                "domainName": st.one_of(st.just("x.lambda-url.us-east-1.on.aws"), _values),
            },
        ),
    ),
}


def _event(**required: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    optional = {name: value for name, value in EVENT_FIELDS.items() if name not in required}
    return st.fixed_dictionaries(required, optional=optional)


EVENTS = st.one_of(
    _event(),
    _event(httpMethod=METHODS, path=PATHS),
    _event(version=st.just("2.0"), rawPath=PATHS, requestContext=EVENT_FIELDS["requestContext"]),
    _values,
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=EVENTS)
def test_raw_events_of_any_shape_get_an_answer_never_an_exception(event: Any) -> None:
    before = table_state()
    response = api_lambda(event, LocalLambdaContext.new_invocation("movies-api"))
    status = response["statusCode"]
    body = response.get("body") or ""
    raw = body.encode("utf-8") if not response.get("isBase64Encoded") else b""
    assert_clear_error(status, raw)
    if status >= 400:
        assert table_state() == before
