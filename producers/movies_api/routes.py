"""The movies API's routes: HTTP in, :class:`~producers.movies_api.table.MoviesTable` calls, HTTP out.

Preconditions are optional by default, as the reference design's clients expect:

* ``PUT /movies/{id}`` without If-Match creates the movie under that id (201) or replaces it (200),
  whatever its version. ``DELETE /movies/{id}`` without If-Match deletes it (204; 404 if absent).
* With If-Match they are conditional: 412 (with the current ETag) unless the movie's ETag is listed
  (strong comparison), 404 if it does not exist. ``If-Match: *`` accepts any existing version.
* A PUT body may be the movie as GET returned it: ``id`` must be the path's id (422 otherwise) and
  ``version`` is a precondition like If-Match (both must hold when both are sent).
* ``MOVIES_API_REQUIRE_IF_MATCH=true`` is the strict mode: PUT without If-Match only creates (409 with
  the current ETag if the id is taken) and DELETE without If-Match is 428.

``POST /movies`` takes an optional ``Idempotency-Key`` (see :mod:`.idempotency`).

The routes live on one Powertools ``Router`` included in the three resolvers of :mod:`.gateway`; the
handler picks the resolver from the event (:func:`serve`). What a request needs (the table, the mode,
the idempotency store) is handed in per invocation through :data:`_SERVICES`, so importing this module
needs no configuration (the OpenAPI generator imports it with none).
"""

from __future__ import annotations

import binascii
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any, Final, TypeVar, cast
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AfterValidator

from movie_events.errors import EventTooLargeError, MalformedMessageError, describe_validation_errors
from movie_events.fields import MovieId
from movie_events.jsonlimits import PlacedJsonError
from producers.movies_api.gateway import (
    BODY_LIMITS,
    MAX_BODY_BYTES,
    MoviesFunctionUrlResolver,
    MoviesHttpResolver,
    MoviesRestResolver,
    PayloadFormat,
    UnsupportedEventError,
    UnsupportedMediaTypeError,
    payload_format,
    prepared,
)
from producers.movies_api.idempotency import (
    HEADER as IDEMPOTENCY_HEADER,
)
from producers.movies_api.idempotency import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    REPLAYED_HEADER,
    IdempotentCreate,
    InvalidIdempotencyKeyError,
    normalize_key,
)
from producers.movies_api.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    TEXT_PATTERN,
    ErrorBody,
    ErrorDetail,
    Movie,
    MovieFields,
    MoviePage,
    MovieReplacement,
    _utf8,
)
from producers.movies_api.preconditions import IF_MATCH_PATTERN, IfMatch, InvalidIfMatchError, etag
from producers.movies_api.table import (
    InvalidPageTokenError,
    MovieExistsError,
    MovieNotFoundError,
    MoviesTable,
    UnreadableMovieError,
    VersionMismatchError,
)

API_TITLE = "moviepipe movies API"
API_VERSION = "1.1.0"
API_DESCRIPTION = f"""CRUD on movies. Every change is published as an event by the table's outbox.

**Preconditions** are optional by default: PUT without If-Match creates or replaces, DELETE without
If-Match deletes. With If-Match (or a `version` in a PUT body) they are conditional: 412 unless the
movie's current ETag is named (strong comparison: `"03"` does not match `"3"`, `W/"3"` matches nothing).
A deployment with `MOVIES_API_REQUIRE_IF_MATCH=true` requires them: PUT without If-Match only creates
(409 if the id exists) and DELETE without If-Match is 428.

**Idempotency-Key** (optional, POST): a retry with the same key and body returns the first response
and creates nothing (`Idempotent-Replayed: true`); the same key with another body is 422; the same key
while the first request runs is 409. Keys are remembered for 24 hours.

**Limits**: request bodies are `application/json` only (415 otherwise, a missing Content-Type
included) and at most {MAX_BODY_BYTES} bytes (413 above); JSON nested deeper than
{BODY_LIMITS.max_depth} levels, integers of more than {BODY_LIMITS.max_integer_digits} digits and
numbers too large for a double are 422. Errors are JSON: `{{"error", "message", "details"}}`.
"""

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

