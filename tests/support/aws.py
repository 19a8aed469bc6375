"""AWS clients for test code, and the process environment the ``aws`` fixture points at the embedded AWS.

Product code gets a :class:`~moviepipe.runtime.aws.Clients` handed to it and never touches the process
environment. Tests still set the standard variables (``AWS_ENDPOINT_URL`` …) around each case, for the
subprocesses they start (the CLI) and for boto3's own defaults; :func:`client` builds a client from them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moviepipe.runtime.aws import DEFAULT_REGION, ClientHook, Clients, describe_error

__all__ = ["DEFAULT_REGION", "client", "clients", "describe_error", "environment", "hooks", "region"]

#: Hooks added to every :func:`clients` made while they are here (tests.support.latency adds one).
hooks: list[ClientHook] = []


def clients() -> Clients:
    """Clients of whatever the test's environment points at (the embedded AWS inside the ``aws`` fixture),
    with the hooks active now (simulated latency) attached through the factory. One per environment and
    set of hooks: a :class:`Clients` keeps one boto3 session, which loads the service models once."""
    aws_variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _clients(aws_variables, tuple(hooks))


@functools.lru_cache(maxsize=64)
def _clients(aws_variables: tuple[tuple[str, str], ...], active_hooks: tuple[ClientHook, ...]) -> Clients:
    made = Clients.from_environ(dict(aws_variables))
    for hook in active_hooks:
        made = made.with_hook(hook)
    return made


def region() -> str:
    return clients().region or DEFAULT_REGION


def client(service: str, **config: Any) -> Any:
    return clients().client(service, **config)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (tests only: product code never does)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
