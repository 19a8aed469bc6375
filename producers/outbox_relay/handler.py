"""Lambda entry point and composition root of the outbox relay (DynamoDB stream trigger of the Movies
table). Wiring only.

The event source mapping must enable ``ReportBatchItemFailures``; the response names the first record
that failed, and Lambda retries from it. :func:`build_handler` wires the relay from its settings and a
:class:`~moviepipe.runtime.aws.Clients`; ``lambda_handler`` builds it once, at the first invocation, from
the process environment: a missing ``EVENTS_TOPIC_ARN`` fails that invocation with a
:class:`~moviepipe.runtime.settings.ConfigurationError` naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from movie_events.models import build_models
from moviepipe.runtime.aws import Clients
from moviepipe.runtime.root import BuildOnce, settle_imports
from moviepipe.runtime.settings import Env, process_environment, require_env
from producers.outbox_relay.processor import OutboxBatchProcessor, relay
from producers.publisher import EventPublisher

Handler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


@dataclass(frozen=True)
class RelayConfig:
    events_topic_arn: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RelayConfig:
        return cls(events_topic_arn=require_env(Env.EVENTS_TOPIC_ARN, environ))


def build_processor(config: RelayConfig, clients: Clients) -> OutboxBatchProcessor:
    """The processor and its publisher. The contract's models are built here, once, through the
    thread-safe :func:`build_models` (they are deferred at import): the local stack runs this relay
    beside the consumer in one process."""
    build_models()
    return OutboxBatchProcessor(EventPublisher(config.events_topic_arn, sns_client=clients.sns()))


def build_handler(config: RelayConfig, clients: Clients) -> Handler:
    processor = build_processor(config, clients)

    def handle(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return relay(event, context, processor)

    return handle


def build_from_environment(environ: Mapping[str, str], clients: Clients) -> Handler:
    """The handler for a function deployed with the variables ``environ`` (the local stack's way in)."""
    return build_handler(RelayConfig.from_env(environ), clients)


def _from_process() -> Handler:
    environ = process_environment()
    return build_from_environment(environ, Clients.from_environ(environ))


_root = BuildOnce(_from_process)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return _root.get()(event, context)


# Last: everything this import created lives as long as the process (moviepipe.runtime.root).
settle_imports()
