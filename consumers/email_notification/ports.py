"""The consumer's ports: what its logic needs from the world, as small interfaces, and the values that
cross them.

The logic (``logic/``) calls these protocols; the adapters (``adapters/``: SES, SQS, DynamoDB) implement
them; the composition root (``handler.py``) plugs one into the other. Both layers import this module
and neither imports the other, so the logic is tested with in-memory fakes (tests/support/fakes.py) and
an adapter can be replaced without touching it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from moviepipe.runtime.aws import describe_error


class Kind(enum.Enum):
    """Whether retrying can help."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


class AmbiguousSendError(Exception):
    """SES may or may not have accepted the email: the request went out and no answer came back (the
    connection dropped, a read timed out). Not retried by the sender; SQS's next receive sends again."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            f"no answer from SES after sending; the email may have been sent: {describe_error(cause)}"
        )
        self.cause = cause


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


@dataclass(frozen=True)
class RenderedEmail:
    """One email ready for SES: the MIME bytes plus the fields tests and logs care about."""

    subject: str
    text: str
    html: str
    mime: bytes


class EmailSender(Protocol):
    def send(self, email: RenderedEmail) -> str:
        """Send ``email``; return the provider's message id. Raises on failure."""
        ...


class DeadLetterQueue(Protocol):
    def send(self, record: SQSRecord, failure: Failure) -> None:
        """Store ``record`` with its ``failure``; raise if it could not be stored."""
        ...


class LegacyWindows(Protocol):
    def window_start(self, content_id: str, sent_ms: int) -> int:
        """The start (ms) of the window the copy sent at ``sent_ms`` belongs to. Raises on AWS errors."""
        ...
