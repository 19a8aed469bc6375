"""The kept-alive server's answers (moviepipe/local/keepalive.py) are the bytes http.server writes:
``_answer`` builds its head at once, ``date_time_string`` keeps the ``Date`` of the current second."""

from __future__ import annotations

import email.utils
import io
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from moviepipe.local import keepalive
from moviepipe.local.keepalive import KeepAliveRequestHandler

_names = st.sampled_from(
    ["Content-Type", "x-amzn-RequestId", "Content-Length", "Connection", "Transfer-Encoding", "ETag", "date"]
) | st.text(alphabet="abcXYZ-_", min_size=1, max_size=10)
_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=20)


class _Server:
    pass


def _handler(command: str, version: str) -> Any:
    handler: Any = KeepAliveRequestHandler.__new__(KeepAliveRequestHandler)
    handler.command, handler.request_version = command, version
    handler.requestline, handler.client_address = f"{command} / {version}", ("127.0.0.1", 1)
    handler.wfile, handler.server, handler.connection = io.BytesIO(), _Server(), object()
    handler.close_connection = False
    return handler


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9"]),
    st.sampled_from([100, 200, 201, 204, 299, 304, 400, 404, 500, 503]),
    st.sampled_from(["OK", "", "Not Found", "Weird  Reason"]),
    st.lists(st.tuples(_names, _values), max_size=8),
    st.binary(max_size=64),
    st.booleans(),
    st.floats(min_value=1e9, max_value=2e9),
)
def test_answers_are_http_servers_bytes(
    command: str,
    version: str,
    code: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
    close: bool,
    now: float,
) -> None:
    written = []
    for answer in (KeepAliveRequestHandler._answer, KeepAliveRequestHandler._answer_stock):
        handler = _handler(command, version)
        with mock.patch("time.time", return_value=now), mock.patch.object(keepalive, "_date_cache", (-1, "")):
            answer(handler, code, reason, list(headers), body, close=close)
        written.append((handler.wfile.getvalue(), handler.close_connection))
    assert written[0] == written[1]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1_000_000_000, 2_000_000_000),
    st.floats(min_value=0, max_value=1, exclude_max=True)
    | st.sampled_from([0.0, 0.998, 0.9989999, 0.999, 0.9999995, 0.99999999]),
    st.sampled_from([-1, 0, 1]),
)
def test_date_is_http_servers(second: int, fraction: float, cached_offset: int) -> None:
    """Whatever second was kept last, the ``Date`` is what http.server formats for now."""
    now = second + fraction
    handler = _handler("GET", "HTTP/1.1")
    keep = (second + cached_offset, email.utils.formatdate(second + cached_offset, usegmt=True))
    with mock.patch("time.time", return_value=now), mock.patch.object(keepalive, "_date_cache", keep):
        assert handler.date_time_string() == email.utils.formatdate(now, usegmt=True)
        assert handler.date_time_string() == email.utils.formatdate(now, usegmt=True)  # kept
    assert handler.date_time_string(now) == email.utils.formatdate(now, usegmt=True)
