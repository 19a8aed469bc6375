"""The stack's in-process clients remember their User-Agent strings (moviepipe/local/in_process.py):
every request still carries exactly the header botocore builds, whatever the config and features."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.context import start_as_current_context
from botocore.useragent import register_feature_id

from moviepipe.local.in_process import _Body, cache_user_agent

CONFIGS = [
    None,
    Config(user_agent_extra="extra/1"),
    Config(user_agent_appid="moviepipe-app"),  # type: ignore[call-arg]  # the stubs lag botocore
    Config(user_agent="override/2.0", user_agent_extra="more"),
    Config(retries={"mode": "legacy", "max_attempts": 2}),
    Config(retries={"mode": "adaptive"}),
]
_EMPTY = b'<?xml version="1.0"?><ListQueuesResponse><ListQueuesResult/></ListQueuesResponse>'


def _client(config: Config | None, sent: list[str], cached: bool) -> Any:
    client = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )

    def answer(request: Any, **_: Any) -> Any:
        sent.append(
            request.headers["User-Agent"].decode()
            if isinstance(request.headers["User-Agent"], bytes)
            else request.headers["User-Agent"]
        )
        return AWSResponse(
            request.url, 200, HTTPHeaders.from_dict({"Content-Type": "text/xml"}), _Body(_EMPTY)
        )

    client.meta.events.register_last("before-send", answer)
    if cached:
        cache_user_agent(client)
    return client


def _calls(client: Any) -> None:
    client.list_queues()
    client.list_queues(QueueNamePrefix="a")
    for _ in client.get_paginator("list_queues").paginate():  # registers the PAGINATOR feature
        pass
    with start_as_current_context():
        register_feature_id("WAITER")
        client.list_queues()
    client.list_queues()
    with start_as_current_context():
        register_feature_id("RETRY_MODE_ADAPTIVE")
        register_feature_id("PAGINATOR")
        client.list_queues()


@pytest.mark.parametrize("config", CONFIGS)
def test_cached_user_agent_is_botocores(config: Config | None) -> None:
    stock: list[str] = []
    cached: list[str] = []
    _calls(_client(config, stock, cached=False))
    client = _client(config, cached, cached=True)
    _calls(client)
    _calls(client)  # the second time from the cache
    assert cached == stock + stock
    if config is None or getattr(config, "user_agent", None) is None:  # an override replaces the whole string
        assert len(set(stock)) > 1  # the features do change the header: the cache is keyed by them


def test_a_config_changed_after_creation_is_seen() -> None:
    sent: list[str] = []
    client = _client(Config(user_agent_extra="one"), sent, cached=True)
    client.list_queues()
    client._user_agent_creator._client_config.user_agent_extra = "two"
    client.list_queues()
    # (Powertools, once imported, appends its own part to every botocore User-Agent: look inside.)
    assert " one" in sent[0] and " two" not in sent[0]
    assert " two" in sent[1] and " one" not in sent[1]
