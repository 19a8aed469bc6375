"""The soak's verdict: what a run observed in, every invariant checked, one report out.

Pure on purpose: :func:`check` reads plain observations (the events published, the emails caught, the
faults injected with the event each one hit, the poison messages sent and what the DLQ holds at the
end) and touches no AWS, so a test can hand it doctored observations — an email missing, a duplicate
without a fault to explain it, a poison message absent from the DLQ — and see it fail.

**Attribution.** The guarantee is one email per event, apart from the two documented windows
(docs/consumer.md, "The remaining windows"): a crash between SES's answer and the idempotency commit,
and an SES answer lost in transit. Each costs exactly one extra email when it happens, so the soak's
fault injector records every such fault with the event it hit, and an event with ``k`` of them must
have exactly ``1 + k`` emails: extra emails are matched to faults one by one, not merely counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Faults that cost exactly one extra email each (the documented windows).
EXTRA_EMAIL_FAULTS = ("crash_after_send", "ses_lost_answer")
#: Movie ids of the soak's legacy (flat-format) events start with this: their event id is derived by
#: the consumer from content and window, so they are recognised by their movie id.
LEGACY_MOVIE_PREFIX = "soak-legacy-"
LEGACY_KEY_PREFIX = "legacy:"


def event_key(event_id: str, movie_id: str, published: Iterable[str] | Mapping[str, Any]) -> str:
    """The key of the published event an email (or a fault) belongs to: its event id when that id was
    published (CloudEvents), ``legacy:<movie id>`` for a legacy message, else the id itself."""
    if event_id in published:
        return event_id
    if movie_id.startswith(LEGACY_MOVIE_PREFIX):
        return LEGACY_KEY_PREFIX + movie_id
    return event_id


@dataclass(frozen=True)
class Email:
    """One email SES accepted (from the mail catcher)."""

    event_id: str
    movie_id: str
    #: Envelope recipients and the header names, to check that no data-derived text added a header.
    recipients: tuple[str, ...] = ()
    header_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultHit:
    """One injected fault. ``event_id``/``movie_id``: the event it hit, when it hit one (SES-side
    faults); ``probes``: the poison messages in an invocation a crash ended; ``detail``: free text."""

    kind: str
    event_id: str = ""
    movie_id: str = ""
    probes: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Poison:
    """A poison message sent to the queue, tagged with its probe id, and the reason it must carry."""

    probe: str
    kind: str
    code: str
    reason: str


@dataclass(frozen=True)
class DeadLetter:
    """A message in the DLQ at the end: the probe it carries (poison), or the key of the valid event it
    holds; ``code`` None when the redrive policy put it there (no reason attributes)."""

    probe: str | None
    key: str | None
    code: str | None
    message: str = ""


@dataclass
class Observations:
    #: Key of every valid event published (event id, or ``legacy:<movie id>``) → its source.
    published: dict[str, str]
    emails: list[Email]
    faults: list[FaultHit]
    poison: list[Poison]
    dead_letters: list[DeadLetter]
    #: Changes the movies API acknowledged (2xx) and events the outbox relay published for them.
    api_changes: int = 0
    recipients: tuple[str, ...] = ()
    seconds: float = 0.0
    settled: bool = True
    timed_out: bool = False
    replay: dict[str, Any] | None = None
    #: Counts of things that are not faults (SNS copies, legacy quick copies, throttled requests …).
    extra_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class SoakReport:
    figures: dict[str, Any]
    invariants: dict[str, bool]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and all(self.invariants.values())

    def as_dict(self) -> dict[str, Any]:
        return {**self.figures, "invariants": self.invariants, "problems": self.problems, "ok": self.ok}


#: At most this many problem lines per invariant (a broken run can have thousands).
_SHOWN = 10


def check(obs: Observations) -> SoakReport:
    """Every invariant of the soak over ``obs``; see the module docstring."""
    problems: dict[str, list[str]] = {
        name: []
        for name in (
            "one_email_per_event",
            "extras_attributed",
            "no_unknown_emails",
            "poison_dead_lettered",
            "nothing_lost",
            "api_changes_published",
            "headers_inert",
            "finished_in_time",
        )
    }
    published = obs.published
    emails = Counter(event_key(e.event_id, e.movie_id, published) for e in obs.emails)
    attributed: Counter[str] = Counter(
        event_key(f.event_id, f.movie_id, published) for f in obs.faults if f.kind in EXTRA_EMAIL_FAULTS
    )

    # Every valid event: exactly one email plus one per fault of the documented windows that hit it.
    for key in published:
        got, windows = emails[key], attributed[key]
        if got == 0:
            problems["one_email_per_event"].append(f"event {key} ({published[key]}) produced no email")
        elif got > 1 + windows:
            problems["extras_attributed"].append(
                f"event {key} ({published[key]}) produced {got} emails; {windows} window fault(s) explain "
                f"{windows} extra: {got - 1 - windows} duplicate(s) without a fault"
            )
        elif got < 1 + windows:
            problems["extras_attributed"].append(
                f"event {key} produced {got} email(s), but {windows} window fault(s) hit it "
                f"(expected {1 + windows})"
            )
    for key in sorted(set(emails) - set(published)):
        problems["no_unknown_emails"].append(f"{emails[key]} email(s) for {key}, which was never published")
    for key in sorted(set(attributed) - set(published)):
        problems["extras_attributed"].append(f"a window fault hit {key}, which was never published")

    # Every poison message: in the DLQ with its reason; a second copy only from a crashed invocation.
    crashes_with: Counter[str] = Counter(p for f in obs.faults for p in f.probes)
    by_probe: dict[str, list[DeadLetter]] = {}
    for letter in obs.dead_letters:
        if letter.probe is not None:
            by_probe.setdefault(letter.probe, []).append(letter)
    sent_probes = {p.probe for p in obs.poison}
    for poison in obs.poison:
        copies = by_probe.get(poison.probe, [])
        if not copies:
            problems["poison_dead_lettered"].append(
                f"poison {poison.probe} ({poison.kind}) is not in the DLQ"
            )
            continue
        for letter in copies:
            if letter.code != poison.code or poison.reason not in letter.message:
                problems["poison_dead_lettered"].append(
                    f"poison {poison.probe} ({poison.kind}) is in the DLQ as {letter.code}: "
                    f"{letter.message[:120]!r}, not {poison.code} mentioning {poison.reason!r}"
                )
        if len(copies) - 1 > crashes_with[poison.probe]:
            problems["poison_dead_lettered"].append(
                f"poison {poison.probe} is in the DLQ {len(copies)} times; crashed invocations explain "
                f"{crashes_with[poison.probe]} extra"
            )
    for probe in sorted(set(by_probe) - sent_probes):
        problems["poison_dead_lettered"].append(f"the DLQ holds {probe}, which the soak never sent")

    # Nothing lost: no valid event left in the DLQ, nothing there that is neither poison nor valid.
    for letter in obs.dead_letters:
        if letter.probe is None and letter.key in published:
            problems["nothing_lost"].append(
                f"valid event {letter.key} is in the DLQ ({letter.code or 'redrive: MaxReceiveCountExceeded'})"
            )
        elif letter.probe is None:
            problems["nothing_lost"].append(f"the DLQ holds a message the soak cannot place: {letter.key}")
    total_emails = sum(emails[key] for key in published)
    extras = sum(attributed[key] for key in published)
    emailed = sum(1 for key in published if emails[key] >= 1)
    dead_poison = len(set(by_probe) & sent_probes)
    if emailed != len(published):
        problems["nothing_lost"].append(
            f"{len(published)} valid events, {emailed} emailed ({total_emails} emails - {extras} attributed extras)"
        )
    if dead_poison != len(obs.poison):
        problems["nothing_lost"].append(f"{len(obs.poison)} poison messages, {dead_poison} dead-lettered")

    api_events = sum(1 for source in published.values() if source == "api")
    if api_events != obs.api_changes:
        problems["api_changes_published"].append(
            f"the movies API acknowledged {obs.api_changes} changes; the outbox relay published {api_events} events"
        )

    allowed = set(obs.recipients)
    for email in obs.emails:
        extra = sorted(set(email.recipients) - allowed) if allowed else []
        injected = sorted({"Reply-To", "Bcc", "Cc"} & set(email.header_names))
        if extra or injected:
            problems["headers_inert"].append(
                f"the email for {email.event_id} has extra recipients {extra} or headers {injected}"
            )

    if obs.timed_out:
        problems["finished_in_time"].append(
            f"the time bound was hit after {obs.seconds:.0f} s: the run was cut short, its figures are partial"
        )
    elif not obs.settled:
        problems["finished_in_time"].append("the pipeline did not settle (queue not empty) before the end")

    if obs.replay is None:
        problems["nothing_lost"].append("the mid-run `moviepipe dlq replay` did not run")
    elif not obs.replay.get("ok", False):
        problems["nothing_lost"].append(f"the mid-run `moviepipe dlq replay` failed: {obs.replay}")

    sources = Counter(published.values())
    faults = Counter(f.kind for f in obs.faults)
    figures: dict[str, Any] = {
        "valid_events": len(published),
        "events_by_source": dict(sorted(sources.items())),
        "api_changes": obs.api_changes,
        "poison_messages": len(obs.poison),
        "poison_by_code": dict(sorted(Counter(p.code for p in obs.poison).items())),
        "emails": len(obs.emails),
        "events_emailed_once": sum(1 for key in published if emails[key] == 1),
        "extra_emails": sum(max(0, emails[key] - 1) for key in published),
        "attributed_extra_emails": extras,
        "dead_letters": len(obs.dead_letters),
        "dead_lettered_poison": dead_poison,
        #: Second DLQ copies of poison messages, each from an invocation that crashed after dead-lettering it.
        "poison_copies_from_crashes": sum(len(v) - 1 for p, v in by_probe.items() if p in sent_probes),
        "faults": dict(sorted(faults.items())),
        "other": dict(sorted(obs.extra_counts.items())),
        "replay": obs.replay,
        "seconds": round(obs.seconds, 1),
        "events_per_second": round(len(published) / obs.seconds, 1) if obs.seconds else 0.0,
        "settled": obs.settled,
        "timed_out": obs.timed_out,
    }
    invariants = {name: not found for name, found in problems.items()}
    shown = [line for found in problems.values() for line in _first(found)]
    return SoakReport(figures=figures, invariants=invariants, problems=shown)


def _first(lines: list[str]) -> list[str]:
    return lines[:_SHOWN] + ([f"… and {len(lines) - _SHOWN} more"] if len(lines) > _SHOWN else [])
