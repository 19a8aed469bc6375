"""Lambda entry point of the movies API (API Gateway REST proxy integration). Wiring only.

Configuration is read at the first invocation, not at import: a missing ``MOVIES_TABLE_NAME`` fails that
invocation with a :class:`~movie_events.settings.ConfigurationError` naming the variable.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from movie_events import aws
from movie_events.settings import Env, require_env
from producers.movies_api.routes import TABLE_CONTEXT_KEY, app
from producers.movies_api.table import MoviesTable


@functools.cache
def movies_table() -> MoviesTable:
    """The table, built once per execution environment (client creation is the slow part)."""
    return MoviesTable(require_env(Env.MOVIES_TABLE_NAME), aws.client("dynamodb"))


def reset() -> None:
    """Forget the wiring built on first use (tests and the local stack change the environment)."""
    movies_table.cache_clear()


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # app.context is cleared after every request; the table goes back in before each one.
    app.context[TABLE_CONTEXT_KEY] = movies_table()
    return app.resolve(event, context)
