"""Emails are complete messages: Date and Message-ID from the renderer, SES's own in the local outbox,
and a preview page that is one valid HTML document."""

from __future__ import annotations

import email
import email.policy
import html
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.email_notification.logic.rendering import render
from movie_events import MovieCreated, MovieDeleted
from moviepipe.local.mail_catcher import CaughtEmail, preview_page, write_email

SENDER = "Movies <movies@moviepipe.example.com>"


def parse(mime: bytes) -> EmailMessage:
    message = email.message_from_bytes(mime, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def created(event_id: str = "evt-1", title: str = "Up") -> MovieCreated:
    return MovieCreated(id=event_id, data={"id": "42", "title": title, "rating": 8.3, "genres": []})


def test_rendered_email_has_a_current_date_and_a_message_id_on_the_senders_domain() -> None:
    message = parse(render(created(), sender=SENDER).mime)
    assert len(message.get_all("Date") or []) == 1 and len(message.get_all("Message-ID") or []) == 1
    date = parsedate_to_datetime(str(message["Date"]))
    assert date.tzinfo is not None and abs(datetime.now(UTC) - date) < timedelta(minutes=5)
    message_id = str(message["Message-ID"])
    assert message_id.startswith("<") and message_id.endswith("@moviepipe.example.com>")
    assert not message["Message-ID"].defects


def test_message_id_is_the_same_for_every_rendering_of_one_event_and_differs_between_events() -> None:
    first = parse(render(created("evt-1"), sender=SENDER).mime)["Message-ID"]
    again = parse(render(created("evt-1", title="Up (retried)"), sender=SENDER).mime)["Message-ID"]
    other = parse(render(created("evt-2"), sender=SENDER).mime)["Message-ID"]
    assert str(first) == str(again) != str(other)


@settings(max_examples=80, deadline=None)
@given(event_id=st.text(min_size=1, max_size=300), movie_id=st.text(min_size=1, max_size=200))
def test_any_event_id_gives_one_well_formed_message_id(event_id: str, movie_id: str) -> None:
    """Whatever the ids hold (CR/LF, angle brackets, non-ASCII), the Message-ID is one clean msg-id."""
    try:
        event = MovieDeleted(id=event_id, data={"id": movie_id})
    except ValueError:
        return  # the contract refuses it before any email is built
    rendered = render(event, sender=SENDER)
    message = parse(rendered.mime)
    [message_id] = message.get_all("Message-ID") or []
    assert not message_id.defects
    text = str(message_id)
    assert text.startswith("<") and text.endswith("@moviepipe.example.com>")
    assert text.isascii() and text.count("@") == 1 and not any(c in text for c in "\r\n ")


def catch(*, raw: bool, html_part: str = "<!DOCTYPE html><html><body><p>Up</p></body></html>") -> CaughtEmail:
    rendered = render(created(), sender=SENDER)
    return CaughtEmail(
        message_id="0100019cdeadbeef-local",
        sent_at=datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC),
        sender=SENDER,
        to=("movies@moviepipe.example.com",),
        cc=(),
        bcc=(),
        subject=rendered.subject,
        text=rendered.text,
        html=html_part,
        raw_mime=rendered.mime if raw else None,
    )


def test_outbox_copy_carries_the_date_and_message_id_ses_gives_it(tmp_path: Path) -> None:
    for raw in (True, False):
        eml, _ = write_email(tmp_path / str(raw), catch(raw=raw))
        message = parse(eml.read_bytes())
        # SES overrides both headers: exactly one of each, SES's values.
        assert message.get_all("Message-ID") == ["<0100019cdeadbeef-local@email.amazonses.com>"]
        [date] = message.get_all("Date") or []
        assert parsedate_to_datetime(str(date)) == datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
    raw_copy = parse((next((tmp_path / "True").glob("*.eml"))).read_bytes())
    body = raw_copy.get_body(preferencelist=("plain",))
    assert body is not None and "Up" in body.get_content()  # the rest of the message is untouched


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.starts: list[str] = []
        self.srcdoc: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append(tag)
        self.srcdoc += [value or "" for name, value in attrs if name == "srcdoc"]


def test_preview_page_is_one_document_with_the_email_framed_not_nested() -> None:
    page = _Tags()
    email_html = render(created(title="<Up> & away"), sender=SENDER).html
    page.feed(preview_page(catch(raw=True, html_part=email_html)))
    assert page.starts.count("html") == 1 and page.starts.count("body") == 1
    assert page.starts.count("head") == 1
    assert page.srcdoc == [email_html]  # the email's own document, intact, inside a sandboxed iframe
    assert "iframe" in page.starts


def test_preview_of_a_text_only_email_escapes_it() -> None:
    caught = catch(raw=False, html_part="")
    caught = CaughtEmail(**{**caught.__dict__, "text": "<script>alert(1)</script>"})
    page = preview_page(caught)
    assert "<script>" not in page and html.escape("<script>alert(1)</script>") in page
