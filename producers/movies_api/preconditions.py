"""ETags and If-Match (RFC 9110 §8.8.3, §13.1.1) for the movies API.

A movie's ETag is its version as a strong entity tag: version 3 is ``"3"``. If-Match uses the strong
comparison (RFC 9110 §8.8.3.2): two tags match only if neither is weak and their opaque tags are the same
characters, so ``W/"3"`` never matches and neither does ``"03"`` (it is another opaque tag, even if it
reads as the same number). An item stored without ``version`` (written by the reference design) is at
version 0, ETag ``"0"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Versions are DynamoDB numbers; 18 digits keep every one an exact integer far from its 38-digit limit.
MAX_VERSION = 10**18 - 1

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

    def allows(self, version: int) -> bool:
        return self.any_version or version in self.versions

    def narrowed_to(self, version: int) -> IfMatch:
        """This condition and "the version is ``version``" together (a PUT body's ``version`` is a second
        If-Match: both must hold). Disjoint conditions give one no version satisfies (412 or 404)."""
        return IfMatch(versions=(version,) if self.allows(version) else ())

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
            # A weak tag, or one this API never hands out ("03", "abc"), can never match: it is kept out
            # of the condition rather than rejected, as the RFC asks of tags that do not match.
            if not weak and _is_issued_tag(opaque):
                versions.append(int(opaque))
        return cls(versions=tuple(versions))


def _is_issued_tag(opaque: str) -> bool:
    """Whether ``opaque`` is a tag :func:`etag` hands out: a version in its one canonical spelling."""
    return opaque.isascii() and opaque.isdigit() and len(opaque) <= 18 and str(int(opaque)) == opaque
