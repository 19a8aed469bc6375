"""ETags and If-Match (RFC 9110 §8.8.3, §13.1.1) for the movies API.

A movie's ETag is its version as a strong entity tag: version 3 is ``"3"``. If-Match uses the strong
comparison, so weak tags (``W/"3"``) never match, as the RFC requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: More tags than this in one If-Match is not a real client; DynamoDB's IN takes at most 100 operands.
MAX_IF_MATCH_TAGS = 20

# RFC 9110 entity-tag: optional W/, then a quoted run of etagc (visible ASCII but the quote).
_ETAGC = r"[\x21\x23-\x7e]*"
_TAG = re.compile(rf'\s*(W/)?"({_ETAGC})"\s*')
#: The whole header, for the OpenAPI document: * or 1 to MAX_IF_MATCH_TAGS entity tags.
IF_MATCH_PATTERN = rf'^\s*(\*|(W/)?"{_ETAGC}"(\s*,\s*(W/)?"{_ETAGC}"){{0,{MAX_IF_MATCH_TAGS - 1}}})\s*$'


class InvalidIfMatchError(ValueError):
    """An If-Match header that is not ``*`` nor a list of entity tags."""


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed If-Match: ``*`` (any current version) or the versions the client will accept."""

    any_version: bool = False
    versions: tuple[int, ...] = ()

    def describe(self) -> str:
        if self.any_version:
            return "any version"
        return " or ".join(etag(v) for v in self.versions)

    @classmethod
    def parse(cls, header: str) -> IfMatch:
        value = header.strip()
        if value == "*":
            return cls(any_version=True)
        versions: list[int] = []
        parts = value.split(",")
        if not value or len(parts) > MAX_IF_MATCH_TAGS:
            raise InvalidIfMatchError(
                f'If-Match must be * or a list of at most {MAX_IF_MATCH_TAGS} ETags such as "3"'
            )
        for part in parts:
            match = _TAG.fullmatch(part)
            if match is None:
                raise InvalidIfMatchError(f'If-Match: {part.strip()!r} is not an ETag such as "3"')
            weak, opaque = match.groups()
            # A weak tag, or one this API never hands out, can never match: it is kept out of the
            # condition rather than rejected, as the RFC asks of tags that do not match.
            if not weak and opaque.isdigit() and len(opaque) <= 18:
                versions.append(int(opaque))
        return cls(versions=tuple(versions))
