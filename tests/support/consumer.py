"""Drive the email consumer the way Lambda's SQS event source does, against the embedded AWS.

:class:`ConsumerStack` provisions the topic, queue, DLQ, idempotency table and SES sender, points the
handler's environment at them, and offers the event source's loop: receive a batch, convert it with
:mod:`moviepipe.local.sqs_events`, invoke the handler, delete the records it did not report as failed,
and make the failed ones visible again (standing in for the visibility timeout).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consumers.email_notification import handler
from movie_events import aws
from movie_events.models import MovieEvent
from movie_events.settings import Env, Resources
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.provision import (
    Messaging,
    provision_idempotency_table,
    provision_messaging,
    verify_sender,
)
from moviepipe.local.sqs_events import LambdaSqsEvent, to_lambda_event
from producers import EventPublisher
from tests.support.sqs import drain

RECIPIENTS = ("oncall@moviepipe.example.com", "catalogue@moviepipe.example.com")
FUNCTION_NAME = "moviepipe-email-notification"


@dataclass
class Invocation:
    """One handler invocation: the event it got and what it answered."""

    event: LambdaSqsEvent
    response: dict[str, Any]

    @property
    def failed_ids(self) -> list[str]:
        return [item["itemIdentifier"] for item in self.response["batchItemFailures"]]


@dataclass
class ConsumerStack:
    """The consumer's AWS resources on the embedded AWS, and the event source's loop over them."""

    messaging: Messaging
    table: str
    invocations: list[Invocation] = field(default_factory=list)

    def environment(self, *, dlq: bool = True) -> dict[str, str]:
        env = {
            Env.IDEMPOTENCY_TABLE_NAME: self.table,
            Env.EMAIL_SENDER: Resources.EMAIL_SENDER,
            Env.EMAIL_RECIPIENTS: ",".join(RECIPIENTS),
        }
        if dlq:
            env[Env.DEAD_LETTER_QUEUE_URL] = self.messaging.dlq_url
        return env

    # -- putting messages on the queue ---------------------------------------------------------
    def publish(self, *events: MovieEvent) -> None:
        EventPublisher(self.messaging.topic_arn).publish_many(list(events))

    def send_raw(self, body: str, attributes: Mapping[str, str] | None = None, **extra: Any) -> str:
        """Put a message straight on the queue (as a DLQ redrive or a foreign producer would)."""
        params: dict[str, Any] = {"QueueUrl": self.messaging.queue_url, "MessageBody": body, **extra}
        if attributes:
            params["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            }
        return str(aws.client("sqs").send_message(**params)["MessageId"])

    # -- the event source ----------------------------------------------------------------------
    def receive(self, max_messages: int = 10, queue_url: str | None = None) -> list[dict[str, Any]]:
        response = aws.client("sqs").receive_message(
            QueueUrl=queue_url or self.messaging.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def receive_event(self, max_messages: int = 10) -> LambdaSqsEvent:
        return to_lambda_event(self.receive(max_messages), self.messaging.queue_arn)

    def invoke(self, event: LambdaSqsEvent, context: Any = None) -> Invocation:
        context = context or LocalLambdaContext.new_invocation(FUNCTION_NAME)
        response = handler.lambda_handler(dict(event), context)
        invocation = Invocation(event, response)
        self.invocations.append(invocation)
        return invocation

    def settle(self, invocation: Invocation) -> None:
        """What the event source does with the response: delete successes, release failures."""
        sqs = aws.client("sqs")
        failed = set(invocation.failed_ids)
        for record in invocation.event["Records"]:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.messaging.queue_url,
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=0,
                )
            else:
                sqs.delete_message(QueueUrl=self.messaging.queue_url, ReceiptHandle=record["receiptHandle"])

    def run(self, *, max_batches: int = 20, batch_size: int = 10) -> list[Invocation]:
        """Receive, invoke and settle until the queue is empty (or ``max_batches`` were invoked)."""
        done = []
        for _ in range(max_batches):
            event = self.receive_event(batch_size)
            if not event["Records"]:
                break
            invocation = self.invoke(event)
            self.settle(invocation)
            done.append(invocation)
        return done

    def dead_letters(self) -> list[dict[str, Any]]:
        return drain(self.messaging.dlq_url)


def provision_consumer_stack(*, fifo: bool = False) -> ConsumerStack:
    """The stack on a standard queue, or on a FIFO topic, queue and DLQ (``fifo=True``)."""
    if fifo:
        messaging = provision_messaging(
            topic_name="ev.fifo", queue_name="email.fifo", dlq_name="email-dlq.fifo"
        )
    else:
        messaging = provision_messaging()
    table = provision_idempotency_table()
    verify_sender()
    return ConsumerStack(messaging, table)


def attribute(message: Mapping[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name)
    return None if value is None else str(value.get("StringValue"))


def bodies(messages: Iterable[Mapping[str, Any]]) -> list[Any]:
    return [json.loads(m["Body"]) for m in messages]
