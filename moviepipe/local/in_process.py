"""Hand the local stack's own AWS calls to the embedded AWS's middleware in-process, without a socket.

Why: with moto in its own process, every call a local function made crossed two HTTP servers — botocore
sent it over loopback to the middleware's werkzeug server in this process, whose proxy sent it on to
moto's process. The first hop is pure overhead inside one process: a request serialised to a socket,
parsed again by ``http.server`` on a server thread, the answer serialised and parsed back, with the GIL
handed between threads at each step. A burst profile of the stack's process put that hop at about a
fifth of its CPU (docs/local.md, "Throughput").

What stays the same: the functions still use unmodified boto3 clients; botocore still builds, signs and
parses every request and answer; the request still goes through the whole middleware chain — fault
injector, SQS front, mail catcher, serialised DynamoDB — exactly as the HTTP server would pass it; and
moto still receives it over HTTP, in its own process. Only the transport of the first hop changes: a
botocore ``before-send`` handler — the hook botocore offers for this, which moto's own in-process mocks
use too — turns the prepared request into a WSGI ``environ`` and returns the application's answer as the
HTTP response. It answers only requests for the embedded AWS's own endpoint; anything else goes out as
usual. Clients that are not the stack's own (the CLI, a developer's boto3, the AWS CLI) reach the same
chain over HTTP on the endpoint's port.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.context import get_context

from moviepipe.local.wsgi import WSGIApp, call_buffered

_log = logging.getLogger(__name__)


class _Body(io.BytesIO):
    """The raw answer as botocore reads it (``stream()``, as urllib3's response offers)."""

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


class InProcessTransport:
    """A client hook (:meth:`moviepipe.runtime.aws.Clients.with_hook`): the clients it arms send requests
    for ``endpoint_url`` to ``app`` in this process instead of over a socket.

    Registered *last* among ``before-send`` handlers, so hooks that act before sending (simulated latency,
    the soak's client-side faults) still run first and may answer instead.
    """

    def __init__(self, app: WSGIApp, endpoint_url: str) -> None:
        self._app = app
        parts = urlsplit(endpoint_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._host, _, port = parts.netloc.partition(":")
        self._port = port or ("443" if parts.scheme == "https" else "80")

    def __call__(self, client: Any) -> None:
        client.meta.events.register_last("before-send", self.send)
        cache_user_agent(client)

    def send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        url = urlsplit(request.url)
        if url.scheme != self._scheme or url.netloc != self._netloc:
            return None
        body = _body_bytes(request.body)
        environ = self._environ(request, url.path, url.query, body)
        status, headers, payload = _call(self._app, environ)
        return AWSResponse(request.url, status, HTTPHeaders.from_dict(headers), _Body(payload))

    def _environ(self, request: AWSPreparedRequest, path: str, query: str, body: bytes) -> dict[str, Any]:
        """The ``environ`` werkzeug's server would build for this request (PEP 3333)."""
        raw_uri = f"{path}?{query}" if query else path
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            # PEP 3333: the decoded path, as bytes read as latin-1 (what werkzeug's server passes).
            "PATH_INFO": unquote(path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": raw_uri,
            "REQUEST_URI": raw_uri,
            "SERVER_NAME": self._host,
            "SERVER_PORT": self._port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": self._netloc,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self._scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key not in ("CONTENT_LENGTH", "HOST"):
                environ[f"HTTP_{key}"] = value
        return environ


#: At most this many distinct User-Agent strings are remembered per client.
_USER_AGENT_CACHE = 64


def cache_user_agent(client: Any) -> None:
    """Build each of ``client``'s User-Agent strings once, not twice per call.

    Why: botocore assembles the User-Agent header from about a dozen components, each sanitised
    character by character, twice per API call (when the request is built and again just before it is
    signed, to add features the call registered): ~7 % of the stack process in a paced profile. The
    string is a function of the builder's fields, its client config's user-agent settings and the set
    of feature ids (the client's and the current call context's), so it is kept by exactly those
    inputs (the features in the order botocore's own union iterates them, which is the order it would
    join them in) and built by botocore's own ``to_string`` whenever one of them differs. Only the
    stack's in-process clients get this; their requests and signatures are unchanged byte for byte
    (tests/unit/test_in_process_user_agent.py).
    """
    creator = getattr(client, "_user_agent_creator", None)
    if creator is None or "to_string" in vars(creator):
        return
    build = creator.to_string
    cache: dict[tuple[Any, ...], str] = {}

    def to_string() -> str:
        key = _user_agent_inputs(creator)
        text = cache.get(key)
        if text is None:
            text = build()
            if len(cache) < _USER_AGENT_CACHE:
                cache[key] = text
        return text

    creator.to_string = to_string


def _user_agent_inputs(creator: Any) -> tuple[Any, ...]:
    """Everything ``UserAgentString.to_string`` reads (botocore 1.44), as a hashable key."""
    config = creator._client_config
    ctx = get_context()
    features = (creator._client_features or set()).union(set() if ctx is None else ctx.features)
    if config is None:
        config_key: tuple[Any, ...] = ()
    else:
        retries = config.retries
        config_key = (
            hasattr(config, "_supplied_user_agent"),
            getattr(config, "_supplied_user_agent", None),
            config.user_agent,
            bool(retries),
            retries.get("mode") if retries else None,
            config.endpoint_discovery_enabled,
            config.user_agent_appid,
            config.user_agent_extra,
        )
    return (
        tuple(features),
        config_key,
        creator._session_user_agent_name,
        creator._session_user_agent_version,
        creator._session_user_agent_extra,
        creator._platform_name,
        creator._platform_version,
        creator._platform_machine,
        creator._python_version,
        creator._python_implementation,
        creator._execution_env,
        creator._crt_version,
    )


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytearray):
        return bytes(body)
    data = body.read()  # a file-like body (botocore rewinds it before a retry)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _call(app: WSGIApp, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Run the application to the end of its answer. An application error is a plain 500, as the HTTP
    server answers it (:mod:`moviepipe.local.keepalive`), so clients retry it the same way."""
    started: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [headers]
        return lambda data: None  # the legacy write() callable: nothing here uses it

    try:
        status, payload = call_buffered(app, environ, start_response)
    except Exception:  # noqa: BLE001 - any application error is the server's 500, as over HTTP
        _log.exception(
            "error in the embedded AWS answering %s %s", environ["REQUEST_METHOD"], environ["RAW_URI"]
        )
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    if not started:
        return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
    headers: dict[str, str] = {}
    for name, value in started[0]:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(status.split(" ", 1)[0]), headers, payload
