"""Issue 8's "Why", case by case, with its exact inputs: one hostile record never sinks its batch (standard
or FIFO), failures inside planning, hashing and rendering are the record's own, and legacy quirks are
tolerated with a deduplication window on SentTimestamp."""

from __future__ import annotations

import email
import email.policy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from botocore.exceptions import ClientError

from consumers.email_notification.logic import consumer as consumer_module
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER, RenderedEmail
from movie_events import MovieCreated, MovieDeleted, MovieEvent
from tests.support.fakes import FakeConsumer, FakeLegacyWindows, FakeSender, sqs_record

HOUR_MS = 3_600_000
T0 = 1_767_225_600_000
#: The issue's inputs, verbatim.
LONE_SURROGATE_LEGACY = '{"id":"m","title":"\\udc80","rating":8,"genres":["Drama"]}'
DEEP_50K = "[" * 50_000 + "]" * 50_000
DEEP_50K_OBJECT = '{"":' * 50_000 + "1" + "}" * 50_000
INJECTION_TITLE = "Hi =?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_spy@evil.example?="


def deep_extra_field(levels: int = 300) -> str:
    """A valid MovieCreated whose data carries an extra field nested ``levels`` deep."""
    event = json.loads(
        MovieCreated(data={"id": "m-deep", "title": "Deep", "rating": 5, "genres": []}).to_json()
    )
    nested: Any = "bottom"
    for _ in range(levels):
        nested = {"x": nested}
    event["data"]["extra"] = nested
    return json.dumps(event)


def good(n: int) -> MovieCreated:
    return MovieCreated(data={"id": "m", "title": f"Good {n}", "rating": 5, "genres": []})


def batch_with(
    hostile_body: str, *, fifo: bool, type_attribute: str = "MovieCreated"
) -> list[dict[str, Any]]:
    """Ten records, the hostile one fifth; on FIFO all in one message group (the worst case)."""
    extra = {"MessageGroupId": "m", "SequenceNumber": "1"} if fifo else {}
    records = [sqs_record(good(n).to_json(), message_id=f"good-{n}", **extra) for n in range(9)]
    records.insert(4, sqs_record(hostile_body, message_id="hostile", event_type=type_attribute, **extra))
    return records


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
@pytest.mark.parametrize(
    ("body", "code", "reason"),
    [
        (DEEP_50K, "MalformedMessage", "nested more than 32 levels"),
        (DEEP_50K_OBJECT, "MalformedMessage", "nested more than 32 levels"),
        (LONE_SURROGATE_LEGACY, "MalformedMessage", "lone surrogate"),
        (deep_extra_field(300), "MalformedMessage", "nested more than 32 levels deep (at data.extra"),
    ],
    ids=["nested-50000-array", "nested-50000-object", "lone-surrogate-legacy", "extra-field-300-deep"],
)
def test_one_hostile_record_is_dead_lettered_at_once_and_its_batch_is_delivered(
    fifo: bool, body: str, code: str, reason: str
) -> None:
    h = FakeConsumer()
    assert h.run(*batch_with(body, fifo=fifo)) == []  # nothing for SQS to retry, nothing re-sent
    assert h.dead_letter_codes() == {"hostile": code}
    assert h.dlq is not None and reason in h.dlq.messages[0][1].message
    assert sorted(e.subject for e in h.sender.sent) == sorted(
        f"[moviepipe] Movie created: Good {n} (m)" for n in range(9)
    )
    if fifo:  # the group went on past the dead letter, in order
        assert [e.subject for e in h.sender.sent] == [
            f"[moviepipe] Movie created: Good {n} (m)" for n in range(9)
        ]


