"""The local stack's resources are the declared ones: what the embedded AWS reports after provisioning
is read back and compared with :data:`moviepipe.deployment.DEPLOYMENT`, so a declared value the local
provisioning ignored (or spelled itself) fails here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from moviepipe.deployment import DEPLOYMENT, Deployment
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.provision import Provisioned, provision
from moviepipe.runtime.settings import Env, Resources
from tests.support import aws as clients


def queue_attributes(url: str) -> dict[str, str]:
    return dict(
        clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    )


def check_matches(provisioned: Provisioned, deployment: Deployment) -> None:
    sns, dynamodb = clients.client("sns"), clients.client("dynamodb")
    for queue in deployment.queues:
        created = provisioned.queues[queue.key]
        assert created.name == deployment.name(queue.suffix)
        attributes = queue_attributes(created.url)
        assert int(attributes["VisibilityTimeout"]) == queue.visibility_timeout_seconds
        assert int(attributes["MessageRetentionPeriod"]) == queue.retention_seconds
        if queue.dead_letter_queue is None:
            assert "RedrivePolicy" not in attributes
        else:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] == provisioned.queues[queue.dead_letter_queue].arn
            assert int(redrive["maxReceiveCount"]) == queue.max_receive_count
        # The DLQs' redrive-allow policy (dead_letter_for) is set too, but moto accepts and drops that
        # attribute (GetQueueAttributes calls it unknown): it cannot be read back here.
    for subscription in deployment.subscriptions:
        topic_arn = provisioned.topics[subscription.topic]
        assert topic_arn.endswith(":" + deployment.name(deployment.topic(subscription.topic).suffix))
        endpoint = provisioned.queues[subscription.queue]
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=provisioned.subscriptions[subscription.key]
        )["Attributes"]
        assert attributes["Endpoint"] == endpoint.arn and attributes["TopicArn"] == topic_arn
        assert json.loads(attributes["FilterPolicy"]) == subscription.filter_policy
        assert attributes["RawMessageDelivery"] == str(subscription.raw_message_delivery).lower()
        [statement] = json.loads(queue_attributes(endpoint.url)["Policy"])["Statement"]
        assert statement["Resource"] == endpoint.arn
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}
    for table in deployment.tables:
        name = provisioned.tables[table.key].name
        description = dynamodb.describe_table(TableName=name)["Table"]
        assert description["KeySchema"] == [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
        assert description["BillingModeSummary"]["BillingMode"] == table.billing_mode
        stream = description.get("StreamSpecification", {})
        assert stream.get("StreamViewType") == table.stream_view_type
        assert (provisioned.tables[table.key].stream_arn is not None) == (table.stream_view_type is not None)
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if table.ttl_attribute is None:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
        else:
            assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == table.ttl_attribute


def test_every_declared_resource_is_created_as_declared(aws: EmbeddedAWS) -> None:
    provisioned = provision()
    check_matches(provisioned, DEPLOYMENT)
    assert set(provisioned.topics) == {t.key for t in DEPLOYMENT.topics}
    assert set(provisioned.queues) == {q.key for q in DEPLOYMENT.queues}
    assert set(provisioned.tables) == {t.key for t in DEPLOYMENT.tables}


def test_provisioning_twice_changes_nothing(aws: EmbeddedAWS) -> None:
    assert provision() == provision()


def test_overrides_are_explicit_and_change_only_what_they_name(aws: EmbeddedAWS) -> None:
    local = DEPLOYMENT.with_queue("email", visibility_timeout_seconds=1, max_receive_count=2)
    provisioned = provision(local)
    check_matches(provisioned, local)
    assert local.queue("email_dlq") == DEPLOYMENT.queue("email_dlq")
    assert local.queue("email").retention_seconds == DEPLOYMENT.queue("email").retention_seconds
    with pytest.raises(TypeError):
        DEPLOYMENT.with_queue("email", visibility=1)  # not a declared field: no silent no-op
    with pytest.raises(KeyError):
        DEPLOYMENT.with_queue("nope", visibility_timeout_seconds=1)
    with pytest.raises(KeyError):
        DEPLOYMENT.with_settings(sender="x@example.com")


def test_every_functions_environment_resolves_to_the_created_resources(aws: EmbeddedAWS) -> None:
    deployment = DEPLOYMENT.with_settings(email_recipients=["a@example.com", "b@example.com"])
    provisioned = provision(deployment)
    for function in deployment.functions:
        environment = provisioned.environment(function.key)
        assert set(environment) == set(function.environment)
    consumer: dict[str, Any] = provisioned.environment("email_notification")
    assert consumer[Env.DEAD_LETTER_QUEUE_URL] == provisioned.queues["email_dlq"].url
    assert consumer[Env.IDEMPOTENCY_TABLE_NAME] == provisioned.tables["idempotency"].name
    assert consumer[Env.EMAIL_RECIPIENTS] == "a@example.com,b@example.com"
    assert provisioned.environment("outbox_relay") == {
        Env.EVENTS_TOPIC_ARN: provisioned.topics["events"],
        Env.PYDANTIC_DISABLE_PLUGINS: "__all__",
    }
    assert provisioned.environment("movies_api") == {
        Env.MOVIES_TABLE_NAME: provisioned.tables["movies"].name,
        Env.IDEMPOTENCY_TABLE_NAME: provisioned.tables["idempotency"].name,
        Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS: str(Resources.MOVIES_API_IDEMPOTENCY_TTL_SECONDS),
        Env.MOVIES_API_REQUIRE_IF_MATCH: "false",
        Env.PYDANTIC_DISABLE_PLUGINS: "__all__",
    }
    assert consumer[Env.LEGACY_DEDUP_WINDOW_SECONDS] == str(Resources.LEGACY_DEDUP_WINDOW_SECONDS)
