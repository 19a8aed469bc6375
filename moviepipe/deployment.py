"""The deployment of moviepipe, declared once as plain data: functions, triggers, topic, queues,
subscriptions, tables and the settings they share.

Why a declaration: the same resources exist in three places — on AWS (created by the Terraform in
``infra/``), on the embedded AWS of the local stack, and in the tests. Each reads *this* data instead of
spelling names and settings itself, so they cannot drift apart. ``infra/deployment.json`` is generated
from it (``python -m moviepipe.deployment``; a unit test fails when the committed file is stale) and the
Terraform reads it with ``jsondecode(file(...))``.

Physical names are ``<name prefix>-<suffix>``; the default prefix gives the names of
:class:`moviepipe.runtime.settings.Resources`, which this module reuses rather than repeats. Every value a
function's environment needs is a :class:`Ref` to a declared resource or setting, resolved by whoever
deploys (Terraform on AWS, the local stack on the embedded AWS).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

from movie_events.parsing import TYPE_ATTRIBUTE
from moviepipe.runtime.settings import Env, Resources

NAME_PREFIX: Final = Resources.PREFIX
#: The Lambda runtime the packages are built for (``make package``) and the functions run on.
RUNTIME: Final = "python3.12"
ARCHITECTURES: Final = ("x86_64", "arm64")
#: The shared package per architecture that ``make package`` writes, relative to its output folder.
PACKAGE_FILE: Final = "moviepipe-{architecture}.zip"


def _suffix(name: str) -> str:
    """The part of a :class:`Resources` name after the prefix (``moviepipe-movies`` → ``movies``)."""
    head = NAME_PREFIX + "-"
    if not name.startswith(head):
        raise ValueError(f"{name!r} does not start with {head!r}")
    return name[len(head) :]


@dataclass(frozen=True)
class Ref:
    """A value known only once deployed: ``<kind>.<key>.<attribute>``, e.g. ``topic.events.arn``.

    Kinds: ``topic`` (arn, name), ``queue`` (url, arn, name), ``table`` (name, arn, stream_arn) and
    ``setting`` (value: an entry of :attr:`Deployment.settings`, lists joined with commas).
    """

    kind: Literal["topic", "queue", "table", "setting"]
    key: str
    attribute: str = "value"

    def __str__(self) -> str:
        return f"{self.kind}.{self.key}.{self.attribute}"


@dataclass(frozen=True)
class Topic:
    key: str
    suffix: str
    #: SNS server-side encryption with the AWS managed key: publishers need no KMS permission.
    kms_master_key: str = "alias/aws/sns"


@dataclass(frozen=True)
class Queue:
    key: str
    suffix: str
    visibility_timeout_seconds: int = 30
    retention_seconds: int = 345_600
    #: Key of the queue that receives a message after ``max_receive_count`` receives (None: none).
    dead_letter_queue: str | None = None
    max_receive_count: int | None = None
    #: Keys of the queues allowed to use this one as their DLQ (its redrive-allow policy).
    dead_letter_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subscription:
    key: str
    topic: str
    queue: str
    raw_message_delivery: bool
    #: Message attribute → allowed values (an SNS filter policy on message attributes).
    filter_policy: dict[str, list[str]]


@dataclass(frozen=True)
class Table:
    """A DynamoDB table. Every table also gets point-in-time recovery, deletion protection and
    encryption at rest from the Terraform: those are policy for all tables, not per-table settings."""

    key: str
    suffix: str
    hash_key: str = "id"
    hash_key_type: Literal["S", "N", "B"] = "S"
    billing_mode: Literal["PAY_PER_REQUEST"] = "PAY_PER_REQUEST"
    ttl_attribute: str | None = None
    stream_view_type: Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"] | None = None


@dataclass(frozen=True)
class SqsTrigger:
    """An SQS event source mapping."""

    queue: str
    batch_size: int
    batching_window_seconds: int
    #: Upper bound on concurrent invocations from this queue (AWS allows 2 to 1000).
    maximum_concurrency: int
    report_batch_item_failures: bool = True
    kind: Literal["sqs"] = "sqs"


@dataclass(frozen=True)
class StreamTrigger:
    """A DynamoDB stream event source mapping."""

    table: str
    batch_size: int
    batching_window_seconds: int
    starting_position: Literal["TRIM_HORIZON", "LATEST"]
    bisect_batch_on_function_error: bool
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    parallelization_factor: int
    #: Key of the queue that receives the metadata of a batch given up on.
    on_failure_queue: str
    report_batch_item_failures: bool = True
    kind: Literal["dynamodb_stream"] = "dynamodb_stream"


@dataclass(frozen=True)
class HttpTrigger:
    """An API Gateway REST API (proxy integration) in front of the function."""

    stage: str
    throttling_burst_limit: int
    throttling_rate_limit: float
    kind: Literal["http"] = "http"


Trigger = SqsTrigger | StreamTrigger | HttpTrigger


@dataclass(frozen=True)
class Function:
    key: str
    suffix: str
    #: Import path of the Lambda entry point, ``package.module.function``.
    handler: str
    trigger: Trigger
    timeout_seconds: int
    memory_mb: int
    #: Environment variable (a name of :class:`Env`) → where its value comes from.
    environment: dict[str, Ref] = field(default_factory=dict)


_Keyed = TypeVar("_Keyed", Topic, Queue, Subscription, Table, Function)


@dataclass(frozen=True)
class Deployment:
    name_prefix: str
    runtime: str
    architectures: tuple[str, ...]
    package_file: str
    topics: tuple[Topic, ...]
    queues: tuple[Queue, ...]
    subscriptions: tuple[Subscription, ...]
    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    #: Values of ``setting`` references; the deployer may override the email ones (Terraform variables).
    settings: dict[str, Any]

    def name(self, suffix: str, prefix: str | None = None) -> str:
        """The physical name of a resource: ``<prefix>-<suffix>``."""
        return f"{prefix or self.name_prefix}-{suffix}"

    def topic(self, key: str) -> Topic:
        return _one(self.topics, key)

    def queue(self, key: str) -> Queue:
        return _one(self.queues, key)

    def table(self, key: str) -> Table:
        return _one(self.tables, key)

    def function(self, key: str) -> Function:
        return _one(self.functions, key)

    def subscription(self, key: str) -> Subscription:
        return _one(self.subscriptions, key)

    def with_queue(self, key: str, **changes: Any) -> Deployment:
        """This deployment with declared values of one queue overridden, e.g. a short visibility timeout
        for the local stack. Explicit on purpose: an unknown field raises TypeError, and every other
        value stays the declared one."""
        queues = tuple(dataclasses.replace(q, **changes) if q.key == key else q for q in self.queues)
        self.queue(key)  # KeyError for an undeclared queue
        return dataclasses.replace(self, queues=queues)

    def with_settings(self, **changes: Any) -> Deployment:
        """This deployment with some :attr:`settings` overridden (the email ones, as Terraform variables
        override them on AWS); a setting that is not declared raises KeyError."""
        for name in changes:
            if name not in self.settings:
                raise KeyError(name)
        return dataclasses.replace(self, settings={**self.settings, **changes})


def _one(items: tuple[_Keyed, ...], key: str) -> _Keyed:
    for item in items:
        if item.key == key:
            return item
    raise KeyError(key)


#: Six times the consumer's timeout, as AWS recommends for SQS event sources (Resources says so too).
_CONSUMER_TIMEOUT = Resources.CONSUMER_TIMEOUT_SECONDS

DEPLOYMENT: Final = Deployment(
    name_prefix=NAME_PREFIX,
    runtime=RUNTIME,
    architectures=ARCHITECTURES,
    package_file=PACKAGE_FILE,
    topics=(Topic("events", _suffix(Resources.EVENTS_TOPIC)),),
    queues=(
        Queue(
            "email",
            _suffix(Resources.EMAIL_QUEUE),
            visibility_timeout_seconds=Resources.QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            retention_seconds=Resources.DLQ_RETENTION_SECONDS,
            dead_letter_queue="email_dlq",
            max_receive_count=Resources.MAX_RECEIVE_COUNT,
        ),
        Queue(
            "email_dlq",
            _suffix(Resources.EMAIL_DLQ),
            retention_seconds=Resources.DLQ_RETENTION_SECONDS,
            dead_letter_for=("email",),
        ),
        # The outbox relay's on-failure destination: metadata of stream batches given up on (which
        # shard, which sequence numbers), kept as long as SQS can, for an operator to replay.
        Queue("relay_failures", "outbox-relay-failures", retention_seconds=Resources.DLQ_RETENTION_SECONDS),
    ),
    subscriptions=(
        Subscription(
            "email",
            topic="events",
            queue="email",
            raw_message_delivery=True,
            filter_policy={TYPE_ATTRIBUTE: list(Resources.EMAIL_FILTER_TYPES)},
        ),
    ),
    tables=(
        # The Powertools idempotency schema: partition key ``id``, expiry epoch seconds in ``expiration``.
        Table("idempotency", _suffix(Resources.IDEMPOTENCY_TABLE), ttl_attribute="expiration"),
        Table("movies", _suffix(Resources.MOVIES_TABLE), stream_view_type="NEW_AND_OLD_IMAGES"),
    ),
    functions=(
        Function(
            "email_notification",
            "email-notification",
            handler="consumers.email_notification.handler.lambda_handler",
            trigger=SqsTrigger(
                queue="email",
                batch_size=Resources.BATCH_SIZE,
                batching_window_seconds=0,
                # AWS's minimum. With ``batch_concurrency`` sends in flight per invocation, at most
                # 2 x 5 = 10 SES calls are in flight at once, below SES's default quota of 14 emails a
                # second; a burst SES still throttles is a transient failure, redelivered by SQS.
                maximum_concurrency=2,
            ),
            timeout_seconds=_CONSUMER_TIMEOUT,
            memory_mb=512,
            environment={
                Env.IDEMPOTENCY_TABLE_NAME: Ref("table", "idempotency", "name"),
                Env.IDEMPOTENCY_TTL_SECONDS: Ref("setting", "idempotency_ttl_seconds"),
                Env.EMAIL_SENDER: Ref("setting", "email_sender"),
                Env.EMAIL_RECIPIENTS: Ref("setting", "email_recipients"),
                Env.DEAD_LETTER_QUEUE_URL: Ref("queue", "email_dlq", "url"),
                Env.BATCH_CONCURRENCY: Ref("setting", "batch_concurrency"),
                Env.LEGACY_DEDUP_WINDOW_SECONDS: Ref("setting", "legacy_dedup_window_seconds"),
                Env.PYDANTIC_DISABLE_PLUGINS: Ref("setting", "pydantic_disable_plugins"),
            },
        ),
        Function(
            "movies_api",
            "movies-api",
            handler="producers.movies_api.handler.lambda_handler",
            trigger=HttpTrigger(stage="live", throttling_burst_limit=50, throttling_rate_limit=25.0),
            # API Gateway gives up after 29 seconds; a CRUD call needs well under one.
            timeout_seconds=10,
            memory_mb=256,
            environment={
                Env.MOVIES_TABLE_NAME: Ref("table", "movies", "name"),
                # Idempotency-Key on POST: remembered in the idempotency table under its own prefix.
                Env.IDEMPOTENCY_TABLE_NAME: Ref("table", "idempotency", "name"),
                Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS: Ref("setting", "movies_api_idempotency_ttl_seconds"),
                Env.MOVIES_API_REQUIRE_IF_MATCH: Ref("setting", "movies_api_require_if_match"),
                Env.PYDANTIC_DISABLE_PLUGINS: Ref("setting", "pydantic_disable_plugins"),
            },
        ),
        Function(
            "outbox_relay",
            "outbox-relay",
            handler="producers.outbox_relay.handler.lambda_handler",
            trigger=StreamTrigger(
                table="movies",
                batch_size=100,
                batching_window_seconds=0,
                # From the oldest record: every committed change must become an event.
                starting_position="TRIM_HORIZON",
                bisect_batch_on_function_error=True,
                maximum_retry_attempts=10,
                # The stream keeps records 24 hours; give up (to the on-failure queue) before they expire.
                maximum_record_age_seconds=86_400,
                # One batch per shard at a time keeps each movie's changes in order.
                parallelization_factor=1,
                on_failure_queue="relay_failures",
            ),
            timeout_seconds=30,
            memory_mb=256,
            environment={
                Env.EVENTS_TOPIC_ARN: Ref("topic", "events", "arn"),
                Env.PYDANTIC_DISABLE_PLUGINS: Ref("setting", "pydantic_disable_plugins"),
            },
        ),
    ),
    settings={
        "email_sender": Resources.EMAIL_SENDER,
        "email_recipients": list(Resources.EMAIL_RECIPIENTS),
        "idempotency_ttl_seconds": Resources.IDEMPOTENCY_TTL_SECONDS,
        "batch_concurrency": 5,
        "legacy_dedup_window_seconds": Resources.LEGACY_DEDUP_WINDOW_SECONDS,
        "movies_api_idempotency_ttl_seconds": Resources.MOVIES_API_IDEMPOTENCY_TTL_SECONDS,
        # "true" for the strict mode (If-Match required to replace or delete); docs/api.md.
        "movies_api_require_if_match": "false",
        # Every function: pydantic skips plugin discovery (an entry-point scan of every installed
        # distribution, ~10 ms of the first model build on the benchmark machine); none uses a plugin.
        "pydantic_disable_plugins": "__all__",
    },
)


def deployment_document(deployment: Deployment = DEPLOYMENT) -> dict[str, Any]:
    """The declaration as JSON-ready data, keyed by each resource's key (what the Terraform reads).

    References become their ``kind.key.attribute`` strings; each resource carries its default
    physical ``name`` beside its ``suffix`` so a reader needs no string arithmetic to find it.
    """

    def plain(item: Any) -> dict[str, Any]:
        data = dataclasses.asdict(item)
        data.pop("key")
        if "suffix" in data:
            data["name"] = deployment.name(data["suffix"])
        return data

    def keyed(items: tuple[Any, ...]) -> dict[str, Any]:
        return {item.key: plain(item) for item in items}

    functions = keyed(deployment.functions)
    for function in deployment.functions:
        functions[function.key]["environment"] = {
            name: str(ref) for name, ref in function.environment.items()
        }
    document = {
        "name_prefix": deployment.name_prefix,
        "runtime": deployment.runtime,
        "architectures": list(deployment.architectures),
        "package_file": deployment.package_file,
        "topics": keyed(deployment.topics),
        "queues": keyed(deployment.queues),
        "subscriptions": keyed(deployment.subscriptions),
        "tables": keyed(deployment.tables),
        "functions": functions,
        "settings": deployment.settings,
    }
    result: dict[str, Any] = json.loads(json.dumps(document))  # tuples become lists, as JSON has them
    return result


def render_deployment_json(deployment: Deployment = DEPLOYMENT) -> str:
    return json.dumps(deployment_document(deployment), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "infra/deployment.json")
    target.write_text(render_deployment_json(), encoding="utf-8")
    print(target)
