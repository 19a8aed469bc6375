"""Fixtures and helpers for the movies API and the outbox relay: the Movies table on the embedded AWS,
the API behind its local API Gateway, and a local stream trigger that feeds the relay."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from movie_events import parse_event
from movie_events.models import MovieEvent
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.http_api import movies_api_app
from moviepipe.local.provision import Messaging, provision_idempotency_table, provision_movies_table
from moviepipe.local.stream_events import StreamReader
from moviepipe.local.triggers import Invocation, StreamTrigger
from moviepipe.runtime.settings import Env
from producers.movies_api import handler as api_handler
from producers.outbox_relay import handler as relay_handler
from producers.outbox_relay.processor import OutboxBatchProcessor, relay
from tests.support.sqs import drain

RELAY = DEPLOYMENT.function("outbox_relay")


# Each fixture's function has another name than the fixture, so test modules can import it without
# shadowing their own parameters.
@pytest.fixture(name="movies_stream")
def movies_stream_fixture(aws: EmbeddedAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The Movies table (stream enabled) and the idempotency table, with MOVIES_TABLE_NAME and
    IDEMPOTENCY_TABLE_NAME set; yields the stream ARN."""
    stream_arn = provision_movies_table()
    provision_idempotency_table()
    monkeypatch.setenv(Env.MOVIES_TABLE_NAME, DEPLOYMENT.name(DEPLOYMENT.table("movies").suffix))
    monkeypatch.setenv(Env.IDEMPOTENCY_TABLE_NAME, DEPLOYMENT.name(DEPLOYMENT.table("idempotency").suffix))
    monkeypatch.delenv(Env.MOVIES_API_REQUIRE_IF_MATCH, raising=False)
    api_handler.reset()
    relay_handler.reset()
    yield stream_arn
    api_handler.reset()
    relay_handler.reset()


@pytest.fixture(name="api")
def api_fixture(movies_stream: str) -> Client:
    """An HTTP client of the movies API, through the local API Gateway adapter."""
    return Client(movies_api_app())


@pytest.fixture(name="strict_api")
def strict_api_fixture(movies_stream: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The movies API in its strict mode (MOVIES_API_REQUIRE_IF_MATCH=true)."""
    monkeypatch.setenv(Env.MOVIES_API_REQUIRE_IF_MATCH, "true")
    api_handler.reset()
    yield Client(movies_api_app())
    api_handler.reset()


@pytest.fixture(name="relay_env")
def relay_env_fixture(messaging: Messaging, movies_stream: str, monkeypatch: pytest.MonkeyPatch) -> Messaging:
    monkeypatch.setenv(Env.EVENTS_TOPIC_ARN, messaging.topic_arn)
    relay_handler.reset()
    return messaging


def run_trigger(
    stream_arn: str,
    processor: OutboxBatchProcessor | None = None,
    *,
    reader: StreamReader | None = None,
    batch_size: int | None = None,
    max_invocations: int = 50,
) -> list[Invocation]:
    """Feed the stream to the relay through the local stream trigger (Lambda's rules: batch after batch,
    resuming from the first failed record), until the stream is drained or the bound is hit."""
    handler = relay_handler.lambda_handler if processor is None else functools.partial(_relay_with, processor)
    overrides: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream_arn, handler=handler, **overrides)
    if reader is not None:
        trigger.reader = reader
    return trigger.drain(max_invocations)


def _relay_with(processor: OutboxBatchProcessor, event: dict[str, Any], context: Any) -> Any:
    return relay(event, context, processor)


def received_events(queue_url: str) -> list[MovieEvent]:
    return [parse_event(m["Body"], m["MessageAttributes"]) for m in drain(queue_url)]
