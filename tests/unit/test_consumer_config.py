"""Consumer configuration: defaults, and failures that name the variable."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from consumers.email_notification.config import ConsumerConfig
from moviepipe.runtime.settings import ConfigurationError

BASE = {
    "IDEMPOTENCY_TABLE_NAME": "idem",
    "EMAIL_SENDER": "movies@example.com",
    "EMAIL_RECIPIENTS": "a@example.com, b@example.com,,a@example.com",
}


def test_defaults_and_parsing() -> None:
    config = ConsumerConfig.from_env(BASE)
    assert config.recipients == ("a@example.com", "b@example.com")
    assert config.idempotency_ttl_seconds == 1_209_600
    assert config.batch_concurrency == 50  # fits a batch of up to 50 lanes; docs/consumer.md
    assert config.dead_letter_queue_url is None
    assert config.legacy_dedup_window_seconds == 900  # between SQS FIFO's 5 minutes and an hour


def test_optional_values() -> None:
    config = ConsumerConfig.from_env(
        {
            **BASE,
            "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/dlq",
            "IDEMPOTENCY_TTL_SECONDS": "3600",
            "BATCH_CONCURRENCY": "4",
            "LEGACY_DEDUP_WINDOW_SECONDS": "300",
        }
    )
    assert (config.dead_letter_queue_url, config.idempotency_ttl_seconds, config.batch_concurrency) == (
        "https://sqs.us-east-1.amazonaws.com/1/dlq",
        3600,
        4,
    )
    assert config.legacy_dedup_window_seconds == 300


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"IDEMPOTENCY_TABLE_NAME": ""}, "IDEMPOTENCY_TABLE_NAME"),
        ({"EMAIL_SENDER": "not-an-address"}, "EMAIL_SENDER"),
        ({"EMAIL_RECIPIENTS": " , "}, "EMAIL_RECIPIENTS"),
        ({"EMAIL_RECIPIENTS": "a@example.com;b@example.com"}, "EMAIL_RECIPIENTS"),
        ({"EMAIL_RECIPIENTS": ",".join(f"u{i}@example.com" for i in range(51))}, "EMAIL_RECIPIENTS"),
        ({"DEAD_LETTER_QUEUE_URL": "my-dlq"}, "DEAD_LETTER_QUEUE_URL"),
        ({"IDEMPOTENCY_TTL_SECONDS": "two weeks"}, "IDEMPOTENCY_TTL_SECONDS"),
        ({"IDEMPOTENCY_TTL_SECONDS": "0"}, "IDEMPOTENCY_TTL_SECONDS"),
        ({"BATCH_CONCURRENCY": "0"}, "BATCH_CONCURRENCY"),
        ({"BATCH_CONCURRENCY": "1000"}, "BATCH_CONCURRENCY"),
        ({"LEGACY_DEDUP_WINDOW_SECONDS": "0"}, "LEGACY_DEDUP_WINDOW_SECONDS"),
        ({"LEGACY_DEDUP_WINDOW_SECONDS": "86401"}, "LEGACY_DEDUP_WINDOW_SECONDS"),
        ({"LEGACY_DEDUP_WINDOW_SECONDS": "5m"}, "LEGACY_DEDUP_WINDOW_SECONDS"),
        # Written into the MIME headers as they are: ASCII only (SES needs punycode domains anyway).
        ({"EMAIL_SENDER": "films@exämple.com"}, "EMAIL_SENDER"),
        ({"EMAIL_RECIPIENTS": "ops@exämple.com"}, "EMAIL_RECIPIENTS"),
    ],
)
def test_invalid_configuration_names_the_variable(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        ConsumerConfig.from_env({**BASE, **change})


def test_missing_variable_is_named() -> None:
    env = dict(BASE)
    del env["EMAIL_SENDER"]
    with pytest.raises(ConfigurationError, match="EMAIL_SENDER is required"):
        ConsumerConfig.from_env(env)


def test_handler_imports_without_environment_and_fails_on_first_invocation() -> None:
    # A fresh interpreter with none of the variables: the import must work, the invocation must name
    # what is missing.
    code = (
        "from consumers.email_notification.handler import lambda_handler\n"
        "from moviepipe.local.lambda_context import LocalLambdaContext\n"
        "try:\n"
        "    lambda_handler({'Records': []}, LocalLambdaContext('f'))\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd="."
    )
    assert "ConfigurationError environment variable IDEMPOTENCY_TABLE_NAME is required" in out.stdout
    importlib.import_module("consumers.email_notification.handler")
