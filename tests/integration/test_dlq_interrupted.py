"""A replay killed in the middle, as a real process: SIGINT (Ctrl-C) and SIGKILL. Nothing is lost, the
source queue holds no copy beyond the batch in flight, and the consumer sends no second email."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest

from consumers.email_notification.logic.rendering import EVENT_ID_HEADER
from movie_events import MovieCreated
from moviepipe.local.embedded_aws import EmbeddedAWS
from tests.support import aws
from tests.support.consumer import ConsumerStack
from tests.support.sqs import drain

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
MESSAGES = 60
TYPE = {"Type": {"DataType": "String", "StringValue": "MovieCreated"}}


def events() -> list[MovieCreated]:
    return [
        MovieCreated(id=f"evt-{n}", data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": []})
        for n in range(MESSAGES)
    ]


def start_replay(aws_server: EmbeddedAWS, dlq_url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **aws_server.environment(), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "moviepipe", "dlq", "replay", dlq_url, "--json", "--concurrency", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def queue_count(url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_until_some_moved(url: str, process: subprocess.Popen[str], at_least: int = 10) -> None:
    deadline = time.monotonic() + 60
    while queue_count(url) < at_least:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the replay moved nothing"
        time.sleep(0.05)


def ids(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.loads(m["Body"])["id"] for m in messages)


def fill_dlq(stack: ConsumerStack) -> None:
    sqs = aws.client("sqs")
    for event in events():
        sqs.send_message(
            QueueUrl=stack.messaging.dlq_url, MessageBody=event.to_json(), MessageAttributes=TYPE
        )


def test_ctrl_c_loses_nothing_and_duplicates_nothing(stack: ConsumerStack, aws: EmbeddedAWS) -> None:
    fill_dlq(stack)
    process = start_replay(aws, stack.messaging.dlq_url, "--rate", "20", "--visibility", "120")
    try:
        wait_until_some_moved(stack.messaging.queue_url, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1 and "Traceback" not in stderr
    report = json.loads(stdout)
    assert report["interrupted"] and 0 < report["moved"] < MESSAGES, report
    assert report["matched"] == report["moved"] + report["failed"]
    # Everything not moved is visible in the DLQ at once (the run's 120 s visibility notwithstanding).
    left = drain(stack.messaging.dlq_url)
    moved = drain(stack.messaging.queue_url)
    assert len(moved) == report["moved"]
    assert ids(left) + ids(moved) == Counter(e.id for e in events())  # each exactly once


def test_sigkill_then_rerun_loses_nothing_and_sends_no_second_email(
    stack: ConsumerStack, aws: EmbeddedAWS
) -> None:
    fill_dlq(stack)
    process = start_replay(aws, stack.messaging.dlq_url, "--rate", "20", "--visibility", "2")
    try:
        wait_until_some_moved(stack.messaging.queue_url, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # The killed run's holds expire after its 2 s visibility; then a re-run finishes the job.
    time.sleep(2.5)
    rerun = start_replay(aws, stack.messaging.dlq_url)
    _stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert queue_count(stack.messaging.dlq_url) == 0
    arrived = drain(stack.messaging.queue_url)
    # Nothing lost: every event reached the source queue. Copies only from the one batch in flight when
    # the process died (sent, not yet deleted): at most 10 with one worker.
    counts = ids(arrived)
    assert set(counts) == {e.id for e in events()}
    assert sum(counts.values()) - MESSAGES <= 10
    # Put them all back, copies included, and let the consumer at them: one email per event.
    sqs = aws_sqs_client()
    for message in arrived:
        sqs.send_message(
            QueueUrl=stack.messaging.queue_url, MessageBody=message["Body"], MessageAttributes=TYPE
        )
    stack.run(max_batches=50)
    emails = Counter(email.headers.get(EVENT_ID_HEADER, "") for email in aws.mail.emails)
    assert len(aws.mail.emails) == MESSAGES, emails
    assert sorted(emails) == sorted(e.id for e in events()) and set(emails.values()) == {1}


def aws_sqs_client() -> Any:
    return aws.client("sqs")
