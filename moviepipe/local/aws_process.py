"""moto in a process of its own, behind the embedded AWS's middleware, so it does not share a GIL with
the handlers.

Why: under load the local stack is CPU-bound in one interpreter: moto's request handling (Flask,
response rendering, its SQS and DynamoDB models) and the handlers (botocore, MIME rendering) take turns
on one GIL, so a 2-core machine runs them on one core. In a child process moto runs on the other core.

What stays in the parent: the whole middleware chain (:class:`~moviepipe.local.faults.FaultInjector`,
:class:`~moviepipe.local.sqs_front.SqsFront`, :class:`~moviepipe.local.mail_catcher.MailCatcher`,
:class:`~moviepipe.local.serialized.SerializedDynamoDB`) with, at its bottom, a :class:`MotoProxy`
forwarding each request to the child. Tests and the demo keep setting faults (Python predicates) and
reading caught mail on the objects they have; nothing of them crosses the process boundary. Only the
parent talks to the child, so serialising DynamoDB in the parent still serialises it in moto.

The child is ours to clean up, whatever happens to the parent:

* :meth:`MotoProcess.stop` (called when the embedded AWS stops: ``local up``'s Ctrl-C / SIGTERM, the
  tests' fixtures, the demo's exit) terminates it and waits, killing it if it does not go;
* an ``atexit`` hook stops it when the interpreter exits without that (an uncaught exception);
* it runs in a session of its own (a terminal's Ctrl-C goes to the parent, which shuts down in order,
  not to the child, which would vanish under requests still in flight), and it watches its standard
  input, a pipe from the parent: when the parent dies, even by SIGKILL, the pipe closes and the child
  exits at once.

It listens on 127.0.0.1 only, on a free port it reports on its first line of output.
"""

from __future__ import annotations

import atexit
import http.client
import logging
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any

LOOPBACK = "127.0.0.1"
#: How long the child may take to import moto and listen (seconds); a loaded 2-core machine needs ~3.
START_TIMEOUT_SECONDS = 60.0
_READY = "moviepipe-aws-process listening on port "
#: Headers that belong to one connection, not to the request or response they travel with.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


