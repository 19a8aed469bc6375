"""The DLQ tools' pure parts: attribute restoration, dedup ids, filters, export lines, the method choice
(with a stubbed client that has StartMessageMoveTask), and hostile inputs (hypothesis)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from consumers.email_notification.adapters.dlq import (
    ERROR_CODE,
    OVERFLOW,
    SOURCE_MESSAGE_ID,
    dead_letter_attributes,
)
from consumers.email_notification.logic.failures import Failure, Kind
from moviepipe.cli import app
from moviepipe.dlq.filters import FilterError, build_filter
from moviepipe.dlq.messages import (
    DeadLetter,
    RestoreError,
    dedup_id,
    from_json_line,
    original_attributes,
    to_json_line,
)
from moviepipe.dlq.operations import ReplayRequest, replay
from moviepipe.dlq.replay import METHOD_MOVE_TASK, METHOD_RECEIVE, ReplayOptions, choose_method
from moviepipe.dlq.sqs import AwsError
from moviepipe.local.triggers import Invocation
from tests.support.fakes import sqs_record

RELAXED = settings(suppress_health_check=list(HealthCheck), deadline=None, max_examples=60)
FAILURE = Failure(Kind.PERMANENT, "SchemaValidation", "SchemaValidationError", "data.title: missing")


def consumer_dead_letter(originals: dict[str, dict[str, Any]]) -> DeadLetter:
    """What the consumer would put in the DLQ for a record with these attributes (its own function)."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    raw = sqs_record("{}", message_id="src-1")
    raw["messageAttributes"] = {
        name: (
            {"dataType": v["DataType"], "binaryValue": base64.b64encode(v["BinaryValue"]).decode()}
            if "BinaryValue" in v
            else {"dataType": v["DataType"], "stringValue": v["StringValue"]}
        )
        for name, v in originals.items()
    }
    attributes = dead_letter_attributes(SQSRecord(raw), FAILURE)
    return DeadLetter("dlq-1", "{}", attributes)


ATTRIBUTE = st.one_of(
    st.builds(
        lambda t, v: {"DataType": t, "StringValue": v},
        st.sampled_from(["String", "Number", "String.foo", "Number.int"]),
        st.text(min_size=1, max_size=20),
    ),
    st.builds(
        lambda t, v: {"DataType": t, "BinaryValue": v},
        st.sampled_from(["Binary", "Binary.gz"]),
        st.binary(max_size=20),
    ),
)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_-.0123456789", min_size=1, max_size=12).filter(
    lambda n: n not in (ERROR_CODE, OVERFLOW, SOURCE_MESSAGE_ID, "ErrorClass", "ErrorMessage")
)


@RELAXED
@given(st.dictionaries(NAMES, ATTRIBUTE, max_size=10))
def test_restoring_inverts_the_consumers_packing_for_every_type(originals: dict[str, dict[str, Any]]) -> None:
    assert original_attributes(consumer_dead_letter(originals)) == originals


def test_a_redrive_policy_message_is_replayed_with_its_attributes_untouched() -> None:
    attributes = {
        "Type": {"DataType": "String", "StringValue": "MovieCreated"},
        OVERFLOW: {"DataType": "String", "StringValue": "x"},
    }
    assert original_attributes(DeadLetter("m", "{}", attributes)) == attributes


@pytest.mark.parametrize(
    "overflow",
    [
        "not json",
        "[]",
        '{"a": 1}',
        '{"a": {"DataType": "Binary", "BinaryValue": "!!"}}',
        '{"a": {"DataType": "String"}}',
    ],
)
def test_a_hostile_overflow_is_a_restore_error_not_a_crash(overflow: str) -> None:
    attributes = {
        ERROR_CODE: {"DataType": "String", "StringValue": "X"},
        SOURCE_MESSAGE_ID: {"DataType": "String", "StringValue": "s"},
        OVERFLOW: {"DataType": "String", "StringValue": overflow},
    }
    with pytest.raises(RestoreError):
        original_attributes(DeadLetter("m", "{}", attributes))


def test_dedup_id_is_deterministic_per_dlq_message() -> None:
    assert (
        dedup_id(DeadLetter("a", "x", {}))
        == dedup_id(DeadLetter("a", "y", {}))
        != dedup_id(DeadLetter("b", "x", {}))
    )
    assert len(dedup_id(DeadLetter("a", "x", {}))) <= 128


@RELAXED
@given(st.text(max_size=300), st.dictionaries(NAMES, ATTRIBUTE, max_size=10))
def test_export_lines_round_trip(body: str, attributes: dict[str, dict[str, Any]]) -> None:
    letter = DeadLetter(
        "id-1", body or "x", attributes, {"SentTimestamp": "1700000000000", "MessageGroupId": "g"}
    )
    back = from_json_line(to_json_line(letter, "q", datetime.now(UTC)))
    assert (back.message_id, back.body, back.attributes, back.system) == (
        letter.message_id,
        letter.body,
        letter.attributes,
        letter.system,
    )


