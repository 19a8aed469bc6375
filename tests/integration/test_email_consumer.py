"""The email consumer on the real path: publish to SNS, receive from SQS, convert to the Lambda event,
invoke the handler, settle the batch as the event source would; every call goes over HTTP to moto."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any, cast

import pytest

from consumers.email_notification import handler
from consumers.email_notification.logic.rendering import EVENT_ID_HEADER, MOVIE_ID_HEADER
from movie_events import MovieCreated, MovieDeleted, MovieEvent, MovieUpdated, parse_event
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.sqs_events import to_lambda_event
from moviepipe.runtime.settings import Resources
from tests.support import aws
from tests.support.consumer import FUNCTION_NAME, RECIPIENTS, ConsumerStack
from tests.support.latency import simulated_latency
from tests.support.ses import SentEmail, sent_emails

pytestmark = pytest.mark.integration


def created(n: int, title: str | None = None) -> MovieCreated:
    return MovieCreated(
        data={"id": f"m{n}", "title": title or f"Movie {n}", "rating": n % 11, "genres": ["Drama"]}
    )


def context() -> Any:
    return cast(Any, LocalLambdaContext.new_invocation(FUNCTION_NAME))


def emails_by_event() -> dict[str, list[SentEmail]]:
    out: dict[str, list[SentEmail]] = {}
    for sent in sent_emails():
        out.setdefault(str(sent.header(EVENT_ID_HEADER)), []).append(sent)
    return out


def test_one_email_per_event_with_both_parts_and_hidden_recipients(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(7)]
    stack.publish(*events)

    [invocation] = stack.run()

    assert invocation.failed_ids == []
    by_event = emails_by_event()
    assert set(by_event) == {e.id for e in events}
    for event in events:
        [sent] = by_event[event.id]
        assert sent.header(MOVIE_ID_HEADER) == event.movie_id
        assert sent.subject == f"[moviepipe] Movie created: {event.data.title} ({event.movie_id})"
        for part in (sent.text, sent.html):
            assert event.id in part and event.movie_id in part
        # Recipients are in the envelope only; the visible To is the sender.
        assert set(RECIPIENTS) <= set(sent.destinations["Envelope"])
        assert sent.header("To") == Resources.EMAIL_SENDER
        assert sent.header("Cc") is None and sent.header("Bcc") is None
        assert not any(r in sent.raw_headers for r in RECIPIENTS)


def test_duplicates_inside_one_batch_send_one_email(stack: ConsumerStack) -> None:
    first, second = created(1), created(2)
    stack.publish(first, first, second, first)  # four messages, three of them one event

    [invocation] = stack.run()

    assert len(invocation.event["Records"]) == 4
    assert invocation.failed_ids == []  # a duplicate is processed (skipped), not retried
    assert {k: len(v) for k, v in emails_by_event().items()} == {first.id: 1, second.id: 1}


def test_duplicates_across_batches_and_replays_under_new_message_ids(stack: ConsumerStack) -> None:
    events = [created(i) for i in range(3)]
    stack.publish(*events)
    stack.run()
    # The same events again: an SNS re-delivery, then a DLQ replay straight onto the queue.
    stack.publish(*events)
    for event in events:
        stack.send_raw(event.to_json(), {"Type": event.type})

    later = stack.run()

    assert sum(len(i.event["Records"]) for i in later) == 6
    assert all(i.failed_ids == [] for i in later)
    assert {k: len(v) for k, v in emails_by_event().items()} == {e.id: 1 for e in events}


def test_legacy_duplicates_send_one_email(stack: ConsumerStack) -> None:
    legacy = json.dumps({"id": "m7", "title": "Legacy", "rating": 5, "genres": ["Noir"]})
    for _ in range(3):
        stack.send_raw(legacy, {"Type": "MovieCreated"})
    stack.run()
    stack.send_raw(legacy, {"Type": "MovieCreated"})  # a later copy, received at another time
    stack.run()

    [(event_id, copies)] = emails_by_event().items()
    assert len(copies) == 1 and copies[0].header(MOVIE_ID_HEADER) == "m7"
    # The id is the content id narrowed to the deduplication window of the first copy.
    assert event_id != parse_event(legacy, {"Type": "MovieCreated"}).id


def test_updated_and_deleted_emails_say_what_happened(stack: ConsumerStack) -> None:
    updated = MovieUpdated(
        data={"id": "m1", "title": "New", "rating": 9, "genres": ["Drama"], "previous": {"rating": 4}}
    )
    deleted = MovieDeleted(data={"id": "m2"})
    stack.publish(updated, deleted)
    stack.run()

    by_event = emails_by_event()
    [u], [d] = by_event[updated.id], by_event[deleted.id]
    assert u.subject == "[moviepipe] Movie updated: New (m1)"
    assert "rating: 4 -> 9" in u.text and "<del>4</del>" in u.html
    assert d.subject == "[moviepipe] Movie deleted: m2"
    assert "removed" in d.text and "m2" in d.html


def test_html_in_a_title_is_delivered_escaped(stack: ConsumerStack) -> None:
    hostile = created(1, title='<script>alert("x")</script> & <b>bold</b>')
    stack.publish(hostile)
    [invocation] = stack.run()

    assert invocation.failed_ids == []
    [sent] = emails_by_event()[hostile.id]
    assert "<script>" not in sent.html and "<b>bold" not in sent.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in sent.html
    assert hostile.data.title in sent.text  # plain text is not HTML: shown as written
    assert stack.dead_letters() == []


def test_two_invocations_racing_on_the_same_event_send_one_email(stack: ConsumerStack) -> None:
    event = created(1)
    stack.publish(event, event)  # SNS delivered it twice; two Lambda environments got one copy each
    messages = stack.receive(2)
    assert len(messages) == 2
    batches = [to_lambda_event([message], stack.messaging.queue_arn) for message in messages]
    # Two execution environments: two consumers with their own clients, slowed down so they overlap.
    with simulated_latency(0.03):
        consumers = [stack.build_consumer(), stack.build_consumer()]
    barrier = threading.Barrier(2)
    responses: list[dict[str, Any]] = [{}, {}]

    def invoke(i: int) -> None:
        barrier.wait()
        responses[i] = consumers[i].handle(dict(batches[i]), context())

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(emails_by_event()[event.id]) == 1
    failures = [r["batchItemFailures"] for r in responses]
    # The loser either saw the completed record (a skipped duplicate) or the winner's in-progress lock
    # (a transient failure, retried): never a second email.
    assert sorted(len(f) for f in failures) in ([0, 0], [0, 1])
    for batch, failed in zip(batches, failures, strict=True):
        if failed:
            retry = stack.build_consumer().handle(dict(batch), context())
            assert retry["batchItemFailures"] == []
    assert len(emails_by_event()[event.id]) == 1


def test_fifo_queue_keeps_order_within_a_movie(aws: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from moviepipe.local.provision import provision_idempotency_table, provision_messaging, verify_sender
    from producers import EventPublisher

    fifo = provision_messaging(topic_name="ev.fifo", queue_name="email.fifo", dlq_name="email-dlq.fifo")
    table = provision_idempotency_table()
    verify_sender()
    stack = ConsumerStack(fifo, table)
    events: list[MovieEvent] = [
        created(1),
        MovieUpdated(data={"id": "m1", "title": "Second", "rating": 2, "genres": []}),
        created(2),
        MovieUpdated(data={"id": "m1", "title": "Third", "rating": 3, "genres": []}),
    ]
    EventPublisher(fifo.topic_arn).publish_many(events[:2])
    # A poison message in the middle of movie m1's group: dead-lettered, and the group goes on.
    stack.send_raw("not json", {"Type": "MovieCreated"}, MessageGroupId="m1", MessageDeduplicationId="poison")
    EventPublisher(fifo.topic_arn).publish_many(events[2:])

    [invocation] = stack.run()

    assert invocation.failed_ids == []
    order = [str(s.header(EVENT_ID_HEADER)) for s in sent_emails()]
    m1 = [e.id for e in events if e.movie_id == "m1"]
    assert [i for i in order if i in m1] == m1  # one lane per message group, in order
    assert len(order) == 4
    [dead] = stack.dead_letters()  # the FIFO DLQ needs a group and a deduplication id: both set
    assert dead["Body"] == "not json" and dead["Attributes"]["MessageGroupId"] == "m1"


def test_metrics_and_correlation_id_are_emitted(
    stack: ConsumerStack, capsys: pytest.CaptureFixture[str]
) -> None:
    event = created(1)
    stack.publish(event, event)
    stack.send_raw("not json", {"Type": "MovieCreated"})
    capsys.readouterr()
    # The Powertools logger writes to the stream it was created with; listen with its own formatter.
    stream = io.StringIO()
    listener = logging.StreamHandler(stream)
    listener.setFormatter(handler.logger.registered_formatter)
    std_logger = logging.getLogger(handler.SERVICE)
    std_logger.addHandler(listener)
    # The service's stdlib logger is shared by every Logger of that service in this process: a local
    # stack run quietly earlier (e2e) may have left it at WARNING. This test is about INFO lines.
    level = std_logger.level
    std_logger.setLevel(logging.INFO)
    try:
        stack.run()
    finally:
        std_logger.removeHandler(listener)
        std_logger.setLevel(level)

    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "moviepipe"
    assert {
        k: emf[k] for k in ("EmailsSent", "DuplicatesSkipped", "TransientFailures", "PermanentFailures")
    } == {
        "EmailsSent": [1.0],
        "DuplicatesSkipped": [1.0],
        "TransientFailures": [0.0],
        "PermanentFailures": [1.0],
    }
    sent_logs = [line for line in lines if line.get("message") == "email sent"]
    assert [line["correlation_id"] for line in sent_logs] == [event.id]
    assert all(line["function_name"] == FUNCTION_NAME for line in sent_logs)


def test_sqs_event_shape_matches_lambda(stack: ConsumerStack) -> None:
    event = created(1)
    stack.publish(event)
    [message] = stack.receive(1)
    [record] = to_lambda_event([message], stack.messaging.queue_arn)["Records"]

    assert record["messageId"] == message["MessageId"] and record["body"] == event.to_json()
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == aws.region()
    assert record["eventSourceARN"] == stack.messaging.queue_arn
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["messageAttributes"] == {
        "Type": {
            "stringValue": "MovieCreated",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert record["md5OfBody"] == message["MD5OfBody"]
