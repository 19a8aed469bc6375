"""Create moviepipe's AWS resources on an (embedded) AWS endpoint from the declaration in
:mod:`moviepipe.deployment`: the same topic, queues, DLQs and redrive, subscription (filter policy, raw
delivery), queue policy and tables (keys, TTL, stream) as the Terraform creates on AWS. Idempotent:
running it twice changes nothing.

Values differ from the declaration only where a caller overrides them explicitly, on a copy of the
declaration (:meth:`~moviepipe.deployment.Deployment.with_queue`; the local stack shortens the
visibility timeout) or by name (a test's FIFO queue, the demo's audit queue).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from moviepipe.deployment import DEPLOYMENT, Deployment, Queue, Ref, Subscription, Table
from moviepipe.runtime.aws import BOTO3_DEFAULTS, Clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

_Item = TypeVar("_Item", Queue, Subscription)


@dataclass(frozen=True)
class Messaging:
    """One subscription's resources: topic → queue → DLQ."""

    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    subscription_arn: str


@dataclass(frozen=True)
class ProvisionedQueue:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class ProvisionedTable:
    name: str
    arn: str
    stream_arn: str | None


@dataclass(frozen=True)
class Provisioned:
    """Every declared resource as created, keyed as the declaration keys them."""

    deployment: Deployment
    topics: dict[str, str]  # key → ARN
    queues: dict[str, ProvisionedQueue]
    tables: dict[str, ProvisionedTable]
    subscriptions: dict[str, str]  # key → subscription ARN

    def messaging(self, subscription: str) -> Messaging:
        declared = self.deployment.subscription(subscription)
        queue = self.queues[declared.queue]
        dlq_key = self.deployment.queue(declared.queue).dead_letter_queue
        if dlq_key is None:
            raise ValueError(f"queue {declared.queue!r} has no dead-letter queue")
        dlq = self.queues[dlq_key]
        return Messaging(
            self.topics[declared.topic],
            queue.url,
            queue.arn,
            dlq.url,
            dlq.arn,
            self.subscriptions[subscription],
        )

    def resolve(self, ref: Ref) -> str:
        """The deployed value of a reference, as a function's environment gets it."""
        if ref.kind == "setting":
            value = self.deployment.settings[ref.key]
            return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        if ref.kind == "topic":
            arn = self.topics[ref.key]
            return {"arn": arn, "name": arn.rsplit(":", 1)[-1]}[ref.attribute]
        if ref.kind == "queue":
            queue = self.queues[ref.key]
            return {"url": queue.url, "arn": queue.arn, "name": queue.name}[ref.attribute]
        table = self.tables[ref.key]
        value = {"name": table.name, "arn": table.arn, "stream_arn": table.stream_arn}[ref.attribute]
        if value is None:
            raise ValueError(f"{ref}: table {ref.key!r} has no stream")
        return value

    def environment(self, function: str) -> dict[str, str]:
        """A function's declared environment mapping, resolved against these resources."""
        declared = self.deployment.function(function)
        return {name: self.resolve(ref) for name, ref in declared.environment.items()}


def provision(
    deployment: Deployment = DEPLOYMENT,
    *,
    clients: Clients | None = None,
    sns: SNSClient | None = None,
    sqs: SQSClient | None = None,
    dynamodb: DynamoDBClient | None = None,
) -> Provisioned:
    """Create every topic, queue, subscription and table the deployment declares (through ``clients``;
    None: boto3's defaults)."""
    clients = clients or BOTO3_DEFAULTS
    sns = sns or clients.sns()
    sqs = sqs or clients.sqs()
    dynamodb = dynamodb or clients.dynamodb()
    topics = {t.key: create_topic(sns, deployment.name(t.suffix)) for t in deployment.topics}
    queues: dict[str, ProvisionedQueue] = {}
    for queue in _dead_letter_queues_first(deployment.queues):
        dlq = queues[queue.dead_letter_queue] if queue.dead_letter_queue else None
        queues[queue.key] = create_queue(sqs, queue, deployment.name(queue.suffix), dead_letter=dlq)
    for queue in deployment.queues:
        if queue.dead_letter_for:
            allow_redrive_from(sqs, queues[queue.key], [queues[k] for k in queue.dead_letter_for])
    subscriptions = {
        s.key: subscribe(sns, sqs, s, topic_arn=topics[s.topic], queue=queues[s.queue])
        for s in deployment.subscriptions
    }
    tables = {t.key: create_table(dynamodb, t, deployment.name(t.suffix)) for t in deployment.tables}
    return Provisioned(deployment, topics, queues, tables, subscriptions)


