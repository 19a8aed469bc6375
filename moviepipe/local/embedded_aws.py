"""An embedded AWS: moto in server mode, on a loopback port, speaking the real AWS HTTP APIs.

Everything in moviepipe talks to it exactly as it talks to AWS: boto3 clients pointed at it through the
standard ``AWS_ENDPOINT_URL`` variable. Nothing is patched in-process.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.server import ThreadedMotoServer

from movie_events import aws

LOOPBACK = "127.0.0.1"

#: Credentials moto accepts; never real ones. Account 123456789012 is moto's default.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedAWS:
    """A moto server on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, host: str = LOOPBACK, port: int = 0, region: str = aws.DEFAULT_REGION) -> None:
        self.host = host
        self.region = region
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self.port = port

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedAWS:
        if self._server is not None:
            return self
        # werkzeug logs every request at INFO; the local stack prints what matters itself.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=self.host, port=self._requested_port, verbose=False)
        try:
            server.start()
        except OSError as exc:
            raise RuntimeError(
                f"cannot start the embedded AWS on {self.host}:{self._requested_port}: {exc}"
            ) from exc
        self._server = server
        self.port = server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Forget every resource (moto's reset API), so tests start from an empty account."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            response.read()

    def environment(self) -> dict[str, str]:
        """The variables that point boto3, the handlers and the CLI at this server."""
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


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (and rebuild the AWS session)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    aws.reset()
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        aws.reset()
