"""The contract's field types: the rules each movie and envelope field obeys, without the event models.

They live apart from :mod:`movie_events.models` so that a process that needs only the rules (the movies
API validates its request bodies with them) does not define the event models: importing this module
costs pydantic's field types, not the creation of every contract model (issue 13's cold start).
:mod:`movie_events.models` re-exports every name here.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import AfterValidator, Field, StrictStr, StringConstraints

#: Longest title accepted. Titles longer than this are data errors, not movies (and would not fit an
#: email subject line anyway).
MAX_TITLE_LENGTH = 500
MAX_ID_LENGTH = 256
MAX_GENRES = 50


def _clean_text(value: str) -> str:
    # CR/LF and other control characters in an id or title are never legitimate and are the raw
    # material of header injection; refusing them at the contract keeps every consumer safe.
    # isprintable() (C speed) is False for every control character, so the character scan runs only
    # for the rare value that holds something unprintable.
    if not value.isprintable() and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain control characters (such as CR or LF)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# Strict strings of bounded length, not blank, without control characters. The length constraint comes
# first, so an oversized value is reported as too long rather than as something else.
_CLEAN = AfterValidator(_clean_text)
MovieId: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH), _CLEAN]
Title: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_TITLE_LENGTH), _CLEAN]
Genre: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1, max_length=100), _CLEAN]
EventId: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1, max_length=128), _CLEAN]
Source: TypeAlias = Annotated[StrictStr, StringConstraints(min_length=1, max_length=512), _CLEAN]
Rating: TypeAlias = Annotated[float, Field(strict=True, ge=0, le=10, allow_inf_nan=False)]
Genres: TypeAlias = Annotated[list[Genre], Field(max_length=MAX_GENRES)]
