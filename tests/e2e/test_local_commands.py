"""``moviepipe local up`` / ``local demo`` / ``local emails`` as an operator runs them: real processes."""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from moviepipe.local.demo import http
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
MOVIEPIPE = [sys.executable, "-m", "moviepipe"]


class JsonLines:
    """The JSON lines a process prints, read by a thread, so a test waits with a timeout, never hangs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: Any) -> None:
        for line in stdout:
            self._lines.put(line)

    def next(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            return dict(json.loads(self._lines.get(timeout=timeout)))
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s") from None


def start_local_up(mail_folder: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``moviepipe local up --json`` on free ports, and the environment it was started with: this
    process's, without the variables that would point it (or a command run beside it) elsewhere."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "EVENTS_TOPIC_ARN", "DEAD_LETTER_QUEUE_URL"):
        env.pop(name, None)
    command = [*MOVIEPIPE, "local", "up", "--aws-port", "0", "--api-port", "0", "--json"]
    process = subprocess.Popen(
        [*command, "--mail-folder", mail_folder],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    return process, env


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now (connections in TIME_WAIT do not stop one)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_local_demo_json_prints_one_summary_and_exits_0(tmp_path: Path) -> None:
    workdir, outbox = tmp_path / "workdir", tmp_path / "outbox"
    workdir.mkdir()
    result = subprocess.run(
        [*MOVIEPIPE, "local", "demo", "--json", "--mail-folder", str(outbox)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env=subprocess_env(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert {"events_published", "emails_sent", "duplicates_suppressed", "dead_lettered"} <= set(summary)
    assert summary["events_published"] == summary["emails_sent"] == 6
    assert summary["duplicates_suppressed"] == 1 and summary["dead_lettered"] == 1
    assert summary["ok"] is True and summary["problems"] == []
    # The emails went where --mail-folder said, and nothing into the working directory.
    assert len(list(outbox.glob("*.eml"))) == len(list(outbox.glob("*.html"))) == 6
    assert list(workdir.iterdir()) == []
    for eml in outbox.glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["Date"] and str(message["Message-ID"]).endswith("@email.amazonses.com>")


def subprocess_env() -> dict[str, str]:
    """This environment, with the package importable from any working directory."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def test_local_up_serves_until_ctrl_c_and_leaves_nothing_running(tmp_path: Path) -> None:
    process, _ = start_local_up(str(tmp_path))
    try:
        lines = JsonLines(process)
        endpoints = lines.next()
        api_url, aws_url = endpoints["api_url"], endpoints["aws_endpoint"]
        assert endpoints["environment"]["AWS_ENDPOINT_URL"] == aws_url
        assert endpoints["environment"]["AWS_DEFAULT_REGION"] == endpoints["environment"]["AWS_REGION"]
        status, _, movie = http("POST", f"{api_url}/movies", {"title": "Up", "rating": 8.3, "genres": []})
        assert status == 201
        triggers: set[str] = set()
        deadline = time.monotonic() + 30
        while triggers != {"outbox-relay", "email-notification"} and time.monotonic() < deadline:
            triggers.add(lines.next()["trigger"])
        assert triggers == {"outbox-relay", "email-notification"}

        emails = subprocess.run(
            [*MOVIEPIPE, "local", "emails", "--json", "--mail-folder", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        [email] = json.loads(emails.stdout)["emails"]
        assert movie["id"] in email["subject"] and Path(email["html"]).is_file() and email["event_id"]

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    api_port, aws_port = int(api_url.rsplit(":", 1)[1]), int(aws_url.rsplit(":", 1)[1])
    assert port_is_free(api_port) and port_is_free(aws_port)
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")


def test_local_up_on_a_busy_port_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*MOVIEPIPE, "local", "up", "--aws-port", str(port), "--api-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=subprocess_env(),
        )
    assert result.returncode == 1
    assert f"cannot start the embedded AWS on 127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aws-port", "70000"], "error: --aws-port must be a port number from 0 to 65535"),
        (["--api-port", "-5"], "error: --api-port must be a port number from 0 to 65535"),
        (["--mail-folder", "notes.txt/outbox"], "error: --mail-folder notes.txt/outbox: cannot be created"),
    ],
)
def test_local_up_refuses_bad_settings_in_one_line_before_starting(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("a file")
    result = subprocess.run(
        [*MOVIEPIPE, "local", "up", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=subprocess_env(),
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def readme_exports(endpoint: str) -> dict[str, str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [line] = [line.strip() for line in readme.splitlines() if line.strip().startswith("export AWS_")]
    exports = dict(word.split("=", 1) for word in shlex.split(line)[1:])
    assert exports["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    return {**exports, "AWS_ENDPOINT_URL": endpoint}  # the stack under test runs on a free port


def test_readme_exports_are_all_boto3_needs(local_stack: RunningStack, tmp_path: Path) -> None:
    """Exactly the README's exports, no AWS config files: a plain boto3.client("sqs") reaches the stack."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **readme_exports(local_stack.deployment.aws_endpoint),
    }
    script = "import boto3; print(len(boto3.client('sqs').list_queues()['QueueUrls']))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) >= 2  # the email queue and its DLQ


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_readme_aws_cli_commands_work_with_its_exports(local_stack: RunningStack, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **readme_exports(local_stack.deployment.aws_endpoint),
    }
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    commands = [line.split("#")[0].strip() for line in readme.splitlines() if line.startswith("aws ")]
    assert len(commands) == 2
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
        )
        assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
        assert "moviepipe" in result.stdout or '"Items"' in result.stdout