# -- confinement beyond the parser: planning, hashing, rendering, sending ------------------------------


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
@pytest.mark.parametrize(
    ("stage", "exc", "code"),
    [
        ("render", RecursionError("maximum recursion depth exceeded"), "TooDeep"),
        ("render", UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed"), "InvalidUnicode"),
        ("payload", ValueError("Circular reference detected (depth exceeded)"), "UnprocessableRecord"),
        ("hash", RecursionError("maximum recursion depth exceeded while encoding a JSON object"), "TooDeep"),
    ],
)
def test_any_exception_about_one_record_is_its_permanent_outcome(
    monkeypatch: pytest.MonkeyPatch, fifo: bool, stage: str, exc: BaseException, code: str
) -> None:
    victim = good(4)
    h = FakeConsumer()
    if stage == "render":
        real_render = consumer_module.render  # type: ignore[attr-defined]

        def render(event: MovieEvent, *, sender: str) -> RenderedEmail:
            if event.id == victim.id:
                raise exc
            return real_render(event, sender=sender)

        monkeypatch.setattr(consumer_module, "render", render)
    elif stage == "payload":
        real_payload = consumer_module.idempotency_payload

        def payload(event: MovieEvent) -> dict[str, Any]:
            if event.id == victim.id:
                raise exc
            return real_payload(event)

        monkeypatch.setattr(consumer_module, "idempotency_payload", payload)
    else:  # Powertools hashes the payload inside save_inprogress and wraps what fails there
        # Patched where the hash is computed (under the consumer's memoising store), for this victim only.
        real_hash = BasePersistenceLayer._generate_hash

        def hashed(self: BasePersistenceLayer, data: Any) -> str:
            if (
                isinstance(data, list)
                and isinstance(data[-1], dict)
                and data[-1].get("title") == victim.data.title
            ):
                raise exc
            return real_hash(self, data)

        monkeypatch.setattr(BasePersistenceLayer, "_generate_hash", hashed)
    extra = {"MessageGroupId": "m"} if fifo else {}
    records = [sqs_record(good(n).to_json(), message_id=f"r{n}", **extra) for n in range(9) if n != 4]
    records.insert(4, sqs_record(victim.to_json(), message_id="victim", **extra))

    assert h.run(*records) == []
    assert h.dead_letter_codes() == {"victim": code}
    assert len(h.sender.sent) == 8


def test_a_lane_key_that_raises_only_isolates_its_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from consumers.email_notification.logic.batch import plan_lanes

    real_key = consumer_module.event_id_of

    def lane_key(raw: dict[str, Any], *cache: Any) -> str | None:
        if raw["messageId"] == "2":
            raise RecursionError("planning blew up")
        return real_key(raw, *cache)

    records = [sqs_record(good(n).to_json(), message_id=str(n)) for n in range(5)]
    lanes = plan_lanes(records, lane_key)
    assert [lane.key for lane in lanes if lane.indices == [2]] == ["alone:#2"]
    assert len(lanes) == 5

    h = FakeConsumer()
    monkeypatch.setattr(consumer_module, "event_id_of", lane_key)
    assert h.run(*records) == []  # the record's own processing parses it fine: sent
    assert len(h.sender.sent) == 5


def test_a_hostile_sent_timestamp_is_not_a_failure() -> None:
    h = FakeConsumer()
    legacy = json.dumps({"id": "m1", "title": "T", "rating": 2, "genres": []})
    for n, stamp in enumerate(["9" * 5000, "-1", "", "1e9", "99999999999999999"]):
        assert h.run(sqs_record(legacy, message_id=f"t{n}", SentTimestamp=stamp)) == []
    assert h.dlq is not None and h.dlq.messages == []
    assert len(h.sender.sent) == 1  # all received now: one window


def test_transient_world_failures_are_still_retried() -> None:
    h = FakeConsumer()
    h.sender.fail["Good 3"] = ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")
    assert h.run(*(sqs_record(good(n).to_json(), message_id=str(n)) for n in range(5))) == ["3"]
    assert h.dlq is not None and h.dlq.messages == []


# -- header injection (the rendered bytes; the SES path is in tests/integration) ------------------------


def test_encoded_word_title_stays_literal_text_in_one_subject() -> None:
    h = FakeConsumer()
    event = MovieCreated(data={"id": "m1", "title": INJECTION_TITLE, "rating": 1, "genres": []})
    assert h.run(sqs_record(event.to_json(), message_id="1")) == []
    [sent] = h.sender.sent
    message = email.message_from_bytes(sent.mime, policy=email.policy.default)
    assert list(message.keys()) == [
        *("From", "To", "Subject", "Date", "Message-ID", EVENT_ID_HEADER, "X-Moviepipe-Movie-Id"),
        *("MIME-Version", "Content-Type"),
    ]
    assert "Reply-To" not in message and "Bcc" not in message and "Cc" not in message
    assert str(message["Subject"]) == f"[moviepipe] Movie created: {INJECTION_TITLE} (m1)"


# -- legacy producers --------------------------------------------------------------------------------


def legacy(body: dict[str, Any] | str, message_id: str, event_type: str, sent_ms: int) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return sqs_record(text, message_id=message_id, event_type=event_type, SentTimestamp=str(sent_ms))


@pytest.mark.parametrize(
    "body",
    ['{"id":"m1","title":"Up","rating":8.3,"genres":null}', '{"id":"m1","title":"Up","rating":8.3}'],
    ids=["genres-null", "genres-missing"],
)
def test_genres_null_or_missing_is_an_empty_list(body: str) -> None:
    h = FakeConsumer()
    assert h.run(legacy(body, "1", "MovieCreated", T0)) == []
    [sent] = h.sender.sent
    assert h.dlq is not None and h.dlq.messages == []
    assert "Genres:  (none)" in sent.text


def test_rating_8_9_8_sends_three_emails() -> None:
    h = FakeConsumer()
    for n, rating in enumerate([8, 9, 8]):
        body = {"id": "m1", "title": "Up", "rating": rating, "genres": ["Animation"]}
        assert h.run(legacy(body, str(n), "MovieUpdated", T0 + n * HOUR_MS)) == []
    assert [e.text.count("Rating:  8") for e in h.sender.sent] == [1, 0, 1]
    assert len(h.sender.sent) == 3


def test_create_delete_create_delete_sends_four_emails() -> None:
    h = FakeConsumer()
    sequence: list[tuple[str, dict[str, Any]]] = [
        ("MovieCreated", {"id": "m1", "title": "Up", "rating": 8, "genres": []}),
        ("MovieDeleted", {"id": "m1"}),
        ("MovieCreated", {"id": "m1", "title": "Up", "rating": 8, "genres": []}),
        ("MovieDeleted", {"id": "m1"}),
    ]
    for n, (event_type, body) in enumerate(sequence):
        assert h.run(legacy(body, str(n), event_type, T0 + n * HOUR_MS)) == []
    assert [e.subject for e in h.sender.sent] == [
        "[moviepipe] Movie created: Up (m1)",
        "[moviepipe] Movie deleted: m1",
        "[moviepipe] Movie created: Up (m1)",
        "[moviepipe] Movie deleted: m1",
    ]


def test_legacy_copies_inside_the_window_are_one_event() -> None:
    h = FakeConsumer(windows=FakeLegacyWindows(window_seconds=600))
    body = {"id": "m1", "title": "Up", "rating": 8, "genres": ["Drama", "Animation"]}
    reordered = '{"genres":["Animation","Drama","Drama"],"rating":8,"title":"Up","id":"m1"}'
    copies = [
        legacy(body, "a", "MovieCreated", T0),
        legacy(body, "b", "MovieCreated", T0 + 40),  # an SNS double delivery
        legacy(reordered, "c", "MovieCreated", T0 + 599_000),  # genres are a set; a quick re-send
        legacy(body, "d", "MovieCreated", T0 - 300_000),  # sent earlier, processed later (retried)
    ]
    assert h.run(*copies[:2]) == []
    assert h.run(copies[2]) == [] and h.run(copies[3]) == []
    assert len(h.sender.sent) == 1
    assert h.dlq is not None and h.dlq.messages == []


def test_legacy_copy_after_the_window_is_a_new_event() -> None:
    h = FakeConsumer(windows=FakeLegacyWindows(window_seconds=600))
    body = {"id": "m1", "title": "Up", "rating": 8, "genres": []}
    assert h.run(legacy(body, "a", "MovieCreated", T0)) == []
    assert h.run(legacy(body, "b", "MovieCreated", T0 + 601_000)) == []  # the same change, later
    assert h.run(legacy(body, "c", "MovieCreated", T0 + 602_000)) == []  # its SNS duplicate
    assert h.run(legacy(body, "d", "MovieCreated", T0 + 86_400_000)) == []  # a day later
    ids = [str(email.message_from_bytes(e.mime)[EVENT_ID_HEADER]) for e in h.sender.sent]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_legacy_duplicate_in_one_batch_shares_a_lane_and_sends_once() -> None:
    h = FakeConsumer(sender=FakeSender(delay=0.05), concurrency=10)
    body = {"id": "m1", "title": "Up", "rating": 8, "genres": []}
    assert h.run(*(legacy(body, str(n), "MovieCreated", T0 + n) for n in range(5))) == []
    assert len(h.sender.sent) == 1


def test_cloudevents_are_not_windowed() -> None:
    h = FakeConsumer(windows=FakeLegacyWindows(window_seconds=1))
    event = MovieDeleted(data={"id": "m1"})
    assert h.run(sqs_record(event.to_json(), message_id="1", event_type="MovieDeleted")) == []
    assert (
        h.run(
            sqs_record(
                event.to_json(), message_id="2", event_type="MovieDeleted", SentTimestamp=str(T0 + HOUR_MS)
            )
        )
        == []
    )
    assert len(h.sender.sent) == 1 and h.windows.starts == {}


@pytest.mark.parametrize(
    ("current", "sent", "expected"),
    [
        (T0, T0, T0),
        (T0, T0 + 599_000, T0),  # inside the window (the store keeps it: not after its end)
        (T0, T0 - 600_000, T0),  # sent up to a window before a later copy opened it: the same event
        (T0, T0 - 600_001, T0 - 1_200_000),  # older: an older window, counted back in whole windows
        (T0, T0 - 1_800_000, T0 - 1_800_000),
    ],
)
def test_window_start_for_copies_the_store_did_not_move(current: int, sent: int, expected: int) -> None:
    from consumers.email_notification.adapters.legacy_windows import start_for

    assert start_for(current, sent, 600_000) == expected
