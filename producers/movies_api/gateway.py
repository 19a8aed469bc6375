"""Which HTTP front called, and how its request body is read: the API's edge, before any route runs.

One handler serves three fronts, chosen from the event itself (:func:`payload_format`):

* API Gateway REST APIs (payload format 1.0: ``httpMethod``, ``path``);
* API Gateway HTTP APIs (payload format 2.0: ``version: "2.0"``, ``requestContext.http.method``);
* Lambda function URLs (format 2.0 too, ``requestContext.domainName`` ``….lambda-url.….on.aws``).

Each has its own Powertools resolver (``APIGatewayRestResolver``, ``APIGatewayHttpResolver``,
``LambdaFunctionUrlResolver``), which reads that format and answers in it; the routes are one
``Router`` included in all three. An event that is none of them (or one whose fields have the wrong
types) gets a 400 with a JSON body naming the problem, never a ``KeyError``.

Request bodies are read by :func:`read_json_body`: only ``application/json`` (415 otherwise, a missing
Content-Type included: ``curl -d`` sends a form type), through the bounded JSON reader
(:mod:`movie_events.jsonlimits`) with :data:`BODY_LIMITS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from re import Match
from typing import Any, Final, Literal, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError

from movie_events.errors import describe_validation_errors
from movie_events.jsonlimits import JsonLimits, load_bounded

#: Largest request body accepted (413 above it). A movie with every field at its maximum and every
#: character written as a JSON escape is about 70 KB; real ones are a few hundred bytes.
MAX_BODY_BYTES: Final = 128 * 1024
#: Movie bodies are two levels deep; 32 leaves room for any honest mistake and none for a parser bomb.
#: Integers of more than 64 digits and numbers that overflow a float are refused before parsing ends.
BODY_LIMITS: Final = JsonLimits(max_bytes=MAX_BODY_BYTES, max_depth=32, max_integer_digits=64)

JSON_MEDIA_TYPE: Final = "application/json"

PayloadFormat = Literal["rest", "http", "function-url"]


class UnsupportedMediaTypeError(ValueError):
    """A request body sent as something other than ``application/json``."""

    def __init__(self, content_type: str) -> None:
        shown = ascii(content_type[:80]) if content_type else "no Content-Type"
        super().__init__(f"send the body as {JSON_MEDIA_TYPE} (got {shown})")


class UnsupportedEventError(ValueError):
    """An invocation event that is not an API Gateway (REST or HTTP API) or function URL request."""


def is_json_media_type(content_type: str) -> bool:
    """``application/json``, any case, with or without parameters (``; charset=utf-8``)."""
    return content_type.split(";", 1)[0].strip().lower() == JSON_MEDIA_TYPE


def read_json_body(body: str) -> Any:
    """The JSON body within :data:`BODY_LIMITS` (raises the :mod:`movie_events.errors` family)."""
    return load_bounded(body, BODY_LIMITS)


# -- the event's shape -----------------------------------------------------------------------------
# Only what the resolvers read, with the types they assume: a field of another type would otherwise be
# a KeyError or AttributeError deep inside Powertools.
_Strings = dict[StrictStr, StrictStr] | None
_StringLists = dict[StrictStr, list[StrictStr]] | None


class _Shape(BaseModel):
    # Every field any resolver (or Powertools' validation) reads from any format's event: Powertools
    # reads some of them (multiValueHeaders, rawQueryString) whatever the format.
    model_config = ConfigDict(extra="allow")

    headers: _Strings = None
    multiValueHeaders: _StringLists = None
    queryStringParameters: _Strings = None
    multiValueQueryStringParameters: _StringLists = None
    rawQueryString: StrictStr | None = None
    pathParameters: _Strings = None
    cookies: list[StrictStr] | None = None
    body: StrictStr | None = None
    isBase64Encoded: StrictBool | None = None


class _RestShape(_Shape):
    httpMethod: StrictStr
    path: StrictStr
    requestContext: dict[StrictStr, Any] | None = None


class _HttpContextHttp(BaseModel):
    model_config = ConfigDict(extra="allow")
    method: StrictStr


class _HttpContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    http: _HttpContextHttp
    stage: StrictStr = "$default"
    domainName: StrictStr | None = None


class _HttpShape(_Shape):
    version: Literal["2.0"]
    rawPath: StrictStr
    requestContext: _HttpContext


def payload_format(event: object) -> PayloadFormat:
    """The front that sent ``event``, after checking the fields its resolver reads.

    :raises UnsupportedEventError: with a message saying what the event lacks.
    """
    if not isinstance(event, Mapping):
        raise UnsupportedEventError(f"the event is a {type(event).__name__}, not an HTTP request")
    if "version" in event and event.get("version") != "1.0":
        if event.get("version") != "2.0":
            raise UnsupportedEventError(
                f"payload format version {ascii(event.get('version'))[:40]} is not 1.0 or 2.0"
            )
        shape = _checked(_HttpShape, event, "HTTP API / function URL (payload 2.0)")
        domain = shape.requestContext.domainName or ""
        return "function-url" if ".lambda-url." in domain else "http"
    if "httpMethod" in event:
        _checked(_RestShape, event, "REST API (payload 1.0)")
        return "rest"
    raise UnsupportedEventError(
        "the event is not an API Gateway or function URL request (no httpMethod, no version 2.0)"
    )


_S = TypeVar("_S", bound=_Shape)


def _checked(shape: type[_S], event: Mapping[str, Any], what: str) -> _S:
    try:
        return shape.model_validate(dict(event))
    except ValidationError as exc:
        problems = "; ".join(describe_validation_errors(exc.errors())[:3])
        raise UnsupportedEventError(f"the event is not a valid {what} request: {problems}") from None


def _with_stage(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """A 2.0 event without ``requestContext.stage`` is at the ``$default`` stage (Powertools assumes one)."""
    context = event.get("requestContext")
    if isinstance(context, Mapping) and "stage" not in context:
        return {**event, "requestContext": {**context, "stage": "$default"}}
    return event


# -- the resolvers ---------------------------------------------------------------------------------
class _JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading bodies as JSON only.

    Powertools parses a missing Content-Type as JSON and a form or multipart body as such (then reports
    the fields as missing: the confusing 422 ``curl -d`` used to get); this API takes JSON and says so.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = str(app.current_event.headers.get("content-type") or "")
        if not is_json_media_type(content_type):
            raise UnsupportedMediaTypeError(content_type)
        body: dict[str, Any] = self._parse_json_data(app)
        return body


class _MoviesResolver(ApiGatewayResolver):
    """What the three resolvers add to Powertools': bounded JSON bodies, JSON-only bodies, and path
    parameters percent-decoded before validation.

    API Gateway passes ``path`` (and HTTP APIs ``rawPath``) as the client sent it (``/movies/a%20b``);
    Powertools matches routes on it and hands out the raw segments. Decoded here, the id is ``a b`` and
    the contract's rules (length, no control characters) apply to the real id, not to its encoding.
    """

    def __init__(self) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=read_json_body)
        self._request_validation_middleware = _JsonBodyValidation()

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


class MoviesRestResolver(_MoviesResolver, APIGatewayRestResolver):
    """REST API (payload format 1.0)."""


class MoviesHttpResolver(_MoviesResolver, APIGatewayHttpResolver):
    """HTTP API (payload format 2.0)."""


class MoviesFunctionUrlResolver(_MoviesResolver, LambdaFunctionUrlResolver):
    """Lambda function URL (payload format 2.0)."""


def prepared(event: Mapping[str, Any], payload: PayloadFormat) -> Mapping[str, Any]:
    """The event as its resolver expects it (2.0 events may omit the stage)."""
    return _with_stage(event) if payload != "rest" else event
