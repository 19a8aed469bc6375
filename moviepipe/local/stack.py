"""The whole pipeline on one machine: embedded AWS, every resource, every handler under a local trigger.

Used by ``moviepipe local up`` (runs until Ctrl-C), ``moviepipe local demo`` and the end-to-end tests.
The resources, triggers and environments are the ones declared in :mod:`moviepipe.deployment` (what
the Terraform creates on AWS); the local stack overrides, explicitly, only the consumer queue's
visibility timeout and maximum receives (shorter, so that a failed message is retried in seconds rather
than minutes) and the email sender and recipients.
"""

from __future__ import annotations

import contextvars
import dataclasses
import importlib
import itertools
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from werkzeug.serving import BaseWSGIServer

from moviepipe import deployment as declaration
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.defaults import (
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_MAIL_FOLDER,
    LOCAL_VISIBILITY_TIMEOUT_SECONDS,
)
from moviepipe.local.embedded_aws import LOOPBACK, EmbeddedAWS, make_wsgi_server
from moviepipe.local.provision import Messaging, Provisioned, provision, verify_sender
from moviepipe.local.triggers import Handler, Invocation, SqsTrigger, StreamTrigger
from moviepipe.runtime.aws import BOTO3_DEFAULTS, ClientHook, Clients
from moviepipe.runtime.settings import Env

#: The declared function whose queue the local stack's visibility timeout and receive count apply to.
CONSUMER: declaration.Function = DEPLOYMENT.function("email_notification")


def _trigger_queue(function: declaration.Function) -> declaration.Queue:
    if not isinstance(function.trigger, declaration.SqsTrigger):
        raise TypeError(f"function {function.key!r} is not triggered by SQS")
    return DEPLOYMENT.queue(function.trigger.queue)


CONSUMER_QUEUE: declaration.Queue = _trigger_queue(CONSUMER)

#: The name the email consumer's trigger reports its invocations under.
CONSUMER_TRIGGER = CONSUMER.suffix

#: The consumer invocation the current thread works for (set by the stack around each invocation, and
#: copied into the consumer's lane threads with the rest of the context). The stack's own clients send
#: their requests through the embedded AWS's middleware in the calling thread (in-process transport), so
#: the mail catcher and the SQS front see which invocation sent an email or a dead letter: the SQS
#: trigger's pollers run invocations side by side, and each invocation's outcomes stay its own.
_INVOCATION: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "moviepipe_local_invocation", default=None
)


@dataclass(frozen=True)
class StackSettings:
    host: str = LOOPBACK
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    mail_folder: Path | None = DEFAULT_MAIL_FOLDER
    visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS
    max_receive_count: int = CONSUMER_QUEUE.max_receive_count or 0  # declared (the consumer queue has a DLQ)
    recipients: tuple[str, ...] = tuple(DEPLOYMENT.settings["email_recipients"])
    sender: str = DEPLOYMENT.settings["email_sender"]
    #: Keep the handlers' own JSON logs to errors and turn their EMF metric lines off: the local stack
    #: prints one line per invocation itself.
    quiet_handlers: bool = False
    #: moto in a process of its own, so it and the handlers do not share one GIL (docs/local.md).
    aws_in_own_process: bool = True
    #: Pollers of the email queue (None: the declared maximum concurrency; one when moto shares this
    #: process). Lambda ends an invocation at its timeout, when its idempotency locks expire; the local
    #: stack cannot stop a thread, so with a timeout compressed below what an invocation can take (the
    #: soak's 2 s), a second poller could process a redelivered copy while the first invocation still
    #: runs past its expired lock: such a stack runs one poller.
    consumer_pollers: int | None = None

    def problems(self) -> list[str]:
        """What is wrong with these settings, one line each, checked before anything starts. When
        nothing else is wrong, it creates the mail folder (see :func:`mail_folder_problem`).

        Why up front: a port out of range otherwise surfaces as a traceback from the socket layer, and a
        mail folder that cannot be created (a path under a file, an unwritable folder) is found only by
        the first email, whose send then fails with a 500 and is retried into the DLQ.
        """
        found = [
            f"{flag} must be a port number from 0 to {MAX_PORT} (0: any free port), not {port}"
            for flag, port in (("--aws-port", self.aws_port), ("--api-port", self.api_port))
            if not 0 <= port <= MAX_PORT
        ]
        if not found and self.aws_port and self.aws_port == self.api_port:
            found.append(f"--aws-port and --api-port are both {self.aws_port}: give them different ports")
        # Last, and only when all else is right: checking the mail folder creates it.
        if not found and self.mail_folder is not None:
            problem = mail_folder_problem(self.mail_folder)
            if problem:
                found.append(f"--mail-folder {self.mail_folder}: {problem}")
        return found

    def declaration(self, deployment: declaration.Deployment = DEPLOYMENT) -> declaration.Deployment:
        """The declared deployment with this stack's explicit overrides applied."""
        return deployment.with_queue(
            CONSUMER_QUEUE.key,
            visibility_timeout_seconds=self.visibility_timeout,
            max_receive_count=self.max_receive_count,
        ).with_settings(email_sender=self.sender, email_recipients=list(self.recipients))


