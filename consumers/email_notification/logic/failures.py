"""Which failures are worth retrying: the transient/permanent classification.

A *transient* failure (throttling, a DynamoDB or network error, another invocation holding the event's
in-progress lock) is reported in ``batchItemFailures`` so SQS retries it, and after ``maxReceiveCount``
receives its redrive policy moves it to the dead-letter queue. A *permanent* failure would fail the same
way on every retry, so it goes to the dead-letter queue at once. Anything not recognised is transient:
retrying an unknown error costs a few receives, dead-lettering a good event at once would be worse.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from movie_events import InvalidEventError
from movie_events.aws import describe_error


class Kind(enum.Enum):
    """Whether retrying can help."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


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


@dataclass(frozen=True)
class Failure:
    """A classified failure: what kind, a short code (DLQ attribute, log field) and the message."""

    kind: Kind
    code: str
    error_class: str
    message: str

    @property
    def permanent(self) -> bool:
        return self.kind is Kind.PERMANENT


def classify(exc: BaseException) -> Failure:
    """Classify an exception raised while processing one record."""
    name = type(exc).__name__
    if isinstance(exc, InvalidEventError):
        return Failure(Kind.PERMANENT, exc.code, name, str(exc))
    if isinstance(exc, PermanentError):
        return Failure(Kind.PERMANENT, exc.code, name, str(exc))
    if isinstance(exc, IdempotencyValidationError):
        return Failure(
            Kind.PERMANENT,
            "EventIdReused",
            name,
            "an event with this id was already processed with different type or data",
        )
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return Failure(Kind.TRANSIENT, "InProgressElsewhere", name, str(exc))
    if isinstance(exc, IdempotencyPersistenceLayerError):
        # Powertools wraps the DynamoDB error; name the underlying one.
        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        detail = describe_error(cause) if isinstance(cause, BaseException) else str(exc)
        return Failure(Kind.TRANSIENT, "IdempotencyStoreError", name, f"{exc.args[0]}: {detail}")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        kind = Kind.PERMANENT if code in PERMANENT_SES_CODES else Kind.TRANSIENT
        return Failure(kind, code, name, describe_error(exc))
    if isinstance(exc, BotoCoreError):
        return Failure(Kind.TRANSIENT, name, name, str(exc))
    return Failure(Kind.TRANSIENT, name, name, str(exc) or name)