HOSTILE_BODY = st.one_of(
    st.text(max_size=500),
    st.just("[" * 5000 + "]" * 5000),
    st.just('{"specversion": "1.0", "id": 1e999999, "type": ["x"], "data": {"title": {"$ne": 1}}}'),
    st.just('{"id": "' + "x" * 100_000 + '"}'),
    st.just("=?utf-8?b?PHNjcmlwdD4=?= NaN Infinity"),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=30,
    ).map(json.dumps),
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=150)
@given(HOSTILE_BODY, st.sampled_from([None, "MovieCreated", "\u202e", "x" * 300]))
def test_a_hostile_body_never_crashes_summary_or_filters(body: str, type_value: str | None) -> None:
    body = body or " "  # SQS has no empty bodies
    attributes = {} if type_value is None else {"Type": {"DataType": "String", "StringValue": type_value}}
    letter = DeadLetter("m", body, attributes, {"SentTimestamp": "99999999999999999999"})
    summary = letter.summary()
    assert summary.message_id == "m" and isinstance(summary.as_dict(), dict)
    for match in ("data.title", "length(@) > `2`", "foo[?bar == 'x'] | [0]"):
        assert build_filter(match=match).matches(letter) in (True, False)
    assert build_filter().matches(letter)  # no filter: every message, however weird, is replayable
    assert from_json_line(to_json_line(letter, "q", datetime.now(UTC))).body == body  # export never loses it


@RELAXED
@given(st.text(max_size=200))
def test_filter_options_either_parse_or_raise_filter_error(text: str) -> None:
    for kwargs in ({"match": text}, {"since": text}, {"until": text}, {"types": [text]}, {"errors": [text]}):
        try:
            chosen = build_filter(**kwargs)
        except FilterError as exc:
            assert str(exc).startswith("--")
        else:
            assert chosen.matches(DeadLetter("m", '{"a": 1}', {})) in (True, False)


def test_relative_and_absolute_times() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert build_filter(since="2h", now=now).since == now - timedelta(hours=2)
    assert build_filter(until="2026-11-29T03:00Z", now=now).until == datetime(2026, 11, 29, 3, tzinfo=UTC)
    with pytest.raises(FilterError):
        build_filter(since="2026-11-29", until="2026-11-28")
    with pytest.raises(FilterError):
        build_filter(since="999999w", now=now)


runner = CliRunner()


@settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    deadline=None,
    max_examples=40,
)
@given(
    st.sampled_from(["--match", "--since", "--until", "--rate", "--max", "--method", "--visibility"]),
    st.text(max_size=60).filter(lambda t: "\x00" not in t),
)
def test_hostile_cli_arguments_are_exit_2_before_touching_aws(option: str, value: str) -> None:
    # No endpoint is reachable: an argument that got past validation would fail with exit 1, not 2.
    result = runner.invoke(
        app,
        ["dlq", "replay", "q", option, value, "--dry-run"],
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"},
    )
    assert result.exit_code in (1, 2), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)  # never a crash
    assert "Traceback" not in result.stderr


# -- the method choice ------------------------------------------------------------------------------------
def test_choose_method() -> None:
    assert choose_method("auto", filtered=False, to_source=True, dry_run=False, limited=False) == (
        METHOD_MOVE_TASK,
        None,
    )
    method, why = choose_method("auto", filtered=True, to_source=True, dry_run=False, limited=False)
    assert method == METHOD_RECEIVE and why and "filters" in why
    assert (
        choose_method("auto", filtered=False, to_source=False, dry_run=False, limited=False)[0]
        == METHOD_RECEIVE
    )
    assert (
        choose_method(METHOD_RECEIVE, filtered=False, to_source=True, dry_run=False, limited=False)[0]
        == METHOD_RECEIVE
    )
    with pytest.raises(ValueError, match="dry-run"):
        choose_method(METHOD_MOVE_TASK, filtered=False, to_source=True, dry_run=True, limited=False)


class StubQueues:
    """Stands for an AWS account where StartMessageMoveTask exists (moto has none)."""

    def __init__(self, supported: bool = True) -> None:
        self.supported = supported
        self.started: list[tuple[str, str | None, int | None]] = []

    def resolve(self, queue: str) -> str:
        return f"https://sqs/{queue}"

    def source_queues(self, url: str) -> list[str]:
        return ["https://sqs/source"]

    def attributes(self, url: str) -> dict[str, str]:
        return {
            "QueueArn": f"arn:aws:sqs:us-east-1:1:{url.rsplit('/', 1)[1]}",
            "ApproximateNumberOfMessages": "7",
        }

    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        if not self.supported:
            from botocore.exceptions import ClientError

            raise AwsError(
                "StartMessageMoveTask",
                ClientError({"Error": {"Code": "UnsupportedOperation"}}, "StartMessageMoveTask"),
            )
        self.started.append((source_arn, destination_arn, rate))
        return "task-1"

    def receive(self, *args: Any) -> list[DeadLetter]:
        return []

    def change_visibility(self, *args: Any) -> dict[str, str]:
        return {}


