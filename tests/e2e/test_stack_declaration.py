"""The running local stack is the declared deployment with the fixture's explicit overrides."""

from __future__ import annotations

import json
import threading

from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.stack import StackSettings
from tests.e2e.conftest import RunningStack
from tests.support import aws


def test_the_running_stack_is_the_declared_one_with_its_overrides(local_stack: RunningStack) -> None:
    messaging = local_stack.deployment.messaging
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=messaging.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    # tests/e2e/conftest.py overrides exactly these two declared values.
    assert attributes["VisibilityTimeout"] == "1"
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 2
    assert messaging.queue_url.endswith("/" + DEPLOYMENT.name(DEPLOYMENT.queue("email").suffix))
    environment = local_stack.deployment.resource_environment(local_stack.stack.settings)
    assert set(environment) == {name for f in DEPLOYMENT.functions for name in f.environment}
    # ... and holds the consumer to one poller, because its time is compressed (see the conftest).
    assert local_stack.stack.settings == StackSettings(
        aws_port=0,
        api_port=0,
        mail_folder=None,
        visibility_timeout=1,
        max_receive_count=2,
        consumer_pollers=1,
    )


def test_one_trigger_thread_per_declared_function(local_stack: RunningStack) -> None:
    running = {thread.name for thread in threading.enumerate()}
    for function in DEPLOYMENT.functions:
        assert any(name.startswith(function.suffix + "-") for name in running), function.key