def provision_messaging(
    *,
    deployment: Deployment = DEPLOYMENT,
    subscription: str = "email",
    topic_name: str | None = None,
    queue_name: str | None = None,
    dlq_name: str | None = None,
    event_types: tuple[str, ...] | None = None,
    max_receive_count: int | None = None,
    visibility_timeout: int | None = None,
    sns: SNSClient | None = None,
    sqs: SQSClient | None = None,
    clients: Clients | None = None,
) -> Messaging:
    """One declared subscription's topic → queue (raw delivery, filter policy) → DLQ (redrive after
    max receives), each value the declared one unless given here (names ending in ``.fifo`` make FIFO
    resources)."""
    clients = clients or BOTO3_DEFAULTS
    sns = sns or clients.sns()
    sqs = sqs or clients.sqs()
    declared = deployment.subscription(subscription)
    queue = deployment.queue(declared.queue)
    if queue.dead_letter_queue is None:
        raise ValueError(f"queue {queue.key!r} has no dead-letter queue")
    dlq_declared = deployment.queue(queue.dead_letter_queue)
    if max_receive_count is not None:
        queue = _replace(queue, max_receive_count=max_receive_count)
    if visibility_timeout is not None:
        queue = _replace(queue, visibility_timeout_seconds=visibility_timeout)
    if event_types is not None:
        filter_policy = {**declared.filter_policy, _only_key(declared.filter_policy): list(event_types)}
        declared = _replace(declared, filter_policy=filter_policy)
    topic_arn = create_topic(sns, topic_name or deployment.name(deployment.topic(declared.topic).suffix))
    dlq = create_queue(sqs, dlq_declared, dlq_name or deployment.name(dlq_declared.suffix))
    created = create_queue(sqs, queue, queue_name or deployment.name(queue.suffix), dead_letter=dlq)
    allow_redrive_from(sqs, dlq, [created])
    subscription_arn = subscribe(sns, sqs, declared, topic_arn=topic_arn, queue=created)
    return Messaging(topic_arn, created.url, created.arn, dlq.url, dlq.arn, subscription_arn)


def create_topic(sns: SNSClient, name: str) -> str:
    attributes = {"FifoTopic": "true"} if name.endswith(".fifo") else {}
    return str(sns.create_topic(Name=name, Attributes=attributes)["TopicArn"])


def create_queue(
    sqs: SQSClient, queue: Queue, name: str, *, dead_letter: ProvisionedQueue | None = None
) -> ProvisionedQueue:
    """A queue with its declared visibility timeout and retention, and redrive to ``dead_letter``
    after the declared maximum receives."""
    attributes: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.retention_seconds),
    }
    if name.endswith(".fifo"):
        attributes["FifoQueue"] = "true"
    if dead_letter is not None:
        if queue.max_receive_count is None:
            raise ValueError(f"queue {queue.key!r} has a dead-letter queue but no max_receive_count")
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": queue.max_receive_count}
        )
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    return ProvisionedQueue(name, url, queue_arn(sqs, url))


def allow_redrive_from(sqs: SQSClient, dlq: ProvisionedQueue, sources: list[ProvisionedQueue]) -> None:
    """The DLQ's redrive-allow policy: only the declared source queues may use it."""
    policy = {"redrivePermission": "byQueue", "sourceQueueArns": [s.arn for s in sources]}
    sqs.set_queue_attributes(QueueUrl=dlq.url, Attributes={"RedriveAllowPolicy": json.dumps(policy)})


