"""Emails rendered ahead of their lanes (``EagerEmail``): by the invoking thread while the lanes wait on
their first round trip, the same bytes as an inline render, a render failure still the record's own."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic import consumer as consumer_module
from consumers.email_notification.logic.consumer import EagerEmail, EmailConsumer
from consumers.email_notification.logic.failures import PermanentError
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER, render
from movie_events import MovieCreated, legacy_window_event_id
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.powertools import DataRecord
from tests.support.fakes import (
    FakeDeadLetterQueue,
    FakeLegacyWindows,
    FakeSender,
    InMemoryPersistenceLayer,
    sqs_record,
)

SENDER = "movies@example.com"


class _Renders:
    """Wraps the consumer's ``render``: which thread rendered which movie."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_for: str | None = None) -> None:
        self.threads: dict[str, list[int]] = {}
        self.changed = threading.Condition()
        self.fail_for = fail_for

        def recording(event: Any, *, sender: str) -> Any:
            with self.changed:
                self.threads.setdefault(event.movie_id, []).append(threading.get_ident())
                self.changed.notify_all()
            if event.movie_id == self.fail_for:
                raise PermanentError("InvalidUnicode", "injected render failure")
            return render(event, sender=sender)

        monkeypatch.setattr(consumer_module, "render", recording)

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.threads) >= count, timeout=5.0)


class _HeldStore(InMemoryPersistenceLayer):
    """Holds every in-progress write until ``renders`` has seen ``count`` movies (5 s at the most): a
    lane can then reach its own render only after the invoking thread had the chance to render ahead."""

    def __init__(self, renders: _Renders, count: int) -> None:
        super().__init__()
        self.renders, self.count = renders, count
        self.held_until_rendered: list[bool] = []

    def _put_record(self, data_record: DataRecord) -> None:
        self.held_until_rendered.append(self.renders.wait_for(self.count))
        super()._put_record(data_record)


def _consumer(
    store: InMemoryPersistenceLayer,
    sender: FakeSender,
    *,
    concurrency: int = 4,
    legacy: FakeLegacyWindows | None = None,
) -> tuple[EmailConsumer, FakeDeadLetterQueue]:
    dlq = FakeDeadLetterQueue()
    config = ConsumerConfig(
        idempotency_table="t", sender=SENDER, recipients=("a@example.com",), batch_concurrency=concurrency
    )
    consumer = EmailConsumer(
        config=config,
        sender=sender,
        persistence=store,
        dead_letters=dlq,
        logger=Logger(service="test-render-ahead"),
        metrics=Metrics(namespace="test", service="test-render-ahead"),
        legacy_windows=legacy,
    )
    return consumer, dlq


def _run(consumer: EmailConsumer, records: list[dict[str, Any]]) -> list[str]:
    context: Any = LocalLambdaContext.new_invocation("f", timeout_seconds=30)
    response = consumer.handle({"Records": records}, context)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def _created(n: int) -> MovieCreated:
    return MovieCreated(data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": []})


@pytest.mark.parametrize("concurrency", [4, 10])
def test_the_invoking_thread_renders_every_email_while_the_lanes_wait(
    monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    """Every email of a batch on several threads is rendered once, on the invoking thread, and is
    byte for byte the email an inline render gives (what the lanes send)."""
    renders = _Renders(monkeypatch)
    events = [_created(n) for n in range(8)]
    store = _HeldStore(renders, len(events))
    sender = FakeSender()
    consumer, _ = _consumer(store, sender, concurrency=concurrency)
    invoking = threading.get_ident()

    assert _run(consumer, [sqs_record(e.to_json(), message_id=str(i)) for i, e in enumerate(events)]) == []

    assert all(store.held_until_rendered)  # no write waited out the 5 s: the renders came first
    assert renders.threads == {e.movie_id: [invoking] for e in events}
    assert sorted(email.mime for email in sender.sent) == sorted(
        render(e, sender=SENDER).mime for e in events
    )


def test_a_failed_render_ahead_is_the_records_own_permanent_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render that fails on the invoking thread fails its record exactly as an inline render does:
    dead-lettered with the renderer's code, its in-progress record removed, the others sent."""
    renders = _Renders(monkeypatch, fail_for="m2")
    events = [_created(n) for n in range(4)]
    store = _HeldStore(renders, len(events))
    sender = FakeSender()
    consumer, dlq = _consumer(store, sender)

    assert _run(consumer, [sqs_record(e.to_json(), message_id=str(i)) for i, e in enumerate(events)]) == []

    assert renders.threads["m2"] == [threading.get_ident()]  # it failed ahead, not in its lane
    assert [(r.message_id, f.code) for r, f in dlq.messages] == [("2", "InvalidUnicode")]
    assert sorted(e.subject for e in sender.sent) == sorted(
        f"[moviepipe] Movie created: Movie {n} (m{n})" for n in (0, 1, 3)
    )
    assert store.statuses() == ["COMPLETED"] * 3  # m2's in-progress record was deleted, as inline


def test_copies_of_an_event_in_one_batch_are_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    renders = _Renders(monkeypatch)
    a, b = _created(1), _created(2)
    store = _HeldStore(renders, 2)
    sender = FakeSender()
    consumer, _ = _consumer(store, sender)
    records = [sqs_record(e.to_json(), message_id=str(i)) for i, e in enumerate([a, b, a, a])]

    assert _run(consumer, records) == []

    assert {movie: len(threads) for movie, threads in renders.threads.items()} == {"m1": 1, "m2": 1}
    assert len(sender.sent) == 2


def test_a_legacy_message_is_rendered_in_its_lane_with_its_window_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A legacy message's event id is known only once its window is (a DynamoDB call in its lane): it is
    never rendered ahead, and its email carries the windowed id."""
    renders = _Renders(monkeypatch)
    store = _HeldStore(renders, 1)  # the legacy lane renders only after its PutItem, so after m1's render
    sender = FakeSender()
    windows = FakeLegacyWindows()
    consumer, _ = _consumer(store, sender, legacy=windows)
    legacy = json.dumps({"id": "m9", "title": "Old", "rating": 2, "genres": []})
    records = [sqs_record(legacy, message_id="legacy"), sqs_record(_created(1).to_json(), message_id="1")]

    assert _run(consumer, records) == []

    invoking = threading.get_ident()
    assert renders.threads["m9"] != [invoking] and len(renders.threads["m9"]) == 1
    assert renders.threads["m1"] == [invoking]
    (email,) = [e for e in sender.sent if "m9" in e.subject]
    (header,) = [line for line in email.mime.decode().split("\r\n") if line.startswith(f"{EVENT_ID_HEADER}:")]
    content_id = consumer_module.parsed_record(records[0], {}).event.id
    assert header == f"{EVENT_ID_HEADER}: {legacy_window_event_id(content_id, windows.starts[content_id])}"


def test_eager_email_renders_once_and_raises_what_rendering_raised() -> None:
    event = _created(1)
    email = EagerEmail(event, SENDER)
    assert email.get().mime == render(event, sender=SENDER).mime
    assert email.get() is email.get()  # rendered once, kept

    bad_title = event.data.model_copy(update={"title": "bad \udc80"})  # built around validation
    broken = EagerEmail(event.model_copy(update={"data": bad_title}), SENDER)
    broken.prepare()  # never raises: the failure is the record's, raised in its own processing
    with pytest.raises(PermanentError, match="lone surrogate"):
        broken.get()
