"""The ``moviepipe`` command as a newcomer meets it: help, --version, and bad arguments refused clearly.

Everything here runs through typer's CliRunner and stops before any AWS call (``--dry-run``, or a usage
error before the stack starts), so it needs no server.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from consumers.email_notification.logic.rendering import render
from movie_events import MovieCreated
from moviepipe.cli import TOPIC_ARN_EXAMPLE, app, invocation_line, one_line
from moviepipe.local.mail_catcher import CaughtEmail, write_email
from moviepipe.local.stack import mail_folder_problem
from moviepipe.local.triggers import Invocation

runner = CliRunner()
MOVIE = '{"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]}'
SENDER = "movies@moviepipe.example.com"
COMMANDS = [[], ["publish"], ["local"], ["local", "up"], ["local", "emails"], ["local", "demo"]]


def dry_run(*args: str) -> Result:
    return runner.invoke(app, ["publish", "--type", "MovieCreated", "--data", MOVIE, "--dry-run", *args])


def assert_usage_error(result: Result, *fragments: str) -> None:
    """Exit 2 with one line on stderr that says what is wrong, and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


# -- flags and --version ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "moviepipe")
def test_help_shows_flags_as_flags(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    for line in result.stdout.splitlines():
        if line.strip().startswith(("--json", "--dry-run", "--verbose", "--version", "--help")):
            assert not line.strip().split()[0].endswith(">") and "<" not in line.split()[1], line


@pytest.mark.parametrize(
    "command",
    [
        ["publish", "--type", "MovieCreated", "--data", MOVIE, "--dry-run"],
        ["local", "up"],
        ["local", "emails"],
        ["local", "demo"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_json_is_a_plain_flag_that_takes_no_value(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--json", "true"])
    assert result.exit_code == 2 and "unexpected extra argument(s) (true)" in result.output


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"moviepipe {version('moviepipe')}\n"


# -- publish: --id, --source, --topic-arn ------------------------------------------------------------
@pytest.mark.parametrize("flag", ["--id", "--source"])
@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_an_empty_id_or_source_is_refused(flag: str, value: str) -> None:
    assert_usage_error(dry_run(flag, value), f"{flag} must not be empty")


def test_a_given_id_and_source_are_used() -> None:
    result = dry_run("--id", "evt-1", "--source", "urn:test", "--json")
    assert result.exit_code == 0, result.output
    event = json.loads(result.stdout)["event"]
    assert event["id"] == "evt-1" and event["source"] == "urn:test"


@pytest.mark.parametrize(
    "arn",
    [
        "moviepipe-movie-events",
        "arn:aws:sns",
        "arn:aws:sns:us-east-1:moviepipe-movie-events",
        "arn:aws:sqs:us-east-1:123456789012:moviepipe-movie-events",
        "arn:aws:sns:us-east-1:12345:moviepipe-movie-events",
        "arn:aws:sns:us-east-1:123456789012:",
        "https://sns.us-east-1.amazonaws.com/123456789012/moviepipe-movie-events",
    ],
)
def test_a_malformed_topic_arn_says_what_an_arn_looks_like(arn: str) -> None:
    result = runner.invoke(app, ["publish", "--type", "MovieCreated", "--data", MOVIE, "--topic-arn", arn])
    assert_usage_error(result, "is not an SNS topic ARN", TOPIC_ARN_EXAMPLE)
    assert "unpack" not in result.output


@pytest.mark.parametrize(
    "arn",
    [
        TOPIC_ARN_EXAMPLE,
        "arn:aws:sns:eu-west-1:123456789012:events.fifo",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:Events_2",
    ],
)
def test_well_formed_topic_arns_are_accepted(arn: str) -> None:
    assert dry_run("--topic-arn", arn).exit_code == 0


def test_malformed_topic_arn_from_the_environment_is_named_too() -> None:
    result = runner.invoke(
        app,
        ["publish", "--type", "MovieCreated", "--data", MOVIE],
        env={"EVENTS_TOPIC_ARN": "events"},
    )
    assert_usage_error(result, "$EVENTS_TOPIC_ARN", "'events'")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    event_id=st.one_of(st.text(), st.sampled_from(["", " ", "\n", "\x00", "\u2028"])),
    source=st.one_of(st.none(), st.text(max_size=300)),
    topic_arn=st.one_of(st.none(), st.text(max_size=300), st.just(TOPIC_ARN_EXAMPLE)),
)
def test_hostile_id_source_and_topic_never_get_a_traceback_or_a_silent_substitute(
    event_id: str, source: str | None, topic_arn: str | None
) -> None:
    """Whatever the flags hold: exit 0 with exactly the id given, or exit 2 with one line saying why."""
    args = ["--json", "--id", event_id]
    if source is not None:
        args += ["--source", source]
    if topic_arn is not None:
        args += ["--topic-arn", topic_arn]
    result = dry_run(*args)
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        event = json.loads(result.stdout)["event"]
        assert event["id"] == event_id  # the id asked for, never a fresh UUID in its place
        if source is not None:
            assert event["source"] == source
    else:
        assert result.stderr.startswith("error: ")
    if not event_id.strip():
        assert result.exit_code == 2


# -- local up / local demo: settings checked before anything starts ---------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--aws-port", "70000"], "--aws-port must be a port number from 0 to 65535"),
        (["--api-port", "-5"], "--api-port must be a port number from 0 to 65535 (0: any free port), not -5"),
        (["--aws-port", "9999", "--api-port", "9999"], "give them different ports"),
    ],
)
def test_local_up_refuses_impossible_ports_in_one_line(
    args: list[str], fragment: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["local", "up", "--mail-folder", str(tmp_path), *args])
    assert_usage_error(result, fragment)


@settings(max_examples=40, deadline=None)
@given(port=st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
def test_any_out_of_range_port_is_a_usage_error(port: int) -> None:
    for flag in ("--aws-port", "--api-port"):
        result = runner.invoke(app, ["local", "up", flag, str(port), "--mail-folder", os.devnull])
        assert result.exit_code == 2 and f"{flag} must be a port number" in result.stderr


@pytest.mark.parametrize("command", [["local", "up"], ["local", "demo"]])
def test_a_mail_folder_under_a_file_is_refused_before_anything_starts(
    command: list[str], tmp_path: Path
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    result = runner.invoke(app, [*command, "--mail-folder", str(a_file / "outbox")])
    assert_usage_error(result, f"--mail-folder {a_file / 'outbox'}", f"{a_file} is a file, not a folder")
    result = runner.invoke(app, [*command, "--mail-folder", str(a_file)])
    assert_usage_error(result, "is a file, not a folder")
    assert a_file.read_text() == "not a folder"


# -- local emails ----------------------------------------------------------------------------------
def caught(title: str, movie_id: str = "42", when: int = 0) -> CaughtEmail:
    """An email as the local SES catches it from the consumer: the rendered MIME, sent as Raw."""
    rendered = render(
        MovieCreated(data={"id": movie_id, "title": title, "rating": 8.3, "genres": []}), sender=SENDER
    )
    return CaughtEmail(
        message_id=f"0100019c{when:08d}-local",
        sent_at=datetime(2026, 11, 29, 12, 0, when, tzinfo=UTC),
        sender=SENDER,
        to=(SENDER,),
        cc=(),
        bcc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        raw_mime=rendered.mime,
    )


def emails(folder: Path, *extra: str) -> Result:
    return runner.invoke(
        app, ["local", "emails", "--mail-folder", str(folder), *extra], env={"COLUMNS": "80"}
    )


def test_subjects_are_shown_as_written_not_read_as_markup(tmp_path: Path) -> None:
    write_email(tmp_path, caught("[bold]Loud[/bold] [red]", movie_id="tt1"))
    result = emails(tmp_path)
    assert result.exit_code == 0, result.output
    # "[moviepipe]" and the title's brackets survive (rich would swallow them as style tags).
    assert "[moviepipe] Movie created: [bold]Loud[/bold] [red] (tt1)" in result.stdout


def test_every_file_is_listed_in_full_at_80_columns(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "outbox"
    for n in range(2):
        write_email(deep, caught(f"Movie number {n}", when=n))
    result = emails(deep)
    assert result.exit_code == 0, result.output
    pages = sorted(str(p.absolute()) for p in deep.glob("*.html"))
    assert len(pages) == 2 and all(len(page) > 80 for page in pages)
    lines = result.stdout.splitlines()
    for page in pages:
        # On one line, whole, so it can be copied and opened.
        assert any(line.split() == ["open", page] for line in lines), result.stdout
    assert "…" not in result.stdout
    event_ids = [line.split()[1] for line in lines if line.split()[:1] == ["event"]]
    assert len(event_ids) == 2 and all(len(event_id) == 36 for event_id in event_ids)  # whole UUIDs


def test_json_subjects_are_unfolded(tmp_path: Path) -> None:
    # A fold right after the colon is legal (RFC 5322 §2.2.3) and leaves a space at the start.
    folded = (
        b"Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
        b"Subject:\r\n [moviepipe] Movie created:\r\n Up (42)\r\n"
        b"From: movies@moviepipe.example.com\r\n"
        b"X-Moviepipe-Event-Id:\r\n evt-1\r\n\r\nbody\r\n"
    )
    (tmp_path / "20261129T120000.000000Z-folded.eml").write_bytes(folded)
    write_email(tmp_path, caught("Amélie " * 20, when=1))  # long and non-ASCII: folded encoded words
    result = emails(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)["emails"]
    assert first["subject"] == "[moviepipe] Movie created: Up (42)" and first["event_id"] == "evt-1"
    assert second["subject"] == caught("Amélie " * 20).subject


def test_json_lists_absolute_paths_that_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_email(tmp_path / "out", caught("Up"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["local", "emails", "--mail-folder", "out", "--json"])
    [email] = json.loads(result.stdout)["emails"]
    assert Path(email["file"]).is_absolute() and Path(email["file"]).is_file()
    assert Path(email["html"]).is_absolute() and Path(email["html"]).is_file()


def test_an_empty_folder_has_no_emails(tmp_path: Path) -> None:
    result = emails(tmp_path)
    assert result.exit_code == 0 and "no emails in" in result.stdout


@pytest.mark.parametrize("as_json", [False, True])
def test_a_missing_mail_folder_is_an_error_not_no_emails(tmp_path: Path, as_json: bool) -> None:
    missing = tmp_path / "nowhere"
    result = emails(missing, *(["--json"] if as_json else []))
    assert_usage_error(result, f"--mail-folder {missing} does not exist")
    assert result.stdout == ""
    a_file = tmp_path / "file.eml"
    a_file.write_text("x")
    assert_usage_error(emails(a_file), "is not a folder")


@settings(max_examples=60, deadline=None)
@given(segments=st.lists(st.sampled_from(["a-file", "a-folder", "new", "..", "."]), min_size=1, max_size=4))
def test_the_start_up_check_agrees_with_what_the_mail_catcher_can_do(segments: list[str]) -> None:
    """No problem reported ⇔ an email can be written there: the check neither lets through a folder
    every send would fail on, nor refuses one that works."""
    with tempfile.TemporaryDirectory() as root:
        base = Path(root) / "work"
        (base / "a-folder").mkdir(parents=True)
        (base / "a-file").write_text("x")
        folder = base.joinpath(*segments)
        problem = mail_folder_problem(folder)
        try:
            write_email(folder, caught("Up"))
            written = True
        except OSError:
            written = False
        assert (problem is None) == written, (folder, problem)


@settings(max_examples=50, deadline=None)
@given(
    files=st.lists(
        st.one_of(
            st.binary(max_size=400),
            st.builds(
                lambda subject, event_id: (
                    b"Subject: " + subject + b"\r\nX-Moviepipe-Event-Id: " + event_id + b"\r\n\r\nbody"
                ),
                st.binary(max_size=200),
                st.binary(max_size=60),
            ),
        ),
        max_size=4,
    )
)
def test_local_emails_lists_any_file_in_the_folder_without_a_traceback(files: list[bytes]) -> None:
    """Whatever an .eml holds (truncated, not MIME, broken encoded words, bare CR/LF), each is listed,
    on one line a field, and the listing never fails."""
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        for number, content in enumerate(files):
            (folder / f"2026{number:04d}.eml").write_bytes(content)
        for extra in ([], ["--json"]):
            result = emails(folder, *extra)
            assert result.exit_code == 0, result.output
            assert result.exception is None
        listed = json.loads(result.stdout)["emails"]
        assert len(listed) == len(files)
        for email in listed:
            assert not any(c in email[key] for key in ("subject", "event_id", "from") for c in "\r\n")


# -- what the user typed is echoed as typed, never read as rich markup -------------------------------
@pytest.mark.parametrize("text", ["[/bold]", "[red]x[/red]", "[link=file:///etc]y"])
def test_errors_quote_the_input_as_typed(text: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["publish", "--type", "MovieCreated", "--data", MOVIE, "--topic-arn", text])
    assert_usage_error(result, repr(text))
    result = runner.invoke(app, ["publish", "--type", text, "--data", MOVIE, "--dry-run"])
    assert_usage_error(result, repr(text))
    missing = tmp_path / text
    assert_usage_error(emails(missing), f"--mail-folder {missing} does not exist")


@given(error=st.text(max_size=200), failed=st.integers(min_value=0, max_value=3))
def test_an_invocation_line_shows_the_handlers_error_as_it_is(error: str, failed: int) -> None:
    invocation = Invocation(
        trigger="email-notification",
        records=[{"messageId": str(n)} for n in range(3)],
        failed_ids=[str(n) for n in range(failed)],
        error=error or None,
        seconds=0.012,
    )
    line = invocation_line(invocation).plain
    assert line.startswith("email-notification: 3 record(s)") and "in 12 ms" in line
    shown = one_line(error)
    assert not any(unicodedata.category(c) == "Cc" for c in line)
    assert line.endswith(f" {shown}" if shown else " ms") and "\n" not in line
