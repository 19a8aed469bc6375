"""Kept-alive connections to the embedded AWS (moviepipe/local/keepalive.py) and from its proxy to moto's
process (MotoProxy's pool): one connection serves many requests, each answer ends where its length says,
a connection the other end closed is never used, and stopping the stack ends idle connections."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from moviepipe.local.aws_process import MotoProxy
from moviepipe.local.embedded_aws import EmbeddedAWS, make_wsgi_server
from moviepipe.local.keepalive import KeepAliveRequestHandler, close_connections

SQS_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x",
}


def sqs(
    connection: http.client.HTTPConnection, action: str, body: dict[str, Any], **extra: str
) -> http.client.HTTPResponse:
    connection.request(
        "POST",
        "/",
        body=json.dumps(body).encode(),
        headers={**SQS_HEADERS, "X-Amz-Target": f"AmazonSQS.{action}", **extra},
    )
    return connection.getresponse()


@pytest.fixture(params=[False, True], ids=["in-process", "own-process"])
def aws(request: pytest.FixtureRequest) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(own_process=request.param) as embedded:
        yield embedded


def test_one_connection_serves_many_requests_each_answer_whole(aws: EmbeddedAWS) -> None:
    connection = http.client.HTTPConnection(aws.host, aws.port, timeout=30)
    created = sqs(connection, "CreateQueue", {"QueueName": "kept"})
    url = json.loads(created.read())["QueueUrl"]
    assert created.status == 200 and not created.will_close
    first_socket = connection.sock
    bodies = [f"message {i} " + "é" * i for i in range(20)]
    for body in bodies:
        sent = sqs(connection, "SendMessage", {"QueueUrl": url, "MessageBody": body})
        payload = sent.read()
        assert sent.status == 200, payload
        assert int(sent.getheader("Content-Length") or -1) == len(payload)
        assert "MessageId" in json.loads(payload)
    assert connection.sock is first_socket  # never reconnected
    received: list[str] = []
    while len(received) < len(bodies):
        answer = sqs(connection, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10})
        received += [m["Body"] for m in json.loads(answer.read()).get("Messages", [])]
    assert sorted(received) == sorted(bodies)
    assert connection.sock is first_socket
    connection.close()


def test_a_client_asking_to_close_gets_its_connection_closed(aws: EmbeddedAWS) -> None:
    connection = http.client.HTTPConnection(aws.host, aws.port, timeout=30)
    answer = sqs(connection, "ListQueues", {}, Connection="close")
    answer.read()
    assert answer.status == 200 and answer.will_close


def test_botocore_reuses_its_connections(aws: EmbeddedAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    accepted: list[object] = []
    original = KeepAliveRequestHandler.setup

    def counting_setup(handler: KeepAliveRequestHandler) -> None:
        accepted.append(handler)
        original(handler)

    client = aws.clients().sqs()
    url = client.create_queue(QueueName="reuse")["QueueUrl"]
    monkeypatch.setattr(KeepAliveRequestHandler, "setup", counting_setup)
    for i in range(10):
        client.send_message(QueueUrl=url, MessageBody=str(i))
    monkeypatch.undo()
    assert len(accepted) == 0  # all ten on the connection create_queue opened
    if aws.moto_pid is not None:
        assert aws._proxy is not None and len(aws._proxy._idle) == 1


def test_stopping_ends_idle_kept_alive_connections() -> None:
    embedded = EmbeddedAWS().start()
    connection = http.client.HTTPConnection(embedded.host, embedded.port, timeout=10)
    sqs(connection, "ListQueues", {}).read()
    embedded.stop()
    assert connection.sock is not None
    assert connection.sock.recv(1) == b""  # the server closed it: its thread is gone


def test_an_application_error_is_a_plain_500_and_closes_the_connection() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("secret detail")

    server = make_wsgi_server("test", "127.0.0.1", 0, broken, request_handler=KeepAliveRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("POST", "/", body=b"x" * 10)
        answer = connection.getresponse()
        payload = answer.read()
        assert answer.status == 500 and answer.will_close
        assert b"secret" not in payload and b"Traceback" not in payload
    finally:
        server.shutdown()
        server.server_close()
        close_connections(server)


def test_the_proxy_never_reuses_a_connection_the_other_end_closed() -> None:
    """A server that closes after each answer without saying so: every request still gets its answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = 0

    def serve() -> None:
        nonlocal accepted
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted += 1
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    proxy = MotoProxy("127.0.0.1", listener.getsockname()[1])
    statuses: list[str] = []
    try:
        for _ in range(3):
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": None, "HTTP_HOST": "x"}
            body = b"".join(proxy(environ, lambda status, headers: statuses.append(status)))
            assert body == b"ok"
    finally:
        listener.close()
        proxy.close()
    assert statuses == ["200 OK"] * 3
    assert accepted == 3