_Handler = TypeVar("_Handler", bound=Callable[..., Response[str]])
# Powertools leaves exception_handler unannotated; this is its real signature, for mypy --strict.
_exception_handler = cast(
    Callable[[type[Exception]], Callable[[_Handler], _Handler]], router.exception_handler
)


# -- what each invocation gets -----------------------------------------------------------------------
@dataclass(frozen=True)
class Services:
    """What the routes use, built by the handler from its configuration."""

    table: MoviesTable
    require_if_match: bool = False
    #: Builds the idempotency store on first use: only a POST with Idempotency-Key needs one.
    idempotent_create: Callable[[], IdempotentCreate] | None = None


_SERVICES: ContextVar[Services] = ContextVar("movies_api_services")
_RESOLVER: ContextVar[ApiGatewayResolver] = ContextVar("movies_api_resolver")


def _services() -> Services:
    services = _SERVICES.get(None)
    if services is None:
        raise RuntimeError("no Services for this request: call the API through its lambda_handler")
    return services


# -- parameters ----------------------------------------------------------------------------------------
MovieIdPath = Annotated[
    MovieId,
    AfterValidator(_utf8),
    Path(description="The movie's id.", json_schema_extra={"pattern": TEXT_PATTERN}),
]
# An absent header arrives as "" (the default); a present one must match its pattern (422 if not).
IfMatchHeader = Annotated[
    str,
    Header(
        alias="If-Match",
        description='ETag(s) of the version this request replaces, e.g. "3", or * for any version. '
        "Optional unless the deployment requires it (MOVIES_API_REQUIRE_IF_MATCH).",
        pattern=IF_MATCH_PATTERN,
    ),
]
IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Optional. A key unique to this request (a UUID, say); a retry with the same key and "
        "body returns the first response instead of creating another movie.",
        pattern=KEY_PATTERN,
        max_length=MAX_KEY_LENGTH,
    ),
]


# -- documentation of the responses ------------------------------------------------------------------
def _error(status: HTTPStatus, description: str, *headers: str) -> dict[int, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
    }
    if headers:
        response["headers"] = {name: _HEADER_DOCS[name] for name in headers}
    return {int(status): response}


def _ok(status: HTTPStatus, description: str, model: type[Any], *headers: str) -> dict[int, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {content_types.APPLICATION_JSON: {"model": model}},
    }
    if headers:
        response["headers"] = {name: _HEADER_DOCS[name] for name in headers}
    return {int(status): response}


_HEADER_DOCS = {
    "ETag": {"description": 'The movie\'s version as an entity tag, e.g. "3".', "schema": {"type": "string"}},
    "Location": {"description": "The new movie's URL path.", "schema": {"type": "string"}},
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the same "
        "Idempotency-Key (nothing was created this time).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}},
}
_INVALID = _error(
    HTTPStatus.UNPROCESSABLE_ENTITY,
    "A parameter or the body breaks the schema (JSON too deep and numbers too large included).",
)
_NOT_FOUND = _error(HTTPStatus.NOT_FOUND, "No movie has this id.")
_BAD_REQUEST = _error(
    HTTPStatus.BAD_REQUEST, "The request cannot be read (JSON, If-Match, Idempotency-Key, next_token)."
)
_TOO_LARGE = _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The body is larger than {MAX_BODY_BYTES} bytes.")
_UNSUPPORTED = _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "The body is not sent as application/json.")
_STALE = _error(
    HTTPStatus.PRECONDITION_FAILED, "The movie is at another version than If-Match names.", "ETag"
)
_BODY_ERRORS = {**_BAD_REQUEST, **_TOO_LARGE, **_UNSUPPORTED, **_INVALID}


def _movie_response(movie: Movie, status: HTTPStatus = HTTPStatus.OK, **headers: str) -> Response[Movie]:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=movie,
        headers={"ETag": etag(movie.version), **headers},
    )


def _parse_if_match(header: str) -> IfMatch | None:
    return IfMatch.parse(header) if header else None


# -- routes --------------------------------------------------------------------------------------------
@router.get(
    "/movies",
    summary="List movies, a page at a time",
    responses={**_ok(HTTPStatus.OK, "One page of movies.", MoviePage), **_BAD_REQUEST, **_INVALID},
)
def list_movies(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Movies per page.")] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[
        str | None, Query(max_length=2048, description="The previous page's next_token.")
    ] = None,
) -> MoviePage:
    page = _services().table.page(limit, next_token)
    return MoviePage(items=page.items, next_token=page.next_token)


