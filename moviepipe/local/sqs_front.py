"""WSGI middleware in front of the embedded AWS's SQS: the APIs moto lacks, and dead letters counted.

* moto has no StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask: it answers them with
  a 500 and a long traceback on the console. Here they get a clear one-line ``UnsupportedOperation``
  error (HTTP 400), which ``moviepipe dlq replay`` recognises and answers by falling back to
  receive/send/delete.
* It counts the messages the email consumer dead-letters (a SendMessage carrying its ``ErrorCode``
  attribute), so ``local up`` can tell a dead-lettered record from a sent email and a duplicate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moviepipe.local.wsgi import WSGIApp, call_buffered, read_body
from moviepipe.runtime.wire import ERROR_CODE

_TARGET_PREFIX = "AmazonSQS."
UNSUPPORTED_ACTIONS = ("StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask")
UNSUPPORTED_MESSAGE = (
    "{action} is not supported by the embedded AWS (moto); "
    "moviepipe dlq replay falls back to receive/send/delete"
)


class SqsFront:
    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._dead_lettered = 0
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` for each dead letter counted, in the thread of the request that sent it."""
        self._listeners.append(listener)

    @property
    def dead_lettered(self) -> int:
        """Messages sent with the consumer's reason attributes since start (any queue)."""
        with self._lock:
            return self._dead_lettered

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(_TARGET_PREFIX):
            return self._app(environ, start_response)
        action = target[len(_TARGET_PREFIX) :]
        if action in UNSUPPORTED_ACTIONS:
            return _unsupported(action, start_response)
        if action != "SendMessage":
            return self._app(environ, start_response)
        body = read_body(environ)
        status, response = call_buffered(self._app, environ, start_response)
        if status.startswith("200") and _has_error_code(body):
            with self._lock:
                self._dead_lettered += 1
            for listener in self._listeners:
                listener()
        return [response]


def _has_error_code(body: bytes) -> bool:
    try:
        attributes = json.loads(body).get("MessageAttributes") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(attributes, dict) and ERROR_CODE in attributes


def _unsupported(action: str, start_response: Callable[..., Any]) -> list[bytes]:
    message = UNSUPPORTED_MESSAGE.format(action=action)
    payload = json.dumps({"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": message}).encode()
    start_response(
        "400 Bad Request",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", "UnsupportedOperation"),
            ("x-amzn-query-error", "AWS.SimpleQueueService.UnsupportedOperation;Sender"),
            ("Content-Length", str(len(payload))),
        ],
    )
    return [payload]
