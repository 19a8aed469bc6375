"""moviepipe's event contract: the one schema producers and consumers share."""

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
    TYPE_ATTRIBUTE,
    ParsedMessage,
    legacy_event_id,
    legacy_window_event_id,
    parse_event,
    parse_message,
    type_from_attributes,
)

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
