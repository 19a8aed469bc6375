"""Lambda entry point and composition root of the movies API: API Gateway REST (payload 1.0), HTTP API
and function URL (payload 2.0) events alike, told apart by the event itself. Wiring only.

:func:`build_handler` wires the API from an :class:`ApiConfig` and a :class:`~moviepipe.runtime.aws.Clients`
(the local stack and the tests call it with their own). ``lambda_handler`` builds its root once per
execution environment, at the first invocation, from the process environment: a missing
``MOVIES_TABLE_NAME`` fails that invocation with a :class:`~moviepipe.runtime.settings.ConfigurationError`
naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from moviepipe.runtime.aws import Clients
from moviepipe.runtime.root import BuildOnce, settle_imports
from moviepipe.runtime.settings import ConfigurationError, Env, process_environment
from producers.movies_api.config import ApiConfig
from producers.movies_api.idempotency import IdempotentCreate
from producers.movies_api.routes import Services, serve
from producers.movies_api.table import MoviesTable

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def build_services(config: ApiConfig, clients: Clients) -> Services:
    """The table and the mode; the Idempotency-Key store is built on the first POST that sends the
    header (only it needs the idempotency table)."""

    def idempotent_create() -> IdempotentCreate:
        if config.idempotency_table is None:
            raise ConfigurationError(
                f"environment variable {Env.IDEMPOTENCY_TABLE_NAME} is required to honour Idempotency-Key"
            )
        persistence = DynamoDBPersistenceLayer(
            table_name=config.idempotency_table, boto3_client=clients.dynamodb()
        )
        return IdempotentCreate(persistence, config.idempotency_ttl_seconds)

    return Services(
        table=MoviesTable(config.movies_table, clients.dynamodb()),
        require_if_match=config.require_if_match,
        idempotent_create=BuildOnce(idempotent_create).get,
    )


def build_handler(config: ApiConfig, clients: Clients) -> Handler:
    services = build_services(config, clients)

    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return serve(event, context, services)

    return handle


def build_from_environment(environ: Mapping[str, str], clients: Clients) -> Handler:
    """The handler for a function deployed with the variables ``environ`` (the local stack's way in)."""
    return build_handler(ApiConfig.from_env(environ), clients)


def _from_process() -> Handler:
    environ = process_environment()
    return build_from_environment(environ, Clients.from_environ(environ))


_root = BuildOnce(_from_process)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _root.get()(event, context)


# Last: everything this import created lives as long as the process (moviepipe.runtime.root).
settle_imports()
