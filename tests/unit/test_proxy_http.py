"""The proxy to moto's process speaks HTTP/1.1 itself (moviepipe/local/aws_process.py, _Connection):
the same request bytes ``http.client`` sent, and the same answer read back as ``http.client`` reads it."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest

from moviepipe.local.aws_process import _Connection, _request_bytes


class _Server:
    """A loopback server that records each request's bytes and answers with canned bytes, then closes."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest)
                conn.sendall(self.answer)

    def close(self) -> None:
        self._listener.close()


REQUESTS = [
    (
        "POST",
        "/",
        {
            "Host": "127.0.0.1:4566",
            "X-Amz-Target": "DynamoDB_20120810.PutItem",
            "Content-Type": "application/x-amz-json-1.0",
            "Content-Length": "2",
        },
        b"{}",
    ),
    ("GET", "/moto-api/?a=b%20c", {"Host": "h:1"}, b""),
    (
        "POST",
        "/q",
        {"Host": "h", "Accept-Encoding": "gzip", "Authorization": "AWS4-HMAC-SHA256 x"},
        "é".encode(),
    ),
    ("DELETE", "/x", {"Content-Type": "text/plain"}, b""),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
def test_requests_are_the_bytes_http_client_sends(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    theirs, ours = _Server(answer), _Server(answer)
    try:
        stock = http.client.HTTPConnection("127.0.0.1", theirs.port, timeout=10)
        stock.request(method, path, body=body, headers=headers)
        stock.getresponse().read()
        stock.close()
        connection = _Connection("127.0.0.1", ours.port, 10)
        connection.exchange(_request_bytes(method, path, headers, body, f"127.0.0.1:{theirs.port}"))
        connection.close()
    finally:
        theirs.close()
        ours.close()
    assert ours.requests == theirs.requests


ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId:  abc \r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\n{}",
    b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 3\r\n\r\nerr",
    b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end",
    b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.1 200  OK  \r\nContent-Length: 0\r\n\r\n",
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_answers_read_as_http_client_reads_them(answer: bytes) -> None:
    server = _Server(answer)
    try:
        stock = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        stock.request("POST", "/", body=b"x", headers={"Host": "h"})
        response = stock.getresponse()
        expected = (
            f"{response.status} {response.reason}",
            response.getheaders(),
            response.read(),
            response.will_close,
        )
        stock.close()
        connection = _Connection("127.0.0.1", server.port, 10)
        got = connection.exchange(_request_bytes("POST", "/", {"Host": "h"}, b"x", "h"))
        connection.close()
    finally:
        server.close()
    assert got == expected


def test_a_connection_closed_unanswered_is_remote_disconnected() -> None:
    server = _Server(b"")
    try:
        with pytest.raises(http.client.RemoteDisconnected):
            _Connection("127.0.0.1", server.port, 10).exchange(
                _request_bytes("GET", "/", {"Host": "h"}, b"", "h")
            )
    finally:
        server.close()
