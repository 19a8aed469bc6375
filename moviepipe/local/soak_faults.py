"""The soak's fault injection, each fault recorded with the event (or request) it hit.

Two places, chosen for where each fault really happens:

* **In the consumer's SES client** (a botocore ``before-send`` hook added to every ``sesv2`` client
  through :class:`~moviepipe.runtime.aws.Clients` hook): the runtime dying before a send, the runtime
  dying after SES accepted a send (the request really goes out; the answer is never used), and an answer
  lost in transit (the request really goes out, the client sees a read timeout). Only there can the
  process "die": the hook raises :class:`RuntimeDied`, a ``BaseException`` nothing in the consumer
  handles, and :meth:`SoakFaults.wrap_handler` turns it into a failed invocation as Lambda reports one.
* **In the embedded AWS** (:class:`~moviepipe.local.faults.FaultInjector` rules): SES throttling bursts,
  SES refusing chosen emails (``MessageRejected``, dead-lettered, then replayed by ``moviepipe dlq
  replay``), and DynamoDB errors on the consumer's idempotency writes (the in-progress record and the
  commit), on the movies table and on its stream.

**Choice of targets.** The consumer's events are numbered in the order SES first sees them; one in
``spacing`` gets one targeted fault, the kinds taken in turn (the first few come early so that even a
small run meets every kind). An event gets at most one targeted fault, once: that bounds the receives a
record needs, so none reaches the redrive policy's ``maxReceiveCount`` and every extra email has
exactly one fault to answer for it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

from moviepipe.local.faults import SESV2_SEND_EMAIL, Fault, FaultInjector
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.soak_check import FaultHit
from moviepipe.local.stack import CONSUMER
from moviepipe.local.triggers import Handler
from moviepipe.runtime.wire import EVENT_ID_HEADER, IDEMPOTENCY_KEY_PREFIX, MOVIE_ID_HEADER

#: The targeted kinds, in turn.
TARGETED = ("crash_before_send", "crash_after_send", "ses_lost_answer", "ses_rejected")
#: Message attribute tagging the soak's poison messages (kept by the DLQ and by replays).
PROBE_ATTRIBUTE = "SoakProbe"
#: The consumer's Powertools records (the movies API keeps its own, under another prefix, in the same table).
CONSUMER_KEY_PREFIX = IDEMPOTENCY_KEY_PREFIX + "#"

_HEADER = re.compile(rb"^([A-Za-z-]+): ?(\S*)\r?$", re.MULTILINE)


class RuntimeDied(BaseException):
    """The Lambda runtime dying (timeout, out of memory): not an ``Exception``, so nothing on the way up
    (botocore's retries, Powertools, the batch processor) handles it."""


def email_ids(raw_mime: bytes) -> tuple[str, str]:
    """(event id, movie id) from the consumer's MIME headers (plain ASCII for the soak's ids)."""
    head = raw_mime.split(b"\r\n\r\n", 1)[0]
    headers = {name.decode(): value.decode() for name, value in _HEADER.findall(head)}
    return headers.get(EVENT_ID_HEADER, ""), headers.get(MOVIE_ID_HEADER, "")


def send_request_ids(body: bytes) -> tuple[str, str]:
    """(event id, movie id) of an SES v2 SendEmail request body ("", "" if it is not one)."""
    try:
        raw = json.loads(body)["Content"]["Raw"]["Data"]
        return email_ids(base64.b64decode(raw))
    except (ValueError, KeyError, TypeError):
        return "", ""


class SoakFaults:
    """Decides, injects and records every fault of one soak run. Thread-safe."""

    def __init__(self, *, spacing: int, lock_seconds: float) -> None:
        self.spacing = max(len(TARGETED) + 1, spacing)
        self.lock_seconds = lock_seconds
        self.movies_table = ""
        self.rejecting = True
        self.hits: list[FaultHit] = []
        self._lock = threading.Lock()
        self._kinds: dict[str, str] = {}
        self._targeted = 0
        self._done: set[tuple[str, str]] = set()
        self._keys: dict[str, int] = {}  # DynamoDB keys, numbered on first sight
        self._failures_left: Counter[str] = Counter()
        self._requests: Counter[str] = Counter()
        self._seen: Counter[str] = Counter()
        self._bursts: list[Fault] = []
        self._http = URLLib3Session()

    # -- bookkeeping ---------------------------------------------------------------------------------
    def record(self, hit: FaultHit) -> None:
        with self._lock:
            self.hits.append(hit)

    def kind_for(self, event_id: str) -> str:
        """The targeted fault of ``event_id`` ("" none), fixed on first sight."""
        with self._lock:
            if event_id in self._kinds:
                return self._kinds[event_id]
            seen = len(self._kinds)
            early = len(TARGETED) * 10
            targeted = (seen < early and seen % 10 == 5) or (seen >= early and seen % self.spacing == 5)
            kind = ""
            if targeted:
                kind = TARGETED[self._targeted % len(TARGETED)]
                self._targeted += 1
                if kind == "ses_rejected" and not self.rejecting:
                    kind = ""
            self._kinds[event_id] = kind
            return kind

    def _take(self, kind: str, event_id: str) -> bool:
        """True once per event for its own kind: the fault happens now."""
        if not event_id or self.kind_for(event_id) != kind:
            return False
        with self._lock:
            if (kind, event_id) in self._done:
                return False
            self._done.add((kind, event_id))
            return True

    def _untake(self, kind: str, event_id: str) -> None:
        with self._lock:
            self._done.discard((kind, event_id))

    def counts(self) -> dict[str, int]:
        """SES requests the throttling bursts answered with 429 (each burst is one fault)."""
        with self._lock:
            return {"ses_throttled_requests": sum(burst.hits for burst in self._bursts)}

    # -- the consumer's side -------------------------------------------------------------------------
    def on_client_created(self, client: Any) -> None:
        """A :class:`~moviepipe.runtime.aws.Clients` hook hook: arm every SES v2 client."""
        if client.meta.service_model.service_name == "sesv2":
            client.meta.events.register("before-send.sesv2.SendEmail", self._before_send)

    def _before_send(self, request: Any, **_: Any) -> Any:
        event_id, movie_id = send_request_ids(request.body or b"")
        if self._take("crash_before_send", event_id):
            self.record(FaultHit("crash_before_send", event_id, movie_id))
            raise RuntimeDied(f"the runtime died before sending the email of {event_id}")
        for kind in ("crash_after_send", "ses_lost_answer"):
            if not self._take(kind, event_id):
                continue
            response = self._http.send(request)  # SES really gets it and acts on it
            if response.status_code != 200:  # refused (throttled): nothing was sent, the fault waits
                self._untake(kind, event_id)
                return response
            self.record(FaultHit(kind, event_id, movie_id))
            if kind == "crash_after_send":
                raise RuntimeDied(f"the runtime died after SES accepted the email of {event_id}")
            raise ReadTimeoutError(endpoint_url=request.url, error="soak: the answer was lost in transit")
        return None

    def wrap_handler(self, key: str, handler: Handler) -> Handler:
        """A :class:`~moviepipe.local.stack.LocalStack` ``wrap_handler``: the email consumer's invocations
        run with a function timeout of ``lock_seconds`` (shorter than the queue's visibility timeout, as
        on AWS, where it is 30 s against 180 s: a crashed record's in-progress lock has expired when SQS
        redelivers it), and :class:`RuntimeDied` fails the invocation as Lambda reports a dead runtime."""
        if key != CONSUMER.key:
            return handler
        probe_of = _probe_of

        def consumer(event: dict[str, Any], context: Any) -> Any:
            short = LocalLambdaContext.new_invocation(
                context.function_name, timeout_seconds=self.lock_seconds
            )
            try:
                return handler(event, short)
            except RuntimeDied as died:
                probes = tuple(p for p in (probe_of(r) for r in event.get("Records", [])) if p)
                self.record(FaultHit("crashed_invocation", probes=probes, detail=str(died)))
                raise RuntimeError(f"Runtime.ExitError: {died}") from None

        return consumer

    # -- the embedded AWS's side ---------------------------------------------------------------------
    def install(self, injector: FaultInjector, *, movies_table: str) -> None:
        """The server-side rules (throttling bursts are added one at a time by :meth:`throttle_burst`)."""
        self.movies_table = movies_table
        injector.add(self._rejected, status=400, code="MessageRejected", message="soak: rejected")
        injector.add(self._idempotency_write, status=500, code="InternalServerError", message="soak")
        injector.add(self._movies_request, status=500, code="InternalServerError", message="soak")
        injector.add(self._stream_read, status=500, code="InternalServerError", message="soak")

    def throttle_burst(self, injector: FaultInjector, requests: int) -> None:
        """The next ``requests`` SES sends are answered ``TooManyRequestsException`` (429)."""
        burst = injector.add(
            _is_send, status=429, code="TooManyRequestsException", message="soak: burst", times=requests
        )
        with self._lock:
            self._bursts.append(burst)
        self.record(FaultHit("ses_throttle_burst", detail=f"{requests} requests"))

    def _rejected(self, path: str, body: bytes) -> bool:
        if path != SESV2_SEND_EMAIL or not self.rejecting:
            return False
        event_id, movie_id = send_request_ids(body)
        if not self._take("ses_rejected", event_id):
            return False
        self.record(FaultHit("ses_rejected", event_id, movie_id))
        return True

    def _idempotency_write(self, path: str, body: bytes) -> bool:
        """The consumer's in-progress PutItem and its commit UpdateItem: one key in 50 fails 4 times in a
        row (botocore's 4 attempts: the record fails, or the commit is retried by the consumer itself),
        another one in 50 once (absorbed by botocore's retry)."""
        if path != "/" or CONSUMER_KEY_PREFIX.encode() not in body:
            return False
        if b'"INPROGRESS"' in body and b'"Item"' in body:
            what = "inprogress"
        elif b'"COMPLETED"' in body and b'"UpdateExpression"' in body:
            what = "commit"
        else:
            return False
        try:
            document = json.loads(body)
            key = str((document.get("Item") or document.get("Key"))["id"]["S"])
        except (ValueError, KeyError, TypeError):
            return False
        return self._fail_key(f"{what}:{key}", {10: 4, 35: 1} if what == "inprogress" else {20: 4})

    def _fail_key(self, key: str, plan: dict[int, int]) -> bool:
        with self._lock:
            if key not in self._keys:
                self._keys[key] = len(self._keys)
                self._failures_left[key] = plan.get(self._keys[key] % 50, 0)
            if self._failures_left[key] <= 0:
                return False
            self._failures_left[key] -= 1
            kind = f"dynamodb_{key.split(':', 1)[0]}_error"
            self._requests[kind] += 1
        self.record(FaultHit(kind, detail=key))
        return True

    def _movies_request(self, path: str, body: bytes) -> bool:
        """One request in 25 to the movies table fails once (botocore's retry absorbs it)."""
        if path != "/" or f'"{self.movies_table}"'.encode() not in body or b'"StreamArn"' in body:
            return False
        return self._every("dynamodb_movies_error", 25)

    def _stream_read(self, path: str, body: bytes) -> bool:
        """One GetRecords in 25 on the movies table's stream fails once (retried)."""
        if path != "/" or b'"ShardIterator"' not in body or b'"ShardIteratorType"' in body:
            return False
        return self._every("dynamodb_stream_error", 25)

    def _every(self, kind: str, period: int) -> bool:
        with self._lock:
            self._seen[kind] += 1
            if self._seen[kind] % period != period // 2:
                return False
            self._requests[kind] += 1
        self.record(FaultHit(kind))
        return True


def _is_send(path: str, body: bytes) -> bool:
    return path == SESV2_SEND_EMAIL


def _probe_of(record: dict[str, Any]) -> str:
    attribute = (record.get("messageAttributes") or {}).get(PROBE_ATTRIBUTE) or {}
    return str(attribute.get("stringValue") or "")


#: For type checkers: what :meth:`SoakFaults.wrap_handler` is.
HandlerWrapper = Callable[[str, Handler], Handler]
