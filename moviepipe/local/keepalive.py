"""A werkzeug request handler that keeps connections open (HTTP/1.1 keep-alive) for the embedded AWS.

Why: werkzeug's development server closes every connection after one answer (it sends
``Connection: close`` whatever the protocol version, because after a response it drains whatever the
client sent next, which would swallow a following request), and then waits up to 10 ms for more input.
So every AWS call of the local stack paid a TCP connect, a new server thread and that wait — twice with
moto in its own process (client → middleware, proxy → moto). botocore pools its connections and reuses
them when the server keeps them open; so does :class:`~moviepipe.local.aws_process.MotoProxy`.

What this handler does differently from werkzeug's ``run_wsgi`` (the rest — request parsing, moto's
header handling in :class:`MotoRequestHandler` — is theirs):

* it reads exactly the request's body (``Content-Length``) before calling the application, so nothing
  of the next request is ever read as this one's, and nothing needs draining afterwards;
* it buffers the application's whole answer and sends it with its ``Content-Length`` (AWS API answers
  are small; the proxy and the middleware buffered them already), so the client knows where it ends;
* it closes the connection when the client asks (``Connection: close``, HTTP/1.0), when the request's
  length is unknown (a chunked body: werkzeug's decoder reads it, then the connection closes), after an
  error, and when the connection stays idle for :data:`IDLE_TIMEOUT_SECONDS` (a pooled connection the
  client forgot, so its thread does not linger);
* an application error is logged and answered with a plain 500, as werkzeug does.

The server keeps a set of its idle connections (:func:`close_connections`), so stopping the embedded
AWS ends the threads waiting on kept-alive connections at once instead of at their idle timeout; a
request being answered finishes its answer.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
import time
from typing import Any, ClassVar

from moto.moto_server.werkzeug_app import MotoRequestHandler

#: A kept-alive connection with no request for this long is closed by the server (seconds). botocore
#: (urllib3) checks a pooled connection is still open before reusing it, and retries a request whose
#: connection closed before it was read.
IDLE_TIMEOUT_SECONDS = 30.0
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_log = logging.getLogger(__name__)
_werkzeug_log = logging.getLogger("werkzeug")


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, speaking HTTP/1.1 with persistent connections (see the module doc)."""

    protocol_version = "HTTP/1.1"
    timeout: ClassVar[float | None] = (
        IDLE_TIMEOUT_SECONDS  # socketserver applies it to the connection's socket
    )
    # An answer goes out as headers then body: with Nagle's algorithm on, a kept-alive connection waits
    # for the client's delayed ACK (40 ms on Linux) before sending the body.
    disable_nagle_algorithm = True
    # Buffered writes: an answer's headers and body leave in one send (flushed at its end), not two.
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        _connections(self.server).add(self.connection)

    def finish(self) -> None:
        _connections(self.server).discard(self.connection)
        super().finish()

    def log_error(self, format: str, *args: Any) -> None:
        # An idle kept-alive connection timing out is the normal end of one, not an error.
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats the access-log line (a timestamp included) before its logger's level is
        # checked: ~1 % of a busy server's CPU spent on lines nobody sees when werkzeug logs WARNING.
        if _werkzeug_log.isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def run_wsgi(self) -> None:
        _connections(self.server).discard(self.connection)  # busy: stopping lets it finish its answer
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        self.environ = environ = self.make_environ()
        length = environ.get("CONTENT_LENGTH")
        if "wsgi.input_terminated" in environ:  # chunked body: werkzeug's decoder reads it
            self.close_connection = True
        elif length:
            try:
                size = int(length)
            except ValueError:
                size = -1
            if size < 0:
                self._answer(400, "Bad Request", [], b"invalid Content-Length", close=True)
                return
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(size))
        else:
            environ["wsgi.input"] = io.BytesIO(b"")
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if started and not exc_info:
                raise AssertionError("Headers already set")
            started[:] = [(status, list(headers))]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not started:
                raise AssertionError("the application did not call start_response")
        except Exception:  # noqa: BLE001 - any application error is a 500, as werkzeug answers
            _log.exception("Error on request %s %s", self.command, self.path)
            self._answer(500, "Internal Server Error", [], b"Internal Server Error", close=True)
            return
        status, headers = started[0]
        code, _, reason = status.partition(" ")
        self._answer(int(code), reason, headers, b"".join(chunks), close=self.close_connection)

    def _answer(
        self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes, *, close: bool
    ) -> None:
        """Send the answer: the bytes ``send_response`` / ``send_header`` / ``end_headers`` wrote, built at once.

        Why: http.server formats, encodes and buffers each header line in its own call, and formats the
        ``Date`` anew for every answer: about a twentieth of moto's process. The head here is the same
        lines in the same order — status line, ``Server``, ``Date``, the application's headers but the
        hop-by-hop ones and its length, ``Content-Length``, ``Connection: close`` when closing, a blank
        line — encoded as Latin-1 as http.server encodes them (tests/unit/test_keepalive_answer.py holds
        it to http.server byte for byte); an HTTP/0.9 request goes through http.server's own calls.
        """
        if self.request_version == "HTTP/0.9":
            self._answer_stock(code, reason, headers, body, close=close)
            return
        self.log_request(code)
        lines = [
            f"{self.protocol_version} {code} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                lines.append(f"{key}: {value}")
        bodiless = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        if bodiless:
            # A HEAD's answer says the length of what a GET would send; keep the application's.
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            if length is not None and code not in (204, 304) and not 100 <= code < 200:
                lines.append(f"Content-Length: {length}")
        else:
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
            self.close_connection = True  # as http.server's send_header sets it
        lines.append("\r\n")
        self.wfile.write("\r\n".join(lines).encode("latin-1", "strict"))
        if not bodiless:
            self.wfile.write(body)
        self.wfile.flush()
        if not self.close_connection:
            _connections(self.server).add(self.connection)  # idle again

    def _answer_stock(
        self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes, *, close: bool
    ) -> None:
        """The answer through http.server's header calls (what :meth:`_answer` reproduces)."""
        self.send_response(code, reason)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        bodiless = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
        if bodiless:
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            if length is not None and code not in (204, 304) and not 100 <= code < 200:
                self.send_header("Content-Length", length)
        else:
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")  # http.server also sets close_connection
        self.end_headers()
        if not bodiless:
            self.wfile.write(body)
        self.wfile.flush()
        if not self.close_connection:
            _connections(self.server).add(self.connection)  # idle again

    def date_time_string(self, timestamp: float | None = None) -> str:
        """http.server's ``Date`` value, formatted once per second.

        ``email.utils.formatdate`` shows whole seconds: every instant of second ``s`` (below
        ``s + 0.999``, so that rounding to microseconds cannot carry into the next second) gives the
        same text, which is kept. An explicit ``timestamp``, or the last millisecond of a second, is
        formatted as http.server formats it.
        """
        global _date_cache
        if timestamp is not None:
            return str(super().date_time_string(timestamp))
        now = time.time()
        second = int(now)
        if now - second >= 0.999:
            return str(super().date_time_string(now))
        cached_second, text = _date_cache
        if cached_second != second:
            text = str(super().date_time_string(now))
            _date_cache = (second, text)
        return text


#: The last ``Date`` formatted: (its whole second, its text).
_date_cache: tuple[int, str] = (-1, "")


def _connections(server: Any) -> _LockedSet:
    connections: _LockedSet | None = getattr(server, "_moviepipe_connections", None)
    if connections is None:
        with _lock:
            connections = getattr(server, "_moviepipe_connections", None)
            if connections is None:
                connections = server._moviepipe_connections = _LockedSet()
    return connections


class _LockedSet:
    """The server's idle connections (handler threads add and remove; stop reads)."""

    def __init__(self) -> None:
        self._items: set[socket.socket] = set()
        self._lock = threading.Lock()

    def add(self, item: socket.socket) -> None:
        with self._lock:
            self._items.add(item)

    def discard(self, item: socket.socket) -> None:
        with self._lock:
            self._items.discard(item)

    def snapshot(self) -> list[socket.socket]:
        with self._lock:
            return list(self._items)


_lock = threading.Lock()


def close_connections(server: Any) -> None:
    """End the server's idle connections (call after ``shutdown()``): their threads then finish."""
    connections = getattr(server, "_moviepipe_connections", None)
    for connection in connections.snapshot() if connections is not None else []:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
