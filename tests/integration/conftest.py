"""Fixtures for the email consumer's integration tests (moto server over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moviepipe.local.embedded_aws import EmbeddedAWS
from tests.support.consumer import ConsumerStack, provision_consumer_stack


@pytest.fixture
def stack(aws: EmbeddedAWS) -> ConsumerStack:
    """Topic → queue → DLQ, idempotency table, verified sender, and the consumer built on them by its
    composition root."""
    return provision_consumer_stack()


@pytest.fixture(scope="module")
def separate() -> Iterator[EmbeddedAWS]:
    """An embedded AWS with moto in its own process (the local stack's way), one per test module."""
    server = EmbeddedAWS(own_process=True).start()
    try:
        yield server
    finally:
        server.stop()