@router.get(
    "/movies/<movie_id>",
    summary="Read one movie",
    responses={**_ok(HTTPStatus.OK, "The movie.", Movie, "ETag"), **_NOT_FOUND, **_INVALID},
)
def get_movie(movie_id: MovieIdPath) -> Response[Movie]:
    return _movie_response(_services().table.get(movie_id))


@router.post(
    "/movies",
    summary="Create a movie under a new, server-chosen id (Idempotency-Key makes a retry safe)",
    responses={
        **_ok(HTTPStatus.CREATED, "The movie was created.", Movie, "ETag", "Location", REPLAYED_HEADER),
        **_error(
            HTTPStatus.CONFLICT, "A request with this Idempotency-Key is still in progress.", "Retry-After"
        ),
        **_BODY_ERRORS,
    },
)
def create_movie(movie: MovieFields, idempotency_key: IdempotencyKeyHeader = "") -> Response[Movie]:
    services = _services()

    def create(fields: MovieFields) -> Movie:
        return services.table.create(str(uuid.uuid4()), fields)

    if not idempotency_key:
        created = create(movie)
        return _movie_response(created, HTTPStatus.CREATED, Location=_location(created.id))
    key = normalize_key(idempotency_key)
    if services.idempotent_create is None:
        raise RuntimeError("this deployment has no idempotency store")
    outcome = services.idempotent_create()(key, movie, create, _lambda_context())
    headers = {"Location": _location(outcome.movie.id)}
    if outcome.replayed:
        headers[REPLAYED_HEADER] = "true"
    return _movie_response(outcome.movie, HTTPStatus.CREATED, **headers)


@router.put(
    "/movies/<movie_id>",
    summary="Create or replace the movie under this id (conditional with If-Match or a body version)",
    responses={
        **_ok(HTTPStatus.OK, "The movie was replaced.", Movie, "ETag"),
        **_ok(HTTPStatus.CREATED, "The movie was created.", Movie, "ETag", "Location"),
        **_NOT_FOUND,
        **_error(
            HTTPStatus.CONFLICT,
            "Strict mode only: no If-Match, and a movie with this id exists.",
            "ETag",
        ),
        **_STALE,
        **_BODY_ERRORS,
    },
)
def put_movie(
    movie_id: MovieIdPath, movie: MovieReplacement, if_match: IfMatchHeader = ""
) -> Response[Movie]:
    if movie.id is not None and movie.id != movie_id:
        raise _BodyIdMismatchError(movie_id, movie.id)
    expected = _parse_if_match(if_match)
    if movie.version is not None:
        expected = (expected or IfMatch(any_version=True)).narrowed_to(movie.version)
    services = _services()
    fields = movie.fields()
    if expected is not None:
        return _movie_response(services.table.replace(movie_id, fields, expected))
    if services.require_if_match:
        created = services.table.create(movie_id, fields)
        return _movie_response(created, HTTPStatus.CREATED, Location=_location(movie_id))
    written = services.table.put(movie_id, fields)
    if written.created:
        return _movie_response(written.movie, HTTPStatus.CREATED, Location=_location(movie_id))
    return _movie_response(written.movie)


@router.delete(
    "/movies/<movie_id>",
    summary="Delete a movie (conditional with If-Match)",
    responses={
        int(HTTPStatus.NO_CONTENT): {"description": "The movie was deleted.", "content": {}},
        **_BAD_REQUEST,
        **_NOT_FOUND,
        **_STALE,
        **_INVALID,
        **_error(HTTPStatus.PRECONDITION_REQUIRED, "Strict mode only: If-Match is missing."),
    },
)
def delete_movie(movie_id: MovieIdPath, if_match: IfMatchHeader = "") -> Response[None]:
    services = _services()
    expected = _parse_if_match(if_match)
    if expected is None and services.require_if_match:
        raise _PreconditionRequiredError(movie_id)
    services.table.delete(movie_id, expected)
    return Response(status_code=int(HTTPStatus.NO_CONTENT))


