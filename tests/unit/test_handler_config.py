"""Handlers import with no configuration at all, and say which variable is missing when invoked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from consumers.email_notification import handler as email_handler
from moviepipe.runtime.aws import Clients
from moviepipe.runtime.root import BuildOnce
from moviepipe.runtime.settings import ConfigurationError, Env
from producers.movies_api import handler as api_handler
from producers.outbox_relay import handler as relay_handler


def test_handler_modules_import_without_any_configuration() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOVIES_", "EVENTS_"))}
    code = "import producers.movies_api.handler, producers.outbox_relay.handler"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


FIRST_INVOCATION = """
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.settings import ConfigurationError
import producers.movies_api.handler as api, producers.outbox_relay.handler as relay
for module, event in ((api, {"httpMethod": "GET", "path": "/movies"}), (relay, {"Records": []})):
    for _ in range(2):  # a failed build is not kept: the next invocation says it again
        try:
            module.lambda_handler(event, LocalLambdaContext.new_invocation("test"))
        except ConfigurationError as exc:
            print(exc)
"""


def test_first_invocation_of_the_lambda_entry_point_names_the_missing_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOVIES_", "EVENTS_"))}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_INVOCATION],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    assert all(Env.MOVIES_TABLE_NAME in line for line in lines[:2])
    assert all(Env.EVENTS_TOPIC_ARN in line for line in lines[2:])


@pytest.mark.parametrize(
    ("build", "variable"),
    [
        (api_handler.build_from_environment, Env.MOVIES_TABLE_NAME),
        (relay_handler.build_from_environment, Env.EVENTS_TOPIC_ARN),
        (email_handler.build_from_environment, Env.IDEMPOTENCY_TABLE_NAME),
    ],
)
def test_each_composition_root_names_the_missing_variable(
    build: Callable[[dict[str, str], Clients], Any], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        build({}, Clients(region="us-east-1"))


def test_a_root_is_built_once_even_when_first_calls_race() -> None:
    builds: list[int] = []
    barrier = threading.Barrier(8)

    def build() -> object:
        builds.append(1)
        time.sleep(0.05)  # a slow build (client creation): the other callers arrive meanwhile
        return object()

    root = BuildOnce(build)
    results: list[object] = []

    def first_call() -> None:
        barrier.wait()
        results.append(root.get())

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len({id(r) for r in results}) == 1


def test_a_failed_build_is_tried_again() -> None:
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConfigurationError("EVENTS_TOPIC_ARN is required")
        return "built"

    root = BuildOnce(build)
    with pytest.raises(ConfigurationError):
        root.get()
    assert root.get() == "built" and root.get() == "built" and len(attempts) == 2
