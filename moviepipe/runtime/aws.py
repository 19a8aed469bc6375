"""The one place AWS clients are created: :class:`Clients`, given to each composition root.

boto3 itself would read ``AWS_ENDPOINT_URL``, the region and the credentials from the process
environment; here they are values of a :class:`Clients` instead, so the local stack, the tests and the
benchmarks can point one function at the embedded AWS without touching the process environment (and
without the ``reset()`` hooks that used to undo what the last caller set). :meth:`Clients.from_environ`
reads the same standard variables boto3 would, from a mapping it is given.

What a :class:`Clients` adds to plain ``boto3.client``: one botocore session per :class:`Clients` (client
creation is the slow part of a Lambda cold start; sessions are not thread-safe while creating clients,
hence the lock), a connection pool large enough for the consumer's thread pool, ``standard`` retries,
per-service botocore settings, and hooks run on every new client (benchmarks add simulated latency
through :meth:`Clients.with_hook`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from moviepipe.runtime.root import settle_imports
from moviepipe.runtime.settings import Env

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_REGION = "us-east-1"

#: A callable run on every new client (it may register botocore event handlers on ``client.meta.events``).
ClientHook = Callable[[Any], None]


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class Clients:
    """How to reach AWS (or the embedded AWS): endpoint, region, credentials, per-service settings.

    ``region``, ``endpoint_url`` and ``credentials`` None mean what they mean to boto3: its default
    chain decides (on Lambda: the function's region, the real endpoints, the execution role).
    """

    #: None: boto3's own default chain (``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / config file).
    region: str | None = None
    endpoint_url: str | None = None
    credentials: Credentials | None = None
    #: botocore ``Config`` keyword arguments per service (``{"sesv2": {"retries": {...}}}``).
    service_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    hooks: tuple[ClientHook, ...] = ()
    _state: _SessionState = field(default_factory=lambda: _SessionState(), compare=False, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Clients:
        """The standard AWS SDK variables boto3 itself honours (region, endpoint, static credentials)."""
        access_key = environ.get("AWS_ACCESS_KEY_ID", "").strip()
        secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
        credentials = (
            Credentials(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None)
            if access_key and secret_key
            else None
        )
        return cls(
            region=environ.get(Env.AWS_REGION) or environ.get(Env.AWS_DEFAULT_REGION) or DEFAULT_REGION,
            endpoint_url=environ.get(Env.AWS_ENDPOINT_URL) or None,
            credentials=credentials,
        )

    def with_hook(self, hook: ClientHook) -> Clients:
        """These clients, plus ``hook`` run on every client created (a new session: hooks apply from here)."""
        return replace(self, hooks=(*self.hooks, hook), _state=_SessionState())

    def with_service_config(self, service: str, **config: Any) -> Clients:
        merged = {**self.service_config, service: {**self.service_config.get(service, {}), **config}}
        return replace(self, service_config=merged, _state=_SessionState())

    def environment(self) -> dict[str, str]:
        """The standard variables that point boto3 (and the AWS CLI) at the same place, for a subprocess."""
        region = self.region or DEFAULT_REGION
        env = {Env.AWS_REGION: region, Env.AWS_DEFAULT_REGION: region}
        if self.endpoint_url:
            env[Env.AWS_ENDPOINT_URL] = self.endpoint_url
        if self.credentials:
            env["AWS_ACCESS_KEY_ID"] = self.credentials.access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
            if self.credentials.session_token:
                env["AWS_SESSION_TOKEN"] = self.credentials.session_token
        return env

    def session(self) -> boto3.session.Session:
        state = self._state
        with state.lock:
            if state.session is None:
                creds = self.credentials
                state.session = boto3.session.Session(
                    region_name=self.region,
                    aws_access_key_id=creds.access_key_id if creds else None,
                    aws_secret_access_key=creds.secret_access_key if creds else None,
                    aws_session_token=creds.session_token if creds else None,
                )
            return state.session

    def client(self, service: str, *, max_pool_connections: int = 50, **config: Any) -> Any:
        """A new boto3 client for ``service``.

        Retries use botocore's ``standard`` mode (throttling and 5xx errors, with jittered backoff)
        unless the per-service settings or the caller give their own ``retries``.
        """
        settings = {**self.service_config.get(service, {}), **config}
        cfg = Config(
            retries=settings.pop("retries", {"mode": "standard", "max_attempts": 3}),
            max_pool_connections=max_pool_connections,
            **settings,
        )
        session = self.session()
        with self._state.lock:  # boto3 sessions are not thread-safe while creating clients
            new_client = session.client(service, config=cfg, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        for hook in self.hooks:
            hook(new_client)
        return new_client

    # Typed shortcuts (mypy_boto3 stubs), for the services moviepipe uses.
    def sqs(self, **config: Any) -> SQSClient:
        return self.client("sqs", **config)  # type: ignore[no-any-return]

    def sns(self, **config: Any) -> SNSClient:
        return self.client("sns", **config)  # type: ignore[no-any-return]

    def dynamodb(self, **config: Any) -> DynamoDBClient:
        return self.client("dynamodb", **config)  # type: ignore[no-any-return]

    def dynamodbstreams(self, **config: Any) -> DynamoDBStreamsClient:
        return self.client("dynamodbstreams", **config)  # type: ignore[no-any-return]

    def sesv2(self, **config: Any) -> SESV2Client:
        return self.client("sesv2", **config)  # type: ignore[no-any-return]

    def ses(self, **config: Any) -> SESClient:
        return self.client("ses", **config)  # type: ignore[no-any-return]


class _SessionState:
    """The mutable part of a frozen :class:`Clients`: its lazily created session and the lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session: boto3.session.Session | None = None


def describe_error(exc: BaseException) -> str:
    """``"Code: message"`` for an AWS error, ``"Type: message"`` for anything else: the one-line reason
    logs, dead letters and PublishError show."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


#: boto3's own defaults (region, endpoint and credentials from its default chain, so on Lambda the
#: function's region and role), with one shared session: what a caller that passes no :class:`Clients`
#: gets. Shared because a session loads the service models once; a session per call would pay it each
#: time (it is the slow part of creating a client).
BOTO3_DEFAULTS: Final = Clients()


# boto3 and botocore, with what was imported before them, are the bulk of every handler's import: settled
# as soon as they are loaded, so the collections the rest of the import triggers skip them (the movies
# API's import otherwise crosses a full collection of everything while loading Powertools' event handler).
# Each handler settles again when its import ends.
settle_imports()
