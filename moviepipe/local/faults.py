"""Server-side fault injection for the embedded AWS: make chosen requests fail as AWS fails them.

The failure happens in the server, so the code under test sees exactly what it would see from AWS: an
HTTP error status with the service's error code, through its own unmodified boto3 client. Rules match on
the request path and body; the error is in the JSON protocols' shape (``x-amzn-ErrorType`` and a JSON
body with ``__type``), which covers SES v2, DynamoDB and SQS — not SNS, whose protocol is XML.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moviepipe.local.mail_catcher import parse_sesv2_request
from moviepipe.local.wsgi import WSGIApp, read_body

#: SES v2's SendEmail path, the most common target.
SESV2_SEND_EMAIL = "/v2/email/outbound-emails"


@dataclass
class Fault:
    matches: Callable[[str, bytes], bool]
    status: int
    code: str
    message: str
    remaining: int | None  # None: for ever
    hits: int = 0


class FaultInjector:
    """WSGI middleware answering matching requests with an AWS error instead of passing them on."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        matches: Callable[[str, bytes], bool],
        *,
        status: int = 429,
        code: str = "TooManyRequestsException",
        message: str = "injected fault",
        times: int | None = None,
    ) -> Fault:
        fault = Fault(matches, status, code, message, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._faults:
            return self._app(environ, start_response)
        body = read_body(environ)
        path = str(environ.get("PATH_INFO", ""))
        with self._lock:
            fault = next(
                (
                    f
                    for f in self._faults
                    if (f.remaining is None or f.remaining > 0) and f.matches(path, body)
                ),
                None,
            )
            if fault is not None:
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
        if fault is None:
            return self._app(environ, start_response)
        payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        start_response(
            f"{fault.status} Injected",
            [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", fault.code),
                ("Content-Length", str(len(payload))),
            ],
        )
        return [payload]


def email_mentioning(text: str) -> Callable[[str, bytes], bool]:
    """Matches SES v2 SendEmail requests whose subject or text part contains ``text`` (the body of a
    Raw send is base64 inside JSON, so a plain byte search would not find it)."""

    def matches(path: str, body: bytes) -> bool:
        if path != SESV2_SEND_EMAIL:
            return False
        email = parse_sesv2_request(body, "", datetime.now(UTC))
        return email is not None and (text in email.subject or text in email.text)

    return matches
