"""DynamoDB requests one at a time, so the embedded AWS keeps DynamoDB's atomic conditional writes.

Real DynamoDB checks a ``ConditionExpression`` and writes in one atomic step: of eight writers holding
the same version, exactly one succeeds. moto's backend checks, then writes, with no lock between, and
its server answers requests on several threads, so two writers can both pass the check (seen as two
``200`` answers to eight conditional PUTs of the movies API). Every guarantee built on conditional
writes — the API's ETags, Powertools idempotency's "only one holder of a key", the consumer's legacy
deduplication window — would then be tested against weaker semantics than AWS gives.

Serialising DynamoDB (and DynamoDB Streams) requests restores the atomicity at the cost of their
concurrency: moto spends a few milliseconds of CPU per call under the GIL anyway, so little is lost.
Other services are not serialised.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moviepipe.local.wsgi import call_buffered

#: The ``X-Amz-Target`` prefix of DynamoDB's JSON protocol (``DynamoDB_20120810.PutItem``) and of
#: DynamoDB Streams' (``DynamoDBStreams_20120810.GetRecords``).
DYNAMODB_TARGET_PREFIX = "DynamoDB"


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests pass through ``app`` one at a time, whole response included."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET_PREFIX):
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        with self._lock:
            # The response is produced inside the lock: moto may do its work lazily while iterating.
            return [call_buffered(self.app, environ, start_response)[1]]
