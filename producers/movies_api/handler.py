"""Lambda entry point of the movies API: API Gateway REST (payload 1.0), HTTP API and function URL
(payload 2.0) events alike, told apart by the event itself. Wiring only.

Configuration is read at the first invocation, not at import: a missing ``MOVIES_TABLE_NAME`` fails that
invocation with a :class:`~moviepipe.runtime.settings.ConfigurationError` naming the variable.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from moviepipe.runtime import aws
from moviepipe.runtime.settings import ConfigurationError, Env
from producers.movies_api.config import ApiConfig
from producers.movies_api.idempotency import IdempotentCreate
from producers.movies_api.routes import Services, serve
from producers.movies_api.table import MoviesTable


@functools.cache
def config() -> ApiConfig:
    return ApiConfig.from_env()


@functools.cache
def services() -> Services:
    """The table and the mode, built once per execution environment (client creation is the slow part)."""
    settings = config()
    return Services(
        table=MoviesTable(settings.movies_table, aws.client("dynamodb")),
        require_if_match=settings.require_if_match,
        idempotent_create=idempotent_create,
    )


@functools.cache
def idempotent_create() -> IdempotentCreate:
    """The Idempotency-Key store, built on the first POST that sends the header."""
    settings = config()
    if settings.idempotency_table is None:
        raise ConfigurationError(
            f"environment variable {Env.IDEMPOTENCY_TABLE_NAME} is required to honour Idempotency-Key"
        )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=aws.client("dynamodb")
    )
    return IdempotentCreate(persistence, settings.idempotency_ttl_seconds)


def reset() -> None:
    """Forget the wiring built on first use (tests and the local stack change the environment)."""
    for cached in (config, services, idempotent_create):
        cached.cache_clear()


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(event, context, services())
