"""The soak's checker fails on every kind of broken guarantee: fed doctored observations (an email missing,
a duplicate no fault explains, a poison message absent from the DLQ …), it names the invariant broken.

The soak itself (tests/e2e/test_soak.py) shows the invariants holding on a real run; these show that a
passing soak means something."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from moviepipe.local.soak import EXIT_USAGE, POISON_KINDS, SoakOptions, main, plan
from moviepipe.local.soak_check import (
    DeadLetter,
    Email,
    FaultHit,
    Observations,
    Poison,
    check,
    event_key,
)


def good() -> Observations:
    """A run where everything held: e1 hit by a lost answer (2 emails), e2 by a crash after the send
    (2 emails), a legacy event, an API event, two poison messages (one in a crashed invocation, so in the
    DLQ twice)."""
    return Observations(
        published={"e1": "library", "e2": "library", "e3": "api", "legacy:soak-legacy-1": "legacy"},
        emails=[
            Email("e1", "m1"),
            Email("e1", "m1"),
            Email("e2", "m2"),
            Email("e2", "m2"),
            Email("e3", "m3"),
            Email("window-id", "soak-legacy-1"),
        ],
        faults=[
            FaultHit("ses_lost_answer", "e1", "m1"),
            FaultHit("crash_after_send", "e2", "m2"),
            FaultHit("crashed_invocation", probes=("p1",)),
            FaultHit("ses_throttle_burst"),
        ],
        poison=[
            Poison("p1", "invalid-json", "MalformedMessage", "not JSON"),
            Poison("p2", "wrong-type", "SchemaValidation", "data.title"),
        ],
        dead_letters=[
            DeadLetter("p1", None, "MalformedMessage", "body is not JSON: …"),
            DeadLetter("p1", None, "MalformedMessage", "body is not JSON: …"),
            DeadLetter("p2", None, "SchemaValidation", "invalid MovieCreated: data.title: …"),
        ],
        api_changes=1,
        replay={"ok": True, "moved": 2},
    )


def broken(report_obs: Observations) -> set[str]:
    report = check(report_obs)
    assert not report.ok and report.problems
    return {name for name, held in report.invariants.items() if not held}


def test_a_run_where_everything_held_passes() -> None:
    report = check(good())
    assert report.ok, report.problems
    assert report.figures["attributed_extra_emails"] == 2
    assert report.figures["extra_emails"] == 2
    assert report.figures["events_emailed_once"] == 2


def test_a_missing_email_fails() -> None:
    obs = good()
    obs.emails = [e for e in obs.emails if e.event_id != "e3"]
    assert broken(obs) == {"one_email_per_event", "nothing_lost"}


def test_a_duplicate_without_a_fault_fails() -> None:
    obs = good()
    obs.emails.append(Email("e3", "m3"))
    assert broken(obs) == {"extras_attributed"}


def test_extras_are_matched_one_by_one_not_counted() -> None:
    # Two window faults, two extra emails in all — but both extras on e1 and none on e2.
    obs = good()
    obs.emails = [e for e in obs.emails if e.event_id != "e2"] + [Email("e1", "m1"), Email("e2", "m2")]
    assert len(obs.emails) == len(good().emails)
    assert broken(obs) == {"extras_attributed"}


def test_a_fault_that_produced_no_extra_email_fails() -> None:
    obs = good()
    obs.faults.append(FaultHit("ses_lost_answer", "e3", "m3"))
    assert broken(obs) == {"extras_attributed"}


def test_an_email_for_an_event_never_published_fails() -> None:
    obs = good()
    obs.emails.append(Email("ghost", "m9"))
    assert broken(obs) == {"no_unknown_emails"}


def test_a_poison_message_missing_from_the_dlq_fails() -> None:
    obs = good()
    obs.dead_letters = [d for d in obs.dead_letters if d.probe != "p2"]
    assert broken(obs) == {"poison_dead_lettered", "nothing_lost"}


def test_a_poison_message_with_the_wrong_reason_fails() -> None:
    obs = good()
    obs.dead_letters[-1] = DeadLetter("p2", None, "MalformedMessage", "whatever")
    assert broken(obs) == {"poison_dead_lettered"}


def test_a_second_dlq_copy_needs_a_crashed_invocation_to_explain_it() -> None:
    obs = good()
    obs.faults = [f for f in obs.faults if f.kind != "crashed_invocation"]
    assert broken(obs) == {"poison_dead_lettered"}


def test_a_valid_event_left_in_the_dlq_fails() -> None:
    obs = good()
    obs.dead_letters.append(DeadLetter(None, "e3", None))
    assert broken(obs) == {"nothing_lost"}


def test_an_api_change_without_its_event_fails() -> None:
    obs = dataclasses.replace(good(), api_changes=2)
    assert broken(obs) == {"api_changes_published"}


def test_an_injected_header_fails() -> None:
    obs = dataclasses.replace(good(), recipients=("ops@example.com",))
    obs.emails = [dataclasses.replace(e, recipients=("ops@example.com",)) for e in obs.emails]
    obs.emails[0] = dataclasses.replace(obs.emails[0], header_names=("Subject", "Bcc"))
    assert broken(obs) == {"headers_inert"}


def test_hitting_the_time_bound_fails() -> None:
    assert broken(dataclasses.replace(good(), timed_out=True, seconds=570)) == {"finished_in_time"}
    assert broken(dataclasses.replace(good(), settled=False)) == {"finished_in_time"}


def test_a_failed_or_missing_replay_fails() -> None:
    assert broken(dataclasses.replace(good(), replay=None)) == {"nothing_lost"}
    assert broken(dataclasses.replace(good(), replay={"ok": False})) == {"nothing_lost"}


def test_legacy_emails_are_recognised_by_movie_id() -> None:
    assert event_key("window-id", "soak-legacy-1", {"e1": "x"}) == "legacy:soak-legacy-1"
    assert event_key("e1", "soak-legacy-1", {"e1": "x"}) == "e1"


@pytest.mark.parametrize("events", [20, 200, 2000])
def test_the_plan_produces_exactly_the_events_asked_for(events: int) -> None:
    units = plan(SoakOptions(events=events))
    assert sum(n for kind, n in units if kind in ("library", "api", "legacy")) == events
    assert {i for kind, i in units if kind == "poison"} == set(range(len(POISON_KINDS)))
    assert [kind for kind, _ in units].count("replay") == 1


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "3"]) == EXIT_USAGE
    assert "at least 20" in capsys.readouterr().err
    assert main(["--no-such-flag"]) == EXIT_USAGE


def test_reliability_md_names_every_invariant_and_quotes_a_run() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "reliability.md").read_text()
    for name in check(good()).invariants:
        assert f"`{name}`" in text, name
    figures = text.split("## The last figures", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"20\d\d-\d\d-\d\d", figures) and "events/s" in figures, "a dated run with its figures"
    assert "docs/reliability.md" in (root / "README.md").read_text()
