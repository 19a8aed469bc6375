"""moto's process parses request headers with moviepipe/local/fast_headers.py: the same message as the
standard library's ``http.client.parse_headers``, line limits and odd input included."""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moviepipe.local.fast_headers import parse_headers

_name = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1)
_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\r\n"))
_plain_line = st.builds(
    lambda n, sp, v, end: f"{n}:{sp}{v}{end}",
    _name,
    st.sampled_from(["", " ", "  ", "\t"]),
    _value,
    st.sampled_from(["\r\n", "\n"]),
)
#: Lines the fast path must hand to the standard parser: folded, no colon, stray CR, mail From, blanks
#: inside names, and arbitrary Latin-1 text.
_odd_line = st.one_of(
    st.builds(lambda v: f" {v}\r\n", _value),
    st.builds(lambda v: f"\t{v}\r\n", _value),
    st.builds(lambda v: f"{v}\r\n", _value),
    st.builds(lambda n, v: f"{n}:{v}\r{v}\r\n", _name, _value),
    st.builds(lambda v: f"From {v}\r\n", _value),
    st.builds(lambda n, v: f"{n} : {v}\r\n", _name, _value),
    st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=40).map(lambda t: t + "\r\n"),
)


def _both(block: bytes) -> tuple[http.client.HTTPMessage, http.client.HTTPMessage, bytes, bytes]:
    ours_in, stock_in = io.BytesIO(block), io.BytesIO(block)
    ours, stock = parse_headers(ours_in), http.client.parse_headers(stock_in)
    return ours, stock, ours_in.read(), stock_in.read()


def _same(block: bytes) -> None:
    ours, stock, ours_rest, stock_rest = _both(block)
    assert type(ours) is type(stock)
    assert ours.items() == stock.items()
    assert ours.get_payload() == stock.get_payload()
    assert ours_rest == stock_rest  # the body is left unread for the server, byte for byte


@given(st.lists(_plain_line, max_size=20), st.sampled_from([b"\r\n", b"\n", b""]), st.binary(max_size=20))
def test_plain_header_blocks_parse_as_the_standard_library_does(
    lines: list[str], end: bytes, body: bytes
) -> None:
    _same("".join(lines).encode("latin-1") + end + body)


@given(st.lists(st.one_of(_plain_line, _odd_line), min_size=1, max_size=12), st.binary(max_size=20))
def test_odd_lines_parse_as_the_standard_library_does(lines: list[str], body: bytes) -> None:
    _same("".join(lines).encode("latin-1") + b"\r\n" + body)


def test_a_botocore_request_head() -> None:
    head = (
        b"Host: 127.0.0.1:4566\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}"
    )
    ours, _, rest, _ = _both(head)
    assert ours["X-Amz-Target"] == "DynamoDB_20120810.PutItem" and rest == b"{}"
    _same(head)


@pytest.mark.parametrize("block", [b"A: " + b"x" * 70_000 + b"\r\n\r\n", b"A: b\r\n" * 101 + b"\r\n"])
def test_limits_are_the_standard_librarys(block: bytes) -> None:
    with pytest.raises(http.client.HTTPException) as stock:
        http.client.parse_headers(io.BytesIO(block))
    with pytest.raises(type(stock.value)):
        parse_headers(io.BytesIO(block))
