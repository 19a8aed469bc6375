"""Catch every email the embedded SES accepts, as a mail catcher does, and keep it where a person can read it.

moto accepts SES v2 ``SendEmail`` but keeps only one body part of a message. This WSGI middleware sits in
front of it, reads the request as SES received it (sender, recipients, subject, the text *and* the HTML
part) and, when moto answers 200, records the email: in memory (tests read it) and, given a folder, as a
standard ``.eml`` file plus a viewable ``.html`` page, named by time and SES message id.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from moviepipe.local.wsgi import WSGIApp, call_buffered, read_body

SESV2_SEND_PATH = "/v2/email/outbound-emails"


@dataclass(frozen=True)
class CaughtEmail:
    message_id: str
    sent_at: datetime
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    #: The MIME message exactly as the sender built it, for Raw sends.
    raw_mime: bytes | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc

    def to_mime(self) -> EmailMessage:
        message = EmailMessage(policy=policy.SMTP)
        message["Message-ID"] = self.ses_message_id_header
        message["Date"] = self.sent_at
        message["From"] = self.sender
        if self.to:
            message["To"] = ", ".join(self.to)
        if self.cc:
            message["Cc"] = ", ".join(self.cc)
        # Bcc is deliberately absent from the message headers, as SES leaves it.
        message["Subject"] = self.subject
        message.set_content(self.text or "")
        if self.html:
            message.add_alternative(self.html, subtype="html")
        return message

    def delivered_mime(self) -> bytes:
        """The message as recipients get it from SES.

        For a Raw send that is the sender's MIME message with SES's own ``Date`` (when SES accepted it)
        and ``Message-ID`` (from the SES message id): SES overrides both if the sender set them.
        """
        if self.raw_mime is None:
            return self.to_mime().as_bytes()
        return replace_headers(
            self.raw_mime,
            [("Message-ID", self.ses_message_id_header), ("Date", format_datetime(self.sent_at))],
        )

    @property
    def ses_message_id_header(self) -> str:
        return f"<{self.message_id}@email.amazonses.com>"

    def file_stem(self) -> str:
        return f"{self.sent_at.strftime('%Y%m%dT%H%M%S.%fZ')}-{self.message_id[:24]}"


def _addresses(destination: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(a) for a in destination.get(key, []) or [])


def parse_sesv2_request(body: bytes, message_id: str, sent_at: datetime) -> CaughtEmail | None:
    """The email in an SES v2 SendEmail request body, or None if it is not one we can read."""
    try:
        params = json.loads(body or b"{}")
    except json.JSONDecodeError:
        return None
    content = params.get("Content") or {}
    destination = params.get("Destination") or {}
    sender = str(params.get("FromEmailAddress", ""))
    to, cc, bcc = (_addresses(destination, k) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))
    if "Simple" in content:
        simple = content["Simple"]
        parts = simple.get("Body") or {}
        return CaughtEmail(
            message_id=message_id,
            sent_at=sent_at,
            sender=sender,
            to=to,
            cc=cc,
            bcc=bcc,
            subject=str((simple.get("Subject") or {}).get("Data", "")),
            text=str((parts.get("Text") or {}).get("Data", "")),
            html=str((parts.get("Html") or {}).get("Data", "")),
            headers={h["Name"]: h["Value"] for h in simple.get("Headers", []) or []},
        )
    if "Raw" in content:
        raw_mime = base64.b64decode(content["Raw"]["Data"])
        headers, text, html = read_raw_mime(raw_mime)
        return CaughtEmail(
            message_id=message_id,
            sent_at=sent_at,
            sender=sender or headers.get("From", ""),
            to=to or tuple(a.strip() for a in headers.get("To", "").split(",") if a.strip()),
            cc=cc,
            bcc=bcc,
            subject=headers.get("Subject", ""),
            text=text,
            html=html,
            headers=headers,
            raw_mime=raw_mime,
        )
    return None


def read_raw_mime(raw_mime: bytes) -> tuple[dict[str, str], str, str]:
    """The headers (unfolded, encoded words decoded), text part and HTML part of a raw MIME message.

    Why not ``email.policy.default``: its header objects parse every header's structure (addresses,
    parameters, encoded words) on access, which made reading each caught email the largest single cost of
    the local stack's process in a burst profile (about a quarter of it). The ``compat32`` parser splits
    the message the same way and leaves headers as strings; only what is shown is decoded, here.
    """
    message = BytesParser(policy=compat32).parsebytes(raw_mime)
    headers = {name: _header_text(value) for name, value in message.items()}
    text = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
    return headers, text or "", html or ""


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def _header_text(value: Any) -> str:
    # A folded header ("Subject:" CRLF SP "…") unfolds with its leading space: strip it.
    text = _FOLD.sub("", str(value)).strip()
    return str(make_header(decode_header(text))) if "=?" in text else text


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: show what can be read
        return payload.decode("utf-8", errors="replace")


def replace_headers(raw_mime: bytes, fields: list[tuple[str, str]]) -> bytes:
    """``raw_mime`` with each named header field removed (continuation lines too) and set anew at the end
    of the header block; everything else is kept byte for byte, line endings included."""
    names = {name.lower().encode() for name, _ in fields}
    crlf, lf = raw_mime.find(b"\r\n\r\n"), raw_mime.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf <= lf):
        eol, end = b"\r\n", crlf
    elif lf != -1:
        eol, end = b"\n", lf
    else:
        eol, end = b"\r\n", len(raw_mime)
    kept: list[bytes] = []
    dropping = False
    for line in raw_mime[:end].split(eol):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        if not dropping:
            kept.append(line)
    kept += [f"{name}: {value}".encode() for name, value in fields]
    return eol.join(kept) + raw_mime[end:]


class MailCatcher:
    """WSGI middleware recording each email the wrapped SES accepted."""

    def __init__(self, app: WSGIApp, folder: Path | None = None) -> None:
        self._app = app
        self.folder = folder
        self._lock = threading.Lock()
        self._emails: list[CaughtEmail] = []
        self._listeners: list[Callable[[CaughtEmail], None]] = []

    @property
    def emails(self) -> list[CaughtEmail]:
        with self._lock:
            return list(self._emails)

    def clear(self) -> None:
        with self._lock:
            self._emails.clear()

    def subscribe(self, listener: Callable[[CaughtEmail], None]) -> None:
        self._listeners.append(listener)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != SESV2_SEND_PATH:
            return self._app(environ, start_response)
        request_body = read_body(environ)
        status, response = call_buffered(self._app, environ, start_response)
        if status.startswith("200"):
            try:
                message_id = str(json.loads(response).get("MessageId", ""))
            except (json.JSONDecodeError, AttributeError):
                message_id = ""
            email = parse_sesv2_request(request_body, message_id, datetime.now(UTC))
            if email is not None:
                self._record(email)
        return [response]

    def _record(self, email: CaughtEmail) -> None:
        with self._lock:
            self._emails.append(email)
        if self.folder is not None:
            write_email(self.folder, email)
        for listener in self._listeners:
            listener(email)


def write_email(folder: Path, email: CaughtEmail) -> tuple[Path, Path]:
    """Write ``<stem>.eml`` (RFC 5322, opens in any mail client) and ``<stem>.html`` (open in a browser)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = email.file_stem()
    eml = folder / f"{stem}.eml"
    eml.write_bytes(email.delivered_mime())
    page = folder / f"{stem}.html"
    page.write_text(preview_page(email), encoding="utf-8")
    return eml, page


