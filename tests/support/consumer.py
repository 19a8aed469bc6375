"""Drive the email consumer the way Lambda's SQS event source does, against the embedded AWS.

:class:`ConsumerStack` provisions the declared topic, queue, DLQ, idempotency table and SES sender,
gives the handler's environment, and drives the handler through the one SQS event-source emulation,
:class:`moviepipe.local.triggers.SqsTrigger` built from the declaration, with one explicit difference:
failed records are released at once (:attr:`Release.AT_ONCE`) instead of after the visibility timeout,
so a test steps through retries without waiting. Tests that need finer control receive, invoke and
settle one step at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consumers.email_notification import handler
from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer
from movie_events.models import MovieEvent
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.provision import (
    Messaging,
    provision_idempotency_table,
    provision_messaging,
    verify_sender,
)
from moviepipe.local.sqs_events import LambdaSqsEvent, to_lambda_event
from moviepipe.local.triggers import Invocation, Release, SqsTrigger
from moviepipe.runtime.settings import Env
from producers import EventPublisher
from tests.support import aws
from tests.support.sqs import drain

RECIPIENTS = ("oncall@moviepipe.example.com", "catalogue@moviepipe.example.com")
CONSUMER = DEPLOYMENT.function("email_notification")
FUNCTION_NAME = DEPLOYMENT.name(CONSUMER.suffix)


@dataclass
class ConsumerStack:
    """The consumer's AWS resources on the embedded AWS, and the event source over them."""

    messaging: Messaging
    table: str
    invocations: list[Invocation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._variables = self.environment()
        self._consumer: EmailConsumer | None = None
        self.trigger = SqsTrigger.declared(
            CONSUMER,
            queue_url=self.messaging.queue_url,
            handler=self._lambda_handler,
            release=Release.AT_ONCE,
            wait_seconds=0,
            observer=self._record,
        )

    # -- the function under test, built by its composition root ---------------------------------
    def configure(self, variables: Mapping[str, str] | None = None, *, dlq: bool = True) -> None:
        """Deploy the consumer anew with the stack's variables (without the DLQ if ``dlq`` is False) and
        ``variables`` on top: the next invocation builds it from them."""
        self._variables = {**self.environment(dlq=dlq), **(variables or {})}
        self._consumer = None

    def config(self) -> ConsumerConfig:
        return ConsumerConfig.from_env(self._variables)

    def build_consumer(self, **wiring: Any) -> EmailConsumer:
        """A consumer as the composition root wires it (``wiring``: the builder's fault-injecting
        clients), on clients of the embedded AWS: another execution environment."""
        return handler.build_consumer(self.config(), aws.clients(), **wiring)

    @property
    def consumer(self) -> EmailConsumer:
        """The consumer the trigger invokes (built on first use, like the Lambda entry point's)."""
        if self._consumer is None:
            self._consumer = self.build_consumer()
        return self._consumer

    def _lambda_handler(self, event: dict[str, Any], context: Any) -> Any:
        return handler.handler_for(self.consumer)(event, context)

    def environment(self, *, dlq: bool = True) -> dict[str, str]:
        env = {
            Env.IDEMPOTENCY_TABLE_NAME: self.table,
            Env.EMAIL_SENDER: str(DEPLOYMENT.settings["email_sender"]),
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

    # -- the event source, step by step ----------------------------------------------------------
    def receive(self, max_messages: int | None = None) -> list[dict[str, Any]]:
        return self.trigger.receive(max_messages)

    def receive_event(self, max_messages: int | None = None) -> LambdaSqsEvent:
        return to_lambda_event(self.receive(max_messages), self.messaging.queue_arn)

    def invoke(self, event: LambdaSqsEvent) -> Invocation:
        """Invoke the handler; a handler that raises fails the test (it must answer every batch)."""
        invocation = self.trigger.invoke(event)
        self._record(invocation)
        return invocation

    def settle(self, invocation: Invocation) -> None:
        """What the event source does with the response: delete successes, release failures."""
        self.trigger.settle(invocation)

    def run(self, *, max_batches: int = 20, batch_size: int | None = None) -> list[Invocation]:
        """Receive, invoke and settle until the queue is empty (or ``max_batches`` were invoked)."""
        if batch_size is None:
            return self.trigger.drain(max_batches)
        saved, self.trigger.batch_size = self.trigger.batch_size, batch_size
        try:
            return self.trigger.drain(max_batches)
        finally:
            self.trigger.batch_size = saved

    def dead_letters(self) -> list[dict[str, Any]]:
        return drain(self.messaging.dlq_url)

    def _record(self, invocation: Invocation) -> None:
        if invocation.error is not None:
            raise AssertionError(f"the handler raised instead of answering: {invocation.error}")
        self.invocations.append(invocation)


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
