"""``make soak``: N events through the whole local pipeline with everything going wrong, then the verdict.

It starts the local stack (embedded AWS, the movies API over HTTP, the table's stream → outbox relay,
SNS → SQS → the email consumer, the mail catcher) and drives it, paced, from both producers:

* the **movies API** (about a quarter of the events): POST with ``Idempotency-Key``, PUT and DELETE with
  ``If-Match``; each acknowledged change must become one event through the stream and the relay;
* the **producer library** (``EventPublisher.publish_many``), some titles hostile but valid (encoded
  words that once injected headers, non-ASCII);
* **legacy** flat messages (``Type`` attribute, ``genres`` null or unordered), each sent twice in quick
  succession: one event, one email;
* **poison** messages of every kind issue 8 lists, straight onto the queue, each tagged with a probe id.

Meanwhile it injects faults (:mod:`moviepipe.local.soak_faults`): SNS double deliveries (a copy of a
published message put on the queue again), SES throttling bursts, lost SES answers, SES refusals,
DynamoDB errors, and the runtime dying before and after a send. Half way it stops the refusals and runs
the real ``moviepipe dlq replay`` on the DLQ, in a subprocess. Then it waits for the pipeline to settle
and checks every invariant (:mod:`moviepipe.local.soak_check`): one email per event apart from the
documented windows, each extra email matched to the fault that caused it; every poison message in the
DLQ with its reason; nothing lost.

Bounded in count (``--events``) and in time (``--max-seconds``: past it, production stops, the verdict
says so and the exit code is 1). Exit codes: 0 every invariant held, 1 one broke (or the time bound was
hit), 2 bad usage. ``--json`` prints the report as one JSON object on stdout.

``python -m moviepipe.local.soak --help``; ``make soak N=500``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from movie_events import MovieCreated, MovieDeleted, MovieEvent, MovieUpdated
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.demo import http, queue_depth
from moviepipe.local.provision import provision_messaging
from moviepipe.local.soak_check import (
    LEGACY_KEY_PREFIX,
    LEGACY_MOVIE_PREFIX,
    DeadLetter,
    Email,
    FaultHit,
    Observations,
    Poison,
    SoakReport,
    check,
)
from moviepipe.local.soak_faults import PROBE_ATTRIBUTE, SoakFaults, email_ids
from moviepipe.local.stack import Deployment, LocalStack, StackSettings, client_environment
from moviepipe.runtime.settings import process_environment
from moviepipe.runtime.wire import ERROR_CODE, ERROR_MESSAGE, EVENT_ID_HEADER, MOVIE_ID_HEADER
from producers import EventPublisher

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef as SqsAttributeValue

SOAK_SOURCE = "urn:moviepipe:soak"
AUDIT_QUEUE = DEPLOYMENT.name("soak-audit")
#: A valid title holding an RFC 2047 encoded word (issue 8): it must reach the email as inert text.
ENCODED_WORD_TITLE = "Hi =?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_spy@evil.example?="
DEFAULT_EVENTS = 2000
EXIT_BROKEN = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class SoakOptions:
    events: int = DEFAULT_EVENTS
    #: The whole run, start-up and settling included; past it the run stops and fails.
    max_seconds: float = 570.0
    #: Most valid events offered per second, and most events produced but not yet emailed.
    rate: float = 80.0
    max_backlog: int = 300
    #: One consumer event in ``fault_spacing`` gets a targeted fault (see soak_faults).
    fault_spacing: int = 40
    #: The consumer's function timeout in the soak (its in-progress lock) and the queue's visibility
    #: timeout: the lock must expire before SQS redelivers, as on AWS (30 s against 180 s).
    lock_seconds: float = 2.0
    visibility_timeout: int = 3
    seed: int = 14

    def problems(self) -> list[str]:
        found = []
        if self.events < 20:
            found.append(f"--events must be at least 20, not {self.events}")
        if not self.max_seconds > 0:
            found.append("--max-seconds must be positive")
        if not self.rate > 0:
            found.append("--rate must be positive")
        if not 0 < self.lock_seconds < self.visibility_timeout:
            found.append("the lock must be shorter than the visibility timeout")
        return found


# -- poison: every kind issue 8 lists, with the reason the DLQ must carry ------------------------------
def _envelope(**data: Any) -> str:
    document = json.loads(
        MovieCreated(data={"id": "p", "title": "Poison", "rating": 5, "genres": []}).to_json()
    )
    document["data"].update(data)
    return json.dumps(document)


def _deep_extra_field(levels: int) -> str:
    document = json.loads(_envelope())
    nested: Any = "bottom"
    for _ in range(levels):
        nested = {"x": nested}
    document["data"]["extra"] = nested
    return json.dumps(document)


#: (kind, body, Type attribute or None, ErrorCode, a fragment of ErrorMessage).
POISON_KINDS: tuple[tuple[str, str, str | None, str, str], ...] = (
    ("invalid-json", "this is not json {", "MovieCreated", "MalformedMessage", "not JSON"),
    ("json-array", "[1, 2, 3]", "MovieCreated", "MalformedMessage", "JSON object, not list"),
    ("nested-50000", "[" * 50_000 + "]" * 50_000, "MovieCreated", "MalformedMessage", "nested more than 32"),
    (
        "extra-field-300-deep",
        _deep_extra_field(300),
        None,
        "MalformedMessage",
        "nested more than 32 levels deep",
    ),
    (
        "lone-surrogate-legacy",
        '{"id":"m","title":"\\udc80","rating":8,"genres":["Drama"]}',
        "MovieCreated",
        "MalformedMessage",
        "lone surrogate",
    ),
    (
        "huge-integer",
        '{"id": "m", "title": "x", "rating": 1' + "0" * 100 + ', "genres": []}',
        "MovieCreated",
        "MalformedMessage",
        "digits",
    ),
    (
        "nan",
        '{"id": "m", "title": "x", "rating": NaN, "genres": []}',
        "MovieCreated",
        "MalformedMessage",
        "NaN",
    ),
    ("wrong-type", _envelope(title=42), None, "SchemaValidation", "data.title"),
    ("missing-field", '{"id": "m1"}', "MovieCreated", "SchemaValidation", "data.title"),
    ("oversized-field", _envelope(title="x" * 20_000), None, "SchemaValidation", "data.title"),
    (
        "header-injection",
        _envelope(title="Heat\r\nBcc: all@example.com"),
        None,
        "SchemaValidation",
        "control",
    ),
    (
        "unknown-type",
        _envelope().replace('"MovieCreated"', '"MovieRated"'),
        None,
        "UnknownEventType",
        "MovieRated",
    ),
    (
        "no-type",
        '{"id": "m", "title": "x", "rating": 5, "genres": []}',
        None,
        "UnknownEventType",
        "no 'Type'",
    ),
)
#: A CloudEvent reusing the id of an event already emailed, with other data.
EVENT_ID_REUSED = ("event-id-reused", "EventIdReused", "different")


# -- the run ------------------------------------------------------------------------------------------
@dataclass
class _Run:
    """Everything one run knows while it runs."""

    options: SoakOptions
    stack: LocalStack
    deployment: Deployment
    faults: SoakFaults
    log: TextIO
    started: float = field(default_factory=time.monotonic)
    published: dict[str, str] = field(default_factory=dict)
    poison: list[Poison] = field(default_factory=list)
    api_changes: int = 0
    produced: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    replay: dict[str, Any] | None = None
    timed_out: bool = False
    _audited: int = 0
    _last_progress: float = 0.0
    _last_audit: float = 0.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.options.seed)
        clients = self.stack.aws.clients()  # plain clients: the faults' hook is the consumer's only
        self.sqs = clients.sqs()
        self.sns = clients.sns()
        messaging = self.deployment.messaging
        self.queue_url, self.dlq_url, self.topic_arn = (
            messaging.queue_url,
            messaging.dlq_url,
            messaging.topic_arn,
        )
        self.publisher = EventPublisher(self.topic_arn, clients=clients)
        self.audit_url = provision_messaging(
            topic_name=self.topic_arn.rsplit(":", 1)[-1],
            queue_name=AUDIT_QUEUE,
            dlq_name=f"{AUDIT_QUEUE}-dlq",
            event_types=("MovieCreated", "MovieUpdated", "MovieDeleted"),
            clients=clients,
        ).queue_url
        self.live: list[tuple[str, str, dict[str, Any]]] = []  # API movies: id, ETag, fields
        self.deadline = self.started + self.options.max_seconds

    # -- pacing and progress ----------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def out_of_time(self) -> bool:
        if time.monotonic() >= self.deadline:
            self.timed_out = True
        return self.timed_out

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def pace(self, production_started: float) -> None:
        """Wait until the next event may go: at most ``rate`` per second, at most ``max_backlog`` not
        yet emailed (the producers never outrun the consumer by more than that)."""
        while not self.out_of_time():
            if time.monotonic() - self._last_audit >= 0.5:  # every receive makes moto scan the queue
                self.audit()
            self.progress()
            on_schedule = self.produced <= (time.monotonic() - production_started) * self.options.rate
            backlog = self.produced - len(self.stack.aws.mail.emails)
            if on_schedule and backlog < self.options.max_backlog:
                return
            time.sleep(0.05)

    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < 5:
            return
        self._last_progress = now
        self.log.write(
            f"[{self.elapsed():5.0f}s] produced {self.produced}/{self.options.events} valid, "
            f"{len(self.poison)} poison · emails {len(self.stack.aws.mail.emails)} · "
            f"dead-lettered {self.stack.aws.sqs.dead_lettered} · faults {len(self.faults.hits)}\n"
        )
        self.log.flush()

    # -- producers --------------------------------------------------------------------------------
    def library(self, size: int) -> None:
        events: list[MovieEvent] = []
        for _ in range(size):
            n = self.produced + len(events)
            movie = {
                "id": f"soak-lib-{n}",
                "title": ENCODED_WORD_TITLE
                if n % 97 == 13
                else ("Amélie 🎬 " if n % 7 == 3 else "Soak ") + str(n),
                "rating": round(self.rng.uniform(0, 10), 1),
                "genres": self.rng.sample(["Drama", "Crime", "Comedy", "Animation", "Romance"], k=2),
            }
            kind = n % 10
            event: MovieEvent
            if kind < 6:
                event = MovieCreated(source=SOAK_SOURCE, data=movie)
            elif kind < 9:
                event = MovieUpdated(source=SOAK_SOURCE, data={**movie, "previous": {"rating": 1.0}})
            else:
                event = MovieDeleted(source=SOAK_SOURCE, data={"id": movie["id"], "title": movie["title"]})
            events.append(event)
        self.publisher.publish_many(events)
        for event in events:
            self.published[event.id] = "library"
        self.produced += len(events)

    def api(self) -> None:
        """One change through the movies API: create (half the time, or when nothing is left), update or
        delete. Counted when acknowledged."""
        url = self.deployment.api_url
        choice = self.rng.random()
        if not self.live or choice < 0.5:
            fields: dict[str, Any] = {"title": f"API {self.produced}", "rating": 5.0, "genres": ["Drama"]}
            status, headers, body = http(
                "POST", f"{url}/movies", fields, {"Idempotency-Key": str(uuid.uuid4())}
            )
            if status == 201:
                self.live.append((body["id"], headers["ETag"], fields))
        elif choice < 0.8:
            index = self.rng.randrange(len(self.live))
            movie_id, etag, fields = self.live[index]
            fields = {**fields, "rating": round((float(fields["rating"]) + 1.3) % 10, 1)}
            status, headers, _ = http("PUT", f"{url}/movies/{movie_id}", fields, {"If-Match": etag})
            if status == 200:
                self.live[index] = (movie_id, headers["ETag"], fields)
        else:
            movie_id, etag, _ = self.live.pop(self.rng.randrange(len(self.live)))
            status, _, _ = http("DELETE", f"{url}/movies/{movie_id}", None, {"If-Match": etag})
        if 200 <= status < 300:
            self.api_changes += 1
            self.produced += 1
        else:
            self.count(f"api_answered_{status}")

    def legacy(self) -> None:
        """A legacy flat message and a quick copy of it (genres reordered: the same set)."""
        n = self.produced
        movie_id = f"{LEGACY_MOVIE_PREFIX}{n}"
        genres = None if n % 2 else ["Drama", "Action"]
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            "Type": {"DataType": "String", "StringValue": "MovieCreated"}
        }
        for copy in (genres, None if genres is None else list(reversed(genres))):
            body = json.dumps({"id": movie_id, "title": f"Legacy {n}", "rating": 6, "genres": copy})
            self.sns.publish(TopicArn=self.topic_arn, Message=body, MessageAttributes=attributes)
        self.published[LEGACY_KEY_PREFIX + movie_id] = "legacy"
        self.count("legacy_quick_copies")
        self.produced += 1

    def send_poison(self, kind: str, body: str, type_attribute: str | None, code: str, reason: str) -> None:
        probe = f"poison-{len(self.poison)}-{kind}"
        attributes: dict[str, SqsAttributeValue] = {
            PROBE_ATTRIBUTE: {"DataType": "String", "StringValue": probe}
        }
        if type_attribute:
            attributes["Type"] = {"DataType": "String", "StringValue": type_attribute}
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attributes)
        self.poison.append(Poison(probe, kind, code, reason))

    def impostor(self) -> bool:
        """An event reusing the id of a library event already emailed, with other data."""
        emailed = {email_ids(e.raw_mime or b"")[0] for e in self.stack.aws.mail.emails}
        original = next((i for i, s in self.published.items() if s == "library" and i in emailed), None)
        if original is None:
            return False
        body = MovieCreated(
            id=original,
            source=SOAK_SOURCE,
            data={"id": "impostor", "title": "Not it", "rating": 1, "genres": []},
        ).to_json()
        self.send_poison(EVENT_ID_REUSED[0], body, "MovieCreated", EVENT_ID_REUSED[1], EVENT_ID_REUSED[2])
        return True

    # -- the audit queue: what reached the topic; SNS double deliveries -----------------------------
    def audit(self) -> None:
        self._last_audit = time.monotonic()
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.audit_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return
            for message in batch:
                self._audited += 1
                key, source = _audit_key(message["Body"])
                self.published.setdefault(key, source)
                if self._audited % 20 == 7:  # an SNS double delivery: the same message on the queue again
                    self.sqs.send_message(
                        QueueUrl=self.queue_url,
                        MessageBody=message["Body"],
                        MessageAttributes=_send_shape(message.get("MessageAttributes") or {}),
                    )
                    self.faults.record(FaultHit("sns_double_delivery", detail=key))
            self.sqs.delete_message_batch(
                QueueUrl=self.audit_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    # -- the mid-run replay -------------------------------------------------------------------------
    def replay_dead_letters(self) -> None:
        """Stop the refusals (the on-call fix), let the queue drain, then run the real ``moviepipe dlq
        replay`` on the whole DLQ: refused events come back and are emailed once; poison comes back and is
        dead-lettered again, with its reason."""
        self.faults.rejecting = False
        self.log.write(f"[{self.elapsed():5.0f}s] refusals stopped; draining the queue before the replay\n")
        self.settle(quiet_seconds=self.options.visibility_timeout + 1, limit=60.0)
        env = {
            **process_environment(),
            **client_environment(self.deployment, self.stack.settings, self.stack.clients),
        }
        command = [sys.executable, "-m", "moviepipe", "dlq", "replay", self.dlq_url, "--json"]
        self.log.write(f"[{self.elapsed():5.0f}s] running: moviepipe dlq replay {self.dlq_url} --json\n")
        started = time.monotonic()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            self.replay = {"ok": False, "error": "moviepipe dlq replay did not finish within 180 s"}
            return
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report = {"error": (done.stderr or done.stdout)[-500:]}
        keys = ("method", "matched", "moved", "failed", "not_deleted", "interrupted", "error")
        self.replay = {
            **{k: report.get(k) for k in keys},
            "exit_code": done.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "at_event": self.produced,
            "ok": done.returncode == 0,
        }
        self.log.write(f"[{self.elapsed():5.0f}s] replay: {json.dumps(self.replay)}\n")

    # -- settling and the final look ------------------------------------------------------------------
    def settle(self, quiet_seconds: float, limit: float | None = None) -> bool:
        """Wait until the consumer's queue has stayed empty (nothing visible, in flight or delayed) for
        ``quiet_seconds``, every published event has an email and the relay has published every change
        the API acknowledged."""
        until = min(self.deadline, time.monotonic() + limit) if limit else self.deadline
        quiet_since: float | None = None
        while time.monotonic() < until:
            self.audit()
            self.progress()
            emailed = {_email(e).event_id for e in self.stack.aws.mail.emails}
            emailed |= {LEGACY_KEY_PREFIX + _email(e).movie_id for e in self.stack.aws.mail.emails}
            waiting = [k for k, s in self.published.items() if k not in emailed]
            api_events = sum(1 for s in self.published.values() if s == "api")
            empty = queue_depth(self.sqs, self.queue_url) == 0 and _delayed(self.sqs, self.queue_url) == 0
            if empty and api_events >= self.api_changes and (limit or not waiting):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_seconds:
                    return True
            else:
                quiet_since = None
            time.sleep(0.2)
        if limit is None:
            self.timed_out = True
        return False

    def dead_letters(self) -> list[DeadLetter]:
        """Everything in the DLQ (read to the end; the run is over)."""
        found: dict[str, DeadLetter] = {}
        empty_rounds = 0
        while empty_rounds < 2:
            batch = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=300,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            empty_rounds = 0 if batch else empty_rounds + 1
            for message in batch:
                attributes = message.get("MessageAttributes") or {}

                def value(name: str, attributes: dict[str, Any] = attributes) -> str | None:
                    return (attributes.get(name) or {}).get("StringValue")

                probe = value(PROBE_ATTRIBUTE)
                key = None if probe else _audit_key(message["Body"])[0]
                found[message["MessageId"]] = DeadLetter(
                    probe, key, value(ERROR_CODE), value(ERROR_MESSAGE) or ""
                )
        return list(found.values())

    def observations(self, settled: bool) -> Observations:
        settings = self.stack.settings
        counts = {**self.counts, **self.faults.counts()}
        return Observations(
            published=dict(self.published),
            emails=[_email(e) for e in self.stack.aws.mail.emails],
            faults=list(self.faults.hits),
            poison=list(self.poison),
            dead_letters=self.dead_letters(),
            api_changes=self.api_changes,
            recipients=(*settings.recipients, settings.sender),
            seconds=self.elapsed(),
            settled=settled,
            timed_out=self.timed_out,
            replay=self.replay,
            extra_counts=counts,
        )


def _email(caught: Any) -> Email:
    event_id, movie_id = email_ids(caught.raw_mime or b"")
    if not event_id:
        event_id, movie_id = caught.headers.get(EVENT_ID_HEADER, ""), caught.headers.get(MOVIE_ID_HEADER, "")
    return Email(event_id, movie_id, tuple(caught.recipients), tuple(caught.headers))


def _audit_key(body: str) -> tuple[str, str]:
    """(key, source) of a message on the topic: CloudEvents by id (source ``library`` for the soak's
    publisher, ``api`` for the outbox relay), legacy by movie id."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:80], "unknown"
    if not isinstance(document, dict):
        return body[:80], "unknown"
    if "specversion" in document:
        return str(document.get("id")), "library" if document.get("source") == SOAK_SOURCE else "api"
    return LEGACY_KEY_PREFIX + str(document.get("id")), "legacy"


