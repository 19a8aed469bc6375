"""Small helpers for the WSGI middleware in front of the embedded AWS."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back so the wrapped application can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def call_buffered(
    app: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]
) -> tuple[str, bytes]:
    """Run ``app`` to the end of its response, passing its ``start_response`` call through.

    Returns the status line it started with and its whole body, for middleware that acts on what the
    wrapped application answered (and so must see all of it before handing it on).
    """
    statuses: list[str] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    result = app(environ, capture)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (statuses[0] if statuses else ""), body
