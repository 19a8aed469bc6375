"""Send one rendered email through SES v2 SendEmail — attempted once per delivery.

One SendEmail per event, to every recipient at once: the recipients are in the envelope
(``Destination.BccAddresses``) and the visible ``To`` header is the sender, so no recipient sees the
others and an event costs one SES call whatever the number of recipients (at most 50, see config).

**Retries.** SES ``SendEmail`` has no idempotency token: a request that reached SES may have sent the
email even when no answer came back. botocore's retry modes retry exactly those cases (read timeouts,
dropped connections, 5xx), so one lost answer became two to four emails. The SES client is therefore
built with ``SES_CLIENT_CONFIG`` (one attempt, no botocore retries) and this sender retries by itself
only what *proves* nothing was sent:

* a throttling answer (``TooManyRequestsException`` …): SES refused the request before processing it;
* a connection that could not be opened (``EndpointConnectionError``, ``ConnectTimeoutError``): the
  request never left.

Anything after the request went out without a usable answer — a read timeout, a dropped connection, a
5xx — raises :class:`AmbiguousSendError`: the consumer logs it, counts it (metric ``AmbiguousSends``)
and reports the record for SQS to retry, so an ambiguous send costs at most one extra email per receive.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError

from consumers.email_notification.ports import AmbiguousSendError, RenderedEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

#: botocore configuration of the SES client (keyword arguments of ``moviepipe.runtime.aws.client``): one
#: attempt, never an SDK-level repeat of a send; a read timeout well inside the function's 30 s.
SES_CLIENT_CONFIG: Final[dict[str, Any]] = {
    "retries": {"mode": "standard", "total_max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 10,
}
#: SES answers that mean "not processed, try later".
THROTTLING_CODES: Final = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestThrottled"}
)
#: Attempts per send for the provably-unsent cases above (the first included).
MAX_ATTEMPTS: Final = 3
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 1.0


def _provably_unsent(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) in THROTTLING_CODES
    return isinstance(exc, EndpointConnectionError | ConnectTimeoutError)


def _ambiguous(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return isinstance(exc, HTTPClientError)  # ReadTimeoutError, ConnectionClosedError, …


class SesEmailSender:
    """:class:`EmailSender` over an ``sesv2`` boto3 client built with :data:`SES_CLIENT_CONFIG`."""

    def __init__(
        self,
        client: SESV2Client,
        *,
        sender: str,
        recipients: Sequence[str],
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._sender = sender
        self._recipients = list(recipients)
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep

    def send(self, email: RenderedEmail) -> str:
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = self._client.send_email(
                    FromEmailAddress=self._sender,
                    Destination={"BccAddresses": self._recipients},
                    Content={"Raw": {"Data": email.mime}},
                )
            except Exception as exc:
                if _provably_unsent(exc) and attempt < self._max_attempts:
                    # Full jitter: concurrent lanes throttled together do not retry together.
                    self._sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
                    continue
                if _ambiguous(exc):
                    raise AmbiguousSendError(exc) from exc
                raise
            return str(response["MessageId"])
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
