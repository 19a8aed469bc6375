"""The movies API's routes: HTTP in, :class:`~producers.movies_api.table.MoviesTable` calls, HTTP out.

PUT semantics (create-or-replace, never a silent overwrite):

* ``PUT /movies/{id}`` without If-Match creates the movie under that id (201). If the id is taken it
  answers 409 with the current ETag: replacing needs the caller to say which version it replaces.
* ``PUT /movies/{id}`` with If-Match replaces the movie if its current ETag is listed (200), 412 if it is
  at another version, 404 if it does not exist. ``If-Match: *`` replaces whatever version is there.
* ``DELETE /movies/{id}`` requires If-Match (428 without): a delete must not discard an update it has
  not seen, any more than a PUT may.

The table is handed in per invocation through ``app.context`` (see :mod:`.handler`), so importing this
module needs no configuration (the OpenAPI generator imports it with none).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from re import Match
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from movie_events.errors import describe_validation_errors
from movie_events.models import MovieId
from producers.movies_api.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    TEXT_PATTERN,
    ErrorBody,
    ErrorDetail,
    Movie,
    MovieFields,
    MoviePage,
)
from producers.movies_api.preconditions import IF_MATCH_PATTERN, IfMatch, InvalidIfMatchError, etag
from producers.movies_api.table import (
    InvalidPageTokenError,
    MovieExistsError,
    MovieNotFoundError,
    MoviesTable,
    VersionMismatchError,
)

TABLE_CONTEXT_KEY = "movies_table"
API_TITLE = "moviepipe movies API"
API_VERSION = "1.0.0"


class MoviesResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with path parameters percent-decoded before validation.

    A REST API passes ``path`` as the client sent it (``/movies/a%20b``) and Powertools matches routes on
    it and hands out the raw segments; decoded here, the id is ``a b`` and the contract's rules (length,
    no control characters) apply to the real id, not to its encoding.
    """

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        return {name: unquote(value) for name, value in match.groupdict().items()}


app = MoviesResolver(enable_validation=True)

_Handler = TypeVar("_Handler", bound=Callable[..., Response[str]])
# Powertools leaves exception_handler unannotated; this is its real signature, for mypy --strict.
_exception_handler = cast(Callable[[type[Exception]], Callable[[_Handler], _Handler]], app.exception_handler)

MovieIdPath = Annotated[
    MovieId, Path(description="The movie's id.", json_schema_extra={"pattern": TEXT_PATTERN})
]
# An absent If-Match arrives as "" (the default); a present one must match IF_MATCH_PATTERN (422 if not).
IfMatchHeader = Annotated[
    str,
    Header(
        alias="If-Match",
        description='ETag(s) of the version this request replaces, e.g. "3", or * for any version.',
        pattern=IF_MATCH_PATTERN,
    ),
]


def _error(status: HTTPStatus, description: str) -> dict[int, Any]:
    return {
        int(status): {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
    }


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
}
_INVALID = _error(HTTPStatus.UNPROCESSABLE_ENTITY, "A parameter or the body breaks the schema.")
_NOT_FOUND = _error(HTTPStatus.NOT_FOUND, "No movie has this id.")
_BAD_REQUEST = _error(HTTPStatus.BAD_REQUEST, "The request cannot be read (JSON, If-Match, next_token).")
_UNSUPPORTED = _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "The body is not application/json.")
_STALE = _error(HTTPStatus.PRECONDITION_FAILED, "The movie is at another version than If-Match names.")


def _table() -> MoviesTable:
    table = app.context.get(TABLE_CONTEXT_KEY)
    if not isinstance(table, MoviesTable):
        raise RuntimeError("no MoviesTable in app.context: call the API through its lambda_handler")
    return table


def _movie_response(movie: Movie, status: HTTPStatus = HTTPStatus.OK, **headers: str) -> Response[Movie]:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=movie,
        headers={"ETag": etag(movie.version), **headers},
    )


def _parse_if_match(header: str) -> IfMatch | None:
    return IfMatch.parse(header) if header else None


