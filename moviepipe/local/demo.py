"""``make demo``: the whole pipeline on one machine, end to end, with a summary and invariant checks.

It starts the local stack (embedded AWS, every resource, every handler under its local trigger), then
drives it the way users and failures do:

1. creates, updates and deletes movies through the movies API, over HTTP;
2. forces a duplicate delivery: a copy of an event already delivered is put on the queue again under a
   new SQS message id (what an SNS retry or a dead-letter replay looks like);
3. sends a poison message (a legacy message whose title is a number) to the queue;
4. waits, with a progress display, until the pipeline settles;
5. checks the invariants — every published event has exactly one email, the duplicate sent nothing,
   the poison message is in the DLQ with its reason — and prints a summary (``--json``: one JSON
   object on stdout, everything else on stderr). Any broken invariant makes it return False (exit 1).

An extra "audit" queue subscribed to the topic (raw delivery, every event type) records every event published,
so the demo can count them and copy one for the duplicate.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from movie_events import EVENT_TYPES, InvalidEventError, parse_event
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.mail_catcher import CaughtEmail
from moviepipe.local.provision import provision_messaging
from moviepipe.local.stack import CONSUMER, Deployment, LocalStack, StackSettings
from moviepipe.local.triggers import Invocation
from moviepipe.runtime.aws import Clients
from moviepipe.runtime.wire import ERROR_MESSAGE, EVENT_ID_HEADER, SOURCE_MESSAGE_ID

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SETTLE_TIMEOUT_SECONDS = 60.0
POISON_BODY = '{"id": "tt-poison", "title": 42, "rating": 5, "genres": []}'
#: A queue of the demo only (not part of the deployment) that hears every event on the topic.
AUDIT_QUEUE = DEPLOYMENT.name("demo-audit")

MOVIES = [
    {"title": "Up", "rating": 8.2, "genres": ["Animation", "Adventure"]},
    {"title": "Heat", "rating": 8.3, "genres": ["Crime", "Drama"]},
    {"title": "Amélie", "rating": 8.3, "genres": ["Comedy", "Romance"]},
]


@dataclass
class Summary:
    events_published: int = 0
    emails_sent: int = 0
    duplicates_suppressed: int = 0
    dead_lettered: int = 0
    seconds_to_settle: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_published": self.events_published,
            "emails_sent": self.emails_sent,
            "duplicates_suppressed": self.duplicates_suppressed,
            "dead_lettered": self.dead_lettered,
            "seconds_to_settle": round(self.seconds_to_settle, 2),
            "ok": self.ok,
            "problems": self.problems,
        }


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """One HTTP call to the local movies API: (status, headers, JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, error.headers, json.loads(raw) if raw else None


def drive_api(api_url: str, console: Console) -> None:
    """Create three movies, update two, delete one: six changes, six events."""
    created = []
    for movie in MOVIES:
        status, headers, body = http("POST", f"{api_url}/movies", movie)
        _expect(status, 201, f"POST /movies {movie['title']}", body)
        created.append((body["id"], headers["ETag"]))
        console.print(f"  POST /movies {movie['title']!r} → 201, id {body['id']}")
    changes: list[dict[str, Any]] = [{"rating": 8.4}, {"title": "Heat (1995)"}]
    for (movie_id, etag), change in zip(created[:2], changes, strict=False):
        _, _, current = http("GET", f"{api_url}/movies/{movie_id}")
        replacement: dict[str, Any] = {k: current[k] for k in ("title", "rating", "genres")}
        replacement.update(change)
        status, _, body = http("PUT", f"{api_url}/movies/{movie_id}", replacement, {"If-Match": etag})
        _expect(status, 200, f"PUT /movies/{movie_id}", body)
        console.print(f"  PUT /movies/{movie_id} {change} → 200")
    movie_id, etag = created[2]
    status, _, body = http("DELETE", f"{api_url}/movies/{movie_id}", headers={"If-Match": etag})
    _expect(status, 204, f"DELETE /movies/{movie_id}", body)
    console.print(f"  DELETE /movies/{movie_id} → 204")


def _expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        raise RuntimeError(f"{what} answered {status}, not {wanted}: {body}")


class Audit:
    """Every event published to the topic, read from the audit queue."""

    def __init__(self, topic_arn: str, clients: Clients) -> None:
        self.sqs = clients.sqs()
        self.queue_url = provision_messaging(
            clients=clients,
            topic_name=topic_arn.rsplit(":", 1)[-1],
            queue_name=AUDIT_QUEUE,
            dlq_name=f"{AUDIT_QUEUE}-dlq",
            event_types=EVENT_TYPES,
        ).queue_url
        self.messages: dict[str, dict[str, Any]] = {}

    def collect(self) -> dict[str, dict[str, Any]]:
        sqs = self.sqs
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return self.messages
            for message in batch:
                self.messages[parse_event(message["Body"], message["MessageAttributes"]).id] = cast(
                    "dict[str, Any]", message
                )
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )


