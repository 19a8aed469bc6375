"""Fixtures for the email consumer's integration tests (moto server over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consumers.email_notification import handler
from moviepipe.local.embedded_aws import EmbeddedAWS
from tests.support.consumer import ConsumerStack, provision_consumer_stack


@pytest.fixture
def stack(aws: EmbeddedAWS, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsumerStack]:
    """Topic → queue → DLQ, idempotency table, verified sender, and the handler's environment."""
    provisioned = provision_consumer_stack()
    for name, value in provisioned.environment().items():
        monkeypatch.setenv(name, value)
    handler.reset()
    yield provisioned
    handler.reset()
