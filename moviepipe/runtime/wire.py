"""Names moviepipe writes on the wire and other parts read back: one module, imported by both sides.

The consumer writes them (dead letters, emails); the operator tools read them (``moviepipe dlq``,
``moviepipe local emails``, the demo, the local SQS front). Defining them here, rather than in the
consumer, lets the CLI read a dead letter without importing the consumer's internals, and makes a
rename a change in one place that both sides follow. They are contracts: operators filter on them,
runbooks and alarms name them. (The event's own ``Type`` attribute is part of the event contract:
:data:`movie_events.parsing.TYPE_ATTRIBUTE`.)
"""

from __future__ import annotations

from typing import Final

# -- dead letters: the original message, plus why it failed -----------------------------------------
#: The error family's code (:mod:`movie_events.errors`), e.g. ``SchemaValidation``; ``dlq --error`` filters on it.
ERROR_CODE: Final = "ErrorCode"
#: The exception's class name.
ERROR_CLASS: Final = "ErrorClass"
#: The exception's message, truncated.
ERROR_MESSAGE: Final = "ErrorMessage"
#: The SQS message id of the record that failed (a redrive gives the copy a new id).
SOURCE_MESSAGE_ID: Final = "SourceMessageId"
#: The original attributes that did not fit SQS's 10, JSON-encoded.
OVERFLOW_ATTRIBUTES: Final = "OverflowAttributes"
#: Every attribute a dead letter adds to the original message.
DEAD_LETTER_ATTRIBUTES: Final = (
    ERROR_CODE,
    ERROR_CLASS,
    ERROR_MESSAGE,
    SOURCE_MESSAGE_ID,
    OVERFLOW_ATTRIBUTES,
)
#: SQS's limit of message attributes per message.
MAX_MESSAGE_ATTRIBUTES: Final = 10

# -- idempotency records -----------------------------------------------------------------------------
#: Prefix of every idempotency key the email consumer writes (the soak and on-call read them). Fixed on
#: purpose: Powertools' default prefix is the Lambda function name plus the Python qualname, so renaming
#: the function or moving code would make every event look new and a DLQ replay after such a change
#: would send its emails again.
IDEMPOTENCY_KEY_PREFIX: Final = "moviepipe-email-notification"


# -- emails ------------------------------------------------------------------------------------------
#: The event an email is about (one email per event: mail tools and tests count by it).
EVENT_ID_HEADER: Final = "X-Moviepipe-Event-Id"
#: The movie the event is about.
MOVIE_ID_HEADER: Final = "X-Moviepipe-Movie-Id"
