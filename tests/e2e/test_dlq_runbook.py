"""docs/runbook.md's command lines, run as written (through bash) against a real ``moviepipe local up``.

Only what differs on this machine is substituted: the port ``local up`` got (the test asks for a free
one instead of 4566) and the absolute path of ``.venv/bin/moviepipe``. The same run checks that
``local up`` tells a dead-lettered record and a suppressed duplicate apart from a sent email, and
answers StartMessageMoveTask in one line instead of a traceback.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_local_commands import JsonLines, start_local_up

pytestmark = pytest.mark.e2e
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
MOVIEPIPE_SCRIPT = str(Path(sys.executable).parent / "moviepipe")


def runbook_commands() -> list[str]:
    """Every command line of the runbook's ``sh`` blocks, continuation lines joined, comments dropped."""
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(encoding="utf-8"), flags=re.S)
    commands = []
    for block in blocks:
        for command in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#\s.*$", "", command).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def wait_for(lines: JsonLines, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = lines.next(timeout=deadline - time.monotonic())
        if predicate(line):
            return line
    raise AssertionError("no such line")


def test_the_runbook_works_as_written_against_local_up(tmp_path: Path) -> None:
    process, env = start_local_up(".moviepipe/outbox", cwd=tmp_path)
    try:
        lines = JsonLines(process)
        endpoints = lines.next()
        aws_endpoint = endpoints["aws_endpoint"]
        # The operator's shell: what the runbook exports, nothing from local up's own environment.
        shell_env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
        exports: list[str] = []
        results: dict[str, subprocess.CompletedProcess[str]] = {}
        for command in runbook_commands():
            if " local up" in command or "TASK_HANDLE" in command:
                continue  # local up is this very process; a task handle exists only on AWS
            line = command.replace(".venv/bin/moviepipe", MOVIEPIPE_SCRIPT).replace(
                "http://127.0.0.1:4566", aws_endpoint
            )
            if line.startswith("export "):
                exports.append(line)
                continue
            result = subprocess.run(
                ["bash", "-c", "; ".join([*exports, line])],
                capture_output=True,
                text=True,
                env=shell_env,
                cwd=tmp_path,
                timeout=120,
            )
            results[command] = result
            if "send-message" in command:  # the poison message: wait until the consumer dead-lettered it
                assert result.returncode == 0, result.stderr
                wait_for(lines, lambda x: x.get("dead_lettered") == 1)
            if command.endswith("dlq tasks moviepipe-email-notifications-dlq"):
                # moto has no move tasks: one clear line, exit 1
                assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
                assert "not supported by the embedded AWS" in result.stderr
            else:
                assert result.returncode == 0, (command, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr, (command, result.stderr)

        peeked = next(r for c, r in results.items() if "--error SchemaValidation --json" in c)
        assert json.loads(peeked.stdout)["messages"][0]["movie_id"] == "42"
        everything = next(
            r for c, r in results.items() if c.endswith("dlq replay moviepipe-email-notifications-dlq")
        )
        assert "fell back" in everything.stderr or "fell back" in everything.stdout
        assert (tmp_path / "dlq.jsonl").is_file()

        # A sent email and a suppressed duplicate, each told apart on local up's lines.
        status, sent_line = _publish_and_duplicate({**env, **endpoints["environment"]}, lines)
        assert status == 0
        assert sent_line["emails_sent"] == 1
        duplicate = wait_for(lines, lambda x: x.get("duplicates_suppressed") == 1)
        assert duplicate["emails_sent"] == 0 and duplicate["dead_lettered"] == 0

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in (process.stderr.read() if process.stderr else "")


def _publish_and_duplicate(env: dict[str, str], lines: JsonLines) -> tuple[int, dict[str, Any]]:
    event = json.dumps({"id": "77", "title": "Up", "rating": 8.3, "genres": []})
    published = subprocess.run(
        [MOVIEPIPE_SCRIPT, "publish", "--type", "MovieCreated", "--data", event, "--id", "evt-77", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    sent = wait_for(lines, lambda x: x.get("emails_sent") == 1)
    again = subprocess.run(
        [MOVIEPIPE_SCRIPT, "publish", "--type", "MovieCreated", "--data", event, "--id", "evt-77", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return published.returncode or again.returncode, sent
