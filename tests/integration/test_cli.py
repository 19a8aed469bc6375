"""The ``moviepipe`` command against the embedded AWS."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from movie_events import MovieCreated, parse_event
from moviepipe.cli import app
from moviepipe.local.provision import Messaging
from tests.support.sqs import drain

pytestmark = pytest.mark.integration
runner = CliRunner()
MOVIE = '{"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]}'


def test_publish_json_prints_event_and_message_id(messaging: Messaging) -> None:
    result = runner.invoke(
        app,
        ["publish", "--type", "MovieCreated", "--data", MOVIE, "--topic-arn", messaging.topic_arn, "--json"],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"event_id", "message_id"} and printed["message_id"]
    [message] = drain(messaging.queue_url, expected=1)
    event = parse_event(message["Body"], message["MessageAttributes"])
    assert isinstance(event, MovieCreated) and event.id == printed["event_id"] and event.data.title == "Up"


def test_publish_reads_topic_from_environment_and_honours_given_id(
    messaging: Messaging, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTS_TOPIC_ARN", messaging.topic_arn)
    result = runner.invoke(
        app, ["publish", "--type", "MovieDeleted", "--data", '{"id": "42"}', "--id", "evt-7"]
    )
    assert result.exit_code == 0, result.output
    assert "published MovieDeleted evt-7" in result.stdout
    [message] = drain(messaging.queue_url, expected=1)
    assert json.loads(message["Body"])["id"] == "evt-7"


def test_dry_run_publishes_nothing(messaging: Messaging) -> None:
    result = runner.invoke(
        app,
        [
            "publish",
            "--type",
            "MovieCreated",
            "--data",
            MOVIE,
            "--topic-arn",
            messaging.topic_arn,
            "--dry-run",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["dry_run"] is True and printed["message_id"] is None
    assert printed["event"]["data"]["title"] == "Up"
    assert drain(messaging.queue_url) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "MovieRenamed", "--data", MOVIE], "--type must be one of"),
        (["--type", "MovieCreated", "--data", "{not json"], "--data is not JSON"),
        (
            ["--type", "MovieCreated", "--data", '{"id": "42", "title": "Up"}'],
            "data.rating: required field is missing",
        ),
        (
            ["--type", "MovieCreated", "--data", MOVIE.replace("8.3", "11")],
            "data.rating: Input should be less than or equal to 10",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_error(messaging: Messaging, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["publish", *args, "--topic-arn", messaging.topic_arn])
    assert result.exit_code == 2
    assert message in result.stderr
    assert drain(messaging.queue_url) == []


def test_missing_topic_exits_2(aws: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTS_TOPIC_ARN", raising=False)
    result = runner.invoke(app, ["publish", "--type", "MovieCreated", "--data", MOVIE])
    assert result.exit_code == 2 and "EVENTS_TOPIC_ARN" in result.stderr


def test_aws_refusal_exits_1(aws: object) -> None:
    missing_topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    result = runner.invoke(
        app, ["publish", "--type", "MovieCreated", "--data", MOVIE, "--topic-arn", missing_topic]
    )
    assert result.exit_code == 1 and "not published" in result.stderr
