"""``make demo``: the pipeline end to end on an embedded AWS, with a summary and invariant checks."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from movie_events import MovieCreated, MovieDeleted, MovieUpdated, parse_event
from movie_events.models import MovieEvent
from moviepipe.local.embedded_aws import EmbeddedAWS, environment
from moviepipe.local.provision import provision_messaging
from producers import EventPublisher


def _sample_events() -> list[MovieEvent]:
    return [
        MovieCreated(
            data={"id": "tt0126029", "title": "Shrek", "rating": 7.9, "genres": ["Animation", "Comedy"]}
        ),
        MovieCreated(data={"id": "tt1049413", "title": "Up", "rating": 8.3, "genres": ["Animation"]}),
        MovieUpdated(
            data={
                "id": "tt1049413",
                "title": "Up",
                "rating": 8.4,
                "genres": ["Animation"],
                "previous": {"rating": 8.3},
            }
        ),
        MovieDeleted(data={"id": "tt0126029", "title": "Shrek"}),
    ]


def run_demo(*, as_json: bool = False) -> bool:
    console = Console(stderr=as_json)
    with EmbeddedAWS() as server, environment(server.environment()):
        console.print(f"embedded AWS on {server.endpoint_url}")
        from movie_events import aws

        messaging = provision_messaging()
        console.print(
            f"topic {messaging.topic_arn} → queue {messaging.queue_url} (raw delivery, filter on Type)"
        )
        events = _sample_events()
        published = EventPublisher(messaging.topic_arn).publish_many(events)
        console.print(f"published {len(published)} events in one PublishBatch call")

        sqs = aws.client("sqs")
        received: list[dict[str, Any]] = []
        while len(received) < len(events):
            batch = sqs.receive_message(
                QueueUrl=messaging.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            received.extend(batch)

        table = Table(title="arrived on the queue")
        for column in ("Type attribute", "event id", "movie", "title"):
            table.add_column(column)
        arrived = []
        for message in received:
            event = parse_event(message["Body"], message["MessageAttributes"])
            arrived.append(event.id)
            table.add_row(
                message["MessageAttributes"]["Type"]["StringValue"],
                event.id,
                event.movie_id,
                getattr(event.data, "title", None) or "",
            )
        console.print(table)

    ok = sorted(arrived) == sorted(e.id for e in events)
    summary = {"events_published": len(published), "events_arrived": len(arrived), "ok": ok}
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        console.print(
            "[green]every event arrived once[/green]" if ok else "[red]events missing or duplicated[/red]"
        )
    return ok
