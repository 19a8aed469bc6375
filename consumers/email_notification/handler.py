"""Lambda entry point of the email consumer: ``lambda_handler(event, context)``. Wiring only.

Importing this module needs no environment: the consumer (configuration, boto3 clients, idempotency
store) is built on the first invocation and reused by the following ones in the same execution
environment. A missing or invalid variable makes that first invocation fail with a message naming it.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.email_notification.adapters import (
    SES_CLIENT_CONFIG,
    DynamoDbLegacyWindows,
    SesEmailSender,
    SqsDeadLetterQueue,
)
from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer
from moviepipe.runtime import aws

SERVICE = "email-notification"
METRICS_NAMESPACE = "moviepipe"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

_lock = threading.Lock()
_consumer: EmailConsumer | None = None


def build_consumer(
    config: ConsumerConfig | None = None,
    *,
    sesv2: Any = None,
    sqs: Any = None,
    dynamodb: Any = None,
) -> EmailConsumer:
    """A consumer wired to AWS (or the embedded AWS, through ``AWS_ENDPOINT_URL``).

    Tests pass their own clients to inject faults; everything else is the production wiring. The SES
    client never retries by itself (``SES_CLIENT_CONFIG``): see adapters/ses.py.
    """
    config = config or ConsumerConfig.from_env()
    pool = max(10, config.batch_concurrency)  # one HTTP connection per worker thread at least
    dynamodb = dynamodb or aws.client("dynamodb", max_pool_connections=pool)
    persistence = DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_client=dynamodb)
    dead_letters = None
    if config.dead_letter_queue_url:
        dead_letters = SqsDeadLetterQueue(
            sqs or aws.client("sqs", max_pool_connections=pool), config.dead_letter_queue_url
        )
    return EmailConsumer(
        config=config,
        sender=SesEmailSender(
            sesv2 or aws.client("sesv2", max_pool_connections=pool, **SES_CLIENT_CONFIG),
            sender=config.sender,
            recipients=config.recipients,
        ),
        persistence=persistence,
        dead_letters=dead_letters,
        logger=logger,
        metrics=metrics,
        legacy_windows=DynamoDbLegacyWindows(
            dynamodb,
            config.idempotency_table,
            window_seconds=config.legacy_dedup_window_seconds,
            ttl_seconds=config.idempotency_ttl_seconds,
        ),
    )


def get_consumer() -> EmailConsumer:
    """The consumer of this execution environment, built on first use."""
    global _consumer
    with _lock:
        if _consumer is None:
            _consumer = build_consumer()
        return _consumer


def reset() -> None:
    """Forget the cached consumer (tests change the environment between cases)."""
    global _consumer
    with _lock:
        _consumer = None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return get_consumer().handle(event, context)