def _location(movie_id: str) -> str:
    return "/movies/" + quote(movie_id, safe="")


def _lambda_context() -> LambdaContext | None:
    resolver = _RESOLVER.get(None)
    context = getattr(resolver, "lambda_context", None) if resolver is not None else None
    return context if hasattr(context, "get_remaining_time_in_millis") else None


class _PreconditionRequiredError(Exception):
    def __init__(self, movie_id: str) -> None:
        super().__init__(
            f"this deployment requires If-Match to delete: send If-Match with the ETag of the version "
            f"of movie {movie_id!r} to delete"
        )


class _BodyIdMismatchError(Exception):
    def __init__(self, path_id: str, body_id: str) -> None:
        super().__init__(f"must be the id in the path ({path_id!r}), not {body_id!r}")


# -- errors ----------------------------------------------------------------------------------------
def _text(value: str) -> str:
    """``value`` as text any JSON encoder and log can hold (a lone surrogate shown as its escape)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status: HTTPStatus,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    body = ErrorBody(
        error=code,
        message=_text(message),
        details=[ErrorDetail(location=_text(d.location), message=_text(d.message)) for d in details],
    )
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=dict(headers or {}),
    )


def _validation_error(details: Sequence[ErrorDetail]) -> Response[str]:
    summary = "; ".join(f"{d.location}: {d.message}" for d in details[:3])
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "ValidationError", summary, details)


@_exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(HTTPStatus.BAD_REQUEST, "MalformedJSON", "the request body is not valid JSON")
    details = [
        ErrorDetail(location=line.partition(": ")[0], message=line.partition(": ")[2])
        for line in describe_validation_errors(errors)
    ]
    return _validation_error(details)


@_exception_handler(UnsupportedMediaTypeError)
def _not_json(exc: UnsupportedMediaTypeError) -> Response[str]:
    return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", str(exc))


@_exception_handler(RequestUnsupportedContentType)
def _unsupported_body(exc: RequestUnsupportedContentType) -> Response[str]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "send the body as application/json"
    )


@_exception_handler(EventTooLargeError)
def _too_large(exc: EventTooLargeError) -> Response[str]:
    return error_response(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "BodyTooLarge",
        f"the request {exc}; a movie is a few hundred bytes",
    )


@_exception_handler(PlacedJsonError)
def _unacceptable_json(exc: PlacedJsonError) -> Response[str]:
    # Valid JSON that no field of a movie can hold (a 5,000-digit integer, nesting 1,000 levels deep, a
    # lone surrogate): answered like any other value the schema refuses, naming the place.
    location = ".".join(["body", *(str(part) for part in exc.path)])
    return _validation_error([ErrorDetail(location=location, message=str(exc))])


@_exception_handler(MalformedMessageError)
def _malformed_json(exc: MalformedMessageError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "MalformedJSON", f"the request {exc}")


@_exception_handler(UnicodeDecodeError)
def _undecodable_body(exc: UnicodeDecodeError) -> Response[str]:
    # Powertools decodes a base64 body as UTF-8 before parsing it; a client error, not ours.
    return error_response(
        HTTPStatus.BAD_REQUEST, "MalformedBody", f"the request body is not UTF-8: {exc.reason}"
    )


@_exception_handler(binascii.Error)
def _bad_base64(exc: binascii.Error) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST, "MalformedBody", "the request body is marked base64-encoded but is not"
    )


@_exception_handler(InvalidIfMatchError)
def _bad_if_match(exc: InvalidIfMatchError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "InvalidIfMatch", str(exc))


@_exception_handler(InvalidIdempotencyKeyError)
def _bad_idempotency_key(exc: InvalidIdempotencyKeyError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "InvalidIdempotencyKey", str(exc))


@_exception_handler(IdempotencyValidationError)
def _key_reused(exc: IdempotencyValidationError) -> Response[str]:
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "IdempotencyKeyReused",
        f"this {IDEMPOTENCY_HEADER} was already used with another body; "
        f"use a new {IDEMPOTENCY_HEADER} for a different request",
        [
            ErrorDetail(
                location=f"header.{IDEMPOTENCY_HEADER.lower()}", message="already used with another body"
            )
        ],
    )


@_exception_handler(IdempotencyAlreadyInProgressError)
def _key_in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[str]:
    return error_response(
        HTTPStatus.CONFLICT,
        "IdempotencyKeyInUse",
        f"a request with this {IDEMPOTENCY_HEADER} is still in progress; retry in a moment",
        headers={"Retry-After": "1"},
    )


@_exception_handler(_BodyIdMismatchError)
def _id_mismatch(exc: _BodyIdMismatchError) -> Response[str]:
    return _validation_error([ErrorDetail(location="body.id", message=str(exc))])


@_exception_handler(InvalidPageTokenError)
def _bad_token(exc: InvalidPageTokenError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "InvalidNextToken", str(exc))


@_exception_handler(MovieNotFoundError)
def _missing(exc: MovieNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "MovieNotFound", str(exc))


@_exception_handler(MovieExistsError)
def _exists(exc: MovieExistsError) -> Response[str]:
    current = etag(exc.current_version)
    message = f"{exc}; this deployment requires If-Match to replace: send If-Match: {current}"
    return error_response(HTTPStatus.CONFLICT, "MovieExists", message, headers={"ETag": current})


@_exception_handler(VersionMismatchError)
def _stale(exc: VersionMismatchError) -> Response[str]:
    return error_response(
        HTTPStatus.PRECONDITION_FAILED,
        "VersionMismatch",
        str(exc),
        headers={"ETag": etag(exc.current_version)},
    )


@_exception_handler(_PreconditionRequiredError)
def _if_match_required(exc: _PreconditionRequiredError) -> Response[str]:
    return error_response(HTTPStatus.PRECONDITION_REQUIRED, "IfMatchRequired", str(exc))


@_exception_handler(UnreadableMovieError)
def _unreadable(exc: UnreadableMovieError) -> Response[str]:
    # Not the request's fault: an item written around the API breaks the contract. Said plainly, as a
    # 500 (the server's data is wrong), instead of a crash that API Gateway turns into a bare 502.
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "StoredMovieInvalid", str(exc))


@_exception_handler(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[str]:
    resolver = _RESOLVER.get()
    event = resolver.current_event
    path = event.path
    # Powertools keeps its route table private; reading it keeps the routes above the only list of them.
    routes = resolver._static_routes + resolver._dynamic_routes
    allowed = sorted({route.method for route in routes if route.rule.match(path)})
    if allowed:
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            f"{ascii(event.http_method)[1:-1][:20]} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    return error_response(HTTPStatus.NOT_FOUND, "NoSuchRoute", "no route matches this path")


# -- the resolvers and the entry point -------------------------------------------------------------------
# Included after every route and exception handler above: include_router copies what the router has.
RESOLVERS: Final[dict[PayloadFormat, ApiGatewayResolver]] = {
    "rest": MoviesRestResolver(),
    "http": MoviesHttpResolver(),
    "function-url": MoviesFunctionUrlResolver(),
}
for _resolver in RESOLVERS.values():
    _resolver.include_router(router)


def serve(event: Any, context: Any, services: Services) -> dict[str, Any]:
    """Answer one invocation: the resolver for the event's format, or a 400 for an event of none."""
    try:
        payload = payload_format(event)
    except UnsupportedEventError as exc:
        return unsupported_event_response(exc)
    resolver = RESOLVERS[payload]
    services_token = _SERVICES.set(services)
    resolver_token = _RESOLVER.set(resolver)
    try:
        return resolver.resolve(prepared(event, payload), context)
    finally:
        _RESOLVER.reset(resolver_token)
        _SERVICES.reset(services_token)


def unsupported_event_response(exc: UnsupportedEventError) -> dict[str, Any]:
    """A 400 in the fields every format's response shares (REST, HTTP API and function URL read it)."""
    body = ErrorBody(error="UnsupportedEvent", message=_text(str(exc)))
    return {
        "statusCode": int(HTTPStatus.BAD_REQUEST),
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(),
        "isBase64Encoded": False,
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, generated from the routes above (``docs/openapi.json`` is a copy)."""
    document: dict[str, Any] = json.loads(
        RESOLVERS["rest"].get_openapi_json_schema(
            title=API_TITLE, version=API_VERSION, description=API_DESCRIPTION
        )
    )
    return document
