"""What the embedded SES has sent.

The moto server runs in this process (a thread serving HTTP), so its SES backend can be read directly:
every SendEmail that reached it, with source, destinations, subject and body. Raw (MIME) messages are
parsed, so their text and HTML parts and their headers can be checked as a mail client would see them.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.support import aws


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    source: str
    destinations: dict[str, list[str]]
    subject: str
    body: str
    raw: Any
    #: For raw (MIME) messages: the parsed message and its parts; empty for simple ones.
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    raw_headers: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _parse_raw(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    head, _, _ = message.raw_data.partition("\n\n")
    return {
        # moto keeps one list: the envelope recipients, then the addresses of the To/Cc headers.
        "destinations": {"Envelope": list(message.destinations)},
        "subject": str(parsed["Subject"] or ""),
        "text": text_part.get_content() if text_part is not None else "",
        "html": html_part.get_content() if html_part is not None else "",
        "headers": {name.lower(): str(value) for name, value in parsed.items()},
        "raw_headers": head,
    }


def sent_emails(region: str | None = None) -> list[SentEmail]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][region or aws.region()]
    out = []
    for message in list(backend.sent_messages):
        if hasattr(message, "raw_data"):
            parsed = _parse_raw(message)
            out.append(
                SentEmail(
                    message_id=message.id,
                    source=message.source or "",
                    body=parsed["html"] or parsed["text"],
                    raw=message,
                    **parsed,
                )
            )
            continue
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
