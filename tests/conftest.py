"""Shared fixtures: one embedded AWS (moto server over HTTP on loopback) per test process.

Each test that uses ``aws`` gets a freshly reset account, with boto3 pointed at the server through the
standard environment variables, exactly as the Lambda handlers and the CLI are in production.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moviepipe.local.embedded_aws import EmbeddedAWS, environment
from moviepipe.local.provision import Messaging, provision_messaging


@pytest.fixture(scope="session")
def moto_server() -> Iterator[EmbeddedAWS]:
    server = EmbeddedAWS().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: EmbeddedAWS) -> Iterator[EmbeddedAWS]:
    """An empty AWS account on the embedded server, with the environment pointing at it."""
    moto_server.reset()
    with environment(moto_server.environment()):
        yield moto_server


@pytest.fixture
def messaging(aws: EmbeddedAWS) -> Messaging:
    """The events topic fanned out to the email queue (raw delivery, filter on Type) with its DLQ."""
    return provision_messaging()
