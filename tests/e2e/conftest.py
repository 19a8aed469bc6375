"""The whole local stack, on free ports, for the end-to-end tests; torn down after them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moviepipe.local.stack import Deployment, LocalStack, StackSettings
from moviepipe.local.triggers import Invocation
from tests.support.aws import environment


class RunningStack:
    def __init__(self, stack: LocalStack, deployment: Deployment) -> None:
        self.stack = stack
        self.deployment = deployment

    @property
    def invocations(self) -> list[Invocation]:
        return list(self.stack.invocations)


@pytest.fixture(scope="module")
def local_stack() -> Iterator[RunningStack]:
    # Time compressed (1 s visibility, 2 receives before redrive), so one poller: with two, a copy of a
    # message whose invocation outlasts 1 s on a loaded machine would be received again by the other
    # poller, meet the in-progress lock, and count a receive toward the redrive (a spurious DLQ entry).
    # tests/e2e/test_pollers.py runs two pollers at the local stack's defaults.
    stack = LocalStack(
        StackSettings(
            aws_port=0,
            api_port=0,
            mail_folder=None,
            visibility_timeout=1,
            max_receive_count=2,
            consumer_pollers=1,
        )
    )
    with stack.running() as deployment, environment(stack.aws.environment()):
        # The stack itself never touches the process environment; the tests' own clients and the CLI
        # subprocesses they start find it through the standard variables.
        yield RunningStack(stack, deployment)
