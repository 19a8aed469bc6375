"""Lambda entry point and composition root of the email consumer. Wiring only.

:func:`build_consumer` / :func:`build_handler` wire the consumer from a :class:`ConsumerConfig` and a
:class:`~moviepipe.runtime.aws.Clients`: the local stack, the tests and the benchmarks call them with
their own. ``lambda_handler`` builds its root once per execution environment, on the first invocation,
from the process environment (:func:`~moviepipe.runtime.settings.process_environment`, the one place it
is read). Importing this module needs no environment; a missing or invalid variable fails that first
invocation with a message naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

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
from moviepipe.runtime.aws import BOTO3_DEFAULTS, Clients
from moviepipe.runtime.root import BuildOnce, settle_imports
from moviepipe.runtime.settings import process_environment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

SERVICE = "email-notification"
METRICS_NAMESPACE = "moviepipe"

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


def build_consumer(
    config: ConsumerConfig,
    clients: Clients | None = None,
    *,
    sesv2: SESV2Client | None = None,
    sqs: SQSClient | None = None,
    dynamodb: DynamoDBClient | None = None,
    logger: Logger = logger,
    metrics: Metrics = metrics,
) -> EmailConsumer:
    """The consumer wired to AWS (or the embedded AWS) through ``clients``.

    Tests pass their own boto3 clients (``sesv2``, ``sqs``, ``dynamodb``) to inject faults; the rest is
    the production wiring. ``clients`` None: boto3's defaults (the real AWS, the execution role). The
    SES client never retries by itself (``SES_CLIENT_CONFIG``): see adapters/ses.py.
    """
    clients = clients or BOTO3_DEFAULTS
    pool = max(10, config.batch_concurrency)  # one HTTP connection per worker thread at least
    # DynamoDB: the lanes' writes plus the completions deferred off them (logic/batch.py), up to twice
    # the lanes at once.
    dynamodb = dynamodb or clients.dynamodb(max_pool_connections=2 * pool)
    persistence = DynamoDBPersistenceLayer(table_name=config.idempotency_table, boto3_client=dynamodb)
    dead_letters = None
    if config.dead_letter_queue_url:
        dead_letters = SqsDeadLetterQueue(
            sqs or clients.sqs(max_pool_connections=pool), config.dead_letter_queue_url
        )
    return EmailConsumer(
        config=config,
        sender=SesEmailSender(
            sesv2 or clients.sesv2(max_pool_connections=pool, **SES_CLIENT_CONFIG),
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


def build_handler(config: ConsumerConfig, clients: Clients, **wiring: Any) -> Handler:
    """The Lambda handler of a consumer built by :func:`build_consumer` (same keyword arguments)."""
    return handler_for(build_consumer(config, clients, **wiring), wiring.get("logger", logger))


def handler_for(consumer: EmailConsumer, log: Logger = logger) -> Handler:
    """``consumer`` as a Lambda handler (with the Lambda context in every log line)."""
    return cast(Handler, log.inject_lambda_context(consumer.handle))


def build_from_environment(environ: Mapping[str, str], clients: Clients, **wiring: Any) -> Handler:
    """The handler for a function deployed with the variables ``environ`` (the local stack's way in).

    Powertools reads ``POWERTOOLS_LOG_LEVEL`` and ``POWERTOOLS_METRICS_DISABLED`` from the process
    environment by itself; a function run in-process with its own mapping (the local stack's quiet
    mode) gets the same effect from that mapping here.
    """
    level = environ.get("POWERTOOLS_LOG_LEVEL", "").strip()
    if level and "logger" not in wiring:
        # Powertools applies ``level=`` only to the first Logger of a service (they share one stdlib
        # logger), so it is set explicitly.
        wiring["logger"] = Logger(service=SERVICE)
        wiring["logger"].setLevel(level)
    if environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() == "true" and "metrics" not in wiring:
        wiring["metrics"] = DiscardedMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
    return build_handler(ConsumerConfig.from_env(environ), clients, **wiring)


class DiscardedMetrics(Metrics):
    """Metrics that are counted but never written (``POWERTOOLS_METRICS_DISABLED=true``)."""

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        self.clear_metrics()


def _from_process() -> Handler:
    environ = process_environment()
    return build_from_environment(environ, Clients.from_environ(environ))


_root = BuildOnce(_from_process)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _root.get()(event, context)


# Last: everything this import created lives as long as the process (moviepipe.runtime.root).
settle_imports()
