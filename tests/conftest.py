"""Shared fixtures: one embedded AWS (moto server over HTTP on loopback) per test process.

Each test that uses ``aws`` gets a freshly reset account, with boto3 pointed at the server through the
standard environment variables, exactly as the Lambda handlers and the CLI are in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moviepipe.local.defaults import DEFAULT_MAIL_FOLDER
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.provision import Messaging, provision_messaging
from tests.support.aws import environment


def _outbox_files() -> set[Path]:
    outbox = Path(__file__).resolve().parents[1] / DEFAULT_MAIL_FOLDER
    return set(outbox.rglob("*")) if outbox.is_dir() else set()


@pytest.fixture(scope="session", autouse=True)
def _tests_leave_the_users_outbox_alone() -> Iterator[None]:
    """The suite writes emails only to temporary folders, never to the outbox `local up` and `make demo`
    fill for the person running it (a test that forgets --mail-folder fails the run here)."""
    before = _outbox_files()
    yield
    added = sorted(str(path) for path in _outbox_files() - before)
    if added:
        pytest.fail(f"tests wrote {len(added)} file(s) into {DEFAULT_MAIL_FOLDER}: {added[:3]}")


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