MAX_PORT = 65535


def mail_folder_problem(folder: Path) -> str | None:
    """Why emails cannot be written to ``folder`` (None: they can), found by doing what the mail catcher
    will do: create the folder (and its parents) and write a file in it, removed at once.

    Doing it is the only exact check: "new/../x", "a-file/..", permissions and read-only mounts all
    behave as they will for the first email, which a check of the path's text would only approximate.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except FileExistsError:
        return "is a file, not a folder"
    except NotADirectoryError:
        culprit = next(
            (p for p in reversed([folder, *folder.parents]) if p.exists() and not p.is_dir()), None
        )
        return f"cannot be created: {culprit} is a file, not a folder" if culprit else "cannot be created"
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    return None


@dataclass(frozen=True)
class Deployment:
    """Where everything is, once the stack is up."""

    aws_endpoint: str
    api_url: str
    provisioned: Provisioned

    @property
    def messaging(self) -> Messaging:
        """The consumer's topic → queue → DLQ."""
        subscriptions = self.provisioned.deployment.subscriptions
        (subscription,) = (s for s in subscriptions if s.queue == CONSUMER_QUEUE.key)
        return self.provisioned.messaging(subscription.key)

    def handler_environment(self, settings: StackSettings) -> dict[str, str]:
        """The variables the Lambda functions get on AWS, pointing at the local resources."""
        quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
        return {**(quiet if settings.quiet_handlers else {}), **self.resource_environment(settings)}

    def resource_environment(self, settings: StackSettings) -> dict[str, str]:
        """Every function's declared environment mapping, resolved against the local resources.

        One process runs them all, so one environment holds the union: two functions giving one
        variable different values would silently configure one of them wrongly, so that is refused.
        """
        return union_of_environments(
            {
                function.key: self.provisioned.environment(function.key)
                for function in self.provisioned.deployment.functions
            }
        )


