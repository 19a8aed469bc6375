"""moviepipe's event contract: the one schema producers and consumers share.

The names below are imported from their submodule on first access (PEP 562), not with the package:
``from movie_events import InvalidEventError`` loads only :mod:`movie_events.errors`, without pydantic
or the event models, so a handler pays at cold start only for the parts of the contract it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from movie_events.errors import (
        EventTooLargeError,
        InvalidEventError,
        MalformedMessageError,
        SchemaValidationError,
        UnknownEventTypeError,
    )
    from movie_events.models import (
        EVENT_CLASSES,
        EVENT_TYPES,
        TYPE_ATTRIBUTE,
        MovieCreated,
        MovieData,
        MovieDeleted,
        MovieDeletedData,
        MovieEvent,
        MovieUpdated,
        MovieUpdatedData,
        PreviousMovieValues,
    )
    from movie_events.parsing import (
        ParsedMessage,
        legacy_event_id,
        legacy_window_event_id,
        parse_event,
        parse_message,
        type_from_attributes,
    )

#: Where each exported name lives.
_SUBMODULE = {
    **dict.fromkeys(
        (
            "EventTooLargeError",
            "InvalidEventError",
            "MalformedMessageError",
            "SchemaValidationError",
            "UnknownEventTypeError",
        ),
        "movie_events.errors",
    ),
    **dict.fromkeys(
        (
            "EVENT_CLASSES",
            "EVENT_TYPES",
            "TYPE_ATTRIBUTE",
            "MovieCreated",
            "MovieData",
            "MovieDeleted",
            "MovieDeletedData",
            "MovieEvent",
            "MovieUpdated",
            "MovieUpdatedData",
            "PreviousMovieValues",
        ),
        "movie_events.models",
    ),
    **dict.fromkeys(
        (
            "ParsedMessage",
            "legacy_event_id",
            "legacy_window_event_id",
            "parse_event",
            "parse_message",
            "type_from_attributes",
        ),
        "movie_events.parsing",
    ),
}

__all__ = [
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "TYPE_ATTRIBUTE",
    "EventTooLargeError",
    "InvalidEventError",
    "MalformedMessageError",
    "MovieCreated",
    "MovieData",
    "MovieDeleted",
    "MovieDeletedData",
    "MovieEvent",
    "MovieUpdated",
    "MovieUpdatedData",
    "ParsedMessage",
    "PreviousMovieValues",
    "SchemaValidationError",
    "UnknownEventTypeError",
    "legacy_event_id",
    "legacy_window_event_id",
    "parse_event",
    "parse_message",
    "type_from_attributes",
]


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module 'movie_events' has no attribute {name!r}")
    value = getattr(importlib.import_module(submodule), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
