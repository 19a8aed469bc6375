"""What README and docs/ show is what the code does: each check reads the document and the code."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

from rich.console import Console

from consumers.email_notification.logic.rendering import subject_for
from movie_events import MovieCreated, MovieDeleted, MovieUpdated
from moviepipe.local.demo import Summary, _report

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LOCAL = (ROOT / "docs" / "local.md").read_text(encoding="utf-8")


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.DOTALL)


def shell_lines(markdown: str) -> list[str]:
    return [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.DOTALL)
        for line in block.splitlines()
        if line.strip()
    ]


def readme_exports() -> dict[str, str]:
    [line] = [line for line in shell_lines(README) if line.startswith("export ")]
    return dict(word.split("=", 1) for word in shlex.split(line)[1:])


def test_readme_and_local_md_show_the_demo_summary_as_the_demo_prints_it() -> None:
    console = Console(width=100, record=True, soft_wrap=True, color_system=None, file=io.StringIO())
    summary = Summary(
        events_published=6, emails_sent=6, duplicates_suppressed=1, dead_lettered=1, seconds_to_settle=0.84
    )
    _report(summary, console)
    # Compared line by line without the padding around them (the title is centred on the terminal).
    printed = [line.strip() for line in console.export_text().splitlines()]
    for document in (README, LOCAL):
        shown = [
            [line.strip() for line in block.splitlines()]
            for block in code_blocks(document)
            if "events_published" in block and "│" in block
        ]
        assert shown == [printed]


def test_readme_exports_both_region_variables() -> None:
    exports = readme_exports()
    assert exports["AWS_REGION"] == exports["AWS_DEFAULT_REGION"]
    assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(exports)


def test_every_aws_sqs_command_shown_passes_the_endpoint() -> None:
    """AWS CLI v1's sqs commands ignore AWS_ENDPOINT_URL and would go to the public endpoint."""
    commands = [
        line for line in shell_lines(README) + shell_lines(LOCAL) if re.match(r"aws (--\S+ \S+ )*sqs ", line)
    ]
    assert commands
    for line in commands:
        assert '--endpoint-url "$AWS_ENDPOINT_URL"' in line, line


def test_readme_runs_moviepipe_from_the_venv_it_creates() -> None:
    """On a fresh clone nothing is on PATH: `make` creates .venv, and the README's commands use it."""
    for line in shell_lines(README):
        assert not line.startswith("moviepipe "), line


def test_api_md_lists_every_error_code_the_api_answers_with() -> None:
    source = "".join(path.read_text() for path in (ROOT / "producers" / "movies_api").glob("*.py"))
    codes = set(re.findall(r'HTTPStatus\.[A-Z_]+,\s*"([A-Z][A-Za-z]+)"', source))
    table = (ROOT / "docs" / "api.md").read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Za-z]+)`", table))
    assert "InvalidIfMatch" in codes
    assert codes <= documented, sorted(codes - documented)


def test_consumer_md_shows_the_subjects_the_renderer_writes() -> None:
    doc = (ROOT / "docs" / "consumer.md").read_text()
    data = {"id": "<id>", "title": "<title>", "rating": 8, "genres": []}
    subjects = [
        subject_for(MovieCreated(data=data)),
        subject_for(MovieUpdated(data=data)),
        subject_for(MovieDeleted(data={"id": "<id>", "title": "<title>"})),
        subject_for(MovieDeleted(data={"id": "<id>"})),
    ]
    for subject in subjects:
        assert f"`{subject}`" in doc, subject


def test_makefile_promises_only_tests_that_exist() -> None:
    comment = next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("# The whole suite")
    )
    marker = "pytest.mark." + "terraform"  # spelt so that this file does not match itself
    terraform_tests = [path for path in (ROOT / "tests").rglob("test_*.py") if marker in path.read_text()]
    assert ("Terraform" in comment) == bool(terraform_tests), comment
