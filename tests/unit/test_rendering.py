"""Email rendering: what the subject and parts say, escaping, header safety, shortening."""

from __future__ import annotations

import base64
import datetime
import email
import email.policy
import re
import uuid
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consumers.email_notification.logic import rendering
from consumers.email_notification.logic.failures import PermanentError
from consumers.email_notification.logic.rendering import (
    EVENT_ID_HEADER,
    MAX_SUBJECT_LENGTH,
    MOVIE_ID_HEADER,
    header_safe,
    render,
    subject_for,
)
from movie_events import MovieCreated, MovieData, MovieDeleted, MovieUpdated

SENDER = "movies@example.com"


def parse(mime: bytes) -> EmailMessage:
    message = email.message_from_bytes(mime, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(mime: bytes) -> tuple[str, str]:
    message = parse(mime)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_created_email_names_the_movie_and_both_ids_in_both_parts() -> None:
    event = MovieCreated(data={"id": "tt01", "title": "Heat", "rating": 8.5, "genres": ["Crime", "Drama"]})
    rendered = render(event, sender=SENDER)
    message = parse(rendered.mime)
    text, html = parts(rendered.mime)
    assert message["Subject"] == "[moviepipe] Movie created: Heat (tt01)"
    assert message["From"] == SENDER and message["To"] == SENDER
    assert message[EVENT_ID_HEADER] == event.id and message[MOVIE_ID_HEADER] == "tt01"
    for part in (text, html):
        assert event.id in part and "tt01" in part and "Heat" in part and "8.5" in part
        assert "Crime, Drama" in part


def test_updated_email_lists_what_changed() -> None:
    event = MovieUpdated(
        data={
            "id": "tt01",
            "title": "Heat (1995)",
            "rating": 9,
            "genres": ["Crime"],
            "previous": {"title": "Heat", "genres": ["Crime", "Drama"]},
        }
    )
    text, html = parts(render(event, sender=SENDER).mime)
    assert "title: Heat -> Heat (1995)" in text
    assert "genres: Crime, Drama -> Crime" in text
    assert "rating" not in text.split("What changed:")[1]
    assert "<del>Heat</del>" in html


def test_updated_email_without_previous_values_says_so() -> None:
    event = MovieUpdated(data={"id": "tt01", "title": "Heat", "rating": 9, "genres": []})
    text, html = parts(render(event, sender=SENDER).mime)
    assert "does not say what changed" in text and "does not say what changed" in html


def test_deleted_email_without_title() -> None:
    event = MovieDeleted(data={"id": "tt01"})
    rendered = render(event, sender=SENDER)
    assert rendered.subject == "[moviepipe] Movie deleted: tt01"
    text, _ = parts(rendered.mime)
    assert "removed" in text and "Title" not in text


def test_html_is_escaped_and_text_is_not() -> None:
    title = "<img src=x onerror=alert(1)> & co"
    event = MovieCreated(data={"id": "m1", "title": title, "rating": 1, "genres": ["<b>"]})
    text, html = parts(render(event, sender=SENDER).mime)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; &amp; co" in html
    assert "&lt;b&gt;" in html
    assert title in text


def test_long_titles_shorten_the_subject_not_reject_it() -> None:
    event = MovieCreated(data={"id": "m1", "title": "T" * 500, "rating": 1, "genres": []})
    subject = render(event, sender=SENDER).subject
    assert len(subject) == MAX_SUBJECT_LENGTH and subject.endswith("… (m1)")
    long_id = MovieDeleted(data={"id": "i" * 256, "title": "Heat"})
    assert len(subject_for(long_id)) == MAX_SUBJECT_LENGTH


def test_control_characters_never_reach_a_header() -> None:
    # The contract refuses them; model_construct bypasses it to prove the renderer's own lock holds.
    data = MovieData.model_construct(
        id="m1\r\nBcc: victim@example.com", title="Heat\r\nX-Evil: 1", rating=1, genres=[]
    )
    event = MovieCreated.model_construct(
        id="e1\nX-Injected: yes",
        type="MovieCreated",
        data=data,
        subject=data.id,
        source="s",
        time=MovieCreated(data={"id": "m", "title": "t", "rating": 1, "genres": []}).time,
    )
    mime = render(event, sender=SENDER).mime
    head = mime.split(b"\r\n\r\n", 1)[0].decode()
    message = parse(mime)
    assert "X-Evil" not in message and "X-Injected" not in message and "Bcc" not in message
    # The text survives only inside the one Subject header, as words, never as a header of its own.
    assert "Bcc: victim@example.com" in str(message["Subject"])
    for line in head.split("\r\n"):
        assert not line.startswith(("Bcc:", "X-Evil:", "X-Injected:"))


def test_lone_surrogates_are_a_permanent_error() -> None:
    # The contract refuses lone surrogates; the renderer still must not crash on an event built around
    # validation (model_construct), so it reports them as permanent too.
    data = MovieData.model_construct(id="m1", title="Bad \udc80", rating=1, genres=[])
    event = MovieCreated.model_construct(id="e1", type="MovieCreated", subject="m1", data=data)
    with pytest.raises(PermanentError) as raised:
        render(event, sender=SENDER)
    assert raised.value.code == "InvalidUnicode"


def test_non_ascii_titles_are_encoded() -> None:
    event = MovieCreated(data={"id": "m1", "title": "Amélie — 天国", "rating": 1, "genres": []})
    rendered = render(event, sender=SENDER)
    assert parse(rendered.mime)["Subject"] == "[moviepipe] Movie created: Amélie — 天国 (m1)"
    assert "Amélie — 天国" in parts(rendered.mime)[0]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_header_safe_never_leaves_control_characters(value: str) -> None:
    cleaned = header_safe(value)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in cleaned)


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=500).filter(
        str.strip
    )
)
def test_any_valid_title_renders_a_parseable_email(title: str) -> None:
    event = MovieCreated(data={"id": "m1", "title": title, "rating": 1, "genres": []})
    rendered = render(event, sender=SENDER)
    message = parse(rendered.mime)
    assert len(str(message["Subject"])) <= MAX_SUBJECT_LENGTH
    assert message[EVENT_ID_HEADER] == event.id


