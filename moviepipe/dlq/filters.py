"""Which dead letters a command acts on: ``--type``, ``--event-id``, ``--error``, ``--since``/``--until``,
``--match`` (JMESPath on the body). Parsing the options is strict (a bad one is a usage error, exit 2);
matching never raises (a body that is not JSON simply does not match ``--match``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jmespath  # type: ignore[import-untyped]
from jmespath.exceptions import JMESPathError  # type: ignore[import-untyped]

from moviepipe.dlq.messages import DeadLetter, Summary, parse_body

MAX_OPTION_LENGTH = 1000
_RELATIVE = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class FilterError(ValueError):
    """A filter option that cannot be understood; the message names the option."""


@dataclass(frozen=True)
class Filter:
    types: frozenset[str] = frozenset()
    event_ids: frozenset[str] = frozenset()
    errors: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    match: Any = None  # a compiled JMESPath expression
    match_text: str | None = None

    @property
    def empty(self) -> bool:
        """No filter at all: every message matches (what AWS's own redrive can do)."""
        return not (self.types or self.event_ids or self.errors or self.since or self.until or self.match)

    def matches(self, letter: DeadLetter, summary: Summary | None = None) -> bool:
        summary = summary or letter.summary()
        if self.types and summary.event_type not in self.types:
            return False
        if self.event_ids and summary.event_id not in self.event_ids:
            return False
        if self.errors and summary.error_code not in self.errors:
            return False
        if self.since or self.until:
            sent = summary.sent_at
            if sent is None:
                return False
            if self.since and sent < self.since:
                return False
            if self.until and sent > self.until:
                return False
        if self.match is not None:
            return _truthy_match(self.match, letter.body)
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "type": sorted(self.types),
            "event_id": sorted(self.event_ids),
            "error": sorted(self.errors),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "match": self.match_text,
        }


def _truthy_match(expression: Any, body: str) -> bool:
    document = parse_body(body)
    if document is None:
        return False
    try:
        result = expression.search(document)
    except (JMESPathError, RecursionError, TypeError, ValueError, OverflowError):
        return False
    # JMESPath truthiness: false, null, empty string/list/object are false.
    return result not in (None, False, "", [], {})


def build_filter(
    *,
    types: Iterable[str] = (),
    event_ids: Iterable[str] = (),
    errors: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    match: str | None = None,
    now: datetime | None = None,
) -> Filter:
    """Parse the filter options. :raises FilterError: naming the option that is wrong."""
    now = now or datetime.now(UTC)
    compiled = None
    if match is not None:
        _check_text("--match", match)
        try:
            compiled = jmespath.compile(match)
        except (JMESPathError, RecursionError, ValueError, TypeError) as exc:
            raise FilterError(f"--match is not a JMESPath expression: {_one_line(exc)}") from None
    since_at = parse_time("--since", since, now) if since is not None else None
    until_at = parse_time("--until", until, now) if until is not None else None
    if since_at and until_at and since_at > until_at:
        raise FilterError("--since is after --until")
    return Filter(
        types=_texts("--type", types),
        event_ids=_texts("--event-id", event_ids),
        errors=_texts("--error", errors),
        since=since_at,
        until=until_at,
        match=compiled,
        match_text=match,
    )


def parse_time(option: str, value: str, now: datetime) -> datetime:
    """An ISO 8601 time (``2026-11-29T03:00Z``; no zone means UTC) or an age (``90m``, ``2h``, ``3d``)."""
    _check_text(option, value)
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        try:
            return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        except OverflowError:
            raise FilterError(f"{option}: {value!r} is too far back") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"{option} must be an ISO 8601 time (2026-11-29T03:00Z) or an age (90m, 2h, 3d), not {value!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _texts(option: str, values: Iterable[str]) -> frozenset[str]:
    result = set()
    for value in values:
        _check_text(option, value)
        if not value.strip():
            raise FilterError(f"{option} must not be empty")
        result.add(value.strip())
    return frozenset(result)


def _check_text(option: str, value: str) -> None:
    if len(value) > MAX_OPTION_LENGTH:
        raise FilterError(f"{option} is longer than {MAX_OPTION_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError(f"{option} is not valid Unicode") from None
    if "\x00" in value:
        raise FilterError(f"{option} contains a NUL character")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