def test_an_unfiltered_replay_uses_the_move_task_where_aws_has_it() -> None:
    queues = StubQueues()
    report = replay(queues, ReplayRequest("dlq", options=ReplayOptions(rate=50)))  # type: ignore[arg-type]
    assert report.method == METHOD_MOVE_TASK and report.task_handle == "task-1" and report.matched == 7
    assert queues.started == [("arn:aws:sqs:us-east-1:1:dlq", "arn:aws:sqs:us-east-1:1:source", 50)]


def test_the_replay_falls_back_where_the_move_task_is_missing_and_says_so() -> None:
    report = replay(StubQueues(supported=False), ReplayRequest("dlq", options=ReplayOptions(wait_seconds=0)))  # type: ignore[arg-type]
    assert report.method == METHOD_RECEIVE and "fell back" in report.note and report.task_handle is None


def test_a_filtered_replay_never_starts_a_move_task() -> None:
    queues = StubQueues()
    replay(queues, ReplayRequest("dlq", options=ReplayOptions(filter=build_filter(types=["MovieCreated"]))))  # type: ignore[arg-type]
    assert queues.started == []


# -- local up's lines -----------------------------------------------------------------------------------------
def test_invocation_lines_tell_sent_duplicate_and_dead_lettered_apart() -> None:
    invocation = Invocation(
        "email-notification",
        [],
        [],
        outcomes={"emails_sent": 1, "duplicates_suppressed": 2, "dead_lettered": 1},
    )
    assert invocation.outcome_text() == ": 1 email sent, 2 duplicates suppressed, 1 dead-lettered"
    assert Invocation("outbox-relay", [], []).outcome_text() == ""


def test_batches_are_split_by_payload_size_and_count() -> None:
    from moviepipe.dlq.replay import MAX_BATCH_BYTES, _by_size, entry_size

    big = [{"Id": str(i), "MessageBody": "x" * 100_000} for i in range(5)]
    assert [len(c) for c in _by_size(big, "MessageBody")] == [2, 2, 1]
    small = [{"Id": str(i), "MessageBody": "x"} for i in range(25)]
    assert [len(c) for c in _by_size(small, "MessageBody")] == [10, 10, 5]
    huge = [{"Id": "0", "MessageBody": "x" * (MAX_BATCH_BYTES + 1)}]
    assert _by_size(huge, "MessageBody") == [huge]
    attributes = {"B": {"DataType": "Binary", "BinaryValue": b"\x00" * 10}}
    assert entry_size({"MessageBody": "é", "MessageAttributes": attributes}, "MessageBody") == 2 + 1 + 6 + 10


class RedeliveringQueues:
    """An in-memory DLQ that, like a standard queue may, hands one message out a second time (with a
    new receipt handle) after it was deleted through the first one."""

    def __init__(self) -> None:
        self.batches = [
            [
                DeadLetter("m1", '{"n": 1}', {}, receipt_handle="r1"),
                DeadLetter("m2", '{"n": 2}', {}, receipt_handle="r2"),
            ],
            [DeadLetter("m1", '{"n": 1}', {}, receipt_handle="r1-again")],
        ]
        self.deleted: list[str] = []
        self.sent: list[str] = []

    def receive(self, *args: Any) -> list[DeadLetter]:
        return self.batches.pop(0) if self.batches else []

    def send_batch(self, url: str, entries: list[dict[str, Any]]) -> dict[str, str]:
        self.sent.extend(e["MessageBody"] for e in entries)
        return {}

    def delete_batch(self, url: str, receipts: dict[str, str]) -> dict[str, str]:
        self.deleted.extend(receipts.values())
        return {}

    def change_visibility(self, *args: Any) -> dict[str, str]:
        return {}


def test_a_second_delivery_of_a_moved_message_is_deleted_not_sent_again() -> None:
    from moviepipe.dlq.replay import QueueTarget, Replayer

    queues = RedeliveringQueues()
    target = QueueTarget(queues, "https://sqs/target")  # type: ignore[arg-type]
    report = Replayer(queues, "https://sqs/dlq", target, ReplayOptions(concurrency=1, wait_seconds=0)).run()  # type: ignore[arg-type]
    assert queues.sent == ['{"n": 1}', '{"n": 2}']  # each once
    assert sorted(queues.deleted) == ["r1", "r1-again", "r2"]
    assert (report.matched, report.moved, report.copies_deleted) == (2, 2, 1)
