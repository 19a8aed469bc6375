"""An embedded AWS: moto in server mode, on a loopback port, speaking the real AWS HTTP APIs.

Everything in moviepipe talks to it exactly as it talks to AWS: boto3 clients pointed at it through the
:class:`~moviepipe.runtime.aws.Clients` with its endpoint (:meth:`EmbeddedAWS.clients`), or, for a
subprocess, the standard ``AWS_ENDPOINT_URL`` variable. Nothing is patched in-process.

It is moto's own server application (what ``moto_server`` and ``ThreadedMotoServer`` run), served from a
thread of this process by werkzeug, with additions in front of it: a :class:`~moviepipe.local.serialized.SerializedDynamoDB` that keeps
DynamoDB's conditional writes atomic, a :class:`MailCatcher` that keeps
every email SES accepts (:mod:`moviepipe.local.mail_catcher`) and a :class:`FaultInjector` that makes
chosen requests fail as AWS would (:mod:`moviepipe.local.faults`); and a :class:`SqsFront` that answers the
SQS APIs moto lacks in one line and counts dead letters (:mod:`moviepipe.local.sqs_front`).
"""

from __future__ import annotations

import logging
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from moviepipe.local import moto_speedups
from moviepipe.local.aws_process import MotoProcess, MotoProxy
from moviepipe.local.faults import FaultInjector
from moviepipe.local.in_process import InProcessTransport
from moviepipe.local.keepalive import KeepAliveRequestHandler, close_connections
from moviepipe.local.mail_catcher import MailCatcher
from moviepipe.local.serialized import SerializedDynamoDB
from moviepipe.local.sqs_front import SqsFront
from moviepipe.runtime.aws import DEFAULT_REGION, Clients, Credentials

LOOPBACK = "127.0.0.1"

#: Credentials moto accepts; never real ones. Account 123456789012 is moto's default.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def make_wsgi_server(what: str, host: str, port: int, app: Any, **options: Any) -> BaseWSGIServer:
    """A threaded werkzeug server bound to ``host:port``; a busy port is a RuntimeError that says which.

    (werkzeug itself answers a busy port by printing a hint and exiting the process.)

    The probe sets SO_REUSEADDR, as werkzeug's server does: a port whose last server stopped seconds ago
    still has connections in TIME_WAIT, which would otherwise make `local up` refuse to restart on it for
    a minute; a port another server is listening on is refused all the same.
    """
    if port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise RuntimeError(f"cannot start {what} on {host}:{port}: {exc.strerror}") from exc
    try:
        return make_server(host, port, app, threaded=True, **options)
    except (OSError, SystemExit) as exc:
        raise RuntimeError(f"cannot start {what} on {host}:{port}: {exc}") from exc


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedAWS:
    """A moto server on ``host:port`` (port 0 picks a free one).

    :param mail_folder: where caught emails are written as ``.eml`` and ``.html`` (None: memory only).
    :param own_process: run moto in a child process (:mod:`moviepipe.local.aws_process`), the middleware
        staying here: the local stack does, so moto and the handlers do not share one GIL. In-process
        (the default) keeps moto's state readable from this process, as some integration tests need.
    """

    def __init__(
        self,
        host: str = LOOPBACK,
        port: int = 0,
        region: str = DEFAULT_REGION,
        mail_folder: Path | None = None,
        *,
        own_process: bool = False,
    ) -> None:
        self.host = host
        self.region = region
        self.port = port
        self._requested_port = port
        # moto's SQS slows down in proportion to queue depth without these (moviepipe/local/moto_speedups.py).
        moto_speedups.apply()
        self._moto = MotoProcess(host) if own_process else None
        self._proxy = MotoProxy(host, 0) if own_process else None
        # DynamoDB requests one at a time: moto's conditional writes are atomic only that way. Its own
        # process serialises them itself (aws_process.serve), holding its lock only while moto answers:
        # serialised here, the lock would also span the proxy's round trip to that process, and that
        # serialised section, not CPU, bounded the local stack's throughput (docs/local.md).
        moto_app = self._proxy or SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self.mail = MailCatcher(moto_app, mail_folder)
        self.sqs = SqsFront(self.mail)
        self.faults = FaultInjector(self.sqs)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> EmbeddedAWS:
        if self._server is not None:
            return self
        # werkzeug logs every request at INFO; the local stack prints what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self._moto is not None and self._proxy is not None:
            self._proxy.port = self._moto.start().port
        try:
            server = make_wsgi_server(
                "the embedded AWS",
                self.host,
                self._requested_port,
                self.faults,
                request_handler=KeepAliveRequestHandler,
            )
        except BaseException:
            if self._moto is not None:
                self._moto.stop()
            raise
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (joins the server thread; ends moto's process)."""
        if self._server is None:
            return
        try:
            self._server.shutdown()
            self._server.server_close()
            close_connections(self._server)
            if self._thread is not None:
                self._thread.join(timeout=10)
        finally:
            self._server = None
            self._thread = None
            if self._proxy is not None:
                self._proxy.close()
            if self._moto is not None:
                self._moto.stop()

    @property
    def moto_pid(self) -> int | None:
        """The process id of moto's own process (None: moto runs in this one)."""
        return self._moto.pid if self._moto is not None else None

    def reset(self) -> None:
        """Forget every resource (moto's reset API), caught email and fault: an empty account."""
        self.mail.clear()
        self.faults.clear()
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            response.read()

    def clients(self, *, over_http: bool = False) -> Clients:
        """Clients of this server: what the local stack gives every function and tool it runs.

        With moto in its own process, these clients hand their requests to the middleware chain in this
        process (:mod:`moviepipe.local.in_process`) rather than over a loopback socket to this process's
        own server: the same chain, the same answers, one HTTP hop (to moto's process) instead of two.
        ``over_http`` gives clients that use the HTTP endpoint as any other program does (a benchmark's
        stand-in for another service, a test of the server itself). With moto in-process every client
        goes over HTTP, so the integration tests exercise the whole HTTP path.
        """
        clients = Clients(
            region=self.region,
            endpoint_url=self.endpoint_url,
            credentials=Credentials(
                FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            ),
        )
        if self._moto is None or over_http:
            return clients
        return clients.with_hook(InProcessTransport(self.faults, self.endpoint_url))

    def environment(self) -> dict[str, str]:
        """The variables that point boto3, the handlers and the CLI at this server (for a subprocess)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **FAKE_CREDENTIALS,
        }

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
