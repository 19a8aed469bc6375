"""Create moviepipe's AWS resources on an (embedded) AWS endpoint, with the names in
:class:`movie_events.settings.Resources`. Idempotent: running it twice changes nothing."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from movie_events import aws
from movie_events.parsing import TYPE_ATTRIBUTE
from movie_events.settings import Resources


@dataclass(frozen=True)
class Messaging:
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    subscription_arn: str


def filter_policy(event_types: tuple[str, ...] = Resources.EMAIL_FILTER_TYPES) -> str:
    return json.dumps({TYPE_ATTRIBUTE: list(event_types)})


def provision_messaging(
    *,
    topic_name: str = Resources.EVENTS_TOPIC,
    queue_name: str = Resources.EMAIL_QUEUE,
    dlq_name: str = Resources.EMAIL_DLQ,
    event_types: tuple[str, ...] = Resources.EMAIL_FILTER_TYPES,
    max_receive_count: int = Resources.MAX_RECEIVE_COUNT,
    visibility_timeout: int = Resources.QUEUE_VISIBILITY_TIMEOUT_SECONDS,
    sns: Any = None,
    sqs: Any = None,
) -> Messaging:
    """Topic → queue (raw delivery, filter policy on ``Type``) → DLQ (redrive after max receives)."""
    sns = sns or aws.client("sns")
    sqs = sqs or aws.client("sqs")
    fifo = topic_name.endswith(".fifo")
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    topic_arn = sns.create_topic(Name=topic_name, Attributes={"FifoTopic": "true"} if fifo else {})[
        "TopicArn"
    ]
    dlq_url = sqs.create_queue(
        QueueName=dlq_name,
        Attributes={"MessageRetentionPeriod": str(Resources.DLQ_RETENTION_SECONDS), **fifo_attrs},
    )["QueueUrl"]
    dlq_arn = queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
            ),
            **fifo_attrs,
        },
    )["QueueUrl"]
    email_queue_arn = queue_arn(sqs, queue_url)
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": email_queue_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                        }
                    ],
                }
            )
        },
    )
    subscription_arn = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=email_queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": filter_policy(event_types)},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Messaging(topic_arn, queue_url, email_queue_arn, dlq_url, dlq_arn, subscription_arn)


def queue_arn(sqs: Any, queue_url: str) -> str:
    """The ARN of a queue, from its URL."""
    return str(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def provision_idempotency_table(name: str = Resources.IDEMPOTENCY_TABLE, *, dynamodb: Any = None) -> str:
    """DynamoDB table in the Powertools idempotency schema: partition key ``id``, TTL on ``expiration``."""
    dynamodb = dynamodb or aws.client("dynamodb")
    _create_table(dynamodb, name)
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    return name


def provision_movies_table(name: str = Resources.MOVIES_TABLE, *, dynamodb: Any = None) -> str:
    """The Movies table (partition key ``id``) with a NEW_AND_OLD_IMAGES stream; returns the stream ARN."""
    dynamodb = dynamodb or aws.client("dynamodb")
    _create_table(
        dynamodb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    return str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])


def verify_sender(address: str = Resources.EMAIL_SENDER, *, sesv2: Any = None) -> None:
    """A verified SES identity for the sender (moto, like SES in the sandbox, refuses unverified ones)."""
    sesv2 = sesv2 or aws.client("sesv2")
    with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_identity(EmailIdentity=address)
    # moto's SES v1 and v2 keep separate identity lists in some versions: verify through both.
    aws.client("ses").verify_email_identity(EmailAddress=address)


def _create_table(dynamodb: Any, name: str, **extra: Any) -> None:
    try:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
