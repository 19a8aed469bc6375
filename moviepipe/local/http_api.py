"""API Gateway on one machine: a WSGI application that turns each HTTP request into the REST API's
Lambda proxy event (or, on request, the HTTP API's or a function URL's payload format 2.0 event),
invokes the very handler Lambda runs, and turns its result back into HTTP.

The event is what an API Gateway REST API with a greedy ``ANY /{proxy+}`` resource and a Lambda proxy
integration sends (``resource`` ``/{proxy+}``, ``pathParameters.proxy``); the resolver routes by ``path``,
so it does not matter which API Gateway resources the real deployment declares. Serve it with any WSGI
server (``werkzeug.serving.run_simple``) or call it in-process (schemathesis, werkzeug's test client).
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.wrappers import Request, Response

from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.lambda_context import LocalLambdaContext
from producers.movies_api.handler import lambda_handler as movies_api_handler

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

LambdaHandler = Callable[[dict[str, Any], Any], Mapping[str, Any]]

#: The declared function behind the API, and the stage it is deployed to.
MOVIES_API = DEPLOYMENT.function("movies_api")
DEFAULT_STAGE = "local"
PROXY_RESOURCE = "/{proxy+}"
#: A dummy REST API id, in the 10-character shape API Gateway uses.
LOCAL_API_ID = "moviepipel"
#: A dummy function URL id (function URLs live at ``<url-id>.lambda-url.<region>.on.aws``).
LOCAL_URL_ID = "moviepipelocalfunctionurl0000000"

#: Which front the events imitate: an API Gateway REST API (payload format 1.0), an HTTP API (2.0) or a
#: Lambda function URL (2.0).
PayloadFormat = Literal["rest", "http", "function-url"]


def _single(values: MultiDict[str, str]) -> dict[str, str] | None:
    # API Gateway's single-value maps keep the last value of a repeated key, and are null when empty.
    return {key: values.getlist(key)[-1] for key in values} or None


def _multi(values: MultiDict[str, str]) -> dict[str, list[str]] | None:
    return {key: values.getlist(key) for key in values} or None


def _headers(headers: Headers) -> MultiDict[str, str]:
    return MultiDict(list(headers.items()))


def raw_path(request: Request) -> str:
    """The path as the client sent it, percent-encoding kept: what a REST API puts in ``path`` (only
    ``pathParameters`` and the query string parameters are decoded)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        # WSGI carries the bytes as latin-1 text ("the WSGI encoding dance").
        return raw.split("?", 1)[0].split("#", 1)[0].encode("latin-1").decode("utf-8", "replace")
    return quote(request.path or "/", safe="/-._~!$&'()*+,;=:@")


def proxy_event(
    request: Request, *, stage: str = DEFAULT_STAGE, request_id: str | None = None
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event for ``request``."""
    request_id = request_id or str(uuid.uuid4())
    body, is_base64 = _body(request)
    headers = _headers(request.headers)
    now = datetime.now(UTC)
    path = raw_path(request)
    return {
        "resource": PROXY_RESOURCE,
        "path": path,
        "httpMethod": request.method,
        "headers": _single(headers),
        "multiValueHeaders": _multi(headers),
        "queryStringParameters": _single(request.args),
        "multiValueQueryStringParameters": _multi(request.args),
        "pathParameters": {"proxy": request.path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": LOCAL_API_ID,
            "domainName": request.host,
            "httpMethod": request.method,
            "identity": {
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string,
            },
            "path": f"/{stage}{path}",
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "proxy",
            "resourcePath": PROXY_RESOURCE,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def http_api_event(
    request: Request, *, function_url: bool = False, request_id: str | None = None
) -> dict[str, Any]:
    """The payload format 2.0 event an HTTP API (``$default`` stage and route) or a function URL sends.

    As AWS does: repeated headers and query parameters are joined with commas, header names are lower
    case, cookies move from the Cookie header to ``cookies``, and ``rawPath`` keeps the client's encoding.
    """
    request_id = request_id or str(uuid.uuid4())
    body, is_base64 = _body(request)
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    cookies = [
        part.strip() for value in headers.pop("cookie", []) for part in value.split(";") if part.strip()
    ]
    query = {key: ",".join(request.args.getlist(key)) for key in request.args}
    now = datetime.now(UTC)
    domain = (
        f"{LOCAL_URL_ID}.lambda-url.us-east-1.on.aws"
        if function_url
        else f"{LOCAL_API_ID}.execute-api.us-east-1.amazonaws.com"
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path(request),
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": {name: ",".join(values) for name, values in headers.items()},
        "requestContext": {
            "accountId": "anonymous" if function_url else "123456789012",
            "apiId": LOCAL_URL_ID if function_url else LOCAL_API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": raw_path(request),
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string,
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def _body(request: Request) -> tuple[str | None, bool]:
    raw = request.get_data(cache=True)
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        # What API Gateway does for a body it treats as binary: base64 it and say so.
        return base64.b64encode(raw).decode("ascii"), True


class _ProxyResponse(Response):
    # API Gateway sends only the headers the integration returned: no invented text/plain Content-Type.
    default_mimetype = None


def http_response(result: Mapping[str, Any]) -> Response:
    """The HTTP response for a proxy integration result (what API Gateway sends the client)."""
    headers = Headers()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(name, value)
    for name, value in (result.get("headers") or {}).items():
        headers[name] = value  # single-value headers win over multi-value ones, as in API Gateway
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return _ProxyResponse(data, status=int(result["statusCode"]), headers=headers)


class ApiGatewayApp:
    """A WSGI application in front of a Lambda proxy handler, as API Gateway (REST by default; an HTTP
    API or a function URL with ``payload_format``) is in front of it."""

    def __init__(
        self,
        handler: LambdaHandler,
        *,
        function_name: str = MOVIES_API.suffix,
        stage: str = DEFAULT_STAGE,
        timeout_seconds: float = 29.0,
        payload_format: PayloadFormat = "rest",
    ) -> None:
        self.handler = handler
        self.function_name = function_name
        self.stage = stage
        self.timeout_seconds = timeout_seconds  # API Gateway's own integration limit
        self.payload_format = payload_format
        # One invocation at a time, as in one Lambda execution environment. Not only faithful: the
        # Powertools resolver keeps the current event on a class shared by all threads, so two requests
        # handled at once could each read the other's body and headers.
        self._invocation = threading.Lock()

    def event(self, request: Request, request_id: str) -> dict[str, Any]:
        if self.payload_format == "rest":
            return proxy_event(request, stage=self.stage, request_id=request_id)
        return http_api_event(
            request, function_url=self.payload_format == "function-url", request_id=request_id
        )

    def invoke(self, request: Request) -> Response:
        context = LocalLambdaContext.new_invocation(self.function_name, self.timeout_seconds)
        event = self.event(request, context.aws_request_id)
        with self._invocation:
            result = self.handler(event, context)
        response = http_response(result)
        response.headers.setdefault("x-amzn-RequestId", context.aws_request_id)
        return response

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.invoke(Request(environ))(environ, start_response)


def movies_api_app(
    handler: LambdaHandler | None = None,
    *,
    stage: str = DEFAULT_STAGE,
    payload_format: PayloadFormat = "rest",
) -> ApiGatewayApp:
    """The movies API behind a local API Gateway: ``handler`` (built by
    :func:`producers.movies_api.handler.build_handler`), or the Lambda entry point itself, which builds
    from the process environment once."""
    return ApiGatewayApp(
        handler or movies_api_handler,
        function_name=MOVIES_API.suffix,
        stage=stage,
        payload_format=payload_format,
    )
