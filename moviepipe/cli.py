"""The ``moviepipe`` command: one front for every operator task.

Exit codes: 0 success; 1 the operation failed (AWS refused, an invariant did not hold); 2 bad usage or bad
input (typer's convention for usage errors, kept for ours). ``--json`` prints one JSON object on stdout
and nothing else there, so scripts can rely on it.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from movie_events import EVENT_CLASSES, EVENT_TYPES, InvalidEventError
from movie_events.errors import describe_validation_errors
from movie_events.settings import ConfigurationError, Env

app = typer.Typer(
    name="moviepipe",
    help="moviepipe: publish movie events, run the pipeline locally, inspect dead letters.",
    no_args_is_help=True,
    add_completion=False,
)
local_app = typer.Typer(
    help="Run the whole pipeline on this machine (embedded AWS, local triggers).", no_args_is_help=True
)
app.add_typer(local_app, name="local")

EXIT_FAILED = 1
EXIT_USAGE = 2

err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def emit_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")


@app.command()
def publish(
    event_type: Annotated[str, typer.Option("--type", help=f"One of: {', '.join(EVENT_TYPES)}.")],
    data: Annotated[str, typer.Option("--data", help="The event's data as a JSON object.")],
    topic_arn: Annotated[
        str | None, typer.Option("--topic-arn", envvar=Env.EVENTS_TOPIC_ARN, help="The events topic.")
    ] = None,
    event_id: Annotated[
        str | None, typer.Option("--id", help="A deterministic event id (default: a new UUID).")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="The CloudEvents source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the event; publish nothing.")
    ] = False,
) -> None:
    """Publish one movie event to the events topic."""
    from pydantic import ValidationError

    from producers import EventPublisher, PublishError

    if event_type not in EVENT_CLASSES:
        raise fail(f"--type must be one of {', '.join(EVENT_TYPES)}, not {event_type!r}", EXIT_USAGE)
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise fail(f"--data is not JSON: {exc}", EXIT_USAGE) from exc
    fields: dict[str, Any] = {"data": payload}
    if event_id:
        fields["id"] = event_id
    if source:
        fields["source"] = source
    try:
        event = EVENT_CLASSES[event_type].model_validate(fields)
    except ValidationError as exc:
        raise fail(
            f"invalid {event_type}: " + "; ".join(describe_validation_errors(exc.errors())), EXIT_USAGE
        ) from exc

    if dry_run:
        if as_json:
            emit_json(
                {
                    "event_id": event.id,
                    "message_id": None,
                    "dry_run": True,
                    "event": json.loads(event.to_json()),
                }
            )
        else:
            err.print(f"dry run: would publish {event.type} {event.id}")
            typer.echo(event.to_json())
        return
    if not topic_arn:
        raise fail(f"no topic: pass --topic-arn or set {Env.EVENTS_TOPIC_ARN}", EXIT_USAGE)
    try:
        result = EventPublisher(topic_arn).publish(event)
    except InvalidEventError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except (PublishError, ConfigurationError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        emit_json({"event_id": result.event_id, "message_id": result.message_id})
    else:
        typer.echo(f"published {event.type} {result.event_id} (message {result.message_id})")


@local_app.command("demo")
def local_demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Start an embedded AWS, run the pipeline end to end, and print what happened."""
    from moviepipe.local.demo import run_demo

    ok = run_demo(as_json=as_json)
    if not ok:
        raise typer.Exit(EXIT_FAILED)


def main() -> None:  # pragma: no cover - console entry point
    app()
