"""``moviepipe dlq`` against the embedded AWS: every guarantee of the dead-letter tools.

Messages reach the DLQ the two ways they do in production: the consumer dead-letters a permanent failure
(with its reason attributes, overflow packed), or the queue's redrive policy moves a message that failed
``maxReceiveCount`` times (attributes untouched). Replays then go through the real CLI.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from consumers.email_notification.adapters.dlq import OVERFLOW, RESERVED, SOURCE_MESSAGE_ID
from movie_events import MovieCreated
from moviepipe.cli import app
from moviepipe.dlq.messages import DeadLetter
from moviepipe.dlq.operations import ReplayRequest, replay
from moviepipe.dlq.replay import QueueTarget, Replayer, ReplayOptions
from moviepipe.dlq.sqs import Queues
from moviepipe.local.embedded_aws import EmbeddedAWS
from tests.support import aws
from tests.support.consumer import ConsumerStack
from tests.support.sqs import drain

pytestmark = pytest.mark.integration
runner = CliRunner()

#: Nine original attributes of every data type: with the consumer's four they overflow SQS's ten.
ORIGINAL_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "Type": {"DataType": "String", "StringValue": "MovieCreated"},
    "Count": {"DataType": "Number", "StringValue": "42.5"},
    "Big": {"DataType": "Number.int", "StringValue": "123456789012345678901234567890"},
    "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10binary"},
    "Zipped": {"DataType": "Binary.gzip", "BinaryValue": b"\x1f\x8b\x08\x00"},
    "Custom": {"DataType": "String.foo", "StringValue": "ünïcödé ✓"},
    "Trace": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"},
    "Tenant": {"DataType": "String.tenant", "StringValue": "acme"},
    "Empty": {"DataType": "String", "StringValue": " "},
}


def cli(*args: str) -> Any:
    result = runner.invoke(app, ["dlq", *args])
    return result


def cli_json(*args: str, code: int = 0) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == code, (result.stdout, result.stderr)
    return dict(json.loads(result.stdout))


def sqs() -> Any:
    return aws.client("sqs")


def attributes_of(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return DeadLetter.from_sqs(message).attributes


def dead_letter_by_consumer(stack: ConsumerStack, body: str, attributes: dict[str, dict[str, Any]]) -> str:
    """A permanent failure: the consumer sends it to the DLQ with its reason. Returns the source id."""
    message_id = str(
        sqs().send_message(
            QueueUrl=stack.messaging.queue_url, MessageBody=body, MessageAttributes=attributes
        )["MessageId"]
    )
    stack.run()
    return message_id


def dead_letter_by_redrive(stack: ConsumerStack, body: str, attributes: dict[str, dict[str, Any]]) -> None:
    """What the redrive policy leaves in the DLQ: the message as it was, no reason attributes."""
    sqs().send_message(QueueUrl=stack.messaging.dlq_url, MessageBody=body, MessageAttributes=attributes)


def poison(n: int) -> str:
    """A body the consumer dead-letters at once (SchemaValidation: a legacy body with no title)."""
    return json.dumps({"id": f"m{n}", "rating": 5, "genres": []})


@functools.cache
def valid_event(n: int) -> MovieCreated:
    return MovieCreated(id=f"evt-{n}", data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": []})


def depth(url: str) -> int:
    attributes = sqs().get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def visible(url: str) -> int:
    return int(
        sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )


# -- attributes --------------------------------------------------------------------------------------------
def test_replay_restores_every_original_attribute_of_every_type(stack: ConsumerStack) -> None:
    source_id = dead_letter_by_consumer(stack, poison(1), ORIGINAL_ATTRIBUTES)
    [letter] = _peek_raw(stack.messaging.dlq_url)
    assert OVERFLOW in letter.attributes and letter.attributes[SOURCE_MESSAGE_ID]["StringValue"] == source_id

    report = cli_json("replay", stack.messaging.dlq_url)

    assert report["method"] == "receive-send-delete" and "fell back" in report["note"]
    assert (report["matched"], report["moved"], report["failed"]) == (1, 1, 0)
    [replayed] = drain(stack.messaging.queue_url, expected=1)
    assert replayed["Body"] == poison(1)
    assert attributes_of(replayed) == ORIGINAL_ATTRIBUTES  # reasons off, overflow unpacked, types kept
    assert not set(attributes_of(replayed)) & set(RESERVED)
    assert depth(stack.messaging.dlq_url) == 0


def test_replay_keeps_a_redrive_policy_message_exactly(stack: ConsumerStack) -> None:
    dead_letter_by_redrive(stack, valid_event(1).to_json(), ORIGINAL_ATTRIBUTES)
    report = cli_json("replay", "moviepipe-email-notifications-dlq")
    assert report["moved"] == 1
    [replayed] = drain(stack.messaging.queue_url, expected=1)
    assert replayed["Body"] == valid_event(1).to_json() and attributes_of(replayed) == ORIGINAL_ATTRIBUTES


def _peek_raw(url: str) -> list[DeadLetter]:
    queues = Queues()
    letters = queues.receive(url, 10, 1, 0)
    queues.change_visibility(url, {x.message_id: x.receipt_handle for x in letters}, 0)
    return letters


# -- loss safety -----------------------------------------------------------------------------------------
class PartialSendBatchFailure:
    """An SQS client whose SendMessageBatch reports chosen entries as ``Failed`` (they are really not
    sent); every other call goes over HTTP to the server unchanged."""

    def __init__(self, client: Any, should_fail: Any) -> None:
        self._client = client
        self.should_fail = should_fail
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        keep = [e for e in params["Entries"] if not self.should_fail(e)]
        failed = [e for e in params["Entries"] if self.should_fail(e)]
        response: dict[str, Any] = {"Successful": [], "Failed": []}
        if keep:
            response = dict(self._client.send_message_batch(**{**params, "Entries": keep}))
            response.setdefault("Failed", [])
        self.injected += len(failed)
        response["Failed"] = list(response["Failed"]) + [
            {"Id": e["Id"], "Code": "InternalError", "Message": "injected", "SenderFault": False}
            for e in failed
        ]
        return response


def test_entries_failing_in_send_message_batch_stay_in_the_dlq_and_are_visible(stack: ConsumerStack) -> None:
    for n in range(25):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    doomed = {valid_event(n).to_json() for n in (3, 11, 17, 24)}
    client = PartialSendBatchFailure(sqs(), lambda entry: entry["MessageBody"] in doomed)

    report = replay(
        Queues(sqs=client),
        ReplayRequest(stack.messaging.dlq_url, options=ReplayOptions(concurrency=3, visibility=30)),
    )

    assert client.injected == 4
    assert (report.matched, report.moved, report.failed, report.skipped) == (25, 21, 4, 0)
    assert {f["event_id"] for f in report.failures} == {"evt-3", "evt-11", "evt-17", "evt-24"}
    moved = drain(stack.messaging.queue_url, expected=21)
    assert {m["Body"] for m in moved} == {valid_event(n).to_json() for n in range(25)} - doomed
    # The failed ones are back in the DLQ and visible at once (not after the 30 s visibility).
    assert visible(stack.messaging.dlq_url) == 4
    assert {m["Body"] for m in drain(stack.messaging.dlq_url)} == doomed


def test_a_failed_send_call_moves_nothing_and_releases_everything(
    stack: ConsumerStack, aws: EmbeddedAWS
) -> None:
    for n in range(12):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    fault = aws.faults.add(
        lambda _path, body: b'"MessageBody"' in body and b'"Entries"' in body,
        status=500,
        code="InternalError",
    )
    result = cli("replay", stack.messaging.dlq_url, "--json", "--visibility", "60")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["matched"], report["moved"], report["failed"]) == (12, 0, 12) and fault.hits >= 2
    assert visible(stack.messaging.dlq_url) == 12 and depth(stack.messaging.queue_url) == 0


# -- filters and dry run -----------------------------------------------------------------------------------
def test_dry_run_reports_and_moves_nothing_and_releases_all(stack: ConsumerStack) -> None:
    for n in range(15):
        dead_letter_by_consumer(stack, poison(n), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    report = cli_json("replay", stack.messaging.dlq_url, "--dry-run", "--visibility", "60")
    assert report["dry_run"] and (report["matched"], report["would_move"], report["moved"]) == (15, 15, 0)
    assert visible(stack.messaging.dlq_url) == 15 and depth(stack.messaging.queue_url) == 0


def test_filters_pick_exactly_the_matching_messages(stack: ConsumerStack) -> None:
    for n in range(6):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    for n in range(6, 9):
        dead_letter_by_consumer(stack, poison(n), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    dead_letter_by_consumer(stack, "not json at all", {})

    by_error = cli_json("replay", stack.messaging.dlq_url, "--error", "SchemaValidation", "--dry-run")
    assert (by_error["matched"], by_error["skipped"]) == (3, 7)
    by_match = cli_json("replay", stack.messaging.dlq_url, "--match", "data.title == 'Movie 2'", "--dry-run")
    assert by_match["matched"] == 1
    by_since = cli_json(
        "replay", stack.messaging.dlq_url, "--since", "1h", "--until", "2999-01-01", "--dry-run"
    )
    assert by_since["matched"] == 10
    future = cli_json("replay", stack.messaging.dlq_url, "--since", "2999-01-01T00:00Z", "--dry-run")
    assert future["matched"] == 0

    report = cli_json(
        "replay",
        stack.messaging.dlq_url,
        "--event-id",
        "evt-1",
        "--event-id",
        "evt-4",
        "--type",
        "MovieCreated",
    )
    assert (report["matched"], report["moved"], report["skipped"]) == (2, 2, 8)
    assert {json.loads(m["Body"])["id"] for m in drain(stack.messaging.queue_url, expected=2)} == {
        "evt-1",
        "evt-4",
    }
    limited = cli_json("replay", stack.messaging.dlq_url, "--max", "3")
    assert (limited["matched"], limited["moved"]) == (3, 3)
    assert visible(stack.messaging.dlq_url) == 5  # 10 - 2 - 3, all visible again


def test_replay_to_another_queue_and_through_the_topic(stack: ConsumerStack) -> None:
    for n in range(3):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    other = sqs().create_queue(QueueName="elsewhere")["QueueUrl"]
    report = cli_json("replay", stack.messaging.dlq_url, "--to", "elsewhere", "--max", "1")
    [first] = drain(other, expected=1)
    assert report["moved"] == 1
    report = cli_json("replay", stack.messaging.dlq_url, "--to-topic", stack.messaging.topic_arn)
    assert report["moved"] == 2
    delivered = drain(stack.messaging.queue_url, expected=2)  # through SNS, filter policy on Type
    ids = [json.loads(m["Body"])["id"] for m in [first, *delivered]]
    assert sorted(ids) == ["evt-0", "evt-1", "evt-2"]


def test_replayed_messages_are_emailed_once_and_a_second_replay_sends_nothing(
    stack: ConsumerStack, aws: EmbeddedAWS
) -> None:
    stack.publish(*(valid_event(n) for n in range(4)))
    stack.run()
    assert len(aws.mail.emails) == 4
    for n in range(4):  # the same events, dead-lettered again (say a transient outage hit a copy)
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    report = cli_json("replay", stack.messaging.dlq_url)
    assert report["moved"] == 4 and "idempotency" in report["note"]
    stack.run()
    assert len(aws.mail.emails) == 4  # the consumer recognised every replayed event


def test_visibility_is_extended_while_held(stack: ConsumerStack) -> None:
    for n in range(4):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    # --rate 1 with a 2 s visibility: the run lasts ~4 s, longer than the visibility it receives with;
    # without extension a held message would be received a second time and moved twice.
    report = cli_json(
        "replay", stack.messaging.dlq_url, "--rate", "1", "--visibility", "2", "--concurrency", "1"
    )
    assert (report["matched"], report["moved"]) == (4, 4)
    assert len(drain(stack.messaging.queue_url, expected=5)) == 4


# -- FIFO ----------------------------------------------------------------------------------------------------
def test_fifo_replay_keeps_group_and_deduplicates(aws: EmbeddedAWS) -> None:
    client = sqs()
    dlq = client.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = client.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]
    for n in range(6):
        client.send_message(
            QueueUrl=dlq,
            MessageBody=valid_event(n).to_json(),
            MessageGroupId=f"movie-{n % 2}",
            MessageDeduplicationId=f"d{n}",
            MessageAttributes={"Type": ORIGINAL_ATTRIBUTES["Type"]},
        )
    report = cli_json("replay", "orders-dlq.fifo")
    assert report["moved"] == 6
    moved = drain(source, expected=6)
    groups: dict[str, list[str]] = {}
    for message in moved:
        groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(
            json.loads(message["Body"])["id"]
        )
    assert groups == {"movie-0": ["evt-0", "evt-2", "evt-4"], "movie-1": ["evt-1", "evt-3", "evt-5"]}


# -- export / import / purge / stats / peek --------------------------------------------------------------------
def test_export_import_round_trip_is_lossless(stack: ConsumerStack, tmp_path: Path) -> None:
    dead_letter_by_consumer(stack, poison(1), ORIGINAL_ATTRIBUTES)
    dead_letter_by_redrive(stack, valid_event(2).to_json(), ORIGINAL_ATTRIBUTES)
    dead_letter_by_consumer(stack, '{"weird": "\\ud83d\\ude00 \U0001f600"}', {})
    first = tmp_path / "first.jsonl"
    assert cli_json("export", stack.messaging.dlq_url, "--output", str(first))["exported"] == 3
    assert visible(stack.messaging.dlq_url) == 3  # export leaves the DLQ as it was

    other = sqs().create_queue(QueueName="audit-copy")["QueueUrl"]
    assert cli_json("import", str(first), "audit-copy")["imported"] == 3
    second = tmp_path / "second.jsonl"
    assert cli_json("export", other, "--output", str(second))["exported"] == 3

    def content(path: Path) -> list[tuple[str, Any]]:
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return sorted((line["body"], line["attributes"]) for line in lines)

    assert content(first) == content(second)


def test_import_refuses_a_bad_file_before_sending_anything(aws: EmbeddedAWS, tmp_path: Path) -> None:
    queue = sqs().create_queue(QueueName="target")["QueueUrl"]
    good = json.dumps({"message_id": "a", "body": "x", "attributes": {}})
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + '{"message_id": "b", "body": 7}\n')
    result = cli("import", str(path), "target")
    assert result.exit_code == 2 and "line 2" in result.stderr
    assert depth(queue) == 0


def test_purge_with_filter_deletes_only_the_matching(stack: ConsumerStack) -> None:
    for n in range(3):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    dead_letter_by_consumer(stack, poison(9), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    refused = cli("purge", stack.messaging.dlq_url)
    assert refused.exit_code == 2 and "--yes" in refused.stderr and visible(stack.messaging.dlq_url) == 4
    dry = cli_json("purge", stack.messaging.dlq_url, "--error", "SchemaValidation", "--dry-run")
    assert dry["would_delete"] == 1 and visible(stack.messaging.dlq_url) == 4
    done = cli_json("purge", stack.messaging.dlq_url, "--error", "SchemaValidation", "--yes")
    assert (done["deleted"], done["skipped"]) == (1, 3)
    assert visible(stack.messaging.dlq_url) == 3


def test_stats_and_peek_say_why_and_leave_messages_visible(stack: ConsumerStack) -> None:
    dead_letter_by_consumer(stack, poison(1), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    dead_letter_by_consumer(stack, "not json", {})
    dead_letter_by_redrive(stack, valid_event(2).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    numbers = cli_json("stats", stack.messaging.dlq_url)
    assert numbers["depth"] == 3 and numbers["oldest_age_seconds"] is not None
    assert numbers["by_error"] == {"SchemaValidation": 1, "MalformedMessage": 1, "MaxReceiveCountExceeded": 1}
    assert numbers["by_type"]["MovieCreated"] == 2
    assert visible(stack.messaging.dlq_url) == 3

    shown = cli_json("peek", stack.messaging.dlq_url, "--limit", "5")
    assert "receive count" in shown["note"]
    rows = {row["error_code"]: row for row in shown["messages"]}
    assert rows["SchemaValidation"]["movie_id"] == "m1" and "title" in rows["SchemaValidation"]["reason"]
    assert (
        rows["MaxReceiveCountExceeded"]["event_id"] == "evt-2"
        and rows["MaxReceiveCountExceeded"]["title"] == "Movie 2"
    )
    assert rows["MalformedMessage"]["receive_count"] >= 1 and rows["MalformedMessage"]["first_sent"]
    assert visible(stack.messaging.dlq_url) == 3
    human = cli("peek", stack.messaging.dlq_url)
    assert human.exit_code == 0 and "Schema" in human.stdout and "receive count" in human.stderr


def test_human_output_prints_the_dlqs_data_as_text_not_markup(stack: ConsumerStack) -> None:
    """A title, type or reason holding rich markup ("[/bold]") is printed as it is, never a traceback."""
    title = "[/bold] [red]Alien[/red] [link=x]"
    body = json.dumps({"id": "[/m1]", "title": title, "rating": 50, "genres": []})
    dead_letter_by_consumer(stack, body, {"Type": {"DataType": "String", "StringValue": "MovieCreated"}})
    dead_letter_by_redrive(stack, "{}", {"Type": {"DataType": "String", "StringValue": "[/Movie]"}})
    for command in ("peek", "stats"):
        shown = cli(command, stack.messaging.dlq_url)
        assert shown.exit_code == 0, (command, shown.stdout, shown.stderr, shown.exception)
    # Tags kept as text (the table may wrap a long cell, so look for short pieces of it).
    peeked = cli("peek", stack.messaging.dlq_url).stdout
    assert "[/bold]" in peeked and "[red]" in peeked
    assert "[/Movie]" in cli("stats", stack.messaging.dlq_url).stdout


# -- usage and AWS errors ----------------------------------------------------------------------------------
def test_exit_codes(stack: ConsumerStack) -> None:
    assert cli("replay", "no-such-queue").exit_code == 2
    assert cli("replay", stack.messaging.dlq_url, "--match", "[[[").exit_code == 2
    assert cli("replay", stack.messaging.dlq_url, "--since", "yesterday").exit_code == 2
    assert cli("replay", stack.messaging.dlq_url, "--rate", "nan").exit_code == 2
    assert cli("replay", stack.messaging.dlq_url, "--method", "move-task", "--dry-run").exit_code == 2
    assert cli("replay", stack.messaging.queue_url).exit_code == 2  # not anyone's DLQ: say --to
    moved = cli("replay", stack.messaging.dlq_url, "--method", "move-task", "--json")
    assert moved.exit_code == 1 and "not supported by the embedded AWS" in moved.stderr
    tasks = cli("tasks", stack.messaging.dlq_url)
    assert tasks.exit_code == 1 and "ListMessageMoveTasks" in tasks.stderr and "Traceback" not in tasks.stderr
    for result in (tasks, moved):
        assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_aws_is_exit_1(stack: ConsumerStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the CLI reads its endpoint from there
    result = cli("stats", "whatever")
    assert result.exit_code == 1 and "Traceback" not in result.stderr


def test_a_message_that_comes_straight_back_is_left_for_the_next_run(stack: ConsumerStack) -> None:
    """A poison message replayed before its cause is fixed is dead-lettered again at once; the run must
    not take the new copy (it would loop for ever). Here the target *is* such a consumer: the DLQ."""
    for n in range(3):
        dead_letter_by_redrive(stack, valid_event(n).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    queues = Queues()
    target = QueueTarget(queues, stack.messaging.dlq_url)
    report = Replayer(queues, stack.messaging.dlq_url, target, ReplayOptions(wait_seconds=0)).run()
    assert (report.matched, report.moved, report.skipped) == (3, 3, 3)
    assert visible(stack.messaging.dlq_url) == 3


def test_large_messages_are_sent_in_batches_within_the_payload_limit(stack: ConsumerStack) -> None:
    bodies = [json.dumps({"n": n, "pad": "x" * 150_000}) for n in range(4)]
    for body in bodies:
        dead_letter_by_redrive(stack, body, {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    report = cli_json("replay", stack.messaging.dlq_url)
    assert (report["moved"], report["failed"]) == (4, 0)
    assert sorted(m["Body"] for m in drain(stack.messaging.queue_url, expected=4)) == sorted(bodies)


def test_the_report_warns_about_messages_older_than_the_idempotency_ttl(
    stack: ConsumerStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = MovieCreated(
        id="evt-old",
        time=datetime.now(UTC) - timedelta(days=20),
        data={"id": "m1", "title": "Old", "rating": 5, "genres": []},
    )
    dead_letter_by_redrive(stack, old.to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    dead_letter_by_redrive(stack, valid_event(1).to_json(), {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    report = cli_json("replay", stack.messaging.dlq_url, "--dry-run")
    assert (report["matched"], report["older_than_idempotency_ttl"]) == (2, 1)
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", str(30 * 86400))
    assert cli_json("replay", stack.messaging.dlq_url, "--dry-run")["older_than_idempotency_ttl"] == 0
    human = cli("replay", stack.messaging.dlq_url, "--dry-run")
    assert "idempotency" in human.stderr


#: What SQS accepts in a body: the XML 1.0 characters.
SQS_TEXT = st.text(
    alphabet=st.characters(codec="utf-8").filter(
        lambda c: (c in "\t\n\r" or c >= " ") and c not in "\ufffe\uffff"
    ),
    min_size=1,
    max_size=300,
)
HOSTILE_BODIES = st.one_of(
    SQS_TEXT,
    st.just("[" * 3000 + "]" * 3000),
    st.just('{"specversion": "1.0", "id": 1e999999, "type": ["MovieCreated"], "data": null}'),
    st.just("=?utf-8?b?PHNjcmlwdD4=?= \u202e NaN"),
    st.just('{"id": "' + "9" * 50_000 + '"}'),
)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(HOSTILE_BODIES, min_size=1, max_size=4))
def test_hostile_bodies_are_replayed_byte_for_byte(stack: ConsumerStack, bodies: list[str]) -> None:
    for body in bodies:
        dead_letter_by_redrive(stack, body, {"Type": ORIGINAL_ATTRIBUTES["Type"]})
    report = replay(
        Queues(),
        ReplayRequest(stack.messaging.dlq_url, options=ReplayOptions(wait_seconds=0)),
    )
    assert (report.matched, report.moved, report.failed, report.error) == (len(bodies), len(bodies), 0, None)
    assert sorted(m["Body"] for m in drain(stack.messaging.queue_url)) == sorted(bodies)
    assert depth(stack.messaging.dlq_url) == 0
