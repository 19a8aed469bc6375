"""The ``moviepipe`` command: one front for every operator task.

Exit codes: 0 success; 1 the operation failed (AWS refused, an invariant did not hold); 2 bad usage or bad
input (typer's convention for usage errors, kept for ours). ``--json`` prints one JSON object on stdout
and nothing else there, so scripts can rely on it.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from movie_events import EVENT_CLASSES, EVENT_TYPES, InvalidEventError
from movie_events.errors import describe_validation_errors
from movie_events.settings import ConfigurationError, Env
from moviepipe.dlq.cli import dlq_app
from moviepipe.local.defaults import DEFAULT_API_PORT, DEFAULT_AWS_PORT, DEFAULT_MAIL_FOLDER

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
app.add_typer(dlq_app, name="dlq")

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


@local_app.command("up")
def local_up(
    aws_port: Annotated[
        int, typer.Option("--aws-port", help="Port of the embedded AWS (0: any free port).")
    ] = DEFAULT_AWS_PORT,
    api_port: Annotated[
        int, typer.Option("--api-port", help="Port of the movies API (0: any free port).")
    ] = DEFAULT_API_PORT,
    mail_folder: Annotated[
        Path, typer.Option("--mail-folder", help="Where every email sent is written (.eml and .html).")
    ] = DEFAULT_MAIL_FOLDER,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: the endpoints first, then one line per invocation.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show the handlers' own logs and metric lines.")
    ] = False,
) -> None:
    """Run the whole pipeline on this machine until Ctrl-C."""
    from moviepipe.local.stack import LocalStack, StackSettings, client_environment
    from moviepipe.local.triggers import Invocation

    out = Console(soft_wrap=True, highlight=False)

    def show(invocation: Invocation) -> None:
        if as_json:
            emit_json(
                {
                    "trigger": invocation.trigger,
                    "records": len(invocation.records),
                    "failed": len(invocation.failed_ids),
                    "error": invocation.error,
                    "seconds": round(invocation.seconds, 3),
                    **invocation.outcomes,
                }
            )
            return
        failed = f", [red]{len(invocation.failed_ids)} to retry[/red]" if invocation.failed_ids else ""
        error = f" [red]{invocation.error}[/red]" if invocation.error else ""
        out.print(
            f"{invocation.trigger}: {len(invocation.records)} record(s){failed} "
            f"in {invocation.seconds * 1000:.0f} ms{error}{invocation.outcome_text()}"
        )

    settings = StackSettings(
        aws_port=aws_port, api_port=api_port, mail_folder=mail_folder, quiet_handlers=not verbose
    )
    stack = LocalStack(settings, observer=show)
    stopping = threading.Event()
    # Ctrl-C and SIGTERM both stop cleanly. SIGINT's handler is set explicitly because a process started
    # in the background of a non-interactive shell inherits SIGINT as ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        with stack.running() as deployment:
            env = client_environment(deployment, settings)
            if as_json:
                emit_json(
                    {
                        "aws_endpoint": deployment.aws_endpoint,
                        "api_url": deployment.api_url,
                        "mail_folder": str(mail_folder),
                        "environment": env,
                    }
                )
            else:
                out.print("[bold]moviepipe local stack[/bold] is up (Ctrl-C stops it)")
                out.print(f"  AWS (moto server)  {deployment.aws_endpoint}")
                out.print(f"  movies API         {deployment.api_url}/movies")
                out.print(f"  emails             {mail_folder}/  (moviepipe local emails)")
                out.print("  to point the CLI, the AWS CLI and boto3 at it:")
                for name, value in env.items():
                    out.print(f"    export {name}={value}")
            sys.stdout.flush()
            while not stopping.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:  # a port already in use, most often
        raise fail(str(exc)) from exc
    if not as_json:
        out.print("stopped: every trigger joined, every port released")


@local_app.command("emails")
def local_emails(
    mail_folder: Annotated[
        Path, typer.Option("--mail-folder", help="The folder `moviepipe local up` writes to.")
    ] = DEFAULT_MAIL_FOLDER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as a JSON object.")] = False,
) -> None:
    """List the emails the local stack has sent, oldest first."""
    from consumers.email_notification.rendering import EVENT_ID_HEADER
    from moviepipe.local.mail_catcher import read_folder

    emails = [
        {
            "file": str(path),
            "html": str(path.with_suffix(".html")),
            # SES stamps Date on the way out; the local copy falls back to when it was caught.
            "date": str(message.get("Date", "")) or _modified(path),
            "from": str(message.get("From", "")),
            "subject": str(message.get("Subject", "")),
            "event_id": str(message.get(EVENT_ID_HEADER, "")),
        }
        for path, message in read_folder(mail_folder)
    ]
    if as_json:
        emit_json({"mail_folder": str(mail_folder), "emails": emails})
        return
    if not emails:
        typer.echo(f"no emails in {mail_folder}")
        return
    table = Table(title=f"{len(emails)} email(s) in {mail_folder}")
    for column in ("date", "subject", "event id", "file"):
        table.add_column(column)
    for email in emails:
        table.add_row(email["date"], email["subject"], email["event_id"], email["html"])
    Console(soft_wrap=True).print(table)


@local_app.command("demo")
def local_demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Start an embedded AWS, run the pipeline end to end, and print what happened."""
    from moviepipe.local.demo import run_demo

    summary = run_demo(as_json=as_json)
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


def _modified(path: Path) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def main() -> None:  # pragma: no cover - console entry point
    app()