def emails_by_event(emails: list[CaughtEmail]) -> Counter[str]:
    return Counter(email.headers.get(EVENT_ID_HEADER, "?") for email in emails)


def send_to_queue(sqs: SQSClient, queue_url: str, body: str, attributes: dict[str, Any]) -> str:
    """Put a message straight on the queue, as a redelivery or a replay does."""
    params: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
    if attributes:
        params["MessageAttributes"] = {
            name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
            for name, value in attributes.items()
        }
    return str(sqs.send_message(**params)["MessageId"])


def queue_depth(sqs: SQSClient, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_until(
    condition: Any, total: Any, description: str, console: Console, timeout: float = SETTLE_TIMEOUT_SECONDS
) -> bool:
    """Poll ``condition()`` (returns how many of ``total()`` are done) with a progress bar."""
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total())
        while time.monotonic() < deadline:
            done = condition()
            progress.update(task, completed=done, total=total())
            if done >= total():
                return True
            time.sleep(0.1)
    return False


def run_demo(*, as_json: bool = False, settings: StackSettings | None = None) -> Summary:
    """Run the demo; returns the summary (``summary.ok`` tells whether every invariant held)."""
    real_stdout = sys.stdout
    console = Console(file=sys.stderr if as_json else real_stdout, soft_wrap=True)
    # No mail folder unless the caller names one (the CLI does): a library call writes no files.
    settings = settings or StackSettings(aws_port=0, api_port=0, mail_folder=None, quiet_handlers=True)
    invocations: list[Invocation] = []
    stack = LocalStack(settings, observer=invocations.append)
    # Handlers log and emit metrics on stdout (as on Lambda); with --json, stdout is the summary's alone.
    redirect = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with redirect, stack.running() as deployment:
        summary = _drive(stack, deployment, invocations, console)
    _report(summary, console)
    if as_json:
        real_stdout.write(json.dumps(summary.as_dict(), sort_keys=True) + "\n")
        real_stdout.flush()
    return summary


