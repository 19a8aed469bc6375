"""Helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from moviepipe.local.embedded_aws import EmbeddedAWS
from tests.benchmarks.report import PROBE_ITERATIONS, PROBE_RUNS
from tests.support.aws import environment

T = TypeVar("T")

LATENCY_SECONDS = 0.020


@contextmanager
def embedded_aws() -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS() as server, environment(server.environment()):
        yield server


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]missed[/red]"


def median_spread(seconds: list[float], scale: float = 1000.0, digits: int = 0) -> str:
    """``median (min-max)`` of several runs, in ms by default: the figure and how much it moved."""
    values = sorted(s * scale for s in seconds)
    mid = statistics.median(values)
    return f"{mid:.{digits}f} ({values[0]:.{digits}f}-{values[-1]:.{digits}f})"


def ratio_spread(numerators: list[float], denominator: float) -> str:
    """The median ratio and its spread over the runs, e.g. ``1.05x (1.01-1.12)``."""
    ratios = sorted(n / denominator for n in numerators)
    return f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def plain(ok: bool) -> str:
    """:func:`verdict` without rich markup, for table cells that also land in the markdown page."""
    return "met" if ok else "MISSED"


def cpu_probe(runs: int = PROBE_RUNS) -> float:
    """Milliseconds one core takes for a fixed pure-Python loop (the fastest of ``runs``).

    Why: two of the issue's targets are absolute (CPU ms per record, the local stack's events/s), and
    this machine's speed moves by about 1.4x over hours whatever else runs on it (a shared host). The
    page reports this probe at the start and the end of the run, so an absolute figure can be read
    against the speed the machine had; the ratios need no such help (both sides ran in the same run).
    """
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        total = 0
        for i in range(PROBE_ITERATIONS):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return best * 1000
