"""Which failures are worth retrying: the transient/permanent classification.

A *transient* failure is a failure of the world — an AWS error answer (throttling, 5xx, an account-level
refusal), a network error, an answer lost in transit, another invocation holding the event's in-progress
lock. It is reported in ``batchItemFailures`` so SQS retries it, and after ``maxReceiveCount`` receives
the redrive policy moves it to the dead-letter queue.

Everything else is about the record itself and is *permanent*: it would fail the same way on every
retry, so it goes to the dead-letter queue at once with its reason. That includes what no rule names —
a ``RecursionError``, a ``UnicodeError``, a ``ValueError`` from serialising a strange value, any bug
that one record's content triggers — because retrying it would only waste ``maxReceiveCount`` receives
and then dead-letter it *without* a reason (and, on a FIFO queue, stall its whole message group).
Powertools wraps whatever fails while it hashes or stores a record in
``IdempotencyPersistenceLayerError``; the cause decides: an AWS/network cause is transient, anything else
(hashing a value that cannot be serialised) is permanent.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

# Defined with the ports (they cross them); re-exported under their old import path.
from consumers.email_notification.ports import AmbiguousSendError as AmbiguousSendError
from consumers.email_notification.ports import Failure as Failure
from consumers.email_notification.ports import Kind as Kind
from movie_events.errors import InvalidEventError
from moviepipe.runtime.aws import describe_error

#: Failure code of a send whose answer was lost (counted by the metric ``AmbiguousSends``).
AMBIGUOUS_SEND = "AmbiguousSend"


class PermanentError(Exception):
    """Raised by the consumer itself for a record that can never be delivered (e.g. unencodable text)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


#: SES error codes meaning "this message's content is refused". SES also answers MessageRejected for an
#: unverified sender in the sandbox; such messages land in the DLQ with that reason and can be redriven
#: once the identity is verified. Account-level problems (SendingPaused, AccountSuspended,
#: MailFromDomainNotVerified) are transient on purpose: they hit every message, and retrying gives the
#: operator maxReceiveCount visibility timeouts to fix them before anything is dead-lettered.
PERMANENT_SES_CODES = frozenset({"MessageRejected", "BadRequestException", "InvalidParameterValue"})


#: Exceptions of the world (not of the record): network, timeouts, the environment running out of memory.
WORLD_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, OSError, MemoryError)

#: Codes for what no rule names, by the exception family (the DLQ ``ErrorCode``; ``ErrorClass`` keeps the
#: exact class).
_CONTENT_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (RecursionError, "TooDeep"),
    (UnicodeError, "InvalidUnicode"),
)


def classify(exc: BaseException) -> Failure:
    """Classify an exception raised while reading, planning, hashing, rendering or sending one record."""
    name = type(exc).__name__
    if isinstance(exc, InvalidEventError):
        return Failure(Kind.PERMANENT, exc.code, name, str(exc))
    if isinstance(exc, PermanentError):
        return Failure(Kind.PERMANENT, exc.code, name, str(exc))
    if isinstance(exc, AmbiguousSendError):
        return Failure(Kind.TRANSIENT, AMBIGUOUS_SEND, name, str(exc))
    if isinstance(exc, IdempotencyValidationError):
        return Failure(
            Kind.PERMANENT,
            "EventIdReused",
            name,
            "an event with this id was already processed with different type or data",
        )
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return Failure(Kind.TRANSIENT, "InProgressElsewhere", name, str(exc))
    if isinstance(exc, IdempotencyInconsistentStateError):  # a record changed between two reads: a race
        return Failure(Kind.TRANSIENT, "IdempotencyRace", name, str(exc))
    if isinstance(exc, IdempotencyPersistenceLayerError):
        # Powertools wraps the DynamoDB error — or whatever failed while hashing the payload; the cause decides.
        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        if isinstance(cause, BaseException) and not isinstance(cause, WORLD_ERRORS):
            inner = classify(cause)
            return Failure(Kind.PERMANENT, inner.code, name, f"{exc.args[0]}: {inner.message}")
        detail = describe_error(cause) if isinstance(cause, BaseException) else str(exc)
        return Failure(Kind.TRANSIENT, "IdempotencyStoreError", name, f"{exc.args[0]}: {detail}")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        kind = Kind.PERMANENT if code in PERMANENT_SES_CODES else Kind.TRANSIENT
        return Failure(kind, code, name, describe_error(exc))
    if isinstance(exc, WORLD_ERRORS):
        return Failure(Kind.TRANSIENT, name, name, describe_error(exc))
    code = next((code for family, code in _CONTENT_CODES if isinstance(exc, family)), "UnprocessableRecord")
    return Failure(Kind.PERMANENT, code, name, describe_error(exc))
