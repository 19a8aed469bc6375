"""`moviepipe local up` can be restarted on its port at once, as after a Ctrl-C."""

from __future__ import annotations

import socket

import pytest

from moviepipe.local.embedded_aws import LOOPBACK, free_port, make_wsgi_server

pytestmark = pytest.mark.integration


def _app(environ: object, start_response: object) -> list[bytes]:  # pragma: no cover - never called
    return []


def leave_time_wait_on(port: int) -> None:
    """A server on ``port`` that closes an accepted connection first: the kernel keeps that connection
    in TIME_WAIT on ``port`` for a minute, as after a `local up` stopped with clients connected."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        listener.listen()
        with socket.create_connection((LOOPBACK, port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server side closes first: TIME_WAIT is on the server's port
            client.recv(1)  # read the FIN before the client closes too


def test_a_port_in_time_wait_can_be_served_again() -> None:
    port = free_port()
    leave_time_wait_on(port)
    server = make_wsgi_server("the embedded AWS", LOOPBACK, port, _app)
    try:
        assert server.server_address[1] == port
    finally:
        server.server_close()


def test_a_port_another_server_listens_on_is_still_refused() -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"cannot start the embedded AWS on {LOOPBACK}:{port}"):
            make_wsgi_server("the embedded AWS", LOOPBACK, port, _app)