@dataclass
class LocalStack:
    settings: StackSettings = field(default_factory=StackSettings)
    observer: Callable[[Invocation], None] | None = None
    #: Wraps each declared function's handler before its trigger gets it (``(function key, handler)`` →
    #: handler). The soak uses it to make the runtime die mid-invocation; None: the handlers as they are.
    wrap_handler: Callable[[str, Handler], Handler] | None = None
    #: Run on every AWS client the stack creates for its handlers and triggers (the soak arms the
    #: consumer's SES client with it); None: plain clients of the embedded AWS.
    client_hook: ClientHook | None = None

    def __post_init__(self) -> None:
        self.aws = EmbeddedAWS(
            self.settings.host,
            self.settings.aws_port,
            mail_folder=self.settings.mail_folder,
            own_process=self.settings.aws_in_own_process,
        )
        self.deployment: Deployment | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http: BaseWSGIServer | None = None
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []
        # Emails and dead letters by the invocation that sent them (None: a request with no invocation
        # of the stack's behind it, e.g. over HTTP), until that invocation's outcomes are read.
        self._sent_by: Counter[int | None] = Counter()
        self._dead_by: Counter[int | None] = Counter()
        self._invocation_numbers = itertools.count(1)
        self._current = threading.local()  # the invocation a poller thread ran last
        self.aws.mail.subscribe(lambda _email: self._count(self._sent_by))
        self.aws.sqs.subscribe(lambda: self._count(self._dead_by))
        #: Clients of the embedded AWS, once it is started: every handler and trigger gets them.
        self.clients = BOTO3_DEFAULTS

    # -- lifecycle ---------------------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[Deployment]:
        """Start everything; on exit (Ctrl-C included) stop every thread and release every port.

        Raises ValueError, before starting anything, if the settings cannot work (:meth:`StackSettings.problems`).
        """
        problems = self.settings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self.aws.start()
        try:
            self.clients = self.aws.clients()
            if self.client_hook is not None:
                self.clients = self.clients.with_hook(self.client_hook)
            deployment = self._provision()
            self._start_workers(deployment)
            try:
                yield self.deployment or deployment
            finally:
                self._stop_workers()
        finally:
            self.aws.stop()

    def _provision(self) -> Deployment:
        provisioned = provision(self.settings.declaration(), clients=self.clients)
        verify_sender(self.settings.sender, clients=self.clients)
        self.deployment = Deployment(
            aws_endpoint=self.aws.endpoint_url,
            api_url=f"http://{self.settings.host}:{self.settings.api_port}",
            provisioned=provisioned,
        )
        return self.deployment

    def _start_workers(self, deployment: Deployment) -> None:
        """One local trigger per declared function, with the declared trigger settings."""
        from moviepipe.local.http_api import ApiGatewayApp

        self._stop.clear()
        provisioned = deployment.provisioned
        declared = provisioned.deployment
        targets: list[tuple[str, Callable[[], None]]] = []
        environ = deployment.handler_environment(self.settings)
        for function in declared.functions:
            handler = _build_handler(function.handler, environ, self.clients)
            if self.wrap_handler is not None:
                handler = self.wrap_handler(function.key, handler)
            if function.suffix == CONSUMER_TRIGGER:
                handler = self._numbered(handler)
            trigger = function.trigger
            if isinstance(trigger, declaration.SqsTrigger):
                sqs = SqsTrigger.declared(
                    function,
                    queue_url=provisioned.queues[trigger.queue].url,
                    handler=handler,
                    deployment=declared,
                    observer=self._observe,
                    stop=self._stop,
                    clients=self.clients,
                )
                for poller in range(self._pollers(trigger)):
                    targets.append((f"{function.suffix}-sqs-trigger-{poller + 1}", sqs.run))
            elif isinstance(trigger, declaration.StreamTrigger):
                stream_arn = provisioned.tables[trigger.table].stream_arn
                assert stream_arn is not None, f"table {trigger.table!r} is declared without a stream"
                stream = StreamTrigger.declared(
                    function,
                    stream_arn=stream_arn,
                    handler=handler,
                    deployment=declared,
                    observer=self._observe,
                    stop=self._stop,
                    clients=self.clients,
                )
                targets.append((f"{function.suffix}-stream-trigger", stream.run))
            else:
                app = ApiGatewayApp(
                    handler, function_name=declared.name(function.suffix), stage=trigger.stage
                )
                self._http = make_wsgi_server(
                    f"the {function.suffix} HTTP API", self.settings.host, self.settings.api_port, app
                )
                port = int(self._http.server_address[1])  # the real one, when port 0 asked for any free port
                self.deployment = dataclasses.replace(
                    deployment, api_url=f"http://{self.settings.host}:{port}"
                )
                targets.append((f"{function.suffix}-http", self._http.serve_forever))
        for name, target in targets:
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

    def _pollers(self, trigger: declaration.SqsTrigger) -> int:
        """As many pollers as the declared maximum concurrency: invocations side by side, as Lambda runs
        them. Only with the stack's clients in-process (moto in its own process) can their outcomes be
        told apart (:data:`_INVOCATION`); otherwise one poller, one invocation at a time."""
        if not self.settings.aws_in_own_process:
            return 1
        return self.settings.consumer_pollers or trigger.maximum_concurrency

    def _numbered(self, handler: Handler) -> Handler:
        def invocation(event: dict[str, Any], context: Any) -> Any:
            number = next(self._invocation_numbers)
            self._current.number = number
            token = _INVOCATION.set(number)
            try:
                return handler(event, context)
            finally:
                _INVOCATION.reset(token)

        return invocation

    def _count(self, counter: Counter[int | None]) -> None:
        with self._lock:
            counter[_INVOCATION.get()] += 1

    def _with_outcomes(self, invocation: Invocation) -> Invocation:
        """What became of the consumer's records: the emails and dead letters this invocation sent (the
        embedded AWS saw them, each marked with the invocation behind it); the rest of the records it
        completed were duplicates it suppressed. What arrived with no invocation behind it since the last
        one counts for this one: that is the single-poller case of moto in this process, where requests
        reach the middleware over HTTP, from the server's threads."""
        if invocation.trigger != CONSUMER_TRIGGER:
            return invocation
        number = getattr(self._current, "number", None)
        self._current.number = None
        with self._lock:
            sent = self._sent_by.pop(None, 0) + (self._sent_by.pop(number, 0) if number is not None else 0)
            dead_lettered = self._dead_by.pop(None, 0) + (
                self._dead_by.pop(number, 0) if number is not None else 0
            )
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
        sqs = self.clients.sqs()
        url = self.deployment.messaging.dlq_url
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(10):
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=2, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                break
            seen.update({m["MessageId"]: cast("dict[str, Any]", m) for m in batch})
        for message in seen.values():
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return list(seen.values())


