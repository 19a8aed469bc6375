"""Per-invocation counts, published as one Powertools EMF metric line at the end of the invocation.

Counting happens in worker threads; Powertools' metric set is a plain shared dict (two threads adding
the same new metric at once can lose a value), so records count into a locked :class:`Counts` and the
totals are handed to Powertools once, from the invoking thread. All five metrics are published every
time, zeros included: a dashboard sees a value per invocation, and Powertools never warns about an
empty metric set.
"""

from __future__ import annotations

import threading
from collections import Counter

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

EMAILS_SENT = "EmailsSent"
DUPLICATES_SKIPPED = "DuplicatesSkipped"
TRANSIENT_FAILURES = "TransientFailures"
PERMANENT_FAILURES = "PermanentFailures"
#: Sends whose answer was lost after the request reached SES (also counted in TransientFailures).
AMBIGUOUS_SENDS = "AmbiguousSends"
ALL = (EMAILS_SENT, DUPLICATES_SKIPPED, TRANSIENT_FAILURES, PERMANENT_FAILURES, AMBIGUOUS_SENDS)

#: Serialises publishing: Powertools Metrics instances share one metric set per process.
_publish_lock = threading.Lock()


class Counts:
    """Thread-safe counters for one invocation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, value: int = 1) -> None:
        with self._lock:
            self._counts[name] += value

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {name: self._counts[name] for name in ALL}


def publish(metrics: Metrics, counts: Counts) -> None:
    """Add the invocation's totals to ``metrics`` and flush them (one EMF line on stdout)."""
    with _publish_lock:
        for name, value in counts.snapshot().items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.flush_metrics()
        # With POWERTOOLS_METRICS_DISABLED, flush_metrics neither prints nor clears: the set would grow
        # by one value per invocation and Powertools prints it anyway once a metric holds 100 values.
        metrics.clear_metrics()