@app.get(
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
    page = _table().page(limit, next_token)
    return MoviePage(items=page.items, next_token=page.next_token)


@app.get(
    "/movies/<movie_id>",
    summary="Read one movie",
    responses={**_ok(HTTPStatus.OK, "The movie.", Movie, "ETag"), **_NOT_FOUND, **_INVALID},
)
def get_movie(movie_id: MovieIdPath) -> Response[Movie]:
    return _movie_response(_table().get(movie_id))


@app.post(
    "/movies",
    summary="Create a movie under a new, server-chosen id",
    responses={
        **_ok(HTTPStatus.CREATED, "The movie was created.", Movie, "ETag", "Location"),
        **_BAD_REQUEST,
        **_UNSUPPORTED,
        **_INVALID,
    },
)
def create_movie(movie: MovieFields) -> Response[Movie]:
    created = _table().create(str(uuid.uuid4()), movie)
    return _movie_response(created, HTTPStatus.CREATED, Location=_location(created.id))


@app.put(
    "/movies/<movie_id>",
    summary="Create a movie under this id, or replace it (If-Match)",
    responses={
        **_ok(HTTPStatus.OK, "The movie was replaced.", Movie, "ETag"),
        **_ok(HTTPStatus.CREATED, "The movie was created.", Movie, "ETag", "Location"),
        **_BAD_REQUEST,
        **_NOT_FOUND,
        **_error(HTTPStatus.CONFLICT, "No If-Match, and a movie with this id exists."),
        **_STALE,
        **_UNSUPPORTED,
        **_INVALID,
    },
)
def put_movie(movie_id: MovieIdPath, movie: MovieFields, if_match: IfMatchHeader = "") -> Response[Movie]:
    expected = _parse_if_match(if_match)
    if expected is None:
        created = _table().create(movie_id, movie)
        return _movie_response(created, HTTPStatus.CREATED, Location=_location(created.id))
    return _movie_response(_table().replace(movie_id, movie, expected))


@app.delete(
    "/movies/<movie_id>",
    summary="Delete a movie (If-Match required)",
    responses={
        int(HTTPStatus.NO_CONTENT): {"description": "The movie was deleted.", "content": {}},
        **_BAD_REQUEST,
        **_NOT_FOUND,
        **_STALE,
        **_INVALID,
        **_error(HTTPStatus.PRECONDITION_REQUIRED, "If-Match is missing."),
    },
)
def delete_movie(movie_id: MovieIdPath, if_match: IfMatchHeader = "") -> Response[None]:
    expected = _parse_if_match(if_match)
    if expected is None:
        raise _PreconditionRequiredError(movie_id)
    _table().delete(movie_id, expected)
    return Response(status_code=int(HTTPStatus.NO_CONTENT))


def _location(movie_id: str) -> str:
    return "/movies/" + quote(movie_id, safe="")


class _PreconditionRequiredError(Exception):
    def __init__(self, movie_id: str) -> None:
        super().__init__(f"deleting movie {movie_id!r} needs If-Match with the ETag of the version to delete")


# -- errors ----------------------------------------------------------------------------------------
def error_response(
    status: HTTPStatus,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    body = ErrorBody(error=code, message=message, details=list(details))
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(),
        headers=dict(headers or {}),
    )


@_exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(HTTPStatus.BAD_REQUEST, "MalformedJSON", "the request body is not valid JSON")
    details = [
        ErrorDetail(location=line.partition(": ")[0], message=line.partition(": ")[2])
        for line in describe_validation_errors(errors)
    ]
    summary = "; ".join(f"{d.location}: {d.message}" for d in details[:3])
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "ValidationError", summary, details)


@_exception_handler(RequestUnsupportedContentType)
def _unsupported_body(exc: RequestUnsupportedContentType) -> Response[str]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "send the body as application/json"
    )


@_exception_handler(ValueError)
def _unparseable_multipart(exc: ValueError) -> Response[str]:
    # Powertools parses multipart bodies before validation and raises a bare ValueError for one with no
    # boundary. Claim that one error only: any other ValueError is a bug and must surface as such.
    if "multipart" not in str(exc):
        raise exc
    return _unsupported_body(RequestUnsupportedContentType(str(exc), errors=[]))


@_exception_handler(UnicodeDecodeError)
def _undecodable_body(exc: UnicodeDecodeError) -> Response[str]:
    # Powertools decodes the body as UTF-8 before parsing it; a client error, not ours.
    return error_response(
        HTTPStatus.BAD_REQUEST, "MalformedBody", f"the request body is not UTF-8: {exc.reason}"
    )


@_exception_handler(InvalidIfMatchError)
def _bad_if_match(exc: InvalidIfMatchError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "InvalidIfMatch", str(exc))


@_exception_handler(InvalidPageTokenError)
def _bad_token(exc: InvalidPageTokenError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "InvalidNextToken", str(exc))


@_exception_handler(MovieNotFoundError)
def _missing(exc: MovieNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "MovieNotFound", str(exc))


@_exception_handler(MovieExistsError)
def _exists(exc: MovieExistsError) -> Response[str]:
    message = f"{exc}; to replace it, send If-Match: {etag(exc.current.version)}"
    return error_response(
        HTTPStatus.CONFLICT, "MovieExists", message, headers={"ETag": etag(exc.current.version)}
    )


@_exception_handler(VersionMismatchError)
def _stale(exc: VersionMismatchError) -> Response[str]:
    return error_response(
        HTTPStatus.PRECONDITION_FAILED,
        "VersionMismatch",
        str(exc),
        headers={"ETag": etag(exc.current.version)},
    )


@_exception_handler(_PreconditionRequiredError)
def _if_match_required(exc: _PreconditionRequiredError) -> Response[str]:
    return error_response(HTTPStatus.PRECONDITION_REQUIRED, "IfMatchRequired", str(exc))


@_exception_handler(NotFoundError)
def _no_route(exc: NotFoundError) -> Response[str]:
    path = app.current_event.path
    # Powertools keeps its route table private; reading it keeps the routes above the only list of them.
    routes = app._static_routes + app._dynamic_routes
    allowed = sorted({route.method for route in routes if route.rule.match(path)})
    if allowed:
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            f"{app.current_event.http_method} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )
    return error_response(HTTPStatus.NOT_FOUND, "NoSuchRoute", "no route matches this path")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, generated from the routes above (``docs/openapi.json`` is a copy)."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION))
    return document
