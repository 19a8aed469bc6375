"""Configuration of the email consumer, parsed from its environment variables (given as a mapping).

Every problem raises :class:`~moviepipe.runtime.settings.ConfigurationError` naming the variable, so a
misconfigured deployment fails on its first invocation with a message an operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from moviepipe.runtime.settings import ConfigurationError, Env, Resources, require_env

#: SES accepts at most 50 recipients per message.
MAX_RECIPIENTS = 50
#: Upper bound for BATCH_CONCURRENCY: an SQS batch holds at most 10,000 records, but far fewer threads
#: already saturate the AWS connection pool (see moviepipe.runtime.aws), and past ~50 the threads only
#: queue for the GIL (measured in ``make bench``: batch 100 on 100 threads is slower than on 50).
MAX_CONCURRENCY = 50
#: Default: concurrency that fits the batch. An invocation runs min(lanes, BATCH_CONCURRENCY) threads,
#: so with this default a batch of 10 runs 10 lanes at once and a batch of 100 runs 50. Deployments that
#: must bound SES's send rate set BATCH_CONCURRENCY lower (the declaration sets 5; docs/deploy.md).
DEFAULT_CONCURRENCY = MAX_CONCURRENCY

# Deliberately simple: enough to catch a typo such as a missing '@' or a stray comma at deploy time;
# SES itself is the authority on what it accepts.
_ADDRESS = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


@dataclass(frozen=True)
class ConsumerConfig:
    """Everything the consumer needs to know about its deployment."""

    idempotency_table: str
    sender: str
    recipients: tuple[str, ...]
    dead_letter_queue_url: str | None = None
    idempotency_ttl_seconds: int = Resources.IDEMPOTENCY_TTL_SECONDS
    batch_concurrency: int = DEFAULT_CONCURRENCY
    legacy_dedup_window_seconds: int = Resources.LEGACY_DEDUP_WINDOW_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ConsumerConfig:
        """Parse the function's variables from ``environ`` (the Lambda entry point passes the process
        environment, the local stack and the tests their own mapping)."""
        env = dict(environ)
        table = require_env(Env.IDEMPOTENCY_TABLE_NAME, env)
        sender = _address(Env.EMAIL_SENDER, require_env(Env.EMAIL_SENDER, env))
        recipients = tuple(
            _address(Env.EMAIL_RECIPIENTS, part)
            for part in (p.strip() for p in require_env(Env.EMAIL_RECIPIENTS, env).split(","))
            if part
        )
        if not recipients:
            raise ConfigurationError(f"environment variable {Env.EMAIL_RECIPIENTS} names no address")
        if len(recipients) > MAX_RECIPIENTS:
            raise ConfigurationError(
                f"environment variable {Env.EMAIL_RECIPIENTS} names {len(recipients)} addresses; "
                f"SES accepts at most {MAX_RECIPIENTS} per email"
            )
        dlq = env.get(Env.DEAD_LETTER_QUEUE_URL, "").strip() or None
        if dlq is not None and not dlq.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"environment variable {Env.DEAD_LETTER_QUEUE_URL} must be a queue URL, not {dlq!r}"
            )
        return cls(
            idempotency_table=table,
            sender=sender,
            recipients=tuple(dict.fromkeys(recipients)),  # a repeated address would get two copies
            dead_letter_queue_url=dlq,
            idempotency_ttl_seconds=_int(
                env, Env.IDEMPOTENCY_TTL_SECONDS, Resources.IDEMPOTENCY_TTL_SECONDS, 1, 10 * 365 * 86400
            ),
            batch_concurrency=_int(env, Env.BATCH_CONCURRENCY, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY),
            # At most a day: beyond that a real repeat of a change would be taken for a duplicate.
            legacy_dedup_window_seconds=_int(
                env, Env.LEGACY_DEDUP_WINDOW_SECONDS, Resources.LEGACY_DEDUP_WINDOW_SECONDS, 1, 86_400
            ),
        )


def _address(name: str, value: str) -> str:
    # ASCII only: the address is written into the MIME headers as it is (SES needs IDN domains in
    # punycode anyway), so a non-ASCII sender would fail every email rather than this start-up check.
    if not value.isascii() or not _ADDRESS.match(value):
        raise ConfigurationError(f"environment variable {name}: {value!r} is not an email address")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"environment variable {name} must be between {low} and {high}, not {value}")
    return value
