"""The demo's verdict: each broken invariant is reported, and only then."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consumers.email_notification.logic.rendering import EVENT_ID_HEADER
from moviepipe.local.demo import POISON_BODY, evaluate
from moviepipe.local.mail_catcher import CaughtEmail

POISON = {"Body": POISON_BODY}


def email(event_id: str) -> CaughtEmail:
    return CaughtEmail(
        message_id=f"ses-{event_id}",
        sent_at=datetime.now(UTC),
        sender="s@x",
        to=(),
        cc=(),
        bcc=("r@x",),
        subject="s",
        text="t",
        html="h",
        headers={EVENT_ID_HEADER: event_id},
    )


def run(**overrides: Any) -> list[str]:
    arguments: dict[str, Any] = {
        "published": ["a", "b"],
        "emails": [email("a"), email("b")],
        "valid_deliveries": 3,
        "dead_letters": [POISON],
        "settled": True,
        "seconds": 1.0,
    }
    arguments.update(overrides)
    return evaluate(**arguments).problems


def test_a_good_run_has_no_problems_and_counts_right() -> None:
    summary = evaluate(
        published=["a", "b"],
        emails=[email("a"), email("b")],
        valid_deliveries=3,
        dead_letters=[POISON],
        settled=True,
        seconds=0.5,
    )
    assert summary.ok and summary.as_dict() == {
        "events_published": 2,
        "emails_sent": 2,
        "duplicates_suppressed": 1,
        "dead_lettered": 1,
        "seconds_to_settle": 0.5,
        "ok": True,
        "problems": [],
    }


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"emails": [email("a")], "valid_deliveries": 2}, "event b produced 0 emails, not 1"),
        (
            {"emails": [email("a"), email("a"), email("b")], "valid_deliveries": 3},
            "event a produced 2 emails, not 1",
        ),
        (
            {"emails": [email("a"), email("b"), email("z")], "valid_deliveries": 4},
            "an email for z, which was never published",
        ),
        ({"valid_deliveries": 2}, "the forced duplicate delivery was not suppressed"),
        ({"dead_letters": []}, "the poison message is not in the dead-letter queue"),
        ({"settled": False}, "the pipeline did not settle"),
    ],
)
def test_each_broken_invariant_is_reported(overrides: dict[str, Any], problem: str) -> None:
    problems = run(**overrides)
    assert any(problem in p for p in problems), problems
