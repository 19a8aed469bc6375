"""Completions handed off the lane threads (batches with more lanes than threads): every guarantee of
the synchronous path holds. Each test here fails if one rule of ``logic/batch.py``'s deferral breaks."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any, cast

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer

from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer, idempotency_payload
from movie_events import MovieCreated
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.powertools import DataRecord
from moviepipe.runtime.wire import IDEMPOTENCY_KEY_PREFIX
from tests.support.fakes import FakeSender, InMemoryPersistenceLayer, sqs_record


class Crash(BaseException):
    """The process dying inside a completion write."""


class SlowStore(InMemoryPersistenceLayer):
    """Completion writes take ``delay``; records which thread wrote them and when they finished."""

    def __init__(self, delay: float = 0.03) -> None:
        super().__init__()
        self.delay = delay
        self.update_threads: list[str] = []
        self.fail_updates: dict[str, BaseException] = {}  # idempotency key → raised once
        self.finished_at: list[float] = []
        self.threads: set[threading.Thread] = set()

    def _update_record(self, data_record: DataRecord) -> None:
        time.sleep(self.delay)
        self.update_threads.append(threading.current_thread().name)
        self.threads.add(threading.current_thread())
        failure = self.fail_updates.pop(data_record.idempotency_key, None)
        if failure is not None:
            raise failure
        super()._update_record(data_record)
        self.finished_at.append(time.perf_counter())


class CountingSender(FakeSender):
    """Tracks how many emails are out whose idempotency record is not COMPLETED yet, at most."""

    def __init__(self, store: SlowStore, delay: float = 0.01) -> None:
        super().__init__(delay)
        self.store = store
        self.most_uncompleted = 0

    def send(self, email: Any) -> str:
        message_id = super().send(email)
        with self._lock:
            uncompleted = len(self.sent) - self.store.statuses().count("COMPLETED")
            self.most_uncompleted = max(self.most_uncompleted, uncompleted)
        return message_id


def consumer(store: BasePersistenceLayer, sender: FakeSender, concurrency: int) -> EmailConsumer:
    return EmailConsumer(
        config=ConsumerConfig(
            idempotency_table="t",
            sender="movies@example.com",
            recipients=("a@example.com",),
            batch_concurrency=concurrency,
        ),
        sender=sender,
        persistence=store,
        dead_letters=None,
        logger=Logger(service="test-deferred"),
        metrics=Metrics(namespace="test", service="test-deferred"),
    )


def created(n: int) -> MovieCreated:
    return MovieCreated(data={"id": f"m{n}", "title": f"Movie {n}", "rating": 5, "genres": []})


def run(target: EmailConsumer, *events: MovieCreated, ids: list[str] | None = None) -> list[str]:
    records = [
        sqs_record(e.to_json(), message_id=(ids or [str(i) for i in range(len(events))])[i])
        for i, e in enumerate(events)
    ]
    context = cast(Any, LocalLambdaContext.new_invocation("f", timeout_seconds=30))
    response = target.handle({"Records": records}, context)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def key_of(event: MovieCreated) -> str:
    return f"{IDEMPOTENCY_KEY_PREFIX}#{hashlib.md5(json.dumps(event.id).encode()).hexdigest()}"


def test_completions_run_off_the_lane_threads_and_all_finish_before_handle_returns() -> None:
    store = SlowStore(delay=0.05)
    target = consumer(store, FakeSender(), concurrency=2)
    events = [created(i) for i in range(6)]

    assert run(target, *events) == []
    returned = time.perf_counter()

    # Deferred (else this test proves nothing) ...
    assert store.update_threads and all(name.startswith("deferred") for name in store.update_threads)
    # ... and every one finished before the response existed.
    assert store.statuses() == ["COMPLETED"] * 6
    assert max(store.finished_at) <= returned


def test_nothing_is_deferred_when_every_lane_has_a_thread_or_there_is_one_thread() -> None:
    for concurrency, count in ((10, 6), (1, 6)):
        store = SlowStore(delay=0.0)
        assert run(consumer(store, FakeSender(), concurrency), *(created(i) for i in range(count))) == []
        assert not any(name.startswith("deferred") for name in store.update_threads)
        assert store.statuses() == ["COMPLETED"] * count


def test_duplicates_in_one_batch_are_still_skipped_not_retried() -> None:
    # Without the lane waiting for its own pending completion, the second copy would meet the first
    # copy's in-progress lock and be reported failed (transient) instead of skipped.
    store = SlowStore(delay=0.05)
    sender = FakeSender()
    target = consumer(store, sender, concurrency=2)
    a, b, c, d = (created(i) for i in range(4))

    assert run(target, a, b, c, a, d, b, a, c) == []
    assert sorted(e.subject for e in sender.sent) == sorted(
        f"[moviepipe] Movie created: Movie {i} (m{i})" for i in range(4)
    )
    assert store.statuses() == ["COMPLETED"] * 4


def test_at_most_one_record_per_thread_is_sent_and_not_completed() -> None:
    # The bound of the documented crash window (at most BATCH_CONCURRENCY emails between SES and their
    # commit) holds with deferral: a thread waits for its previous completion before sending again.
    store = SlowStore(delay=0.04)
    sender = CountingSender(store, delay=0.005)
    assert run(consumer(store, sender, concurrency=2), *(created(i) for i in range(10))) == []
    assert len(sender.sent) == 10
    assert 1 <= sender.most_uncompleted <= 2


@pytest.mark.parametrize("second_attempt_fails", [False, True], ids=["late-commit", "never-commits"])
def test_a_failed_deferred_completion_is_handled_as_before(second_attempt_fails: bool) -> None:
    store = SlowStore(delay=0.01)
    sender = FakeSender()
    target = consumer(store, sender, concurrency=2)
    events = [created(i) for i in range(5)]
    store.fail_updates[key_of(events[3])] = ConnectionError("DynamoDB unreachable")

    if second_attempt_fails:
        failing = store.fail_updates

        class AlwaysFails(dict[str, BaseException]):
            def pop(self, key: str, default: Any = None) -> Any:
                return failing.get(key, default)

        store.fail_updates = AlwaysFails()

    # The email is out: the record counts as processed either way, exactly as without deferral.
    assert run(target, *events) == []
    assert len(sender.sent) == 5
    statuses = store.statuses()
    if second_attempt_fails:
        assert sorted(statuses) == ["COMPLETED"] * 4 + ["INPROGRESS"]
    else:
        assert statuses == ["COMPLETED"] * 5  # the second attempt committed it
        # and a later delivery is a duplicate, not a second email
        assert run(target, events[3]) == []
        assert len(sender.sent) == 5


def test_a_crash_in_a_deferred_completion_ends_the_invocation() -> None:
    store = SlowStore(delay=0.01)
    events = [created(i) for i in range(5)]
    store.fail_updates[key_of(events[2])] = Crash()
    with pytest.raises(Crash):
        run(consumer(store, FakeSender(), concurrency=2), *events)


def test_each_payload_is_hashed_once_and_to_the_same_key_and_hash_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []
    real = BasePersistenceLayer._generate_hash

    def counted(self: BasePersistenceLayer, data: Any) -> str:
        calls.append(data)
        return real(self, data)

    store = InMemoryPersistenceLayer()
    events = [created(i) for i in range(3)]
    target = consumer(store, FakeSender(), concurrency=1)
    monkeypatch.setattr(BasePersistenceLayer, "_generate_hash", counted)
    assert run(target, *events) == []
    assert len(calls) == 2 * len(events)  # one key and one payload hash per record (Powertools: four)
    monkeypatch.undo()

    # The stored records are keyed and validated exactly as Powertools does for the plain payload dict.
    plain = InMemoryPersistenceLayer()
    plain.configure(target._idempotency_config(), key_prefix=IDEMPOTENCY_KEY_PREFIX)
    for event in events:
        payload = idempotency_payload(event)
        stored = store.records[str(plain._get_hashed_idempotency_key(payload))]
        assert stored.idempotency_key == key_of(event)
        assert stored.payload_hash == plain._get_hashed_payload(payload)


def test_threads_are_kept_across_invocations_and_survive_a_crash() -> None:
    store = SlowStore(delay=0.01)
    sender = FakeSender()
    target = consumer(store, sender, concurrency=2)
    before = threading.active_count()
    first = [created(i) for i in range(5)]
    store.fail_updates[key_of(first[1])] = Crash()
    with pytest.raises(Crash):
        run(target, *first)

    for round_ in range(3):
        events = [created(100 * (round_ + 1) + i) for i in range(6)]
        assert run(target, *events, ids=[f"{round_}-{i}" for i in range(6)]) == []
        # At most 2 lane and 2 completion threads, whatever the number of invocations.
        assert threading.active_count() <= before + 4
    assert store.statuses().count("COMPLETED") == 4 + 18
    assert len(store.threads) <= 2  # the very same completion threads served every invocation
