"""A faster ``http.client.parse_headers`` for moto's own process: the same headers, without ``email``'s parser.

Why: ``http.server`` parses each request's headers by joining its header lines and handing them to the
``email`` package's feed parser (``http.client.parse_headers``), a general RFC 5322 parser with regular
expressions per line. In a burst profile of the embedded AWS's moto process that was about 7 % of its
CPU, for headers that are always plain ``Name: value`` lines from botocore or the local proxy.

:func:`parse_headers` reads the lines exactly as the standard library does (the same line-length and
header-count limits, :func:`http.client._read_headers`), and builds the same message object when every
line is a plain header line: a name of the characters the feed parser accepts, a colon, the value (the
feed parser's ``compat32`` rule: leading blanks and the line ending stripped). Anything else — a folded
continuation line, a line without a colon, a stray CR, a mail ``From `` line — goes to the standard
library's parser, unchanged, so odd input is handled exactly as before. tests/unit/test_fast_headers.py
compares the two on hypothesis-generated header blocks.

Installed only in moto's child process (:func:`moviepipe.local.aws_process.serve`), whose every module
is ours to configure; the process that runs the handlers keeps the standard library's.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any, BinaryIO

#: A line the feed parser reads as one ``Name: value`` header (its own ``headerRE``, minus the cases it
#: treats specially, which go to the standard parser).
_PLAIN = re.compile(r"([\041-\071\073-\176]+):([^\r\n]*)\r?\n?\Z")


def parse_headers(fp: BinaryIO, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> Any:
    """``http.client.parse_headers``: the header lines of ``fp`` as an ``HTTPMessage`` (or ``_class``)."""
    lines: list[bytes] = http.client._read_headers(fp)  # type: ignore[attr-defined]
    message = _class()
    for raw in lines:
        if raw in (b"\r\n", b"\n", b""):
            break
        line = raw.decode("iso-8859-1")
        plain = _PLAIN.match(line)
        if plain is None:  # a mail "From " line never matches: a name holds no space
            return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message.set_raw(plain.group(1), plain.group(2).lstrip(" \t"))
    message.set_payload("")  # what the feed parser leaves after a header block with nothing behind it
    return message


def install() -> None:
    """Make ``http.server`` (and ``http.client``) in this process use :func:`parse_headers`."""
    http.client.parse_headers = parse_headers  # type: ignore[assignment]