# -- headers from data are inert (issue 8) ------------------------------------------------------------

INJECTION_TITLE = "Hi =?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_spy@evil.example?="
HEADER_NAMES = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    EVENT_ID_HEADER,
    MOVIE_ID_HEADER,
    "MIME-Version",
    "Content-Type",
]


def constructed(event_id: str, movie_id: str, title: str) -> MovieCreated:
    """An event built around validation (model_construct): the renderer's own lock, whatever it holds."""
    data = MovieData.model_construct(id=movie_id, title=title, rating=1, genres=[])
    return MovieCreated.model_construct(
        id=event_id, type="MovieCreated", data=data, subject=movie_id, source="s", time=_TIME
    )


_TIME = MovieCreated(data={"id": "m", "title": "t", "rating": 1, "genres": []}).time


def assert_inert(mime: bytes, event: MovieCreated) -> None:
    message = parse(mime)
    assert list(message.keys()) == HEADER_NAMES  # no header created, none removed
    assert str(message["Subject"]) == subject_for(event)  # the literal text, decoded exactly once
    assert str(message[EVENT_ID_HEADER]) == header_safe(event.id)
    assert str(message[MOVIE_ID_HEADER]) == header_safe(event.movie_id)
    assert message["To"] == SENDER and message["From"] == SENDER
    for line in mime.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert len(line) <= 998 and line.isascii()


def test_encoded_word_title_cannot_add_headers() -> None:
    event = MovieCreated(data={"id": "m1", "title": INJECTION_TITLE, "rating": 1, "genres": []})
    mime = render(event, sender=SENDER).mime
    message = parse(mime)
    assert "Reply-To" not in message and "Bcc" not in message
    assert str(message["Subject"]) == f"[moviepipe] Movie created: {INJECTION_TITLE} (m1)"
    assert b"Reply-To:" not in mime.split(b"\r\n\r\n", 1)[0]
    assert_inert(mime, event)


def test_encoded_words_in_ids_cannot_add_headers() -> None:
    word = "=?utf-8?q?=0D=0ABcc:_spy@evil.example?="
    assert_inert(
        render(constructed(f"e{word}", f"m{word}", "T"), sender=SENDER).mime,
        constructed(f"e{word}", f"m{word}", "T"),
    )


def test_plain_ascii_headers_stay_readable_and_date_and_message_id_are_set() -> None:
    event = MovieCreated(
        id="evt-1",
        time="2026-11-29T10:00:00+01:00",
        data={"id": "tt01", "title": "Heat", "rating": 8, "genres": []},
    )
    rendered = render(event, sender=SENDER)
    head = rendered.mime.split(b"\r\n\r\n", 1)[0].decode()
    assert "Subject: [moviepipe] Movie created: Heat (tt01)" in head
    assert f"{EVENT_ID_HEADER}: evt-1" in head
    message = parse(rendered.mime)
    assert message["Date"] == "Sun, 29 Nov 2026 09:00:00 +0000"
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", str(message["Message-ID"]))
    assert parse(render(event, sender=SENDER).mime)["Message-ID"] == message["Message-ID"]  # deterministic