def preview_page(email: CaughtEmail) -> str:
    """One HTML document: the envelope as a table, then the email's HTML part as a mail client shows it.

    The HTML part is a whole document of its own (doctype, head, body), so it is not pasted into this
    page's body (a document nested in another is invalid HTML, and its styles would leak into the page):
    it goes in a sandboxed ``iframe`` ``srcdoc``, escaped as an attribute value, with scripts disabled.
    """
    meta = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in (
            ("From", email.sender),
            ("To", ", ".join(email.to)),
            ("Cc", ", ".join(email.cc)),
            ("Bcc", ", ".join(email.bcc)),
            ("Subject", email.subject),
            ("Sent", email.sent_at.isoformat()),
            ("SES message id", email.message_id),
        )
        if v
    )
    if email.html:
        body = (
            f"<iframe title='email' sandbox srcdoc=\"{html.escape(email.html, quote=True)}\" "
            "style='width:100%;height:80vh;border:0'></iframe>"
        )
    else:
        body = f"<pre>{html.escape(email.text)}</pre>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(email.subject)}</title></head><body>"
        f"<table border='1' cellpadding='4'>{meta}</table><hr>{body}</body></html>"
    )


def read_folder(folder: Path) -> list[tuple[Path, EmailMessage]]:
    """The ``.eml`` files in a folder, oldest first (``moviepipe local emails``)."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append((path, message))
    return found
