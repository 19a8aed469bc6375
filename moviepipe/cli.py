"""The ``moviepipe`` command: one front for every operator task.

Exit codes: 0 success; 1 the operation failed (AWS refused, an invariant did not hold); 2 bad usage or bad
input (typer's convention for usage errors, kept for ours). ``--json`` prints one JSON object on stdout
and nothing else there, so scripts can rely on it.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from movie_events import EVENT_CLASSES, EVENT_TYPES, InvalidEventError
from movie_events.errors import describe_validation_errors
from moviepipe.deployment import DEPLOYMENT
from moviepipe.dlq.cli import dlq_app
from moviepipe.local.defaults import DEFAULT_API_PORT, DEFAULT_AWS_PORT, DEFAULT_MAIL_FOLDER
from moviepipe.runtime.settings import ConfigurationError, Env

if TYPE_CHECKING:
    from moviepipe.local.triggers import Invocation

# Plain (click) help, not typer's rich panels: this typer's rich help labels every flag "<bool>", as if
# `--json true` were the way to use it (it is an error; flags take no value). A sub-app added here
# should pass the same setting.
HELP_MODE = None
app = typer.Typer(
    name="moviepipe",
    help="moviepipe: publish movie events, run the pipeline locally, inspect dead letters.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=HELP_MODE,
)
local_app = typer.Typer(
    help="Run the whole pipeline on this machine (embedded AWS, local triggers).",
    no_args_is_help=True,
    rich_markup_mode=HELP_MODE,
)
app.add_typer(local_app, name="local")
app.add_typer(dlq_app, name="dlq")

EXIT_FAILED = 1
EXIT_USAGE = 2

err = Console(stderr=True, soft_wrap=True)

#: An SNS topic ARN: arn:<partition>:sns:<region>:<12-digit account>:<name, ".fifo" for a FIFO topic>.
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
TOPIC_ARN_EXAMPLE = f"arn:aws:sns:us-east-1:123456789012:{DEPLOYMENT.name(DEPLOYMENT.topic('events').suffix)}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moviepipe")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"moviepipe {_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_show_version,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """moviepipe: publish movie events, run the pipeline locally, inspect dead letters."""


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    # Text, not markup: the message quotes the user's input, and "[/x]" in it would otherwise be read
    # as a rich tag (a MarkupError traceback instead of the error).
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
    return typer.Exit(code)


def require_local_extra() -> None:
    """`local up` and `local demo` run moto's server, installed by ``moviepipe[local]``, not ``[cli]``.

    Without it they stop with a message saying what to install instead of an import traceback.
    """
    for module in ("moto", "werkzeug"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise fail(
                f"moviepipe local needs the local stack ({module} is not installed): "
                "pip install 'moviepipe[local]'",
                EXIT_USAGE,
            ) from exc


def emit_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")


@app.command()
def publish(
    event_type: Annotated[str, typer.Option("--type", help=f"One of: {', '.join(EVENT_TYPES)}.")],
    data: Annotated[
        str,
        typer.Option(
            "--data", help="The event's data as a JSON object; @FILE reads it from a file, - from stdin."
        ),
    ],
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
    payload = read_data(data)
    fields: dict[str, Any] = {"data": payload}
    # An empty --id or --source is a mistake (an unset shell variable, most often), not a request for
    # the default: refused rather than silently replaced by a new UUID or the default source.
    for flag, value, key in (("--id", event_id, "id"), ("--source", source, "source")):
        if value is not None:
            if not value.strip():
                raise fail(f"{flag} must not be empty (leave it out for the default)", EXIT_USAGE)
            fields[key] = value
    if topic_arn is not None and not TOPIC_ARN.fullmatch(topic_arn):
        raise fail(
            f"--topic-arn / ${Env.EVENTS_TOPIC_ARN} {topic_arn!r} is not an SNS topic ARN; "
            f"one looks like {TOPIC_ARN_EXAMPLE} (arn:aws:sns:<region>:<account>:<topic name>)",
            EXIT_USAGE,
        )
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
            err.print(Text(f"dry run: would publish {event.type} {event.id}"))
            typer.echo(event.to_json())
        return
    if not topic_arn:
        raise fail(f"no topic: pass --topic-arn or set {Env.EVENTS_TOPIC_ARN}", EXIT_USAGE)
    try:
        from moviepipe.runtime.aws import Clients
        from moviepipe.runtime.settings import process_environment

        clients = Clients.from_environ(process_environment())
        result = EventPublisher(topic_arn, clients=clients).publish(event)
    except InvalidEventError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except (PublishError, ConfigurationError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        emit_json({"event_id": result.event_id, "message_id": result.message_id})
    else:
        typer.echo(f"published {event.type} {result.event_id} (message {result.message_id})")


def read_data(value: str) -> Any:
    """``--data``: JSON given inline, as ``@FILE`` or as ``-`` (stdin), read within the event JSON limits.

    Hostile JSON (nested a thousand levels, a 5,000-digit integer, over 256 KiB) is a usage error (exit
    2) with one line saying why, never a traceback. At most one byte over the limit is ever read.
    """
    from movie_events.jsonlimits import DEFAULT_LIMITS, load_bounded

    source = "--data"
    raw: str | bytes = value
    try:
        if value == "-":
            source = "--data - (stdin)"
            raw = sys.stdin.buffer.read(DEFAULT_LIMITS.max_bytes + 1)
        elif value.startswith("@"):
            source = f"--data {value}"
            with Path(value[1:]).expanduser().open("rb") as file:
                raw = file.read(DEFAULT_LIMITS.max_bytes + 1)
    except OSError as exc:
        raise fail(
            f"{source}: cannot read {exc.filename or value[1:]!r}: {exc.strerror}", EXIT_USAGE
        ) from None
    try:
        return load_bounded(raw)
    except InvalidEventError as exc:
        reason = str(exc)  # "body is not JSON: …", "JSON is nested more than 32 levels deep", …
        said = f"{source} {reason[5:]}" if reason.startswith("body ") else f"{source}: {reason}"
        raise fail(said, EXIT_USAGE) from None


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
    require_local_extra()
    from moviepipe.local.stack import LocalStack, StackSettings, client_environment

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
        out.print(invocation_line(invocation))

    settings = StackSettings(
        aws_port=aws_port, api_port=api_port, mail_folder=mail_folder, quiet_handlers=not verbose
    )
    problems = settings.problems()
    if problems:
        raise fail("; ".join(problems), EXIT_USAGE)
    stack = LocalStack(settings, observer=show)
    stopping = threading.Event()
    # Ctrl-C and SIGTERM both stop cleanly. SIGINT's handler is set explicitly because a process started
    # in the background of a non-interactive shell inherits SIGINT as ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        with stack.running() as deployment:
            env = client_environment(deployment, settings, stack.clients)
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
                out.print(Text(f"  AWS (moto server)  {deployment.aws_endpoint}"))
                out.print(Text(f"  movies API         {deployment.api_url}/movies"))
                out.print(Text(f"  emails             {mail_folder}/  (moviepipe local emails)"))
                out.print("  to point the CLI, the AWS CLI and boto3 at it:")
                for name, value in env.items():
                    out.print(Text(f"    export {name}={shlex.quote(value)}"))
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
    from moviepipe.local.mail_catcher import read_folder
    from moviepipe.runtime.wire import EVENT_ID_HEADER

    # A folder that does not exist is a wrong --mail-folder (or a stack never started here), not "no
    # emails": saying "no emails" would send the reader looking for a pipeline fault that is not there.
    if not mail_folder.is_dir():
        what = "is not a folder" if mail_folder.exists() else "does not exist"
        raise fail(
            f"--mail-folder {mail_folder} {what} (`moviepipe local up` and `local demo` write there; "
            "pass the folder they were given)",
            EXIT_USAGE,
        )
    emails = [
        {
            # Absolute, so that a path copied from the list opens from any directory.
            "file": str(path.absolute()),
            "html": str(path.with_suffix(".html").absolute()),
            # SES stamps Date on the way out; the local copy falls back to when it was caught.
            "date": _header(message, "Date") or _modified(path),
            "from": _header(message, "From"),
            "subject": _header(message, "Subject"),
            "event_id": _header(message, EVENT_ID_HEADER),
        }
        for path, message in read_folder(mail_folder)
    ]
    if as_json:
        emit_json({"mail_folder": str(mail_folder), "emails": emails})
        return
    if not emails:
        typer.echo(f"no emails in {mail_folder}")
        return
    # One block per email, not a table: a table shortens its columns with "…" to fit the terminal, and
    # a path or an event id cut short can be neither opened nor searched for. Printed as Text, never as
    # markup: "[moviepipe] …" in a subject is shown as it is, not read as a rich style.
    out = Console(soft_wrap=True, highlight=False)
    out.print(Text(f"{len(emails)} email(s) in {mail_folder}", style="bold"))
    for number, email in enumerate(emails, 1):
        out.print(Text(f"{number:>3}  {_short_date(email['date'])}  {email['subject']}"))
        out.print(Text(f"     event  {email['event_id']}"))
        out.print(Text(f"     open   {email['html']}"))


@local_app.command("demo")
def local_demo(
    mail_folder: Annotated[
        Path, typer.Option("--mail-folder", help="Where the demo's emails are written (.eml and .html).")
    ] = DEFAULT_MAIL_FOLDER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Start an embedded AWS, run the pipeline end to end, and print what happened."""
    require_local_extra()
    from moviepipe.local.demo import run_demo
    from moviepipe.local.stack import StackSettings

    settings = StackSettings(aws_port=0, api_port=0, mail_folder=mail_folder, quiet_handlers=True)
    problems = settings.problems()
    if problems:
        raise fail("; ".join(problems), EXIT_USAGE)
    summary = run_demo(as_json=as_json, settings=settings)
    if not summary.ok:
        raise typer.Exit(EXIT_FAILED)