_HOSTILE_TEXT = st.one_of(
    st.text(min_size=1, max_size=200),
    st.lists(
        st.sampled_from(
            [
                *("=?utf-8?q?", "=?iso-8859-1?b?", "QmNjOiB4", "=0D=0A", "?=", "=?", "a" * 80),
                *("Reply-To:", "Bcc: x@evil.example", ":", ";", "<", ">", " ", "é", "天"),
                *("\r\n", "\n", "\x00", "\u2028", "\t"),
            ]
        ),
        min_size=1,
        max_size=30,
    ).map("".join),
).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))  # lone surrogates: refused before


@settings(max_examples=200, deadline=None)
@given(event_id=_HOSTILE_TEXT, movie_id=_HOSTILE_TEXT, title=_HOSTILE_TEXT)
def test_no_data_derived_text_can_create_end_or_alter_a_header(
    event_id: str, movie_id: str, title: str
) -> None:
    event = constructed(event_id[:128], movie_id[:256], title[:500])
    assume(header_safe(event.id) and header_safe(event.movie_id))  # blank ids: refused by the contract
    assert_inert(render(event, sender=SENDER).mime, event)


# -- the same bytes, parsed by the Pythons the Lambda runtime uses -------------------------------------

_PARSE_ON_OTHER_PYTHON = """
import email, email.policy, json, sys
cases = json.load(sys.stdin)
for case in cases:
    message = email.message_from_bytes(case["mime"].encode("ascii"), policy=email.policy.default)
    found = [list(message.keys()), str(message["Subject"]), str(message["X-Moviepipe-Event-Id"])]
    assert found == [case["names"], case["subject"], case["event_id"]], (sys.version, found, case)
print(len(cases))
"""


def _other_pythons() -> list[str]:
    """Interpreters of 3.12 or later on this machine (PATH, or pyenv's versions), that actually run."""
    import glob
    import os
    import shutil
    import subprocess

    candidates = [shutil.which(f"python3.{minor}") for minor in range(12, 16)]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "3.1[2-9]*", "bin", "python3")))
    found = []
    for path in filter(None, candidates):
        check = [path, "-c", "import sys; assert sys.version_info >= (3, 12)"]
        if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
            found.append(path)
    return found


def test_headers_stay_inert_when_parsed_by_python_3_12_and_later() -> None:
    import json
    import subprocess

    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no Python 3.12+ interpreter on this machine")
    cases = []
    for title in [
        INJECTION_TITLE,
        "=?utf-8?b?DQpCY2M6IHNweUBldmlsLmV4YW1wbGU=?=",
        "x=?utf-8?q?=0ABcc:_a@b.c?=y",
    ]:
        event = MovieCreated(
            id="e=?utf-8?q?=0ABcc:_x@y.z?=", data={"id": "m1", "title": title, "rating": 1, "genres": []}
        )
        mime = render(event, sender=SENDER).mime.decode("ascii")
        cases.append(
            {"mime": mime, "names": HEADER_NAMES, "subject": subject_for(event), "event_id": event.id}
        )
    for python in pythons:
        result = subprocess.run(
            [python, "-I", "-c", _PARSE_ON_OTHER_PYTHON],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, (python, result.stderr)
        assert result.stdout.strip() == str(len(cases))


# -- the cheaper writers are byte-for-byte the standard library's ----------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.timezones()))
def test_date_header_is_what_format_datetime_writes(when: datetime.datetime) -> None:
    event = MovieDeleted(data={"id": "m1"})
    object.__setattr__(event, "time", when)
    try:
        expected = format_datetime(when.astimezone(datetime.UTC))
    except (OverflowError, ValueError):
        return  # the fallback (the time now) is checked by the renderer's own tests
    assert rendering._date(event) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_base64_bodies_are_what_encodebytes_writes(text: str) -> None:
    try:
        canonical = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(PermanentError):
            rendering._base64_body(text)
        return
    assert rendering._base64_body(text) == base64.encodebytes(canonical).decode("ascii").replace("\n", "\r\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_message_id_is_the_uuid5_of_the_event_id(event_id: str) -> None:
    try:
        expected = uuid.uuid5(rendering.MESSAGE_ID_NAMESPACE, event_id).hex
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            rendering.message_id(event_id, "movies@example.com")
        return
    assert rendering.message_id(event_id, "movies@example.com") == f"<{expected}@example.com>"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["Subject", EVENT_ID_HEADER]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120),
)
def test_one_line_headers_are_what_the_folding_writes(name: str, value: str) -> None:
    value = header_safe(value)
    assume("=?" not in value)
    assert rendering.header_line(name, value) == rendering.fold(name, value)
