"""Render a movie event into one MIME email (text and HTML alternatives) for SES.

Why it is built this way:

* Jinja2 with autoescape for the HTML part: a title such as ``<script>`` arrives escaped. The text part
  is plain text and is not escaped (``&lt;`` would only confuse a reader).
* Headers never carry CR/LF or other control characters from data: every header value goes through
  :func:`header_safe` (the contract already refuses them in ids and titles; this is the second lock).
  Python's ``email`` package then encodes non-ASCII (RFC 2047) and folds long lines.
* Subjects are shortened, never rejected: a 500-character title still produces an email.
* The whole MIME message is built here (SES "Raw" content) so that both parts, the recipients list and
  the support-tracing headers are exactly what this module produced, and testable as such.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from consumers.email_notification.logic.failures import PermanentError
from movie_events import MovieCreated, MovieDeleted, MovieEvent, MovieUpdated

#: Longest subject produced. RFC 5322 allows 998 characters a line, but mail clients show about 70;
#: 150 keeps the title readable and the id visible.
MAX_SUBJECT_LENGTH = 150
SUBJECT_PREFIX = "[moviepipe] "
EVENT_ID_HEADER = "X-Moviepipe-Event-Id"
MOVIE_ID_HEADER = "X-Moviepipe-Movie-Id"
ELLIPSIS = "…"

_ACTIONS = {MovieCreated: "created", MovieUpdated: "updated", MovieDeleted: "deleted"}


class _CachingHeaderRegistry(HeaderRegistry):
    """The standard registry builds a new header class with ``type()`` on every header access, which
    made it the largest CPU cost of rendering; the classes are stateless, so one per name is enough."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_POLICY = SMTP.clone(header_factory=_CachingHeaderRegistry())


@dataclass(frozen=True)
class RenderedEmail:
    """One email ready for SES: the MIME bytes plus the fields tests and logs care about."""

    subject: str
    text: str
    html: str
    mime: bytes


@dataclass(frozen=True)
class Change:
    """One field a MovieUpdated changed, as shown in the email."""

    field: str
    before: str
    after: str


@cache
def _environment() -> Environment:
    # Built on first use, not at import, to keep the handler's cold start short.
    return Environment(
        loader=PackageLoader("consumers.email_notification", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True
        ),
        undefined=StrictUndefined,  # a typo in a template fails the tests, not silently renders ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def header_safe(value: str) -> str:
    """``value`` with every control character (CR, LF, TAB, NUL, ...) replaced by a space."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return " ".join(cleaned.split())


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def subject_for(event: MovieEvent) -> str:
    action = _ACTIONS[type(event)]
    movie_id = header_safe(event.movie_id)
    title = header_safe(getattr(event.data, "title", None) or "")
    head = f"{SUBJECT_PREFIX}Movie {action}: "
    if not title:
        return shorten(head + movie_id, MAX_SUBJECT_LENGTH)
    tail = f" ({movie_id})"
    room = MAX_SUBJECT_LENGTH - len(head) - len(tail)
    if room < 10:  # an id so long that the title would vanish: shorten the whole line instead
        return shorten(f"{head}{title}{tail}", MAX_SUBJECT_LENGTH)
    return f"{head}{shorten(title, room)}{tail}"


def changes_for(event: MovieUpdated) -> list[Change]:
    previous = event.data.previous
    if previous is None:
        return []
    changes = []
    for name in ("title", "rating", "genres"):
        before = getattr(previous, name)
        if before is not None:
            changes.append(Change(name, _show(before), _show(getattr(event.data, name))))
    return changes


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _context(event: MovieEvent) -> dict[str, Any]:
    data = event.data
    return {
        "action": _ACTIONS[type(event)],
        "event_type": event.type,
        "event_id": event.id,
        "movie_id": event.movie_id,
        "title": getattr(data, "title", None),
        "rating": _show(data.rating) if hasattr(data, "rating") else None,
        "genres": _show(data.genres) if hasattr(data, "genres") else None,
        "time": event.time.isoformat(),
        "source": event.source,
        "changes": changes_for(event) if isinstance(event, MovieUpdated) else [],
        "change_known": isinstance(event, MovieUpdated) and event.data.previous is not None,
    }


def _check_encodable(*texts: str) -> None:
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A JSON "\udc80" escape decodes to a lone surrogate: valid JSON, not valid Unicode text.
            raise PermanentError(
                "InvalidUnicode",
                f"event text contains a lone surrogate (invalid Unicode) at position {exc.start}",
            ) from exc


def message_id_for(event: MovieEvent, sender: str) -> str:
    """``<uuid5 of the event id@the sender's domain>``: the same for every rendering of one event."""
    domain = header_safe(parseaddr(sender)[1].rpartition("@")[2]).replace(" ", "") or "moviepipe.invalid"
    return f"<{uuid.uuid5(uuid.NAMESPACE_URL, f'moviepipe:event:{event.id}')}@{domain}>"


def render(event: MovieEvent, *, sender: str) -> RenderedEmail:
    """The email for ``event``. Raises :class:`PermanentError` for text that cannot be encoded."""
    env = _environment()
    context = _context(event)
    text = env.get_template("email.txt.j2").render(context)
    html = env.get_template("email.html.j2").render(context)
    subject = subject_for(event)
    _check_encodable(subject, text, html)

    message = EmailMessage(policy=_POLICY)
    # RFC 5322 requires Date; Message-ID is derived from the event id, so a re-render (a retry) is the
    # same message. (SES replaces both with its own on the way out; they make the message complete here.)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id_for(event, sender)
    message["Subject"] = subject
    message["From"] = sender
    # Recipients go in the SES envelope only (Bcc-like): no recipient sees the others.
    message["To"] = sender
    message[EVENT_ID_HEADER] = header_safe(event.id)
    message[MOVIE_ID_HEADER] = header_safe(event.movie_id)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # A random boundary of our own: the generator would otherwise compile a fresh regex per message
    # to check its own random boundary against the body. "=_" can occur in neither a quoted-printable
    # nor a base64 body, so this boundary cannot collide with the content.
    message.set_boundary(f"=_moviepipe_{uuid.uuid4().hex}")
    return RenderedEmail(subject=subject, text=text, html=html, mime=message.as_bytes())