def invocation_line(invocation: Invocation) -> Text:
    """One handler invocation, for `local up`. Text, not markup: an error's own words may hold "[…]"."""
    line = Text(f"{invocation.trigger}: {len(invocation.records)} record(s)")
    if invocation.failed_ids:
        line.append(f", {len(invocation.failed_ids)} to retry", style="red")
    line.append(f" in {invocation.seconds * 1000:.0f} ms")
    error = one_line(invocation.error or "")
    if error:
        line.append(f" {error}", style="red")
    line.append(invocation.outcome_text())  # e.g. ": 3 emails sent, 1 duplicate suppressed"
    return line


def one_line(text: str) -> str:
    """``text`` on one line: control characters (CR, LF, BS, ESC, ...) become spaces, runs of space one."""
    import unicodedata

    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


def _header(message: Any, name: str) -> str:
    """A header's value as one line: unfolded (CR LF removed, RFC 5322 §2.2.3), without the space a
    fold right after the colon leaves at its start."""
    return re.sub(r"[\r\n]", "", str(message.get(name, ""))).strip()


def _short_date(date: str) -> str:
    """``2026-11-29 12:00:00 UTC`` for an RFC 5322 date; anything else as it is."""
    from datetime import UTC
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(date).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return date


def _modified(path: Path) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def main() -> None:  # pragma: no cover - console entry point
    app()