def _send_shape(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in attributes.items()
        if "StringValue" in value
    }


def _delayed(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    return int(attributes["Attributes"].get("ApproximateNumberOfMessagesDelayed", 0))


# -- the plan ------------------------------------------------------------------------------------------
Unit = tuple[str, int]


def plan(options: SoakOptions) -> list[Unit]:
    """The run as units, in order: ``("library", k)`` k events through the publisher, ``("api", 1)``,
    ``("legacy", 1)``, ``("poison", i)`` the i-th poison kind, ``("impostor", 0)``, and the marks
    ``("throttle", 0)`` (a burst starts) and ``("replay", 0)`` (the mid-run replay)."""
    rng = random.Random(options.seed)
    total = options.events
    legacy = max(2, total // 20)
    api = max(5, total // 4)
    library = total - legacy - api
    units: list[Unit] = [("api", 1)] * api + [("legacy", 1)] * legacy
    units += [("library", min(10, library - start)) for start in range(0, library, 10)]
    rng.shuffle(units)
    repeats = max(1, total // 400)
    specials: list[Unit] = [("poison", i) for i in range(len(POISON_KINDS))] * repeats
    specials += [("impostor", 0)] * repeats
    for special in specials:  # spread over the run, none in the first tenth
        units.insert(rng.randrange(len(units) // 10, len(units)), special)
    for fraction in (0.15, 0.35, 0.6, 0.8, 0.9):
        units.insert(int(len(units) * fraction), ("throttle", 0))
    units.insert(len(units) // 2, ("replay", 0))
    return units


def run_soak(options: SoakOptions, *, log: TextIO | None = None) -> SoakReport:
    """Run the soak and return its verdict (``report.ok``: every invariant held)."""
    log = log or sys.stderr
    settings = StackSettings(
        aws_port=0,
        api_port=0,
        mail_folder=None,
        quiet_handlers=True,
        visibility_timeout=options.visibility_timeout,
        # One invocation at a time: the soak's compressed lock (lock_seconds) is shorter than an invocation
        # can take under its faults' retries, and the local stack cannot end an invocation at its timeout
        # as Lambda does (StackSettings.consumer_pollers).
        consumer_pollers=1,
    )
    faults = SoakFaults(spacing=options.fault_spacing, lock_seconds=options.lock_seconds)
    # The consumer's invocations go through the faults' wrapper (the runtime may die), and its SES
    # clients get the faults' hook: both are in place before the stack starts the consumer.
    stack = LocalStack(settings, wrap_handler=faults.wrap_handler, client_hook=faults.on_client_created)
    started = time.monotonic()
    with stack.running() as deployment:
        faults.install(stack.aws.faults, movies_table=deployment.provisioned.tables["movies"].name)
        run = _Run(options, stack, deployment, faults, log, started=started)
        log.write(
            f"soak: {options.events} events, time bound {options.max_seconds:.0f} s; embedded AWS "
            f"{deployment.aws_endpoint}, movies API {deployment.api_url}\n"
        )
        settled = _drive(run)
        observations = run.observations(settled)
        stack.aws.faults.clear()
    return check(observations)


def _drive(run: _Run) -> bool:
    production_started = time.monotonic()
    for kind, argument in plan(run.options):
        if kind in ("library", "api", "legacy"):
            run.pace(production_started)
        if run.out_of_time():
            run.log.write(f"[{run.elapsed():5.0f}s] time bound hit: production stopped\n")
            return False
        if kind == "library":
            run.library(argument)
        elif kind == "api":
            run.api()
        elif kind == "legacy":
            run.legacy()
        elif kind == "poison":
            run.send_poison(*POISON_KINDS[argument])
        elif kind == "impostor":
            run.impostor()
        elif kind == "throttle":
            run.faults.throttle_burst(run.stack.aws.faults, requests=12)
        elif kind == "replay":
            run.replay_dead_letters()
    run.log.write(f"[{run.elapsed():5.0f}s] production done; settling\n")
    settled = run.settle(quiet_seconds=run.options.visibility_timeout + run.options.lock_seconds + 1)
    run.progress(force=True)
    if not settled:
        run.log.write(f"[{run.elapsed():5.0f}s] time bound hit while settling\n")
    return settled


# -- output -------------------------------------------------------------------------------------------
def render(report: SoakReport, out: TextIO) -> None:
    """The report for people: figures, then each invariant, then what broke."""
    figures = report.figures
    out.write(
        f"soak: {figures['valid_events']} valid events {figures['events_by_source']}, "
        f"{figures['poison_messages']} poison, in {figures['seconds']} s "
        f"({figures['events_per_second']} events/s)\n"
        f"emails {figures['emails']}: {figures['events_emailed_once']} events emailed once, "
        f"{figures['extra_emails']} extra, {figures['attributed_extra_emails']} of them attributed to a window fault\n"
        f"dead letters {figures['dead_letters']}: {figures['dead_lettered_poison']} poison messages, "
        f"{figures['poison_copies_from_crashes']} second copies from crashed invocations\n"
        f"faults {json.dumps(figures['faults'])}\n"
        f"other {json.dumps(figures['other'])}\n"
        f"replay {json.dumps(figures['replay'])}\n"
    )
    for name, held in report.invariants.items():
        out.write(f"  {'ok    ' if held else 'BROKEN'} {name}\n")
    for problem in report.problems:
        out.write(f"  - {problem}\n")
    out.write("every invariant held\n" if report.ok else "INVARIANTS BROKEN\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m moviepipe.local.soak",
        description="N events through the whole local pipeline under injected faults, then every invariant checked.",
    )
    parser.add_argument(
        "--events", "-n", type=int, default=DEFAULT_EVENTS, help="valid events (default %(default)s)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=SoakOptions.max_seconds, help="time bound of the whole run"
    )
    parser.add_argument("--rate", type=float, default=SoakOptions.rate, help="most events offered per second")
    parser.add_argument("--seed", type=int, default=SoakOptions.seed)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else 0
    options = SoakOptions(events=args.events, max_seconds=args.max_seconds, rate=args.rate, seed=args.seed)
    problems = options.problems()
    if problems:
        sys.stderr.write("error: " + "; ".join(problems) + "\n")
        return EXIT_USAGE
    real_stdout = sys.stdout
    # The handlers log on stdout, as on Lambda: during the run that goes to stderr, the report to stdout.
    with _stdout_to_stderr():
        report = run_soak(options)
    if args.json:
        real_stdout.write(json.dumps(report.as_dict(), sort_keys=True, default=str) + "\n")
    else:
        render(report, real_stdout)
    real_stdout.flush()
    return 0 if report.ok else EXIT_BROKEN


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    with contextlib.redirect_stdout(sys.stderr):
        yield


if __name__ == "__main__":
    sys.exit(main())
