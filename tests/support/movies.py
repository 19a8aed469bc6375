"""Fixtures and helpers for the movies API and the outbox relay: the Movies table on the embedded AWS,
the API behind its local API Gateway, and a local stream trigger that feeds the relay."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
from tests.support import aws
from tests.support.aws import environment
from tests.support.sqs import drain

RELAY = DEPLOYMENT.function("outbox_relay")


#: The API's variables as the declaration deploys it (the local stack resolves the same names).
API_ENVIRONMENT: dict[str, str] = {
    Env.MOVIES_TABLE_NAME: DEPLOYMENT.name(DEPLOYMENT.table("movies").suffix),
    Env.IDEMPOTENCY_TABLE_NAME: DEPLOYMENT.name(DEPLOYMENT.table("idempotency").suffix),
}


class Deployed:
    """The functions the fixtures deployed for the running test, each built by its composition root
    (``build_from_environment``) with the test's variables and clients of the embedded AWS. Tests call
    them through :func:`api_lambda` and :func:`relay_lambda`, which look them up at each call."""

    api: api_handler.Handler | None = None
    relay: relay_handler.Handler | None = None

    @classmethod
    def deploy_api(cls, environ: Mapping[str, str] | None = None) -> api_handler.Handler:
        cls.api = api_handler.build_from_environment(
            API_ENVIRONMENT if environ is None else environ, aws.clients()
        )
        return cls.api

    @classmethod
    def deploy_relay(cls, topic_arn: str) -> relay_handler.Handler:
        cls.relay = relay_handler.build_from_environment({Env.EVENTS_TOPIC_ARN: topic_arn}, aws.clients())
        return cls.relay

    @classmethod
    def clear(cls) -> None:
        cls.api = cls.relay = None


@contextmanager
def api_deployed(server: EmbeddedAWS) -> Iterator[None]:
    """An empty account on ``server`` with the declared Movies and idempotency tables and the movies API
    deployed on them (:data:`API_ENVIRONMENT`), for the block: the module-wide fixtures of the API's
    fuzz and hostile-input tests, which call the app many times and judge each answer."""
    server.reset()
    with environment(server.environment()):
        clients = aws.clients()
        provision_movies_table(clients=clients)
        provision_idempotency_table(clients=clients)
        Deployed.deploy_api()
        try:
            yield
        finally:
            Deployed.clear()


def api_lambda(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The movies API the running test deployed (see :class:`Deployed`)."""
    assert Deployed.api is not None, (
        "no movies API deployed: use the movies_stream fixture or Deployed.deploy_api"
    )
    return Deployed.api(event, context)


def relay_lambda(event: dict[str, Any], context: Any) -> Any:
    """The outbox relay the running test deployed (see :class:`Deployed`)."""
    assert Deployed.relay is not None, "no relay deployed: use the relay_env fixture or Deployed.deploy_relay"
    return Deployed.relay(event, context)


# Each fixture's function has another name than the fixture, so test modules can import it without
# shadowing their own parameters.
@pytest.fixture(name="movies_stream")
def movies_stream_fixture(aws: EmbeddedAWS) -> Iterator[str]:
    """The Movies table (stream enabled) and the idempotency table, and the movies API deployed on them
    (:data:`API_ENVIRONMENT`); yields the stream ARN."""
    stream_arn = provision_movies_table()
    provision_idempotency_table()
    Deployed.deploy_api()
    yield stream_arn
    Deployed.clear()


@pytest.fixture(name="api")
def api_fixture(movies_stream: str) -> Client:
    """An HTTP client of the movies API, through the local API Gateway adapter."""
    return Client(movies_api_app(api_lambda))


@pytest.fixture(name="strict_api")
def strict_api_fixture(movies_stream: str) -> Client:
    """The movies API in its strict mode (MOVIES_API_REQUIRE_IF_MATCH=true)."""
    Deployed.deploy_api({**API_ENVIRONMENT, Env.MOVIES_API_REQUIRE_IF_MATCH: "true"})
    return Client(movies_api_app(api_lambda))


@pytest.fixture(name="relay_env")
def relay_env_fixture(messaging: Messaging, movies_stream: str) -> Messaging:
    Deployed.deploy_relay(messaging.topic_arn)
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
    handler = relay_lambda if processor is None else functools.partial(_relay_with, processor)
    overrides: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    trigger = StreamTrigger.declared(RELAY, stream_arn=stream_arn, handler=handler, **overrides)
    if reader is not None:
        trigger.reader = reader
    return trigger.drain(max_invocations)


def _relay_with(processor: OutboxBatchProcessor, event: dict[str, Any], context: Any) -> Any:
    return relay(event, context, processor)


def received_events(queue_url: str) -> list[MovieEvent]:
    return [parse_event(m["Body"], m["MessageAttributes"]) for m in drain(queue_url)]
