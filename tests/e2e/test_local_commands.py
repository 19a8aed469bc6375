"""``moviepipe local up`` / ``local demo`` / ``local emails`` as an operator runs them: real processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from moviepipe.local.demo import http

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


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` again. SO_REUSEADDR, as servers set it: connections
    the stopped server closed linger in TIME_WAIT for a minute, but only a live listener blocks."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_local_demo_json_prints_one_summary_and_exits_0() -> None:
    result = subprocess.run(
        [*MOVIEPIPE, "local", "demo", "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert {"events_published", "emails_sent", "duplicates_suppressed", "dead_lettered"} <= set(summary)
    assert summary["events_published"] == summary["emails_sent"] == 6
    assert summary["duplicates_suppressed"] == 1 and summary["dead_lettered"] == 1
    assert summary["ok"] is True and summary["problems"] == []


def test_local_up_serves_until_ctrl_c_and_leaves_nothing_running(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ENDPOINT_URL", "EVENTS_TOPIC_ARN"):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            *MOVIEPIPE,
            "local",
            "up",
            "--aws-port",
            "0",
            "--api-port",
            "0",
            "--json",
            "--mail-folder",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = JsonLines(process)
        endpoints = lines.next()
        api_url, aws_url = endpoints["api_url"], endpoints["aws_endpoint"]
        assert endpoints["environment"]["AWS_ENDPOINT_URL"] == aws_url
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


def test_local_up_on_a_busy_port_fails_clearly() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*MOVIEPIPE, "local", "up", "--aws-port", str(port), "--api-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot start the embedded AWS on 127.0.0.1:{port}" in result.stderr
