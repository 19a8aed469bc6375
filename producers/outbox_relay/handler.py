"""Lambda entry point of the outbox relay (DynamoDB stream trigger of the Movies table). Wiring only.

The event source mapping must enable ``ReportBatchItemFailures``; the response names the first record
that failed, and Lambda retries from it. Configuration is read at the first invocation: a missing
``EVENTS_TOPIC_ARN`` fails it with a :class:`~moviepipe.runtime.settings.ConfigurationError` naming the variable.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from moviepipe.runtime.settings import Env, require_env
from producers.outbox_relay.processor import OutboxBatchProcessor, relay
from producers.publisher import EventPublisher


@functools.cache
def batch_processor() -> OutboxBatchProcessor:
    """The processor and its publisher, built once per execution environment."""
    return OutboxBatchProcessor(EventPublisher(require_env(Env.EVENTS_TOPIC_ARN)))


def reset() -> None:
    """Forget the wiring built on first use (tests and the local stack change the environment)."""
    batch_processor.cache_clear()


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return relay(event, context, batch_processor())
