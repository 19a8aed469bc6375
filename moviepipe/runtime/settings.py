"""Names shared by every part of moviepipe: environment variables and the event attributes.

Handlers, the CLI, the local stack and the Terraform all read these names; they are contracts, so they
are defined once here and imported everywhere else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Final


class Env:
    """Environment variable names (the deployment contract of the Lambda functions and the CLI)."""

    EVENTS_TOPIC_ARN: Final = "EVENTS_TOPIC_ARN"
    MOVIES_TABLE_NAME: Final = "MOVIES_TABLE_NAME"
    IDEMPOTENCY_TABLE_NAME: Final = "IDEMPOTENCY_TABLE_NAME"
    IDEMPOTENCY_TTL_SECONDS: Final = "IDEMPOTENCY_TTL_SECONDS"
    #: How long the movies API remembers an Idempotency-Key. Its own name: the consumer's
    #: IDEMPOTENCY_TTL_SECONDS (14 days) and this (24 hours) must not overwrite each other where one
    #: process runs both (the local stack).
    MOVIES_API_IDEMPOTENCY_TTL_SECONDS: Final = "MOVIES_API_IDEMPOTENCY_TTL_SECONDS"
    EMAIL_SENDER: Final = "EMAIL_SENDER"
    EMAIL_RECIPIENTS: Final = "EMAIL_RECIPIENTS"
    DEAD_LETTER_QUEUE_URL: Final = "DEAD_LETTER_QUEUE_URL"
    BATCH_CONCURRENCY: Final = "BATCH_CONCURRENCY"
    LEGACY_DEDUP_WINDOW_SECONDS: Final = "LEGACY_DEDUP_WINDOW_SECONDS"
    #: "true": the movies API's strict mode (If-Match required to replace or delete).
    MOVIES_API_REQUIRE_IF_MATCH: Final = "MOVIES_API_REQUIRE_IF_MATCH"
    #: Read by pydantic itself: ``__all__`` skips its plugin discovery (a scan of every installed
    #: distribution's entry points) on the first model build; no function uses a pydantic plugin.
    PYDANTIC_DISABLE_PLUGINS: Final = "PYDANTIC_DISABLE_PLUGINS"
    # Standard AWS SDK variables, honoured by boto3 itself.
    AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
    AWS_REGION: Final = "AWS_REGION"
    AWS_DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"


class ConfigurationError(RuntimeError):
    """Missing or invalid configuration; the message names the variable."""


def process_environment() -> dict[str, str]:
    """A copy of the process environment: the ONE place moviepipe reads it.

    Only the entry points call it: each Lambda function's ``lambda_handler`` (once, when it builds its
    composition root) and the CLI (once per command). Everything below them gets its settings and
    :class:`~moviepipe.runtime.aws.Clients` as values, so the local stack, the tests and the benchmarks
    configure one function without touching the process, and nothing needs a ``reset()``.
    """
    return dict(os.environ)


def require_env(name: str, environ: Mapping[str, str]) -> str:
    """The value of a required variable, or a :class:`ConfigurationError` naming it."""
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value


class Resources:
    """Names and settings of the AWS resources, shared by the local stack and the Terraform.

    ``infra/resources.json`` is generated from this class (``python -m moviepipe.runtime.settings``; a test
    fails when it is stale) for the Terraform to read with ``jsondecode(file(...))``, so the embedded AWS
    and the real deployment cannot drift apart.
    """

    PREFIX: Final = "moviepipe"
    EVENTS_TOPIC: Final = "moviepipe-movie-events"
    EMAIL_QUEUE: Final = "moviepipe-email-notifications"
    EMAIL_DLQ: Final = "moviepipe-email-notifications-dlq"
    IDEMPOTENCY_TABLE: Final = "moviepipe-idempotency"
    MOVIES_TABLE: Final = "moviepipe-movies"
    EMAIL_SENDER: Final = "movies@moviepipe.example.com"
    EMAIL_RECIPIENTS: Final = ("oncall@moviepipe.example.com",)

    #: Receives before SQS moves a message to the DLQ. Five gives a transient failure (throttling, a
    #: held idempotency lock) several visibility timeouts to clear.
    MAX_RECEIVE_COUNT: Final = 5
    #: Six times the consumer's timeout, as AWS recommends for SQS event sources.
    CONSUMER_TIMEOUT_SECONDS: Final = 30
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: Final = 180
    #: 14 days, the longest SQS retention: the DLQ keeps messages as long as it possibly can.
    DLQ_RETENTION_SECONDS: Final = 1_209_600
    IDEMPOTENCY_TTL_SECONDS: Final = 1_209_600
    #: Identical legacy bodies whose SQS SentTimestamps lie within this many seconds of the first copy
    #: are one event (an SNS double delivery, a producer's quick re-send); later, a new event. 15 minutes:
    #: three times SQS FIFO's 5-minute content deduplication, far below a human's next edit of a movie.
    LEGACY_DEDUP_WINDOW_SECONDS: Final = 900
    #: How long the movies API remembers an Idempotency-Key (a client's retries come within minutes).
    MOVIES_API_IDEMPOTENCY_TTL_SECONDS: Final = 86_400
    BATCH_SIZE: Final = 10
    #: The email consumer handles every movie event type.
    EMAIL_FILTER_TYPES: Final = ("MovieCreated", "MovieUpdated", "MovieDeleted")


def resources_document() -> dict[str, object]:
    """:class:`Resources` and :class:`Env` as plain JSON-ready data (for ``infra/resources.json``)."""
    resources = {
        name.lower(): list(value) if isinstance(value, tuple) else value
        for name, value in vars(Resources).items()
        if name.isupper()
    }
    env = {name: value for name, value in vars(Env).items() if name.isupper()}
    return {"resources": resources, "env": env}


def render_resources_json() -> str:
    return json.dumps(resources_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "infra/resources.json")
    target.write_text(render_resources_json(), encoding="utf-8")
    print(target)
