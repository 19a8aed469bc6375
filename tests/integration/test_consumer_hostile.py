"""Issue 8 on the real path (SQS, DynamoDB and SES of the embedded AWS over HTTP): a hostile record is
dead-lettered with its reason while its batch is delivered, on standard and FIFO queues; the MIME bytes
SES receives carry no header the data wrote; a lost SES answer costs at most one email per receive; the
legacy deduplication window holds both ways."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from consumers.email_notification.adapters.dlq import ERROR_CODE, ERROR_MESSAGE, SOURCE_MESSAGE_ID
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER, MOVIE_ID_HEADER
from movie_events import MovieCreated
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.runtime.settings import Env
from tests.support import aws
from tests.support.consumer import RECIPIENTS, ConsumerStack, attribute, provision_consumer_stack
from tests.support.faults import lose_answers
from tests.support.ses import sent_emails

pytestmark = pytest.mark.integration

LONE_SURROGATE_LEGACY = '{"id":"m","title":"\\udc80","rating":8,"genres":["Drama"]}'
DEEP_50K = "[" * 50_000 + "]" * 50_000
INJECTION_TITLE = "Hi =?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_spy@evil.example?="


@pytest.fixture(params=[False, True], ids=["standard", "fifo"])
def any_stack(request: pytest.FixtureRequest, aws: EmbeddedAWS) -> ConsumerStack:
    return provision_consumer_stack(fifo=request.param)


def fifo(stack: ConsumerStack) -> bool:
    return stack.messaging.queue_url.endswith(".fifo")


@pytest.mark.parametrize(
    ("body", "reason"),
    [(DEEP_50K, "nested more than 32 levels"), (LONE_SURROGATE_LEGACY, "lone surrogate")],
    ids=["nested-50000", "lone-surrogate-legacy"],
)
def test_a_hostile_record_in_a_batch_of_ten(any_stack: ConsumerStack, body: str, reason: str) -> None:
    stack = any_stack
    group = {"MessageGroupId": "m"} if fifo(stack) else {}
    goods = [
        MovieCreated(data={"id": "m", "title": f"Good {n}", "rating": 5, "genres": []}) for n in range(9)
    ]
    hostile_id = ""
    for n, event in enumerate(goods):
        if n == 4:
            dedup = {"MessageDeduplicationId": "hostile"} if group else {}
            hostile_id = stack.send_raw(body, {"Type": "MovieCreated"}, **group, **dedup)
        dedup = {"MessageDeduplicationId": event.id} if group else {}
        stack.send_raw(event.to_json(), {"Type": event.type}, **group, **dedup)

    invocations = stack.run()

    assert all(invocation.failed_ids == [] for invocation in invocations)
    delivered = [str(sent.header(EVENT_ID_HEADER)) for sent in sent_emails()]
    assert sorted(delivered) == sorted(event.id for event in goods)
    if group:
        assert delivered == [event.id for event in goods]  # the group went on past the dead letter
    [dead] = stack.dead_letters()
    assert attribute(dead, SOURCE_MESSAGE_ID) == hostile_id and dead["Body"] == body
    assert attribute(dead, ERROR_CODE) == "MalformedMessage"
    assert reason in str(attribute(dead, ERROR_MESSAGE))


def test_the_mime_ses_receives_has_no_header_the_title_wrote(stack: ConsumerStack) -> None:
    event = MovieCreated(data={"id": "m1", "title": INJECTION_TITLE, "rating": 7, "genres": []})
    stack.publish(event)
    [invocation] = stack.run()
    assert invocation.failed_ids == []

    [sent] = sent_emails()
    raw = sent.raw.raw_data.encode()  # the bytes SES received, parsed as a mail client parses them
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert list(message.keys()) == [
        *("From", "To", "Subject", "Date", "Message-ID", EVENT_ID_HEADER, MOVIE_ID_HEADER),
        *("MIME-Version", "Content-Type"),
    ]
    assert "Reply-To" not in message and "Bcc" not in message
    assert str(message["Subject"]) == f"[moviepipe] Movie created: {INJECTION_TITLE} (m1)"
    assert sorted(sent.destinations["Envelope"]) == sorted([*RECIPIENTS, str(message["To"])])
    assert not any("evil.example" in address for address in sent.destinations["Envelope"])


@pytest.fixture
def lost_answers() -> Iterator[list[list[int]]]:
    """The first three SES SendEmail answers of every SES client built from now on are lost after SES
    acted on the request."""
    counters: list[list[int]] = []

    def hook(client: Any) -> None:
        if client.meta.service_model.service_name == "sesv2":
            counters.append(lose_answers(client, "SendEmail", times=3))

    aws.hooks.append(hook)  # attached through the client factory (Clients.with_hook)
    try:
        yield counters
    finally:
        aws.hooks.remove(hook)


def test_a_lost_ses_answer_costs_at_most_one_email_per_receive(
    stack: ConsumerStack,
    lost_answers: list[list[int]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = MovieCreated(data={"id": "m1", "title": "Lost", "rating": 7, "genres": []})
    stack.publish(event)

    invocations = stack.run()  # the production wiring: handler.build_consumer() and its SES client

    ses = stack.consumer._sender._client  # type: ignore[attr-defined]
    assert ses.meta.config.retries["total_max_attempts"] == 1
    receives = len(invocations)
    assert receives == 4  # three answers lost (each reported for retry), then one that arrived
    assert [len(i.failed_ids) for i in invocations] == [1, 1, 1, 0]
    assert len(sent_emails()) == receives  # one email per receive, never botocore's 3 or 4
    out = capsys.readouterr().out.splitlines()
    metrics = [json.loads(line) for line in out if '"_aws"' in line]
    assert [m["AmbiguousSends"] for m in metrics] == [[1.0], [1.0], [1.0], [0.0]]
    assert sum(r.getMessage().startswith("ambiguous send") for r in caplog.records) == 3
    assert [counter[0] for counter in lost_answers] == [3]  # one SES client, three answers lost
    assert stack.dead_letters() == []


def test_legacy_window_both_ways(stack: ConsumerStack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack.configure({Env.LEGACY_DEDUP_WINDOW_SECONDS: "2"})
    body = json.dumps({"id": "m1", "title": "Up", "rating": 8, "genres": None})
    reordered = '{"genres":null,"rating":8,"title":"Up","id":"m1"}'
    stack.send_raw(body, {"Type": "MovieCreated"})
    stack.send_raw(reordered, {"Type": "MovieCreated"})  # a quick re-send, serialised differently
    stack.run()
    assert len(sent_emails()) == 1  # inside the window: one event (and genres null is no error)

    time.sleep(2.5)
    stack.send_raw(body, {"Type": "MovieCreated"})  # the same change again, after the window
    stack.send_raw(body, {"Type": "MovieCreated"})  # and its double delivery
    stack.run()
    emails = sent_emails()
    assert len(emails) == 2 and len({e.header(EVENT_ID_HEADER) for e in emails}) == 2
    assert stack.dead_letters() == []
