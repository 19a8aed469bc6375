"""Handlers import with no configuration at all, and say which variable is missing when invoked."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.settings import ConfigurationError, Env
from producers.movies_api import handler as api_handler
from producers.outbox_relay import handler as relay_handler


def test_handler_modules_import_without_any_configuration() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOVIES_", "EVENTS_"))}
    code = "import producers.movies_api.handler, producers.outbox_relay.handler"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


@pytest.fixture
def no_configuration(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (Env.MOVIES_TABLE_NAME, Env.EVENTS_TOPIC_ARN):
        monkeypatch.delenv(name, raising=False)
    api_handler.reset()
    relay_handler.batch_processor.cache_clear()
    yield
    api_handler.reset()
    relay_handler.batch_processor.cache_clear()


@pytest.mark.usefixtures("no_configuration")
@pytest.mark.parametrize(
    ("handler", "event", "variable"),
    [
        (api_handler.lambda_handler, {"httpMethod": "GET", "path": "/movies"}, Env.MOVIES_TABLE_NAME),
        (relay_handler.lambda_handler, {"Records": []}, Env.EVENTS_TOPIC_ARN),
    ],
)
def test_first_invocation_names_the_missing_variable(
    handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        handler(event, LocalLambdaContext.new_invocation("test"))
