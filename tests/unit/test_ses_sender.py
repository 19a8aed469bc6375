"""The SES sender attempts a send once per delivery: it retries only answers that prove nothing was sent,
and turns a lost answer into an AmbiguousSendError instead of a second send."""

from __future__ import annotations

from typing import Any, cast

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from consumers.email_notification.adapters.ses import MAX_ATTEMPTS, SES_CLIENT_CONFIG, SesEmailSender
from consumers.email_notification.logic.failures import AmbiguousSendError, Kind, classify
from consumers.email_notification.logic.rendering import RenderedEmail

EMAIL = RenderedEmail(subject="s", text="t", html="h", mime=b"MIME")


def error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendEmail")


class ScriptedClient:
    """An sesv2 client whose send_email raises the scripted exceptions, then succeeds."""

    def __init__(self, *script: Exception) -> None:
        self.script = list(script)
        self.calls = 0

    def send_email(self, **params: Any) -> dict[str, str]:
        self.calls += 1
        assert params["Content"] == {"Raw": {"Data": b"MIME"}}
        if self.script:
            raise self.script.pop(0)
        return {"MessageId": f"ses-{self.calls}"}


def sender(client: ScriptedClient, sleeps: list[float]) -> SesEmailSender:
    return SesEmailSender(
        cast(Any, client), sender="s@example.com", recipients=["r@example.com"], sleep=sleeps.append
    )


@pytest.mark.parametrize(
    "exc",
    [
        error("TooManyRequestsException", 429),
        EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    ],
    ids=["throttled", "cannot-connect", "connect-timeout"],
)
def test_provably_unsent_answers_are_retried_with_backoff(exc: Exception) -> None:
    client, sleeps = ScriptedClient(exc, exc), list[float]()
    assert sender(client, sleeps).send(EMAIL) == "ses-3"
    assert client.calls == 3 and len(sleeps) == 2 and all(0 <= s <= 1 for s in sleeps)


def test_throttling_that_outlasts_the_attempts_is_a_transient_failure() -> None:
    throttle = error("TooManyRequestsException", 429)
    client, sleeps = ScriptedClient(*[throttle] * MAX_ATTEMPTS), list[float]()
    with pytest.raises(ClientError) as raised:
        sender(client, sleeps).send(EMAIL)
    assert client.calls == MAX_ATTEMPTS
    assert classify(raised.value).kind is Kind.TRANSIENT


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        error("InternalFailure", 500),
        error("ServiceUnavailable", 503),
    ],
    ids=["read-timeout", "connection-dropped", "500", "503"],
)
def test_a_send_whose_answer_may_be_lost_is_never_repeated(exc: Exception) -> None:
    client, sleeps = ScriptedClient(exc), list[float]()
    with pytest.raises(AmbiguousSendError) as raised:
        sender(client, sleeps).send(EMAIL)
    assert client.calls == 1 and sleeps == []
    failure = classify(raised.value)
    assert (failure.kind, failure.code) == (Kind.TRANSIENT, "AmbiguousSend")


@pytest.mark.parametrize("code", ["MessageRejected", "SendingPausedException", "AccessDeniedException"])
def test_other_refusals_are_answered_once(code: str) -> None:
    client, sleeps = ScriptedClient(error(code, 400)), list[float]()
    with pytest.raises(ClientError):
        sender(client, sleeps).send(EMAIL)
    assert client.calls == 1


def test_the_client_configuration_turns_botocore_retries_off() -> None:
    assert SES_CLIENT_CONFIG["retries"]["total_max_attempts"] == 1
