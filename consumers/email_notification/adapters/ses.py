"""Send one rendered email through SES v2 SendEmail.

One SendEmail per event, to every recipient at once: the recipients are in the envelope
(``Destination.BccAddresses``) and the visible ``To`` header is the sender, so no recipient sees the
others and an event costs one SES call whatever the number of recipients (at most 50, see config).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from consumers.email_notification.rendering import RenderedEmail


class EmailSender(Protocol):
    def send(self, email: RenderedEmail) -> str:
        """Send ``email``; return the provider's message id. Raises on failure."""
        ...


class SesEmailSender:
    """:class:`EmailSender` over an ``sesv2`` boto3 client."""

    def __init__(self, client: Any, *, sender: str, recipients: Sequence[str]) -> None:
        self._client = client
        self._sender = sender
        self._recipients = list(recipients)

    def send(self, email: RenderedEmail) -> str:
        response = self._client.send_email(
            FromEmailAddress=self._sender,
            Destination={"BccAddresses": self._recipients},
            Content={"Raw": {"Data": email.mime}},
        )
        return str(response["MessageId"])
