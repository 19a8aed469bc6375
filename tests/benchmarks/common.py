"""Helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from moviepipe.local.embedded_aws import EmbeddedAWS
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
