"""The Terraform in infra/ applied to the embedded AWS: resources as declared, a smoke event through
them, a clean second plan, and a destroy that leaves nothing behind.

One module-scoped fixture applies once (about a minute) and plans once; the tests read what it made.
The destroy runs at teardown and fails the run if anything is left. Skipped, saying why, where the
terraform binary is absent; on this project's machines it is present and runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from consumers.email_notification import handler as email_handler
from movie_events import MovieCreated
from movie_events.parsing import TYPE_ATTRIBUTE
from moviepipe.deployment import DEPLOYMENT, SqsTrigger
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.sqs_events import to_lambda_event
from moviepipe.packaging import Target, build, package_path
from producers.publisher import EventPublisher
from tests.support.aws import environment
from tests.support.terraform import (
    Terraform,
    TerraformTargetAWS,
    cli_config,
    find_provider_mirror,
    terraform_environment,
)

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
ARCHITECTURE = "x86_64"

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.skipif(
        shutil.which("terraform") is None,
        reason="the terraform binary is not on PATH: install Terraform >= 1.6 to run the deployment tests",
    ),
]

#: What moto cannot do, turned off for this run only (docs/deploy.md lists them). Everything else in
#: the root module is created exactly as on AWS.
MOTO_GAPS = {
    # moto's SQS does not know the RedriveAllowPolicy attribute (GetQueueAttributes refuses it).
    "redrive_allow_policy": "false",
    # moto's SES v2 GetConfigurationSet answers SendingOptions.SendingEnabled with an object, which
    # the provider cannot decode.
    "ses_configuration_set": "false",
}


@dataclass
class Deployed:
    tf: Terraform
    aws: TerraformTargetAWS
    outputs: dict[str, Any]
    second_plan: Any

    def client(self, service: str) -> Any:
        factory: Any = boto3.client  # typed per service by the stubs; any service here
        return factory(
            service,
            endpoint_url=self.aws.endpoint_url,
            region_name=self.aws.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def plugin_cache() -> Path:
    cache = ROOT / "build" / "terraform-plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory, plugin_cache: Path) -> Iterator[Terraform]:
    """A copy of infra/ (the committed files, no state) initialised with the provider mirror if any."""
    base = tmp_path_factory.mktemp("terraform")
    workdir = base / "infra"
    shutil.copytree(INFRA, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    config = base / "cli.tfrc"
    config.write_text(cli_config(find_provider_mirror(), plugin_cache), encoding="utf-8")
    tf = Terraform(workdir, terraform_environment(os.environ, config_file=config))
    tf.run("init", "-input=false", "-no-color").check()
    yield tf


@pytest.fixture(scope="module")
def deployed(initialised: Terraform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    packages = tmp_path_factory.mktemp("lambda")
    # The zip `make package` builds (python3.12 manylinux wheels, boto3 left to the runtime), so the
    # deployment applies exactly what would ship. Wheels are cached in build/wheels, as for make package.
    built = build(
        Target.lambda_runtime(ARCHITECTURE),
        package_path(packages, ARCHITECTURE),
        root=ROOT,
        wheel_cache=ROOT / "build" / "wheels",
    )
    assert Path(built.path).name == DEPLOYMENT.package_file.format(architecture=ARCHITECTURE)
    server = TerraformTargetAWS()
    server.start()
    server.reset()  # moto's state is per process: start from an empty account
    tf = Terraform(
        initialised.workdir, {**initialised.env, **server.environment()}, timings=initialised.timings
    )
    variables = [
        f"-var=lambda_package_dir={packages}",
        f"-var=architecture={ARCHITECTURE}",
        "-var=deletion_protection=false",
        *(f"-var={name}={value}" for name, value in MOTO_GAPS.items()),
    ]
    try:
        tf.run("apply", "-input=false", "-no-color", "-auto-approve", *variables).check()
        outputs = tf.outputs()
        second_plan = tf.run("plan", "-input=false", "-no-color", "-detailed-exitcode", *variables)
        yield Deployed(tf, server, outputs, second_plan)
        destroyed = tf.run("destroy", "-input=false", "-no-color", "-auto-approve", *variables).check()
        assert "Destroy complete!" in destroyed.stdout
        left = Deployed(tf, server, outputs, None)
        assert left.client("sqs").list_queues().get("QueueUrls", []) == []
        assert left.client("dynamodb").list_tables()["TableNames"] == []
        assert left.client("lambda").list_functions()["Functions"] == []
        assert left.client("sns").list_topics()["Topics"] == []
        print(  # shown with -s or -rP: the figures docs/deploy.md quotes
            "terraform timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in tf.timings.items())
        )
    finally:
        server.stop()


# -- static checks ---------------------------------------------------------------------------------
def test_fmt_check() -> None:
    done = Terraform(INFRA, dict(os.environ)).run("fmt", "-check", "-recursive", "-diff", "-no-color")
    assert done.returncode == 0, f"terraform fmt would change:\n{done.stdout}{done.stderr}"


def test_validate(initialised: Terraform) -> None:
    done = initialised.run("validate", "-json", "-no-color")
    report = json.loads(done.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


def evaluate(tf: Terraform, expression: str, *variables: str) -> Any:
    """The value of an expression of the root module (no state needed), through ``terraform console``."""
    done = subprocess.run(
        [tf.binary, "console", *variables],
        input=f"jsonencode({expression})\n",
        cwd=tf.workdir,
        env=tf.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(json.loads(done.stdout.strip()))


def test_variables_default_to_the_declaration_and_override_it(initialised: Terraform) -> None:
    declared = DEPLOYMENT.function("email_notification").trigger
    assert isinstance(declared, SqsTrigger)
    defaults = evaluate(initialised, "[local.consumer_trigger, local.max_receive_count, local.settings]")
    assert defaults[0]["batch_size"] == declared.batch_size
    assert defaults[0]["maximum_concurrency"] == declared.maximum_concurrency
    assert defaults[1] == {"email": DEPLOYMENT.queue("email").max_receive_count}
    assert defaults[2]["email_recipients"] == DEPLOYMENT.settings["email_recipients"]
    overridden = evaluate(
        initialised,
        "[local.consumer_trigger, local.max_receive_count, local.settings]",
        "-var=batch_size=50",
        "-var=batching_window_seconds=2",
        "-var=maximum_concurrency=4",
        "-var=max_receive_count=3",
        '-var=email_recipients=["a@example.org","b@example.org"]',
    )
    trigger = overridden[0]
    assert (trigger["batch_size"], trigger["batching_window_seconds"], trigger["maximum_concurrency"]) == (
        50,
        2,
        4,
    )
    assert overridden[0]["report_batch_item_failures"] is True
    assert overridden[1] == {"email": 3}
    assert overridden[2]["email_recipients"] == ["a@example.org", "b@example.org"]


# -- the second plan -------------------------------------------------------------------------------
def test_second_plan_is_clean(deployed: Deployed) -> None:
    plan = deployed.second_plan
    assert plan.returncode == 0, (
        f"a plan right after apply wants changes:\n{plan.stdout[-6000:]}{plan.stderr}"
    )
    assert "No changes." in plan.stdout


# -- what was created ------------------------------------------------------------------------------
def test_topic_is_encrypted(deployed: Deployed) -> None:
    attributes = deployed.client("sns").get_topic_attributes(TopicArn=deployed.outputs["topic_arn"])[
        "Attributes"
    ]
    assert attributes["KmsMasterKeyId"] == DEPLOYMENT.topic("events").kms_master_key


def test_queues_redrive_to_the_dlq_and_only_the_topic_may_send(deployed: Deployed) -> None:
    sqs = deployed.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=deployed.outputs["queue_url"], AttributeNames=["All"])[
        "Attributes"
    ]
    dlq = sqs.get_queue_attributes(QueueUrl=deployed.outputs["dlq_url"], AttributeNames=["All"])["Attributes"]
    consumer = DEPLOYMENT.function("email_notification")
    assert int(queue["VisibilityTimeout"]) >= 6 * consumer.timeout_seconds
    assert int(dlq["MessageRetentionPeriod"]) == 14 * 24 * 3600
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq["QueueArn"],
        "maxReceiveCount": DEPLOYMENT.queue("email").max_receive_count,
    }
    assert queue["SqsManagedSseEnabled"] == "true" and dlq["SqsManagedSseEnabled"] == "true"
    (statement,) = json.loads(queue["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == queue["QueueArn"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": deployed.outputs["topic_arn"]}}


def test_subscription_is_raw_and_filtered_on_type(deployed: Deployed) -> None:
    sns = deployed.client("sns")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=deployed.outputs["topic_arn"])["Subscriptions"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"
    ]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == DEPLOYMENT.subscription("email").filter_policy


def test_tables_keys_ttl_recovery_and_stream(deployed: Deployed) -> None:
    dynamodb = deployed.client("dynamodb")
    names = deployed.outputs["table_names"]
    for table in DEPLOYMENT.tables:
        described = dynamodb.describe_table(TableName=names[table.key])["Table"]
        assert described["KeySchema"] == [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        backups = dynamodb.describe_continuous_backups(TableName=names[table.key])
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
        ttl = dynamodb.describe_time_to_live(TableName=names[table.key])["TimeToLiveDescription"]
        if table.ttl_attribute:
            assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": table.ttl_attribute}
        stream = described.get("StreamSpecification", {"StreamEnabled": False})
        if table.stream_view_type:
            assert stream == {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
        else:
            assert not stream["StreamEnabled"]


def test_functions_as_declared_with_their_environment(deployed: Deployed) -> None:
    lambda_ = deployed.client("lambda")
    logs = deployed.client("logs")
    roles = set()
    for function in DEPLOYMENT.functions:
        config = lambda_.get_function_configuration(
            FunctionName=deployed.outputs["function_names"][function.key]
        )
        assert config["Runtime"] == DEPLOYMENT.runtime
        assert config["Handler"] == function.handler
        assert config["Timeout"] == function.timeout_seconds
        assert config["MemorySize"] == function.memory_mb
        assert config["Architectures"] == [ARCHITECTURE]
        assert set(config["Environment"]["Variables"]) == set(function.environment)
        roles.add(config["Role"])
        (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{config['FunctionName']}")[
            "logGroups"
        ]
        assert group["retentionInDays"] == 30
    assert len(roles) == len(DEPLOYMENT.functions), "each function has a role of its own"


def test_event_source_mappings(deployed: Deployed) -> None:
    names = deployed.outputs["function_names"]
    mappings = deployed.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    by_function = {m["FunctionArn"].rsplit(":", 1)[1]: m for m in mappings}
    assert len(mappings) == len(by_function) == 2
    sqs_mapping = by_function[names["email_notification"]]
    trigger = DEPLOYMENT.function("email_notification").trigger
    assert sqs_mapping["BatchSize"] == trigger.batch_size  # type: ignore[union-attr]
    assert sqs_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs_mapping["ScalingConfig"] == {"MaximumConcurrency": trigger.maximum_concurrency}  # type: ignore[union-attr]
    stream_mapping = by_function[names["outbox_relay"]]
    assert stream_mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream_mapping["BisectBatchOnFunctionError"] is True
    assert stream_mapping["MaximumRetryAttempts"] == 10
    assert stream_mapping["MaximumRecordAgeInSeconds"] == 86_400
    failures_arn = deployed.client("sqs").get_queue_attributes(
        QueueUrl=deployed.outputs["queue_urls"]["relay_failures"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert stream_mapping["DestinationConfig"]["OnFailure"]["Destination"] == failures_arn


def test_roles_name_every_action(deployed: Deployed) -> None:
    iam = deployed.client("iam")
    actions: dict[str, set[str]] = {}
    for key, name in deployed.outputs["function_names"].items():
        role = f"{name}-function"
        for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            for statement in document["Statement"]:
                assert statement["Effect"] == "Allow"
                listed = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert all("*" not in action for action in listed), statement
                actions.setdefault(key, set()).update(listed)
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert {"ses:SendEmail", "ses:SendRawEmail", "sqs:DeleteMessage"} <= actions["email_notification"]
    assert "sns:Publish" in actions["outbox_relay"] and "sns:Publish" not in actions["movies_api"]
    assert not any(action.startswith("ses:") for action in actions["movies_api"] | actions["outbox_relay"])


def test_api_stage_live_throttled(deployed: Deployed) -> None:
    apigateway = deployed.client("apigateway")
    assert deployed.outputs["api_url"].endswith("/live")
    (api,) = apigateway.get_rest_apis()["items"]
    stage = apigateway.get_stage(restApiId=api["id"], stageName="live")
    settings = stage["methodSettings"]["*/*"]
    trigger = DEPLOYMENT.function("movies_api").trigger
    assert settings["throttlingBurstLimit"] == trigger.throttling_burst_limit  # type: ignore[union-attr]
    assert settings["throttlingRateLimit"] == trigger.throttling_rate_limit  # type: ignore[union-attr]
    assert stage["accessLogSettings"]["destinationArn"].endswith(f":log-group:/aws/apigateway/{api['name']}")
    # Access logs need the account's logging role: the module sets it.
    assert apigateway.get_account()["cloudwatchRoleArn"].endswith(":role/moviepipe-apigateway-logs")


def test_alarms(deployed: Deployed) -> None:
    alarms = deployed.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)
        assert alarm["AlarmActions"] == [deployed.outputs["alarm_topic_arn"]]
    dlq_alarms = {a["Dimensions"][0]["Value"] for a in by_metric["ApproximateNumberOfMessagesVisible"]}
    assert deployed.outputs["dlq_url"].rsplit("/", 1)[1] in dlq_alarms
    assert all(a["Threshold"] == 0 for a in by_metric["ApproximateNumberOfMessagesVisible"])
    assert len(by_metric["ApproximateAgeOfOldestMessage"]) == 1
    assert {a["Dimensions"][0]["Value"] for a in by_metric["Errors"]} == set(
        deployed.outputs["function_names"].values()
    )
    assert len(by_metric["IteratorAge"]) == 1


# -- a smoke event through what Terraform made ------------------------------------------------------
def test_smoke_publish_queue_consumer_email(deployed: Deployed) -> None:
    """publish → topic → (filter, raw delivery) → queue → the consumer handler, run locally with the
    deployed function's environment → SES → one email; the same event again sends none."""
    names = deployed.outputs["function_names"]
    function_env = deployed.client("lambda").get_function_configuration(
        FunctionName=names["email_notification"]
    )["Environment"]["Variables"]
    sqs = deployed.client("sqs")
    queue_url = deployed.outputs["queue_url"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # On AWS the sender clicks the verification link SES mails; here the embedded AWS is told directly.
    deployed.client("ses").verify_email_identity(EmailAddress=function_env["EMAIL_SENDER"])
    deployed.aws.mail.clear()

    # The function as Terraform configured it: its deployed variables, through its composition root.
    consume = email_handler.build_from_environment(function_env, deployed.aws.clients())
    with environment(deployed.aws.environment()):
        publisher = EventPublisher(deployed.outputs["topic_arn"], clients=deployed.aws.clients())
        event = MovieCreated(data={"id": "tf-1", "title": "Up", "rating": 8.3, "genres": ["Animation"]})
        publisher.publish(event)
        # Not a movie event type: the subscription's filter keeps it out of the queue.
        deployed.client("sns").publish(
            TopicArn=deployed.outputs["topic_arn"],
            Message="{}",
            MessageAttributes={TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": "SomethingElse"}},
        )
        messages = _receive_all(sqs, queue_url)
        assert len(messages) == 1
        assert json.loads(messages[0]["Body"])["id"] == event.id  # raw delivery: the envelope itself
        for attempt in range(2):  # the second delivery is a duplicate: idempotency suppresses it
            context = LocalLambdaContext.new_invocation(names["email_notification"], 30)
            response = consume(dict(to_lambda_event(messages, queue_arn)), cast(Any, context))
            assert response == {"batchItemFailures": []}, attempt

    (email,) = deployed.aws.mail.emails
    assert email.sender == function_env["EMAIL_SENDER"]
    assert set(email.bcc) == set(function_env["EMAIL_RECIPIENTS"].split(","))
    assert "Up" in email.subject


def _receive_all(sqs: Any, queue_url: str, seconds: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        messages.extend(batch)
        if messages and not batch:
            break
    return messages