def _build_handler(path: str, environ: dict[str, str], clients: Clients) -> Handler:
    """The handler of the function declared at ``path`` (``package.module.lambda_handler``), built by its
    module's composition root (``build_from_environment``) with the function's variables and the
    stack's clients: a fresh one per stack, so a process that ran a stack against another endpoint
    before (the tests) keeps nothing of it, and the process environment is never touched.

    Imported when the stack starts, not at module level: `moviepipe local` commands that do not run the
    handlers should not pay their import time.
    """
    module_name, _, _attribute = path.rpartition(".")
    module = importlib.import_module(module_name)
    build: Callable[[dict[str, str], Clients], Handler] = module.build_from_environment
    return build(environ, clients)


def union_of_environments(environments: dict[str, dict[str, str]]) -> dict[str, str]:
    """The variables of every function in one mapping; :class:`ValueError` where two functions disagree."""
    union: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function, variables in environments.items():
        for name, value in variables.items():
            if name in union and union[name] != value:
                raise ValueError(
                    f"{owner[name]} and {function} both set {name}, to different values; one process "
                    "cannot run both: give one of them its own variable"
                )
            union[name], owner[name] = value, function
    return union


def client_environment(deployment: Deployment, settings: StackSettings, clients: Clients) -> dict[str, str]:
    """What to export so the CLI, the AWS CLI and boto3 talk to the local stack.

    Both region variables: boto3 and the AWS CLI read ``AWS_DEFAULT_REGION`` (a plain
    ``boto3.client("sqs")`` raises NoRegionError without it), while other SDKs and Lambda use ``AWS_REGION``.
    """
    return {
        **clients.environment(),
        Env.AWS_ENDPOINT_URL: deployment.aws_endpoint,
        **deployment.resource_environment(settings),
    }
