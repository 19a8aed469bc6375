"""Render a movie event into one MIME email (text and HTML alternatives) for SES.

Why it is built this way:

* Jinja2 with autoescape for the HTML part: a title such as ``<script>`` arrives escaped. The text part
  is plain text and is not escaped (``&lt;`` would only confuse a reader).
* **Headers from data are inert, whatever the Python version.** The MIME bytes are written here, not by
  the standard library's ``email`` generator: its header folding parses a value as it folds it, and
  Python 3.11/3.12 decode an RFC 2047 encoded word found in the value (``=?utf-8?q?=0D=0ABcc:…?=``)
  and write the decoded CR/LF out as real header lines. Here a data-derived header value (subject,
  event id, movie id) is first cleaned by :func:`header_safe` (no control characters), then either
  written as it is — only when it is printable ASCII without any ``=?``, so a mail client has nothing to
  decode — or written entirely as base64 encoded words of our own, which a client decodes exactly once,
  back into the literal text. Nothing the data says can start, end or alter a header line.
* Bodies are base64 (CRLF-canonical text, 76-character lines), so no body line can look like a
  boundary: the boundary contains ``=_``, which base64 never produces.
* ``Date`` is the event's time and ``Message-ID`` is derived from the event id (RFC 5322): a re-sent
  email (the documented windows in docs/consumer.md) carries the same ``Message-ID`` as the first one.
* Subjects are shortened, never rejected: a 500-character title still produces an email.
* Writing the message directly is also ~10x cheaper than ``email.message.EmailMessage`` (whose header
  registry and generator dominated the consumer's CPU per record).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consumers.email_notification.logic.failures import PermanentError

# Defined with the ports and the wire names; re-exported under their old import path.
from consumers.email_notification.ports import RenderedEmail as RenderedEmail
from movie_events import MovieCreated, MovieDeleted, MovieEvent, MovieUpdated
from moviepipe.runtime.wire import EVENT_ID_HEADER as EVENT_ID_HEADER
from moviepipe.runtime.wire import MOVIE_ID_HEADER as MOVIE_ID_HEADER

if TYPE_CHECKING:
    from jinja2 import BaseLoader, Environment, Template

#: Longest subject produced. RFC 5322 allows 998 characters a line, but mail clients show about 70;
#: 150 keeps the title readable and the id visible.
MAX_SUBJECT_LENGTH = 150
SUBJECT_PREFIX = "[moviepipe] "
ELLIPSIS = "…"
#: ``=_`` never occurs in base64, the only body encoding used, so one fixed boundary cannot collide.
BOUNDARY = "=_moviepipe_alternative"
#: Namespace of the Message-ID derivation (uuid5 of the event id). Never change it.
MESSAGE_ID_NAMESPACE = uuid.UUID("0b3d6c55-7f0e-4b8e-9d1e-6a8f2c4e1d37")

_ACTIONS = {MovieCreated: "created", MovieUpdated: "updated", MovieDeleted: "deleted"}
#: A domain usable as the right-hand side of a Message-ID (dot-atom).
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
#: Bytes of text per encoded word: 36 bytes → 48 base64 characters → a 60-character word (≤ 75).
_WORD_BYTES = 36
_CRLF = "\r\n"


@dataclass(frozen=True)
class Change:
    """One field a MovieUpdated changed, as shown in the email."""

    field: str
    before: str
    after: str


#: The templates' sources (the truth) and their Jinja2-compiled Python modules, generated from them
#: by :func:`compile_templates` (``make templates``; a unit test fails when the compiled ones are stale).
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
COMPILED_TEMPLATES = TEMPLATES / "compiled"
#: Each template and whether its environment autoescapes (on for HTML; the text part is plain text).
_TEMPLATE_AUTOESCAPE = {"email.txt.j2": False, "email.html.j2": True}


def _environment(loader: BaseLoader, *, autoescape: bool) -> Environment:
    """The one environment definition, for compiling the templates and for rendering them.

    ``auto_reload=False``: the templates ship inside the zip and never change in a running process, so
    no ``stat`` of the template file per render. Autoescape is a constant per environment: Jinja2
    evaluates an autoescape *function* (``select_autoescape``) on every render, for a choice that is
    fixed per template — a measurable share of the consumer's CPU per record.
    """
    from jinja2 import Environment, StrictUndefined

    return Environment(
        loader=loader,
        autoescape=autoescape,  # noqa: S701 - on for the HTML part; the text part is plain text
        undefined=StrictUndefined,  # a typo in a template fails the tests, not silently renders ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def compile_templates(target: Path = COMPILED_TEMPLATES) -> list[Path]:
    """Compile the template sources into Python modules in ``target`` (Jinja2's own
    ``Environment.compile_templates``, one environment per template's autoescape), what the handler
    loads with a ``ModuleLoader``. Returns the files written."""
    from jinja2 import FileSystemLoader

    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("tmpl_*.py"):
        stale.unlink()
    for name, autoescape in _TEMPLATE_AUTOESCAPE.items():
        environment = _environment(FileSystemLoader(TEMPLATES), autoescape=autoescape)
        environment.compile_templates(target, zip=None, filter_func=name.__eq__, ignore_errors=False)
    return sorted(target.glob("tmpl_*.py"))


@cache
def _templates() -> tuple[Template, Template]:
    """The text and HTML templates, loaded once per process from their precompiled modules.

    jinja2 is imported here, on the first render, not when the handler module is imported: an import of
    the handler that never renders (the local stack's declaration checks, the packaging test) need not
    pay it. The templates were compiled ahead of time (:func:`compile_templates`), so the first render
    runs no lexer, parser or code generator: it imports two small Python modules.
    """
    from jinja2 import ModuleLoader

    loader = ModuleLoader(COMPILED_TEMPLATES)
    text_name, html_name = _TEMPLATE_AUTOESCAPE
    return (
        _environment(loader, autoescape=_TEMPLATE_AUTOESCAPE[text_name]).get_template(text_name),
        _environment(loader, autoescape=_TEMPLATE_AUTOESCAPE[html_name]).get_template(html_name),
    )


def _render(template: Template, context: dict[str, Any]) -> str:
    """``template.render(context)`` without its per-call copies of the context: ``new_context(shared=
    True)`` (Jinja2's public API) uses the mapping as it is — it is built per email and never reused —
    and the templates use no globals."""
    return template.environment.concat(template.root_render_func(template.new_context(context, shared=True)))


def header_safe(value: str) -> str:
    """``value`` with every control character (CR, LF, TAB, NUL, ...) replaced by a space, and runs of
    white space collapsed to one space."""
    if value.isprintable():  # the common case, at C speed
        return " ".join(value.split())
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


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A JSON "\udc80" escape decodes to a lone surrogate: valid JSON, not valid Unicode text. The
        # contract's reader refuses it; this is the second lock for events built around validation.
        raise PermanentError(
            "InvalidUnicode",
            f"event text contains a lone surrogate (invalid Unicode) at position {exc.start}",
        ) from exc


def encoded_words(value: str) -> str:
    """``value`` as base64 RFC 2047 encoded words of at most 75 characters, folded onto lines of their
    own. Each word holds whole UTF-8 characters (RFC 2047 section 5); a client decodes them once and
    joins adjacent words without the folding white space, giving back exactly ``value``."""
    data = _utf8(value)
    words = []
    start, end = 0, len(data)
    while start < end:
        stop = min(start + _WORD_BYTES, end)
        while stop < end and 0x80 <= data[stop] < 0xC0:  # never split a UTF-8 sequence
            stop -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:stop]).decode('ascii')}?=")
        start = stop
    return (_CRLF + " ").join(words)


def header_line(name: str, value: str) -> str:
    """The header ``name: value`` (with its CRLF) for data-derived text, inert whatever it holds.

    Printable ASCII without ``=?`` is written as it is, folded at spaces to about 78 characters a line
    (unfolding gives back the same text); anything else is written as encoded words of our own.
    """
    value = header_safe(value)
    # isascii + isprintable: exactly the printable ASCII range (0x20-0x7e), at C speed.
    if not (value.isascii() and value.isprintable() and "=?" not in value):
        return f"{name}: {encoded_words(value)}{_CRLF}"
    if len(name) + 2 + len(value) <= 78:  # fits one line: what fold() gives, without its loop
        return f"{name}: {value}{_CRLF}"
    return fold(name, value)


def fold(name: str, value: str) -> str:
    """``name: value`` folded at spaces to about 78 characters a line (printable ASCII ``value``)."""
    line = f"{name}:"
    lines = []
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return _CRLF.join(lines) + _CRLF


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(event: MovieEvent) -> str:
    """RFC 5322 date of the event's time in UTC: what ``email.utils.format_datetime`` writes for it
    (a test holds the two equal), without its ``timetuple`` and ``strftime`` round trip per email."""
    try:
        when = event.time.astimezone(UTC)
    except (OverflowError, ValueError):  # a valid but extreme time (year 1 at +01:00): the date now
        when = datetime.now(UTC)
    return (
        f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} +0000"
    )


def message_id(event_id: str, sender: str) -> str:
    """``<uuid5-of-the-event-id@sender's domain>``: the same event always gets the same Message-ID."""
    return f"<{_uuid5_hex(event_id)}@{_message_id_domain(sender)}>"


_NAMESPACE_BYTES = MESSAGE_ID_NAMESPACE.bytes


def _uuid5_hex(name: str) -> str:
    """``uuid.uuid5(MESSAGE_ID_NAMESPACE, name).hex`` (RFC 4122 section 4.3; a test holds them equal)
    from the SHA-1 digest's bytes directly, without building a 128-bit integer and a ``UUID``."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()[:16])  # noqa: S324 - RFC 4122 v5
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


@cache
def _message_id_domain(sender: str) -> str:
    # The sender may carry a display name ("Movies <movies@example.com>"): take the address's domain.
    # Cached: the sender is configuration, the same for every email, and parseaddr is not cheap.
    domain = parseaddr(sender)[1].rpartition("@")[2]
    return domain if _DOMAIN.fullmatch(domain) else "moviepipe.invalid"


def _base64_body(text: str) -> str:
    """Base64 of the CRLF-canonical text (RFC 2045 section 6.8) in 76-character lines, each ending in
    CRLF: what ``base64.encodebytes`` writes (57 bytes a line), from one ``b64encode`` of the whole."""
    encoded = base64.b64encode(_utf8(text.replace("\r\n", "\n").replace("\n", _CRLF))).decode("ascii")
    if not encoded:
        return ""
    return _CRLF.join([encoded[i : i + 76] for i in range(0, len(encoded), 76)]) + _CRLF


def render(event: MovieEvent, *, sender: str) -> RenderedEmail:
    """The email for ``event``. Raises :class:`PermanentError` for text that cannot be encoded."""
    text_template, html_template = _templates()
    context = _context(event)
    text = _render(text_template, context)
    html = _render(html_template, context)
    subject = subject_for(event)
    mime = "".join(
        (
            # The sender is configuration (checked at start-up), never data; it is the visible To too:
            # recipients go in the SES envelope only (Bcc-like), so no recipient sees the others.
            f"From: {sender}{_CRLF}",
            f"To: {sender}{_CRLF}",
            header_line("Subject", subject),
            f"Date: {_date(event)}{_CRLF}",
            f"Message-ID: {message_id(event.id, sender)}{_CRLF}",
            header_line(EVENT_ID_HEADER, event.id),
            header_line(MOVIE_ID_HEADER, event.movie_id),
            f"MIME-Version: 1.0{_CRLF}",
            f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"{_CRLF}',
            _CRLF,
            f"--{BOUNDARY}{_CRLF}",
            f'Content-Type: text/plain; charset="utf-8"{_CRLF}',
            f"Content-Transfer-Encoding: base64{_CRLF}{_CRLF}",
            _base64_body(text),
            f"--{BOUNDARY}{_CRLF}",
            f'Content-Type: text/html; charset="utf-8"{_CRLF}',
            f"Content-Transfer-Encoding: base64{_CRLF}{_CRLF}",
            _base64_body(html),
            f"--{BOUNDARY}--{_CRLF}",
        )
    )
    return RenderedEmail(subject=subject, text=text, html=html, mime=mime.encode("ascii"))


if __name__ == "__main__":
    for written in compile_templates():
        print(written)
