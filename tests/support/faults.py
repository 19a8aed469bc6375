"""Fault injection at the botocore layer: the request still goes over HTTP to the moto server, but a
chosen part of it is made to fail the way AWS fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders


class PartialPublishBatchFailure:
    """An SNS client whose PublishBatch reports chosen entries as ``Failed`` (SenderFault false by
    default, like a transient SNS error) for their first ``times`` attempts.

    The failing entries are really not sent; the others go over HTTP to the server as usual. Every other
    operation passes straight through to the wrapped client.
    """

    def __init__(
        self,
        client: Any,
        should_fail: Callable[[dict[str, Any]], bool],
        times: int = 1,
        sender_fault: bool = False,
    ) -> None:
        self._client = client
        self.should_fail = should_fail
        self.times = times
        self.sender_fault = sender_fault
        self.remaining: dict[str, int] = {}
        self.calls = 0
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def publish_batch(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        keep, failed = [], []
        for entry in params["PublishBatchRequestEntries"]:
            key = entry["Message"]
            left = self.remaining.setdefault(key, self.times if self.should_fail(entry) else 0)
            if left > 0:
                self.remaining[key] = left - 1
                failed.append(entry)
            else:
                keep.append(entry)
        response: dict[str, Any] = {"Successful": [], "Failed": []}
        if keep:
            response = dict(self._client.publish_batch(**{**params, "PublishBatchRequestEntries": keep}))
            response.setdefault("Failed", [])
        self.injected += len(failed)
        response["Failed"] = list(response["Failed"]) + [
            {
                "Id": e["Id"],
                "Code": "InternalFailure",
                "Message": "injected failure",
                "SenderFault": self.sender_fault,
            }
            for e in failed
        ]
        return response


def fail_http(client: Any, operation: str, *, status: int, code: str, times: int) -> list[int]:
    """Answer the first ``times`` calls of ``operation`` with an AWS error, without reaching the server.
    Returns a one-element list counting the calls answered that way."""
    answered = [0]

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        if answered[0] >= times:
            return None
        answered[0] += 1
        return _error_response(client, request, status, code)

    service = client.meta.service_model.service_name
    client.meta.events.register(f"before-send.{service}.{operation}", before_send)
    return answered


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


class SimulatedCrash(BaseException):
    """Stands for the process dying (timeout, out of memory): not an ``Exception``, so nothing on the
    way up (botocore's retries, Powertools, the batch processor) handles it."""


def fail_http_when(
    client: Any,
    operation: str,
    matches: Callable[[Any], bool],
    *,
    status: int,
    code: str,
    times: int = 1_000_000,
) -> list[int]:
    """Like :func:`fail_http`, for the calls whose request ``matches`` (a predicate on the botocore
    request) only. The error body follows the service's protocol (JSON or XML)."""
    answered = [0]

    def before_send(request: Any, **_: Any) -> AWSResponse | None:
        if answered[0] >= times or not matches(request):
            return None
        answered[0] += 1
        return _error_response(client, request, status, code)

    client.meta.events.register(
        f"before-send.{client.meta.service_model.service_name}.{operation}", before_send
    )
    return answered


def crash_on(client: Any, operation: str, *, times: int = 1) -> list[int]:
    """The first ``times`` calls of ``operation`` raise :class:`SimulatedCrash` instead of being sent."""
    crashed = [0]

    def before_send(request: Any, **_: Any) -> None:
        if crashed[0] < times:
            crashed[0] += 1
            raise SimulatedCrash(f"simulated crash before {operation}")

    client.meta.events.register(
        f"before-send.{client.meta.service_model.service_name}.{operation}", before_send
    )
    return crashed


def _error_response(client: Any, request: Any, status: int, code: str) -> AWSResponse:
    protocol = client.meta.service_model.protocol
    headers = HTTPHeaders()
    if protocol in ("json", "rest-json"):
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["x-amzn-ErrorType"] = code
        body = f'{{"__type": "{code}", "message": "injected"}}'.encode()
    else:
        headers["Content-Type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>injected</Message></Error><RequestId>x</RequestId></ErrorResponse>"
        ).encode()
    return AWSResponse(request.url, status, headers, _Raw(body))


def lose_answers(client: Any, operation: str, *, times: int = 1_000_000) -> list[int]:
    """The first ``times`` calls of ``operation`` really reach the server (over HTTP, so the server acts
    on them: SES sends the email) and then lose the answer: the client sees a ``ReadTimeoutError``, as
    when the connection drops after the request went out. Returns a one-element list counting them."""
    from botocore.exceptions import ReadTimeoutError
    from botocore.httpsession import URLLib3Session

    lost = [0]
    http = URLLib3Session()

    def before_send(request: Any, **_: Any) -> None:
        if lost[0] >= times:
            return
        lost[0] += 1
        http.send(request)  # delivered and acted on; its answer never reaches the caller
        raise ReadTimeoutError(endpoint_url=request.url, error="injected: the answer was lost")

    client.meta.events.register(
        f"before-send.{client.meta.service_model.service_name}.{operation}", before_send
    )
    return lost
