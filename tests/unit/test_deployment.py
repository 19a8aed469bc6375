"""The declared deployment: committed JSON up to date, every reference resolvable, every handler
importable, the settings AWS requires, and the names the local stack uses today."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.email_notification.config import ConsumerConfig
from moviepipe.deployment import (
    DEPLOYMENT,
    Function,
    HttpTrigger,
    Ref,
    SqsTrigger,
    StreamTrigger,
    deployment_document,
    render_deployment_json,
)
from moviepipe.runtime.settings import Env, Resources
from tests.support.terraform import PROVIDER, cli_config, find_provider_mirror, mirror_candidates

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = {value for name, value in vars(Env).items() if name.isupper()}


def test_infra_deployment_json_is_up_to_date() -> None:
    committed = (ROOT / "infra" / "deployment.json").read_text(encoding="utf-8")
    assert committed == render_deployment_json(), "stale: run `python -m moviepipe.deployment`"


def resolve(ref: Ref) -> str:
    """What a deployer substitutes for a reference (here: plausible fake values), or KeyError."""
    if ref.kind == "setting":
        value = DEPLOYMENT.settings[ref.key]
        return ",".join(value) if isinstance(value, list) else str(value)
    if ref.kind == "topic":
        suffix = DEPLOYMENT.topic(ref.key).suffix
    elif ref.kind == "queue":
        suffix = DEPLOYMENT.queue(ref.key).suffix
    else:
        suffix = DEPLOYMENT.table(ref.key).suffix
    name = DEPLOYMENT.name(suffix)
    allowed = {
        "topic": {"arn": f"arn:aws:sns:us-east-1:123456789012:{name}", "name": name},
        "queue": {"url": f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}", "name": name},
        "table": {"name": name},
    }[ref.kind]
    return allowed[ref.attribute]


@pytest.mark.parametrize("function", DEPLOYMENT.functions, ids=lambda f: f.key)
def test_every_environment_entry_is_a_known_variable_with_a_resolvable_reference(function: Function) -> None:
    for variable, ref in function.environment.items():
        assert variable in ENV_NAMES, f"{variable} is not a name of moviepipe.runtime.settings.Env"
        resolve(ref)


@pytest.mark.parametrize("function", DEPLOYMENT.functions, ids=lambda f: f.key)
def test_every_handler_path_imports_to_a_callable(function: Function) -> None:
    module, _, attribute = function.handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_the_consumer_accepts_its_declared_environment() -> None:
    consumer = DEPLOYMENT.function("email_notification")
    config = ConsumerConfig.from_env({name: resolve(ref) for name, ref in consumer.environment.items()})
    assert config.recipients == Resources.EMAIL_RECIPIENTS
    assert config.dead_letter_queue_url is not None


def test_triggers_follow_aws_rules() -> None:
    consumer = DEPLOYMENT.function("email_notification")
    assert isinstance(consumer.trigger, SqsTrigger)
    queue = DEPLOYMENT.queue(consumer.trigger.queue)
    assert queue.visibility_timeout_seconds >= 6 * consumer.timeout_seconds
    assert 2 <= consumer.trigger.maximum_concurrency <= 1000
    assert consumer.trigger.report_batch_item_failures
    assert consumer.trigger.batch_size <= 10 or consumer.trigger.batching_window_seconds >= 1
    relay = DEPLOYMENT.function("outbox_relay")
    assert isinstance(relay.trigger, StreamTrigger)
    assert relay.trigger.report_batch_item_failures and relay.trigger.bisect_batch_on_function_error
    assert DEPLOYMENT.table(relay.trigger.table).stream_view_type == "NEW_AND_OLD_IMAGES"
    DEPLOYMENT.queue(relay.trigger.on_failure_queue)
    api = DEPLOYMENT.function("movies_api")
    assert isinstance(api.trigger, HttpTrigger) and api.trigger.stage == "live"
    assert api.timeout_seconds < 29, "API Gateway gives up after 29 seconds"


def test_dead_letter_links_are_declared_on_both_ends() -> None:
    for queue in DEPLOYMENT.queues:
        if queue.dead_letter_queue is not None:
            assert queue.max_receive_count
            dlq = DEPLOYMENT.queue(queue.dead_letter_queue)
            assert queue.key in dlq.dead_letter_for
            assert dlq.dead_letter_queue is None, "the Terraform creates DLQs first: no chains"
            assert dlq.retention_seconds == 14 * 24 * 3600


def test_names_and_settings_are_those_of_resources() -> None:
    assert DEPLOYMENT.name(DEPLOYMENT.topic("events").suffix) == Resources.EVENTS_TOPIC
    assert DEPLOYMENT.name(DEPLOYMENT.queue("email").suffix) == Resources.EMAIL_QUEUE
    assert DEPLOYMENT.name(DEPLOYMENT.queue("email_dlq").suffix) == Resources.EMAIL_DLQ
    assert DEPLOYMENT.name(DEPLOYMENT.table("idempotency").suffix) == Resources.IDEMPOTENCY_TABLE
    assert DEPLOYMENT.name(DEPLOYMENT.table("movies").suffix) == Resources.MOVIES_TABLE
    assert DEPLOYMENT.table("idempotency").ttl_attribute == "expiration"
    assert DEPLOYMENT.queue("email").max_receive_count == Resources.MAX_RECEIVE_COUNT
    subscription = DEPLOYMENT.subscription("email")
    assert subscription.raw_message_delivery
    assert subscription.filter_policy == {"Type": list(Resources.EMAIL_FILTER_TYPES)}
    assert DEPLOYMENT.name("x", prefix="staging") == "staging-x"


def test_document_is_keyed_plain_json() -> None:
    document = deployment_document()
    assert json.loads(json.dumps(document)) == document
    assert set(document["functions"]) == {f.key for f in DEPLOYMENT.functions}
    assert document["functions"]["outbox_relay"]["environment"] == {
        "EVENTS_TOPIC_ARN": "topic.events.arn",
        "PYDANTIC_DISABLE_PLUGINS": "setting.pydantic_disable_plugins.value",
    }
    assert document["queues"]["email"]["name"] == Resources.EMAIL_QUEUE


# -- where the Terraform tests get their provider ---------------------------------------------------
def test_mirror_from_the_variable_wins_and_empty_means_registry(tmp_path: Path) -> None:
    assert find_provider_mirror({"MOVIEPIPE_TF_PLUGIN_MIRROR": str(tmp_path)}) == tmp_path
    assert find_provider_mirror({"MOVIEPIPE_TF_PLUGIN_MIRROR": ""}) is None


def test_mirror_found_in_an_implied_directory(tmp_path: Path) -> None:
    (tmp_path / "data" / "terraform" / "plugins" / PROVIDER).mkdir(parents=True)
    env = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_DATA_DIRS": ""}
    assert find_provider_mirror(env) == tmp_path / "data" / "terraform" / "plugins"
    assert mirror_candidates(env)[0] == tmp_path / "data" / "terraform" / "plugins"


def test_cli_config_uses_the_mirror_only_when_there_is_one(tmp_path: Path) -> None:
    with_mirror = cli_config(tmp_path / "mirror", tmp_path / "cache")
    assert "filesystem_mirror" in with_mirror and str(tmp_path / "mirror") in with_mirror
    assert "plugin_cache_dir" in with_mirror
    without = cli_config(None, tmp_path / "cache")
    assert "provider_installation" not in without and "plugin_cache_dir" in without


@pytest.mark.parametrize("function", DEPLOYMENT.functions, ids=lambda f: f.key)
def test_every_function_runs_without_pydantic_plugin_discovery(function: Function) -> None:
    """Each function is deployed with PYDANTIC_DISABLE_PLUGINS=__all__; with it, building the models
    the function validates with never scans the installed distributions for plugins."""
    assert resolve(function.environment[Env.PYDANTIC_DISABLE_PLUGINS]) == "__all__"
    module = function.handler.rpartition(".")[0]
    code = (
        "import importlib.metadata as md\n"
        "def scan(*args, **kwargs): raise AssertionError('pydantic scanned for plugins')\n"
        "md.entry_points = scan\n"
        "import pydantic.plugin._loader as loader; loader.entry_points = scan\n"
        f"import {module}\n"
        "from movie_events.models import MovieCreated, build_models; build_models()\n"
        "MovieCreated(data={'id': 'm', 'title': 'T', 'rating': 1, 'genres': []})\n"
        "print('ok')"
    )
    environment = {
        **os.environ,
        Env.PYDANTIC_DISABLE_PLUGINS: resolve(function.environment[Env.PYDANTIC_DISABLE_PLUGINS]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr
    environment.pop(Env.PYDANTIC_DISABLE_PLUGINS)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False
    )
    assert "pydantic scanned for plugins" in out.stderr  # without it, the scan the setting saves
