"""The consumer's logic with in-memory fakes: outcomes, classification, DLQ routing, metrics."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, cast

import pytest
from aws_lambda_powertools import Logger, Metrics
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer, idempotency_payload
from consumers.email_notification.logic.failures import AmbiguousSendError, Kind, PermanentError, classify
from movie_events import MovieCreated, MovieUpdated, SchemaValidationError, parse_event, parse_message
from moviepipe.local.lambda_context import LocalLambdaContext
from tests.support.fakes import FakeDeadLetterQueue, FakeSender, InMemoryPersistenceLayer, sqs_record

CONFIG = ConsumerConfig(
    idempotency_table="t", sender="movies@example.com", recipients=("a@example.com",), batch_concurrency=4
)


class Harness:
    def __init__(
        self,
        *,
        dlq: bool = True,
        delay: float = 0.0,
        concurrency: int = 4,
        store: InMemoryPersistenceLayer | None = None,
    ) -> None:
        self.sender = FakeSender(delay)
        self.dlq = FakeDeadLetterQueue() if dlq else None
        self.store = store or InMemoryPersistenceLayer()
        config = ConsumerConfig(**{**CONFIG.__dict__, "batch_concurrency": concurrency})
        self.consumer = EmailConsumer(
            config=config,
            sender=self.sender,
            persistence=self.store,
            dead_letters=self.dlq,
            logger=Logger(service="test-consumer"),
            metrics=Metrics(namespace="test", service="test-consumer"),
        )

    def run(self, *records: dict[str, Any], timeout: float = 30.0) -> list[str]:
        context = cast(Any, LocalLambdaContext.new_invocation("f", timeout_seconds=timeout))
        response = self.consumer.handle({"Records": list(records)}, context)
        return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def created(n: int, **data: Any) -> MovieCreated:
    return MovieCreated(data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": [], **data})


def record(event: MovieCreated | MovieUpdated | str, message_id: str, **kw: Any) -> dict[str, Any]:
    body = event if isinstance(event, str) else event.to_json()
    return sqs_record(body, message_id=message_id, **kw)


def ses_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, "SendEmail")


def throttle() -> ClientError:
    return ses_error("TooManyRequestsException")


def test_sends_once_and_skips_duplicates_in_and_across_batches() -> None:
    h = Harness()
    a, b = created(1), created(2)
    assert h.run(record(a, "1"), record(b, "2"), record(a, "3")) == []
    assert h.run(record(a, "4"), record(b, "5")) == []
    assert sorted(e.subject for e in h.sender.sent) == [
        "[moviepipe] Movie created: Movie 1 (m1)",
        "[moviepipe] Movie created: Movie 2 (m2)",
    ]
    assert h.store.statuses() == ["COMPLETED", "COMPLETED"]


def test_transient_failures_are_reported_and_retried_without_resending() -> None:
    h = Harness()
    h.sender.fail["Movie 2"] = throttle()
    events = [created(i) for i in range(4)]
    assert h.run(*(record(e, str(i)) for i, e in enumerate(events))) == ["2"]
    assert h.store.statuses() == ["COMPLETED"] * 3  # the failed send released its lock
    h.sender.fail.clear()
    assert h.run(*(record(e, str(i)) for i, e in enumerate(events))) == []
    assert len(h.sender.sent) == 4


def test_permanent_failures_go_to_the_dead_letter_queue_and_count_as_processed() -> None:
    h = Harness()
    assert h.run(record("{", "bad"), record(created(1), "good")) == []
    [(dead, failure)] = h.dlq.messages if h.dlq else []
    assert dead.message_id == "bad" and failure.code == "MalformedMessage" and failure.permanent
    assert len(h.sender.sent) == 1


def test_without_dead_letter_queue_permanent_failures_are_reported() -> None:
    h = Harness(dlq=False)
    assert h.run(record("{", "bad"), record(created(1), "good")) == ["bad"]


def test_dead_letter_queue_failure_is_reported() -> None:
    h = Harness()
    assert h.dlq is not None
    h.dlq.broken = True
    assert h.run(record("[]", "bad")) == ["bad"]
    assert h.dlq.messages == []


def test_every_record_failing_is_reported_not_raised() -> None:
    h = Harness()
    h.sender.fail["Movie"] = throttle()
    assert sorted(h.run(record(created(1), "1"), record(created(2), "2"))) == ["1", "2"]


def test_id_reused_with_different_data_is_dead_lettered() -> None:
    h = Harness()
    h.run(record(MovieCreated(id="x", data={"id": "m1", "title": "A", "rating": 1, "genres": []}), "1"))
    h.run(record(MovieCreated(id="x", data={"id": "m1", "title": "B", "rating": 1, "genres": []}), "2"))
    assert h.dlq is not None
    assert [f.code for _, f in h.dlq.messages] == ["EventIdReused"]


def test_same_event_under_a_new_time_and_source_is_still_a_duplicate() -> None:
    # Validation covers [type, data] only: a legacy copy received later differs in `time`.
    h = Harness()
    legacy = json.dumps({"id": "m1", "title": "T", "rating": 2, "genres": []})
    assert h.run(record(legacy, "1", SentTimestamp="1000")) == []
    assert h.run(record(legacy, "2", SentTimestamp="999999")) == []
    assert len(h.sender.sent) == 1 and h.dlq is not None and h.dlq.messages == []


def test_in_progress_elsewhere_is_transient() -> None:
    h = Harness(delay=0.3)
    event = created(1)
    results: list[list[str]] = []
    other = Harness(store=h.store)  # a second execution environment, same table
    t = threading.Thread(target=lambda: results.append(h.run(record(event, "1"))))
    t.start()
    deadline = time.monotonic() + 5
    while not h.store.records and time.monotonic() < deadline:
        time.sleep(0.005)  # until the first environment holds the in-progress lock
    assert other.run(record(event, "2")) == ["2"]
    t.join()
    assert results == [[]] and len(h.sender.sent) == 1


def test_records_run_concurrently() -> None:
    h = Harness(delay=0.2, concurrency=10)
    start = time.perf_counter()
    assert h.run(*(record(created(i), str(i)) for i in range(10))) == []
    assert time.perf_counter() - start < 1.0  # sequentially it would take 2 s
    assert len(h.sender.sent) == 10


def test_payload_excludes_time_and_source() -> None:
    event = created(1)
    assert idempotency_payload(event) == {
        "id": event.id,
        "type": "MovieCreated",
        "data": event.data.model_dump(mode="json"),
    }


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (
            SchemaValidationError("MovieCreated", ["data.title: required field is missing"]),
            Kind.PERMANENT,
            "SchemaValidation",
        ),
        (PermanentError("InvalidUnicode", "x"), Kind.PERMANENT, "InvalidUnicode"),
        (ses_error("MessageRejected"), Kind.PERMANENT, "MessageRejected"),
        (ses_error("BadRequestException"), Kind.PERMANENT, "BadRequestException"),
        (throttle(), Kind.TRANSIENT, "TooManyRequestsException"),
        (ses_error("SendingPausedException"), Kind.TRANSIENT, "SendingPausedException"),
        (ses_error("AccessDeniedException"), Kind.TRANSIENT, "AccessDeniedException"),
        (EndpointConnectionError(endpoint_url="http://x"), Kind.TRANSIENT, "EndpointConnectionError"),
        (ReadTimeoutError(endpoint_url="http://x"), Kind.TRANSIENT, "ReadTimeoutError"),
        (AmbiguousSendError(ReadTimeoutError(endpoint_url="http://x")), Kind.TRANSIENT, "AmbiguousSend"),
        (ConnectionResetError("reset"), Kind.TRANSIENT, "ConnectionResetError"),
        # What no rule names is about the record: permanent, with a reason (never five wasted receives).
        (RecursionError("maximum recursion depth exceeded"), Kind.PERMANENT, "TooDeep"),
        (
            UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed"),
            Kind.PERMANENT,
            "InvalidUnicode",
        ),
        (ValueError("Circular reference detected (depth exceeded)"), Kind.PERMANENT, "UnprocessableRecord"),
        (RuntimeError("bug"), Kind.PERMANENT, "UnprocessableRecord"),
    ],
)
def test_classification(exc: Exception, kind: Kind, code: str) -> None:
    failure = classify(exc)
    assert (failure.kind, failure.code) == (kind, code)
    assert failure.message


def test_idempotency_errors_are_classified() -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    assert classify(IdempotencyValidationError("x")).kind is Kind.PERMANENT
    assert classify(IdempotencyAlreadyInProgressError("x")).code == "InProgressElsewhere"
    store_error = IdempotencyPersistenceLayerError("Failed to save in progress record", throttle())
    failure = classify(store_error)
    assert failure.kind is Kind.TRANSIENT and "TooManyRequestsException" in failure.message
    # Powertools wraps whatever fails while it hashes the payload too: then the cause is the record's.
    hashing = IdempotencyPersistenceLayerError("Failed to save in progress record", RecursionError("deep"))
    failure = classify(hashing)
    assert (failure.kind, failure.code) == (Kind.PERMANENT, "TooDeep") and "deep" in failure.message


def test_legacy_parse_matches_event_id_used_as_lane() -> None:
    from consumers.email_notification.logic.consumer import event_id_of

    legacy = json.dumps({"id": "m1", "title": "T", "rating": 2, "genres": []})
    raw = record(legacy, "1")
    assert event_id_of(raw) == parse_event(legacy, {"Type": "MovieCreated"}).id
    assert event_id_of(record("{", "2")) is None


def test_each_record_is_parsed_once_per_invocation_and_planning_failures_are_reparsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Planning's parse is reused by the record's processing (one parse per record); a record planning
    could not parse is parsed again by its processing, which dead-letters it with the parser's reason."""
    from consumers.email_notification.logic import consumer as consumer_module

    real = parse_message
    parsed: list[str] = []

    def counting(body: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(str(body))
        return real(body, *args, **kwargs)

    monkeypatch.setattr(consumer_module, "parse_message", counting)
    h = Harness()
    records = [record(created(n), str(n)) for n in range(6)] + [record("{", "bad")]
    assert h.run(*records) == []
    assert len(h.sender.sent) == 6
    assert h.dlq is not None and [(r.message_id, f.code) for r, f in h.dlq.messages] == [
        ("bad", "MalformedMessage")
    ]
    good = [body for body in parsed if body != "{"]
    assert len(good) == 6 and len(set(good)) == 6  # each good record once
    assert parsed.count("{") == 2  # planning, then its own processing


def test_a_cached_parse_is_used_only_for_the_very_same_record_object() -> None:
    from consumers.email_notification.logic.consumer import ParseCache, event_id_of, parsed_record

    cache: ParseCache = {}
    first = record(created(1), "1")
    assert event_id_of(first, cache) is not None
    twin = dict(first, body=created(2).to_json())  # another object: never served first's parse
    assert parsed_record(twin, cache).event.movie_id == "m2"
    assert parsed_record(first, cache).event.movie_id == "m1"
    assert cache == {}  # each parse is handed out once


def test_disabled_metrics_do_not_pile_up_across_invocations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """POWERTOOLS_METRICS_DISABLED: Powertools' flush neither prints nor clears, and would print the
    accumulated set once a metric reached 100 values; the consumer clears after every invocation."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    h = Harness()
    for n in range(101):
        assert h.run(record(created(n), str(n))) == []
    assert "EmailsSent" not in capsys.readouterr().out
    assert h.consumer._metrics.metric_set == {}
