"""Bounded JSON: the one reader for JSON that arrives from outside (SQS bodies, HTTP bodies, CLI input).

Python's :func:`json.loads` accepts inputs that are valid JSON yet break whatever handles the result:
nesting deep enough to exhaust the recursion limit later (in pydantic, ``model_dump`` or ``json.dumps``),
integers of thousands of digits (a ``ValueError`` at 4,300, quadratic CPU before that), exponents that
overflow to ``inf`` (which ``json.dumps`` then writes as the non-JSON ``Infinity``), and ``\\udc80``-style
escapes that decode to lone surrogates (a ``UnicodeEncodeError`` the first time the text is hashed,
stored or sent). :func:`load_bounded` refuses all of them up front, with an
:class:`~movie_events.errors.InvalidEventError` that names the place, so every caller turns hostile JSON
into the same clear, permanent error instead of a crash far from its cause.

The limits are generous for any real movie event (a few levels, a few hundred bytes) and small enough
that checking them costs little: one C-speed parse plus one iterative walk over the parsed values — and
no walk at all when a few C-speed scans of the text already prove it would pass
(:func:`within_limits_by_text`; the usual case for an event body).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from movie_events.errors import EventTooLargeError, MalformedMessageError

#: Deepest nesting accepted (the envelope is level 1, ``data`` level 2). Real events use three or four;
#: pydantic's serializer fails at a few hundred, so the limit sits far below that.
MAX_DEPTH: Final = 32
#: Longest integer literal accepted, in digits (a 64-bit integer has 20; Python refuses 4,301).
MAX_INTEGER_DIGITS: Final = 64
#: Largest body accepted by default: the SNS/SQS message size limit.
MAX_BYTES: Final = 256 * 1024


@dataclass(frozen=True)
class JsonLimits:
    """The limits one caller applies; the defaults suit event bodies."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_integer_digits: int = MAX_INTEGER_DIGITS


DEFAULT_LIMITS: Final = JsonLimits()


class PlacedJsonError(MalformedMessageError):
    """A refusal that knows where in the document it happened (``path``: keys and indexes, outermost
    first; empty when the place is unknown), so an HTTP API can name the field as it names schema errors."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


class JsonTooDeepError(PlacedJsonError):
    """Nested deeper than the limit (or deep enough to exhaust the parser's recursion)."""


class NumberTooLargeError(PlacedJsonError):
    """An integer with more digits than the limit, or a number too large for a float (valid JSON that no
    field can hold: an HTTP API answers it like any out-of-range value)."""


class LoneSurrogateError(PlacedJsonError):
    """A key or string holding an unpaired surrogate (``"\\ud800"``): valid JSON, not Unicode text."""


def _parse_int(limit: int) -> Any:
    def parse(literal: str) -> int:
        digits = len(literal.lstrip("-"))
        if digits > limit:
            raise NumberTooLargeError(f"an integer has {digits} digits; at most {limit} are accepted")
        return int(literal)

    return parse


def _parse_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise NumberTooLargeError(f"number {literal[:40]!r} is too large to represent")
    return value


def _reject_constant(name: str) -> Any:
    raise MalformedMessageError(f"{name} is not valid JSON")


def _describe(path: list[str | int]) -> str:
    shown = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    # A key may itself hold the lone surrogate being reported: escape it, or the message could not be
    # logged, sent as a DLQ attribute or returned in an HTTP body.
    return shown.encode("utf-8", "backslashreplace").decode("utf-8") or "<body>"


def _check_text(text: str, path: list[str | int], what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        shown = _describe(path)
        raise LoneSurrogateError(
            f"{what} at {shown} holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not Unicode text",
            tuple(path),
        ) from None


def check_tree(value: Any, limits: JsonLimits = DEFAULT_LIMITS) -> None:
    """Check an already parsed JSON value against the depth and text rules (iteratively: no recursion)."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            if depth > limits.max_depth:
                raise JsonTooDeepError(
                    f"JSON is nested more than {limits.max_depth} levels deep (at {_describe(path)})",
                    tuple(path),
                )
            for key, child in node.items():
                _check_text(key, [*path, key], "a key")
                stack.append((child, depth + 1, [*path, key]))
        elif isinstance(node, list):
            if depth > limits.max_depth:
                raise JsonTooDeepError(
                    f"JSON is nested more than {limits.max_depth} levels deep (at {_describe(path)})",
                    tuple(path),
                )
            stack.extend((child, depth + 1, [*path, index]) for index, child in enumerate(node))
        elif isinstance(node, str):
            _check_text(node, path, "a string")


def load_bounded(body: str | bytes | bytearray, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse ``body`` as JSON within ``limits``, or raise an :class:`InvalidEventError` saying why.

    :raises EventTooLargeError: the body exceeds ``limits.max_bytes`` (checked before parsing).
    :raises MalformedMessageError: not UTF-8, not JSON, too deep, an oversized or non-finite number, a
        ``NaN``/``Infinity`` constant, or a lone surrogate in a key or string.
    """
    if isinstance(body, bytes | bytearray):
        size = len(body)
        if size > limits.max_bytes:
            raise EventTooLargeError(f"body is {size} bytes; at most {limits.max_bytes} are accepted")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessageError(f"body is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = body
        # A str's UTF-8 size is at most 4 bytes a character: skip the encode when that cannot exceed it.
        if len(text) * 4 > limits.max_bytes:
            try:
                size = len(text.encode("utf-8", "surrogatepass"))
            except UnicodeEncodeError:  # pragma: no cover - surrogatepass encodes every str
                size = len(text) * 4
            if size > limits.max_bytes:
                raise EventTooLargeError(f"body is {size} bytes; at most {limits.max_bytes} are accepted")
    try:
        loaded = json.loads(
            text,
            parse_int=_parse_int(limits.max_integer_digits),
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise JsonTooDeepError(f"JSON is nested more than {limits.max_depth} levels deep") from None
    except MalformedMessageError:
        raise
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise MalformedMessageError(f"body is not JSON: {exc}") from None
    if not within_limits_by_text(text, limits):
        check_tree(loaded, limits)
    return loaded


#: A ``\u`` escape of a surrogate code point (D800-DFFF): the only way JSON text that is itself valid
#: Unicode can decode to a lone surrogate. An escaped backslash before "ud8…" matches too (harmless:
#: the full walk then runs).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def within_limits_by_text(text: str, limits: JsonLimits = DEFAULT_LIMITS) -> bool:
    """True when the text alone proves what :func:`check_tree` checks, so the walk can be skipped: no
    container can be nested deeper than the text has ``{`` and ``[`` characters, and no string can hold
    a lone surrogate unless the text does or escapes one. False means "walk the tree", not "invalid".
    (A typical event body is proven in a few C-speed scans; the walk was a tenth of the consumer's CPU.)
    """
    if text.count("{") + text.count("[") > limits.max_depth:
        return False
    if _SURROGATE_ESCAPE.search(text):
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