def _drive(
    stack: LocalStack, deployment: Deployment, invocations: list[Invocation], console: Console
) -> Summary:
    started = time.monotonic()
    console.print(
        f"[bold]moviepipe demo[/bold] — embedded AWS {deployment.aws_endpoint}, movies API {deployment.api_url}"
    )
    audit = Audit(deployment.messaging.topic_arn, stack.clients)
    sqs = stack.clients.sqs()

    console.print("1. Changing movies through the HTTP API")
    drive_api(deployment.api_url, console)

    def emailed() -> int:
        audit.collect()
        sent = emails_by_event(stack.aws.mail.emails)
        return sum(1 for event_id in audit.messages if sent[event_id] >= 1)

    wait_until(emailed, lambda: max(6, len(audit.messages)), "   events → emails", console)

    console.print("2. Forcing a duplicate delivery and a poison message")
    first_id, first = next(iter(audit.messages.items()))
    duplicate_message_id = send_to_queue(
        sqs, deployment.messaging.queue_url, first["Body"], first["MessageAttributes"]
    )
    console.print(f"  re-delivered event {first_id} as SQS message {duplicate_message_id}")
    poison_message_id = send_to_queue(
        sqs,
        deployment.messaging.queue_url,
        POISON_BODY,
        {"Type": {"DataType": "String", "StringValue": "MovieCreated"}},
    )
    console.print(f"  sent poison message {poison_message_id}: {POISON_BODY}")

    def handled() -> int:
        done = {
            r["messageId"] for i in list(invocations) if i.trigger == CONSUMER.suffix for r in i.succeeded
        }
        return len({duplicate_message_id, poison_message_id} & done) + (
            queue_depth(sqs, deployment.messaging.queue_url) == 0
        )

    settled = wait_until(handled, lambda: 3, "   settling", console)
    audit.collect()
    dead = stack.dead_letters()
    summary = evaluate(
        published=list(audit.messages),
        emails=stack.aws.mail.emails,
        valid_deliveries=_valid_deliveries(invocations, dead),
        dead_letters=dead,
        settled=settled,
        seconds=time.monotonic() - started,
    )
    for message in dead:
        if message["Body"] == POISON_BODY:
            reason = message.get("MessageAttributes", {}).get(ERROR_MESSAGE, {}).get("StringValue", "")
            console.print(f"  poison message dead-lettered: {reason}")
    return summary


def evaluate(
    *,
    published: list[str],
    emails: list[CaughtEmail],
    valid_deliveries: int,
    dead_letters: list[dict[str, Any]],
    settled: bool,
    seconds: float,
) -> Summary:
    """The summary of a run and every invariant it broke (none: ``summary.ok``)."""
    sent = emails_by_event(emails)
    summary = Summary(
        events_published=len(published),
        emails_sent=len(emails),
        duplicates_suppressed=valid_deliveries - len(emails),
        dead_lettered=len(dead_letters),
        seconds_to_settle=seconds,
    )
    if not settled:
        summary.problems.append(f"the pipeline did not settle within {SETTLE_TIMEOUT_SECONDS:.0f} s")
    for event_id in published:
        if sent[event_id] != 1:
            summary.problems.append(f"event {event_id} produced {sent[event_id]} emails, not 1")
    for event_id in sorted(set(sent) - set(published)):
        summary.problems.append(f"an email for {event_id}, which was never published")
    if summary.duplicates_suppressed < 1:
        summary.problems.append("the forced duplicate delivery was not suppressed")
    if not any(m["Body"] == POISON_BODY for m in dead_letters):
        summary.problems.append("the poison message is not in the dead-letter queue")
    return summary


def _valid_deliveries(invocations: list[Invocation], dead: list[dict[str, Any]]) -> int:
    """Records the consumer completed that carried a valid event and were not dead-lettered."""
    dead_lettered = {
        m.get("MessageAttributes", {}).get(SOURCE_MESSAGE_ID, {}).get("StringValue") for m in dead
    }
    count = 0
    for invocation in invocations:
        if invocation.trigger != CONSUMER.suffix:
            continue
        for record in invocation.succeeded:
            if record["messageId"] in dead_lettered:
                continue
            try:
                parse_event(record["body"], record.get("messageAttributes"))
            except InvalidEventError:
                continue
            count += 1
    return count


def _report(summary: Summary, console: Console) -> None:
    table = Table(title="summary", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.as_dict().items():
        if key not in ("ok", "problems"):
            table.add_row(key, str(value))
    console.print(table)
    if summary.ok:
        console.print(
            "[green]every event produced exactly one email; the duplicate sent none; the poison message is in the DLQ[/green]"
        )
    for problem in summary.problems:
        console.print(f"[red]invariant broken:[/red] {problem}")