def subscribe(
    sns: SNSClient, sqs: SQSClient, subscription: Subscription, *, topic_arn: str, queue: ProvisionedQueue
) -> str:
    """Let the topic (and only it) send to the queue, then subscribe the queue with the declared filter
    policy and raw delivery."""
    sqs.set_queue_attributes(
        QueueUrl=queue.url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue.arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                        }
                    ],
                }
            )
        },
    )
    return str(
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue.arn,
            Attributes={
                "RawMessageDelivery": "true" if subscription.raw_message_delivery else "false",
                "FilterPolicy": json.dumps(subscription.filter_policy),
            },
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
    )


def queue_arn(sqs: SQSClient, queue_url: str) -> str:
    """The ARN of a queue, from its URL."""
    return str(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def create_table(dynamodb: DynamoDBClient, table: Table, name: str) -> ProvisionedTable:
    """A table with its declared key, billing mode, stream and TTL."""
    extra: dict[str, Any] = {}
    if table.stream_view_type is not None:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
    try:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": table.hash_key, "AttributeType": table.hash_key_type}],
            KeySchema=[{"AttributeName": table.hash_key, "KeyType": "HASH"}],
            BillingMode=table.billing_mode,
            **extra,
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass
    else:
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    if table.ttl_attribute is not None:
        with contextlib.suppress(dynamodb.exceptions.ClientError):  # "TTL is already enabled" on a rerun
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    description = dynamodb.describe_table(TableName=name)["Table"]
    stream = description.get("LatestStreamArn")
    return ProvisionedTable(name, str(description["TableArn"]), str(stream) if stream else None)


def provision_idempotency_table(
    name: str | None = None,
    *,
    deployment: Deployment = DEPLOYMENT,
    dynamodb: DynamoDBClient | None = None,
    clients: Clients | None = None,
) -> str:
    """The declared idempotency table (Powertools' schema, TTL on its expiry attribute); its name."""
    declared = deployment.table("idempotency")
    return create_table(
        dynamodb or (clients or BOTO3_DEFAULTS).dynamodb(), declared, name or deployment.name(declared.suffix)
    ).name


def provision_movies_table(
    name: str | None = None,
    *,
    deployment: Deployment = DEPLOYMENT,
    dynamodb: DynamoDBClient | None = None,
    clients: Clients | None = None,
) -> str:
    """The declared Movies table with its stream; returns the stream ARN."""
    declared = deployment.table("movies")
    table = create_table(
        dynamodb or (clients or BOTO3_DEFAULTS).dynamodb(), declared, name or deployment.name(declared.suffix)
    )
    assert table.stream_arn is not None, "the Movies table is declared with a stream"
    return table.stream_arn


def verify_sender(
    address: str | None = None, *, sesv2: SESV2Client | None = None, clients: Clients | None = None
) -> None:
    """A verified SES identity for the sender, the declared one unless given (moto, like SES in the
    sandbox, refuses unverified ones)."""
    address = address or str(DEPLOYMENT.settings["email_sender"])
    clients = clients or BOTO3_DEFAULTS
    sesv2 = sesv2 or clients.sesv2()
    with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_identity(EmailIdentity=address)
    # moto's SES v1 and v2 keep separate identity lists in some versions: verify through both.
    clients.ses().verify_email_identity(EmailAddress=address)


def _dead_letter_queues_first(queues: tuple[Queue, ...]) -> list[Queue]:
    """Queues ordered so that each DLQ exists before the queue that redrives to it."""
    return sorted(queues, key=lambda q: q.dead_letter_queue is not None)


def _only_key(policy: dict[str, list[str]]) -> str:
    (key,) = policy
    return key


def _replace(item: _Item, **changes: Any) -> _Item:
    return dataclasses.replace(item, **changes)
