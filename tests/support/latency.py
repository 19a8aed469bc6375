"""Simulated network latency per AWS call, for benchmarks.

The embedded AWS answers in well under a millisecond, which hides what matters on real AWS: every call
costs a round trip. A botocore ``before-send`` hook sleeps for the round-trip time before each HTTP
request, so batching (fewer calls) and concurrency (overlapping calls) show in the figures as they would
against AWS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support import aws


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    def add(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@contextmanager
def simulated_latency(seconds: float = 0.020) -> Iterator[CallCounter]:
    """Every client created inside the block by :func:`tests.support.aws.clients` (or ``.client``)
    sleeps ``seconds`` before each request, and is counted."""
    counter = CallCounter()

    def add_hook(client: Any) -> None:
        def before_send(request: Any, **_: Any) -> None:
            counter.add(request.context.get("operation_name", "?") if hasattr(request, "context") else "?")
            time.sleep(seconds)

        client.meta.events.register("before-send", before_send)

    aws.hooks.append(add_hook)  # attached by Clients.with_hook to what tests.support.aws.clients() makes
    try:
        yield counter
    finally:
        aws.hooks.remove(add_hook)
