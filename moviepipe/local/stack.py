"""The whole pipeline on one machine: embedded AWS, every resource, every handler under a local trigger.

Used by ``moviepipe local up`` (runs until Ctrl-C), ``moviepipe local demo`` and the end-to-end tests.
The resources are the ones the AWS deployment has, with the names and settings of
:class:`movie_events.settings.Resources`; only the queue's visibility timeout is shorter, so that a
failed message is retried in seconds rather than minutes.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from movie_events import aws
from movie_events.settings import Env, Resources
from moviepipe.local.defaults import (
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_MAIL_FOLDER,
    LOCAL_VISIBILITY_TIMEOUT_SECONDS,
)
from moviepipe.local.embedded_aws import LOOPBACK, EmbeddedAWS, environment, make_wsgi_server
from moviepipe.local.provision import (
    Messaging,
    provision_idempotency_table,
    provision_messaging,
    provision_movies_table,
    verify_sender,
)
from moviepipe.local.triggers import Invocation, SqsTrigger, StreamTrigger

#: The name the email consumer's trigger reports its invocations under.
CONSUMER_TRIGGER = "email-notification"


@dataclass(frozen=True)
class StackSettings:
    host: str = LOOPBACK
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    mail_folder: Path | None = DEFAULT_MAIL_FOLDER
    visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS
    max_receive_count: int = Resources.MAX_RECEIVE_COUNT
    recipients: tuple[str, ...] = Resources.EMAIL_RECIPIENTS
    sender: str = Resources.EMAIL_SENDER
    #: Keep the handlers' own JSON logs to errors and turn their EMF metric lines off: the local stack
    #: prints one line per invocation itself.
    quiet_handlers: bool = False


@dataclass(frozen=True)
class Deployment:
    """Where everything is, once the stack is up."""

    aws_endpoint: str
    api_url: str
    messaging: Messaging
    movies_table: str
    movies_stream_arn: str
    idempotency_table: str

    def handler_environment(self, settings: StackSettings) -> dict[str, str]:
        """The variables the Lambda functions get on AWS, pointing at the local resources."""
        quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
        return {**(quiet if settings.quiet_handlers else {}), **self.resource_environment(settings)}

    def resource_environment(self, settings: StackSettings) -> dict[str, str]:
        """Where the resources are, under the variable names of :class:`Env`."""
        return {
            Env.EVENTS_TOPIC_ARN: self.messaging.topic_arn,
            Env.MOVIES_TABLE_NAME: self.movies_table,
            Env.IDEMPOTENCY_TABLE_NAME: self.idempotency_table,
            Env.EMAIL_SENDER: settings.sender,
            Env.EMAIL_RECIPIENTS: ",".join(settings.recipients),
            Env.DEAD_LETTER_QUEUE_URL: self.messaging.dlq_url,
        }


@dataclass
class LocalStack:
    settings: StackSettings = field(default_factory=StackSettings)
    observer: Callable[[Invocation], None] | None = None

    def __post_init__(self) -> None:
        self.aws = EmbeddedAWS(
            self.settings.host, self.settings.aws_port, mail_folder=self.settings.mail_folder
        )
        self.deployment: Deployment | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http: BaseWSGIServer | None = None
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []
        self._emails_seen = 0
        self._dead_letters_seen = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[Deployment]:
        """Start everything; on exit (Ctrl-C included) stop every thread and release every port."""
        self.aws.start()
        try:
            with environment(self.aws.environment()):
                deployment = self._provision()
                with environment(deployment.handler_environment(self.settings)):
                    self._start_workers(deployment)
                    try:
                        yield self.deployment or deployment
                    finally:
                        self._stop_workers()
        finally:
            self.aws.stop()

    def _provision(self) -> Deployment:
        messaging = provision_messaging(
            visibility_timeout=self.settings.visibility_timeout,
            max_receive_count=self.settings.max_receive_count,
        )
        stream_arn = provision_movies_table()
        verify_sender(self.settings.sender)
        self.deployment = Deployment(
            aws_endpoint=self.aws.endpoint_url,
            api_url=f"http://{self.settings.host}:{self.settings.api_port}",
            messaging=messaging,
            movies_table=Resources.MOVIES_TABLE,
            movies_stream_arn=stream_arn,
            idempotency_table=provision_idempotency_table(),
        )
        return self.deployment

    def _start_workers(self, deployment: Deployment) -> None:
        # Imported here, not at module level: the handlers read their configuration on first use, and
        # `moviepipe local` commands that do not run them should not pay their import time.
        from consumers.email_notification import handler as email_handler
        from moviepipe.local.http_api import movies_api_app
        from producers.movies_api import handler as api_handler
        from producers.outbox_relay import handler as relay_handler

        # Handlers keep their wiring (clients, table names) for the life of the process, as in a Lambda
        # execution environment; this process may have run them against another endpoint before.
        for module in (email_handler, api_handler, relay_handler):
            module.reset()

        self._stop.clear()
        consumer = SqsTrigger(
            name=CONSUMER_TRIGGER,
            queue_url=deployment.messaging.queue_url,
            handler=email_handler.lambda_handler,
            function_timeout=Resources.CONSUMER_TIMEOUT_SECONDS,
            observer=self._observe,
            stop=self._stop,
        )
        relay = StreamTrigger(
            name="outbox-relay",
            stream_arn=deployment.movies_stream_arn,
            handler=relay_handler.lambda_handler,
            observer=self._observe,
            stop=self._stop,
        )
        self._http = make_wsgi_server(
            "the movies API", self.settings.host, self.settings.api_port, movies_api_app()
        )
        port = int(self._http.server_address[1])  # the real one, when port 0 asked for any free port
        self.deployment = dataclasses.replace(deployment, api_url=f"http://{self.settings.host}:{port}")
        for name, target in (
            ("email-trigger", consumer.run),
            ("stream-trigger", relay.run),
            ("movies-api-http", self._http.serve_forever),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _stop_workers(self) -> None:
        self._stop.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads.clear()

    def _observe(self, invocation: Invocation) -> None:
        invocation = self._with_outcomes(invocation)
        with self._lock:
            self.invocations.append(invocation)
        if self.observer is not None:
            self.observer(invocation)

    def _with_outcomes(self, invocation: Invocation) -> Invocation:
        """What became of the consumer's records: the emails and dead letters the embedded AWS saw
        since the last invocation (the SQS trigger runs one invocation at a time); the rest of the
        records it completed were duplicates it suppressed."""
        if invocation.trigger != CONSUMER_TRIGGER:
            return invocation
        emails, dead = len(self.aws.mail.emails), self.aws.sqs.dead_lettered
        sent, dead_lettered = emails - self._emails_seen, dead - self._dead_letters_seen
        self._emails_seen, self._dead_letters_seen = emails, dead
        outcomes = {
            "emails_sent": sent,
            "duplicates_suppressed": max(0, len(invocation.succeeded) - sent - dead_lettered),
            "dead_lettered": dead_lettered,
        }
        return dataclasses.replace(invocation, outcomes=outcomes)

    # -- what it did -------------------------------------------------------------------------------
    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages in the DLQ, left in place (received with a zero visibility change)."""
        assert self.deployment is not None
        sqs = aws.client("sqs")
        url = self.deployment.messaging.dlq_url
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(10):
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                break
            seen.update({m["MessageId"]: m for m in batch})
        for message in seen.values():
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(seen.values())


def client_environment(deployment: Deployment, settings: StackSettings) -> dict[str, str]:
    """What to export so the CLI, the AWS CLI and boto3 talk to the local stack."""
    return {
        Env.AWS_ENDPOINT_URL: deployment.aws_endpoint,
        Env.AWS_REGION: aws.region(),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        **deployment.resource_environment(settings),
    }