class MotoProcess:
    """A child Python process serving moto's server application on ``127.0.0.1:<port>``."""

    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> MotoProcess:
        if self._process is not None:
            return self
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", __name__, self.host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._process = process
        atexit.register(self.stop)
        try:
            self.port = _read_port(process, START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the child and wait for it (kill it after 5 s); safe to call more than once."""
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.stdin is not None:
            process.stdin.close()  # the child exits on its own when its input closes
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _read_port(process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port from the child's first line, or RuntimeError if it dies or stays silent."""
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    text = line[0].decode(errors="replace").strip() if line else ""
    if not text.startswith(_READY):
        raise RuntimeError(
            f"the embedded AWS's moto process did not start (exit code {process.poll()}, said {text!r})"
        )
    return int(text[len(_READY) :])


class MotoProxy:
    """WSGI application forwarding each request to moto in the child process, unchanged.

    The ``Host`` header is passed through, so what moto builds from it (queue URLs) names the parent's
    endpoint, the one clients use. Connections to the child are kept open and reused (the child serves
    HTTP/1.1 keep-alive, :mod:`moviepipe.local.keepalive`): a pool of idle ones, each used by one request
    at a time, at most :attr:`max_idle` kept. A reused connection the child closed meanwhile (its idle
    timeout) is noticed before use, or — if it closed as the request went out, before reading it — the
    request is sent once more on a new connection; a new connection's failure is the request's failure.

    It speaks HTTP/1.1 itself (:class:`_Connection`), not through ``http.client``: the child is ours and
    answers every request with its length in one write (or closes), so a request is one ``sendall`` and
    an answer a status line, header lines and that many bytes. ``http.client`` built and parsed the same
    bytes with far more work per request: about a sixth of the stack process's CPU in a paced profile.
    """

    max_idle = 32

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _path(environ)
        method, headers = str(environ["REQUEST_METHOD"]), _headers(environ)
        request = _request_bytes(method, str(path), headers, body, f"{self.host}:{self.port}")
        connection, reused = self._take()
        try:
            try:
                answer = connection.exchange(request, head=method == "HEAD")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # The child closed this idle connection as we sent: the request was not read.
                connection.close()
                connection = self._new()
                answer = connection.exchange(request, head=method == "HEAD")
        except BaseException:
            connection.close()
            raise
        status, out, payload, will_close = answer
        if will_close:
            connection.close()
        else:
            self._give_back(connection)
        out = [(k, v) for k, v in out if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
        out.append(("Content-Length", str(len(payload))))
        start_response(status, out)
        return [payload]

    def close(self) -> None:
        """Close the idle connections (the child is stopping)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _new(self) -> _Connection:
        return _Connection(self.host, self.port, self.timeout)

    def _take(self) -> tuple[_Connection, bool]:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._new(), False
            if not connection.dropped():
                return connection, True
            connection.close()

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()


#: The longest status or header line read from the child, and the most header lines (http.client's).
_MAX_LINE = 65536
_MAX_HEADERS = 100


def _request_bytes(method: str, path: str, headers: dict[str, str], body: bytes, host: str) -> bytes:
    """The request as ``http.client`` sent it: the request line; ``Host`` and ``Accept-Encoding`` unless
    the headers have them; ``Content-Length`` where the headers have it, else first of theirs (the
    body's length either way); the headers; the body."""
    names = {k.lower() for k in headers}
    lines = [f"{method} {path} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host}")
    if "accept-encoding" not in names:
        lines.append("Accept-Encoding: identity")
    if "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{k}: {len(body) if k.lower() == 'content-length' else v}" for k, v in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection:
    """One HTTP/1.1 connection to the child: a request out in one write, its answer read back whole."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._address, self._timeout = (host, port), timeout
        self._sock: socket.socket | None = None
        self._file: IO[bytes] | None = None

    def exchange(
        self, request: bytes, *, head: bool = False
    ) -> tuple[str, list[tuple[str, str]], bytes, bool]:
        """Send ``request``; the answer's status line (``"200 OK"``), headers, body and whether the
        connection must close after it. An empty answer (the child closed the connection unread) is
        :class:`http.client.RemoteDisconnected`, as ``http.client`` reports it."""
        if self._sock is None:
            self._sock = socket.create_connection(self._address, self._timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._file = self._sock.makefile("rb")
        assert self._file is not None
        self._sock.sendall(request)
        line = self._file.readline(_MAX_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("status line")
        version, _, rest = line.decode("iso-8859-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not (code.isdigit() and len(code) == 3):
            raise http.client.BadStatusLine(line.decode("iso-8859-1"))
        headers: list[tuple[str, str]] = []
        length: int | None = None
        will_close = version == "HTTP/1.0"
        while True:
            raw = self._file.readline(_MAX_LINE + 1)
            if len(raw) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if raw in (b"\r\n", b"\n", b""):
                break
            if len(headers) >= _MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
            name, colon, value = raw.decode("iso-8859-1").partition(":")
            if not colon:
                raise http.client.HTTPException(f"malformed header line {raw!r}")
            value = value.lstrip(" \t").rstrip("\r\n")  # as http.client's parser (compat32) reads it
            lowered = name.lower()
            if lowered == "content-length":
                length = int(value)
            elif lowered == "connection" and "close" in value.lower():
                will_close = True
            headers.append((name, value))
        status = int(code)
        if head or 100 <= status < 200 or status in (204, 304):
            payload = b""
        elif length is not None:
            payload = self._file.read(length)
            if len(payload) < length:
                raise http.client.IncompleteRead(payload, length - len(payload))
        else:  # no length: the body runs to the connection's end
            payload, will_close = self._file.read(), True
        return f"{code} {reason.strip()}", headers, payload, will_close

    def dropped(self) -> bool:
        """Whether this idle connection was closed by the other end (readable, nothing pending: EOF)."""
        if self._sock is None:
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        file, sock, self._file, self._sock = self._file, self._sock, None, None
        if file is not None:
            file.close()
        if sock is not None:
            sock.close()


def _path(environ: dict[str, Any]) -> str:
    from urllib.parse import quote

    path = quote(
        str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")), safe="/;=,:@!$&'()*+~"
    )
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["Content-Length"] = str(environ["CONTENT_LENGTH"])
    return headers


# -- the child ---------------------------------------------------------------------------------------------
def _exit_when_closed(stream: IO[bytes]) -> None:
    """Block until the parent closes our input (it stopped us, or it died), then leave at once."""
    while stream.read(65536):
        pass
    os._exit(0)


def serve(host: str) -> None:
    """Serve moto on ``host`` (a free port) until the parent closes our input or terminates us."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from moviepipe.local import fast_headers, moto_speedups
    from moviepipe.local.keepalive import KeepAliveRequestHandler
    from moviepipe.local.serialized import SerializedDynamoDB

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_speedups.apply()
    fast_headers.install()
    # DynamoDB one request at a time, here where moto runs: the lock is held for moto's own handling of
    # the request only, not for the proxy's round trip to us (see EmbeddedAWS).
    app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))

    class ChildHandler(KeepAliveRequestHandler):
        timeout = None  # the parent's proxy is the only client, and it bounds its idle connections

    server = make_server(host, 0, app, threaded=True, request_handler=ChildHandler)
    threading.Thread(target=_exit_when_closed, args=(sys.stdin.buffer,), daemon=True).start()
    out = sys.stdout
    out.write(f"{_READY}{server.server_address[1]}\n")
    out.flush()
    # Anything moto prints from now on goes to stderr: nobody reads our stdout after the first line.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else LOOPBACK)
