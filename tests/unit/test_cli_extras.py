"""The `moviepipe` command installed with the `cli` extra only: publish works, `local` says what is missing.

Each case runs in a fresh interpreter where the local stack's packages (moto, werkzeug, flask) cannot be
imported, as after `pip install 'moviepipe[cli]'`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_LOCAL_EXTRA = """
import sys
for name in ("moto", "werkzeug", "flask"):
    sys.modules[name] = None  # import raises ModuleNotFoundError, as if not installed
from moviepipe.cli import app
app(sys.argv[1:], prog_name="moviepipe")
"""
MOVIE = '{"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]}'


def moviepipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCAL_EXTRA, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        timeout=60,
        check=False,
    )


def test_publish_dry_run_needs_no_local_stack() -> None:
    result = moviepipe("publish", "--type", "MovieCreated", "--data", MOVIE, "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["dry_run"] is True and printed["event"]["type"] == "MovieCreated"


def test_local_commands_without_the_local_extra_say_what_to_install() -> None:
    for command in (["local", "demo"], ["local", "up", "--json"]):
        result = moviepipe(*command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "pip install 'moviepipe[local]'" in result.stderr
        assert "Traceback" not in result.stderr
