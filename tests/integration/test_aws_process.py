"""moto in its own process (moviepipe/local/aws_process.py): the same embedded AWS seen from the tests,
and never an orphan process, however the parent ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from moviepipe.local.embedded_aws import FAKE_CREDENTIALS, EmbeddedAWS
from moviepipe.local.faults import SESV2_SEND_EMAIL


def alive(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def client(server: EmbeddedAWS, service: str) -> object:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def test_moto_runs_in_a_child_bound_to_loopback(separate: EmbeddedAWS) -> None:
    pid = separate.moto_pid
    assert pid is not None and pid != os.getpid() and alive(pid)
    listening = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True, check=False).stdout
    mine = [line for line in listening.splitlines() if f"pid={pid}," in line]
    assert mine and all("127.0.0.1:" in line for line in mine), mine


def test_the_middleware_stays_in_the_tests_process(separate: EmbeddedAWS) -> None:
    """Faults set here fail requests; mail sent is caught here; queue URLs name the parent's endpoint."""
    sqs: object = client(separate, "sqs")
    url = sqs.create_queue(QueueName="separate")["QueueUrl"]  # type: ignore[attr-defined]
    assert url.startswith(separate.endpoint_url)
    sqs.send_message(QueueUrl=url, MessageBody="hello")  # type: ignore[attr-defined]
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]  # type: ignore[attr-defined]
    assert message["Body"] == "hello"

    ses: object = client(separate, "sesv2")
    ses.create_email_identity(EmailIdentity="from@example.com")  # type: ignore[attr-defined]
    simple = {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "body"}}}
    send = {
        "FromEmailAddress": "from@example.com",
        "Destination": {"ToAddresses": ["to@example.com"]},
        "Content": {"Simple": simple},
    }
    fault = separate.faults.add(lambda path, body: path == SESV2_SEND_EMAIL)
    with pytest.raises(ClientError, match="TooManyRequests"):
        ses.send_email(**send)  # type: ignore[attr-defined]
    assert fault.hits >= 1 and separate.mail.emails == []
    separate.faults.clear()
    ses.send_email(**send)  # type: ignore[attr-defined]
    assert [e.subject for e in separate.mail.emails] == ["hi"]


def test_stop_ends_the_child_and_frees_the_port() -> None:
    server = EmbeddedAWS(own_process=True).start()
    pid = server.moto_pid
    assert pid is not None and alive(pid)
    server.stop()
    assert gone_within(pid, 10)
    server.stop()  # twice is fine


SCRIPT = """
import os, signal, sys, time
from moviepipe.local.embedded_aws import EmbeddedAWS
server = EmbeddedAWS(own_process=True).start()
print(server.moto_pid, flush=True)
sys.stdin.readline()  # the test has seen the child alive: now end, as asked
how = sys.argv[1]
if how == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
if how == "exception":
    raise RuntimeError("a test failed and nobody stopped the stack")
while True:  # not signal.pause(): a signal that lands just before it is handled only by the next one
    time.sleep(0.1)
"""


@pytest.mark.parametrize("how", ["sigkill", "exception", "sigint", "sigterm"])
def test_the_child_never_outlives_its_parent(how: str) -> None:
    """Killed (SIGKILL: no clean-up runs), ended by an uncaught exception, Ctrl-C, or SIGTERM: the child
    goes too."""
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdin is not None and parent.stdout is not None
        child = int(parent.stdout.readline())
        # The parent waits for this line before it ends: checking the child while the parent may already
        # be dying (SIGKILL, exception) raced with the very clean-up under test.
        assert alive(child)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        if how in ("sigint", "sigterm"):
            parent.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
        # A liveness bound, not a speed figure: the clean-up takes well under a second alone, but the
        # parent's interpreter shutdown was seen to take over 30 s on a machine loaded by parallel suites.
        parent.wait(timeout=90)
        assert gone_within(child, 10), f"moto's process {child} outlived its parent ({how})"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
