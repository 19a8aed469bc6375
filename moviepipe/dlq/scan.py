"""Reading a DLQ without losing anything: every message received is *held* (invisible, its visibility
extended while the work runs long) until the command either deletes it — only after its copy is safely
elsewhere — or releases it (ChangeMessageVisibility 0) when it finishes, whatever happened.

Holding what was read, rather than releasing it at once, is what lets one pass see every message exactly
once: a released message would be received again by the same pass. If the process dies, SQS releases
everything held when the visibility timeout runs out; nothing is ever lost, only delayed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moviepipe.dlq.messages import DeadLetter
from moviepipe.dlq.sqs import AwsError, Queues

#: Receive visibility when nothing says otherwise; extended every third of it while held.
DEFAULT_VISIBILITY_SECONDS = 60
#: SQS's own limit on how long a message can be kept invisible from its first receive.
MAX_VISIBILITY_SECONDS = 12 * 3600


def visibility_for(rate: float | None, batch: int) -> int:
    """Visibility sized to the work: a minute, or more when ``--rate`` makes one batch slow."""
    if rate:
        return int(min(MAX_VISIBILITY_SECONDS, max(DEFAULT_VISIBILITY_SECONDS, 30 + 3 * batch / rate)))
    return DEFAULT_VISIBILITY_SECONDS


@dataclass
class Holder:
    """The messages a command has received and not yet deleted or released."""

    queues: Queues
    url: str
    visibility: int = DEFAULT_VISIBILITY_SECONDS
    _held: dict[str, DeadLetter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _keeper: threading.Thread | None = None
    extension_failures: int = 0

    def hold(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        """Hold newly received messages; returns those not already held (standard queues may hand the
        same message out twice: the copy's newer receipt handle replaces the old one)."""
        fresh = []
        with self._lock:
            for letter in letters:
                if letter.message_id not in self._held:
                    fresh.append(letter)
                self._held[letter.message_id] = letter
        return fresh

    def receipt(self, message_id: str) -> str:
        with self._lock:
            return self._held[message_id].receipt_handle

    def forget(self, message_ids: list[str]) -> None:
        """Deleted messages: no longer ours to release."""
        with self._lock:
            for message_id in message_ids:
                self._held.pop(message_id, None)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._held)

    def start(self) -> Holder:
        self._keeper = threading.Thread(target=self._keep, name="dlq-visibility", daemon=True)
        self._keeper.start()
        return self

    def _keep(self) -> None:
        period = max(0.5, self.visibility / 3)
        while not self._stop.wait(period):
            with self._lock:
                receipts = {mid: m.receipt_handle for mid, m in self._held.items()}
            if not receipts:
                continue
            try:
                failed = self.queues.change_visibility(self.url, receipts, self.visibility)
            except AwsError:
                failed = receipts
            self.extension_failures += len(failed)

    def release_all(self) -> dict[str, str]:
        """Make everything still held visible again at once; returns what could not be released (it
        reappears when its visibility timeout runs out)."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=30)
        with self._lock:
            receipts = {mid: m.receipt_handle for mid, m in self._held.items()}
            self._held.clear()
        if not receipts:
            return {}
        try:
            return self.queues.change_visibility(self.url, receipts, 0)
        except AwsError as exc:
            return dict.fromkeys(receipts, str(exc))


def read_all(
    queues: Queues,
    url: str,
    holder: Holder,
    *,
    limit: int | None = None,
    wait_seconds: int = 1,
    on_batch: Callable[[list[DeadLetter]], None] | None = None,
    stop: threading.Event | None = None,
) -> list[DeadLetter]:
    """Receive until the queue has nothing visible (or ``limit`` messages), holding every message."""
    seen: list[DeadLetter] = []
    while limit is None or len(seen) < limit:
        if stop is not None and stop.is_set():
            break
        batch = queues.receive(
            url, 10 if limit is None else limit - len(seen), holder.visibility, wait_seconds
        )
        if not batch:
            break
        fresh = holder.hold(batch)
        seen.extend(fresh)
        if on_batch is not None:
            on_batch(fresh)
    return seen


class RateLimiter:
    """At most ``rate`` messages per second over the whole run (shared by the workers)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def acquire(self, n: int, stop: threading.Event) -> bool:
        """Wait until ``n`` messages may go; False if stopped while waiting."""
        if not self.rate or n <= 0:
            return not stop.is_set()
        with self._lock:
            start = max(self._next, time.monotonic())
            self._next = start + n / self.rate
        delay = start - time.monotonic()
        return not stop.wait(delay) if delay > 0 else not stop.is_set()
