"""The soak, small: a few hundred events through the whole local pipeline under every injected fault, and
every invariant of ``make soak`` holding (tests/unit/test_soak_check.py shows the checker failing when
one breaks). ``make soak`` runs the same code at 2,000 events."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.soak import EXIT_BROKEN, POISON_KINDS, SoakOptions, main, render, run_soak
from moviepipe.local.soak_faults import TARGETED

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def empty_account(aws: EmbeddedAWS) -> Iterator[None]:
    """moto keeps its state per process: a stack another test started here left its resources, which
    the soak's own stack would meet when it provisions (``aws`` resets the account first), and the
    soak's would meet the next one's (reset again after)."""
    yield
    aws.reset()


def test_a_small_soak_keeps_every_guarantee() -> None:
    log = io.StringIO()
    report = run_soak(SoakOptions(events=200, max_seconds=300), log=log)
    shown = io.StringIO()
    render(report, shown)
    assert report.ok, shown.getvalue() + log.getvalue()[-3000:]

    figures = report.figures
    assert figures["valid_events"] == 200
    assert figures["events_by_source"].keys() == {"api", "library", "legacy"}
    # Every fault kind really happened, and every window fault left its extra email.
    faults = figures["faults"]
    for kind in (*TARGETED, "crashed_invocation", "ses_throttle_burst", "sns_double_delivery"):
        assert faults.get(kind, 0) >= 1, kind
    assert any(kind.startswith("dynamodb_") for kind in faults)
    assert figures["attributed_extra_emails"] == faults["crash_after_send"] + faults["ses_lost_answer"]
    assert figures["other"]["ses_throttled_requests"] >= 1
    # Every poison kind was sent and dead-lettered; the replay ran and moved what the DLQ held.
    assert figures["poison_messages"] >= len(POISON_KINDS)
    assert figures["dead_lettered_poison"] == figures["poison_messages"]
    assert figures["replay"]["ok"] and figures["replay"]["moved"] >= 1


def test_hitting_the_time_bound_stops_the_soak_and_fails_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "20", "--max-seconds", "1", "--json"]) == EXIT_BROKEN
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["timed_out"] is True and report["ok"] is False
    assert report["invariants"]["finished_in_time"] is False
    assert "time bound hit" in captured.err
