"""The one place AWS clients are created.

boto3 already honours ``AWS_ENDPOINT_URL`` (and per-service ``AWS_ENDPOINT_URL_<SERVICE>``) and the
region variables, so the very same code runs against AWS and against the embedded moto server. What
this module adds: one shared botocore session per process (client creation is the slow part of a Lambda
cold start), a connection pool large enough for the consumers' thread pool, and a hook point for tests
and benchmarks (:func:`client_created_hooks`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from moviepipe.runtime.settings import Env

DEFAULT_REGION = "us-east-1"

_lock = threading.Lock()
_session: boto3.session.Session | None = None
_hooks: list[Callable[[Any], None]] = []


def region() -> str:
    return os.environ.get(Env.AWS_REGION) or os.environ.get(Env.AWS_DEFAULT_REGION) or DEFAULT_REGION


def session() -> boto3.session.Session:
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session(region_name=region())
        return _session


def client_created_hooks() -> list[Callable[[Any], None]]:
    """Callables run on every new client (benchmarks use it to add simulated network latency)."""
    return _hooks


def client(service: str, *, max_pool_connections: int = 50, **config: Any) -> Any:
    """A new boto3 client for *service*, configured for this environment.

    Retries use botocore's ``standard`` mode (throttling and 5xx errors, with jittered backoff) unless
    the caller passes its own ``retries``.
    """
    cfg = Config(
        retries=config.pop("retries", {"mode": "standard", "max_attempts": 3}),
        max_pool_connections=max_pool_connections,
        **config,
    )
    sess = session()
    with _lock:  # boto3 sessions are not thread-safe while creating clients
        new_client = sess.client(service, config=cfg)  # type: ignore[call-overload]
    for hook in _hooks:
        hook(new_client)
    return new_client


def reset() -> None:
    """Forget the cached session (after tests change the environment)."""
    global _session
    with _lock:
        _session = None


def describe_error(exc: BaseException) -> str:
    """``"Code: message"`` for an AWS error, ``"Type: message"`` for anything else: the one-line reason
    logs, dead letters and PublishError show."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
