"""What the embedded SES has sent.

The moto server runs in this process (a thread serving HTTP), so its SES backend can be read directly:
every SendEmail that reached it, with source, destinations, subject and body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from movie_events import aws


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    source: str
    destinations: dict[str, list[str]]
    subject: str
    body: str
    raw: Any


def sent_emails(region: str | None = None) -> list[SentEmail]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][region or aws.region()]
    out = []
    for message in list(backend.sent_messages):
        out.append(
            SentEmail(
                message_id=message.id,
                source=getattr(message, "source", ""),
                destinations=getattr(message, "destinations", {}) or {},
                subject=getattr(message, "subject", "") or "",
                body=getattr(message, "body", "") or "",
                raw=message,
            )
        )
    return out
