"""``moviepipe dlq``: the on-call engineer's dead-letter tools (see docs/runbook.md).

Each command takes a queue name, URL or ARN, prints for people, and with ``--json`` prints one JSON
object on stdout and nothing else there. Exit codes: 0 done, 1 AWS failed (or some messages could not be
handled, or Ctrl-C), 2 bad usage. Progress goes to stderr.

Heavy imports (boto3, the consumer's attribute names) happen inside the commands: ``moviepipe --help``
stays fast.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from moviepipe.dlq.filters import Filter
    from moviepipe.dlq.replay import ReplayReport
    from moviepipe.dlq.sqs import Queues

EXIT_FAILED = 1
EXIT_USAGE = 2

dlq_app = typer.Typer(
    help="Dead-letter queues: see why messages failed, replay them safely, export, purge.",
    no_args_is_help=True,
)
# markup=False: what these print quotes the DLQ's own data (titles, reasons, queue names), and a "[/x]" in
# it would otherwise be read as a rich tag (a MarkupError traceback instead of the output). Colour comes
# from style=, never from tags in the text.
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)
out = Console(soft_wrap=True, highlight=False, markup=False)

Queue = Annotated[str, typer.Argument(help="The queue: a name, URL or ARN.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Types = Annotated[list[str] | None, typer.Option("--type", help="Only this event type (repeatable).")]
EventIds = Annotated[list[str] | None, typer.Option("--event-id", help="Only this event id (repeatable).")]
Errors = Annotated[list[str] | None, typer.Option("--error", help="Only this ErrorCode (repeatable).")]
Since = Annotated[
    str | None, typer.Option("--since", help="Sent at or after: ISO time (2026-11-29T03:00Z) or age (2h).")
]
Until = Annotated[str | None, typer.Option("--until", help="Sent at or before: ISO time or age.")]
Match = Annotated[
    str | None,
    typer.Option("--match", help="A JMESPath expression on the JSON body; true-ish to match."),
]


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    err.print(f"error: {_one_line(message)}", style="red")
    return typer.Exit(code)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:2000]


def emit_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def guarded() -> Iterator[Queues]:
    """The AWS adapter; bad usage → exit 2, a queue that does not exist → exit 2, AWS failed → exit 1."""
    from moviepipe.dlq.filters import FilterError
    from moviepipe.dlq.operations import UsageError
    from moviepipe.dlq.sqs import AwsError, Queues
    from moviepipe.runtime.aws import Clients
    from moviepipe.runtime.settings import ConfigurationError, process_environment

    try:
        yield Queues(clients=Clients.from_environ(process_environment()))
    except (FilterError, UsageError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except AwsError as exc:
        if exc.not_found:
            raise fail(f"no such queue: {exc}", EXIT_USAGE) from None
        raise fail(str(exc)) from None
    except ConfigurationError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except ValueError as exc:  # an ARN that is not a queue's
        raise fail(str(exc), EXIT_USAGE) from None


def _filter(
    types: list[str] | None,
    event_ids: list[str] | None,
    errors: list[str] | None,
    since: str | None,
    until: str | None,
    match: str | None,
) -> Filter:
    from moviepipe.dlq.filters import build_filter

    return build_filter(
        types=types or (),
        event_ids=event_ids or (),
        errors=errors or (),
        since=since,
        until=until,
        match=match,
    )


def _progress(what: str, total: int | None) -> Progress:
    return Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


# -- stats -----------------------------------------------------------------------------------------------
@dlq_app.command()
def stats(
    queue: Queue,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="Read at most this many messages.")
    ] = 10_000,
    as_json: AsJson = False,
) -> None:
    """Depth, age of the oldest message, counts by event type and by error code."""
    from moviepipe.dlq.operations import stats as run_stats

    with guarded() as queues:
        result = run_stats(queues, queues.resolve(queue), limit=limit)
    if as_json:
        emit_json(result)
        return
    age = result["oldest_age_seconds"]
    out.print(str(result["queue"]), style="bold")
    out.print(
        f"  depth {result['depth']} visible, {result['in_flight']} in flight, {result['delayed']} delayed"
    )
    out.print(
        f"  oldest message sent {result['oldest_sent'] or '-'} ({_age(age)} ago)"
        if age is not None
        else "  empty"
    )
    for title, key in (("event type", "by_type"), ("error code", "by_error")):
        if result[key]:
            table = Table(title=f"by {title} ({result['scanned']} read)")
            table.add_column(title)
            table.add_column("messages", justify="right")
            for name, count in result[key].items():
                table.add_row(name, str(count))
            out.print(table)
    err.print(f"note: {result['note']}")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# -- peek ------------------------------------------------------------------------------------------------
@dlq_app.command()
def peek(
    queue: Queue,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Show at most this many.")] = 10,
    types: Types = None,
    event_ids: EventIds = None,
    errors: Errors = None,
    since: Since = None,
    until: Until = None,
    match: Match = None,
    as_json: AsJson = False,
) -> None:
    """Show messages and why they failed; they are visible again at once (reading raises receive counts)."""
    from moviepipe.dlq.operations import READING_RAISES_RECEIVE_COUNTS
    from moviepipe.dlq.operations import peek as run_peek

    with guarded() as queues:
        chosen = _filter(types, event_ids, errors, since, until, match)
        summaries, not_released = run_peek(queues, queues.resolve(queue), limit=limit, filter=chosen)
    rows = [s.as_dict() for s in summaries]
    if as_json:
        emit_json({"messages": rows, "not_released": not_released, "note": READING_RAISES_RECEIVE_COUNTS})
        return
    if not rows:
        out.print("no messages")
    else:
        table = Table(title=f"{len(rows)} message(s)")
        for column in ("event type", "event id", "movie", "error", "reason", "receives", "first sent"):
            table.add_column(column)
        for row in rows:
            movie = row["movie_id"] if row["title"] == "-" else f"{row['movie_id']} {row['title']}"
            table.add_row(
                row["event_type"],
                row["event_id"],
                movie,
                row["error_code"],
                row["reason"],
                str(row["receive_count"]),
                row["first_sent"] or "-",
            )
        out.print(table)
    err.print(f"note: {READING_RAISES_RECEIVE_COUNTS}")


# -- replay ----------------------------------------------------------------------------------------------
@dlq_app.command()
def replay(
    queue: Queue,
    to: Annotated[
        str | None, typer.Option("--to", help="Send to this queue instead of the source queue.")
    ] = None,
    to_topic: Annotated[
        str | None, typer.Option("--to-topic", help="Republish through this SNS topic (ARN) instead.")
    ] = None,
    types: Types = None,
    event_ids: EventIds = None,
    errors: Errors = None,
    since: Since = None,
    until: Until = None,
    match: Match = None,
    max_messages: Annotated[
        int | None, typer.Option("--max", min=1, help="Move at most this many messages.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="At most this many messages per second.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would move; move nothing.")] = False,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="auto (StartMessageMoveTask when unfiltered to the source queue and available), "
            "move-task, or receive-send-delete.",
        ),
    ] = "auto",
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=50, help="Parallel workers (FIFO queues use 1).")
    ] = 8,
    visibility: Annotated[
        int | None,
        typer.Option(
            "--visibility", min=1, max=43_200, help="Seconds each message is held (extended while held)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Move messages back to the DLQ's source queue (or --to / --to-topic), losing and duplicating nothing."""
    from moviepipe.dlq.operations import ReplayRequest
    from moviepipe.dlq.operations import replay as run_replay
    from moviepipe.dlq.replay import METHODS, ReplayOptions, idempotency_ttl
    from moviepipe.runtime.settings import process_environment

    if method not in METHODS:
        raise fail(f"--method must be one of {', '.join(METHODS)}, not {method!r}", EXIT_USAGE)
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= 100_000):
        raise fail("--rate must be a number of messages per second between 0 and 100000", EXIT_USAGE)
    with _interrupt_on_signals(), guarded() as queues:
        request = ReplayRequest(
            queue=queue,
            to=to,
            to_topic=to_topic,
            method=method,
            options=ReplayOptions(
                filter=_filter(types, event_ids, errors, since, until, match),
                max_messages=max_messages,
                rate=rate,
                dry_run=dry_run,
                concurrency=concurrency,
                visibility=visibility,
                idempotency_ttl=idempotency_ttl(process_environment()),
            ),
        )
        total = max_messages or _depth(queues, queue)
        with _progress("dry run" if dry_run else "replaying", total) as progress:
            task = progress.add_task("replay", total=total)

            def show(report: ReplayReport) -> None:
                progress.update(task, completed=report.matched + report.skipped)

            report = run_replay(queues, request, on_progress=show)
    _print_replay(report, as_json)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _depth(queues: Queues, queue: str) -> int | None:
    from moviepipe.dlq.sqs import AwsError

    try:
        value = queues.attributes(queues.resolve(queue)).get("ApproximateNumberOfMessages", "")
    except (AwsError, ValueError):
        return None  # the command itself will say what is wrong
    return int(value) if value.isdigit() else None


@contextmanager
def _interrupt_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM both stop a replay cleanly (the batches in flight finish, the rest is
    released). SIGINT is set explicitly: a process started in the background inherits it ignored.
    The previous handlers are put back afterwards (the command may run inside another program)."""

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, signal.default_int_handler), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _print_replay(report: ReplayReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
        return
    if report.task_handle:
        out.print(f"{report.method}: moving about {report.matched} message(s) to {report.target}")
        out.print(f"  task {report.task_handle}")
        err.print(f"note: {report.note}")
        return
    if report.dry_run:
        out.print(
            f"dry run ({report.method}): {report.matched} message(s) would move to {report.target}; "
            f"{report.skipped} skipped; nothing moved"
        )
    else:
        out.print(
            f"{report.method}: matched {report.matched}, moved {report.moved}, failed {report.failed}, "
            f"skipped {report.skipped}"
            + (f", sent but not deleted {report.not_deleted}" if report.not_deleted else "")
        )
    for failure in report.failures[:20]:
        err.print(
            f"  failed {failure['message_id']} ({failure['event_id']}): {failure['reason']}", style="red"
        )
    if report.interrupted:
        err.print("interrupted: what was not moved is back in the DLQ", style="yellow")
    if report.error:
        err.print(f"error: {report.error}", style="red")
    if report.older_than_idempotency_ttl:
        err.print(
            f"warning: {report.older_than_idempotency_ttl} message(s) older than the "
            "idempotency TTL: the consumer may no longer remember them, so an event already emailed could be emailed again",
            style="yellow",
        )
    err.print(f"note: {report.note}")


# -- AWS's move tasks -----------------------------------------------------------------------------------
@dlq_app.command()
def tasks(queue: Queue, as_json: AsJson = False) -> None:
    """The StartMessageMoveTask tasks of a DLQ (the most recent ones)."""
    from moviepipe.dlq.operations import list_tasks

    with guarded() as queues:
        found = list_tasks(queues, queue)
    if as_json:
        emit_json({"tasks": found})
        return
    if not found:
        out.print("no move tasks")
    for item in found:
        out.print(
            f"{item.get('Status', '?')} {item.get('TaskHandle', '-')}: "
            f"{item.get('ApproximateNumberOfMessagesMoved', 0)}/{item.get('ApproximateNumberOfMessagesToMove', '?')} moved"
        )


@dlq_app.command()
def cancel(
    task_handle: Annotated[str, typer.Argument(help="The task handle `dlq tasks` or `dlq replay` printed.")],
    as_json: AsJson = False,
) -> None:
    """Cancel a running StartMessageMoveTask (what it moved stays moved)."""
    with guarded() as queues:
        moved = queues.cancel_move_task(task_handle)
    if as_json:
        emit_json({"task_handle": task_handle, "moved": moved})
    else:
        out.print(f"cancelled; {moved} message(s) had been moved")


# -- export / import ------------------------------------------------------------------------------------
@dlq_app.command()
def export(
    queue: Queue,
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write (JSON Lines); - for stdout.")
    ] = "-",
    types: Types = None,
    event_ids: EventIds = None,
    errors: Errors = None,
    since: Since = None,
    until: Until = None,
    match: Match = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Export at most this many.")] = None,
    as_json: AsJson = False,
) -> None:
    """Write messages (body, every attribute, ids, timestamps) as JSON Lines; the DLQ is left as it was."""
    from moviepipe.dlq.operations import export as run_export

    if as_json and output == "-":
        raise fail("--json prints the summary on stdout: pass --output FILE", EXIT_USAGE)
    with guarded() as queues:
        chosen = _filter(types, event_ids, errors, since, until, match)
        url = queues.resolve(queue)
        with _open_output(output) as stream:
            result = run_export(queues, url, stream, filter=chosen, limit=limit)
    result["output"] = output
    if as_json:
        emit_json(result)
    else:
        err.print(f"exported {result['exported']} message(s) to {output}; {result['skipped']} skipped")


@contextmanager
def _open_output(output: str) -> Iterator[Any]:
    if output == "-":
        yield sys.stdout
        return
    try:
        stream = Path(output).open("w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}", EXIT_USAGE) from None
    with stream:
        yield stream


@dlq_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file `moviepipe dlq export` wrote.")],
    queue: Queue,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file; send nothing.")] = False,
    as_json: AsJson = False,
) -> None:
    """Send exported messages to a queue, exactly as exported (every line is checked before any is sent)."""
    from moviepipe.dlq.operations import UsageError, import_, read_export

    try:
        with file.open(encoding="utf-8", errors="strict") as stream:
            letters = read_export(stream)
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}", EXIT_USAGE) from None
    except UnicodeDecodeError as exc:
        raise fail(f"{file} is not UTF-8 (byte {exc.start})", EXIT_USAGE) from None
    except UsageError as exc:
        raise fail(f"{file}: {exc}", EXIT_USAGE) from None
    with guarded() as queues:
        result = import_(queues, queues.resolve(queue), letters, dry_run=dry_run)
    if as_json:
        emit_json(result)
    elif dry_run:
        out.print(f"dry run: {result['read']} message(s) would be imported into {result['queue']}")
    else:
        out.print(f"imported {result['imported']} of {result['read']} message(s) into {result['queue']}")
        for failure in result["failures"][:20]:
            err.print(f"  failed {failure['message_id']}: {failure['reason']}", style="red")
    if result["failed"]:
        raise typer.Exit(EXIT_FAILED)


# -- purge -----------------------------------------------------------------------------------------------
@dlq_app.command()
def purge(
    queue: Queue,
    types: Types = None,
    event_ids: EventIds = None,
    errors: Errors = None,
    since: Since = None,
    until: Until = None,
    match: Match = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Delete messages for good (all, or those matching the filters), after confirmation."""
    from moviepipe.dlq.operations import purge as run_purge

    with guarded() as queues:
        chosen = _filter(types, event_ids, errors, since, until, match)
        url = queues.resolve(queue)
        if not (yes or dry_run):
            _confirm(f"delete {'every' if chosen.empty else 'every matching'} message of {url} for good?")
        result = run_purge(queues, url, filter=chosen, dry_run=dry_run)
    if as_json:
        emit_json(result)
    elif dry_run:
        out.print(f"dry run: {result['matched']} message(s) would be deleted; {result['skipped']} kept")
    else:
        out.print(
            f"deleted {result['deleted']} message(s); {result['skipped']} kept; {result['failed']} failed"
        )
    if result["failed"]:
        raise typer.Exit(EXIT_FAILED)


def _confirm(question: str, ask: Callable[..., bool] = typer.confirm) -> None:
    if not sys.stdin.isatty():
        raise fail("not a terminal, so no one to confirm: pass --yes", EXIT_USAGE)
    if not ask(question, err=True):
        raise fail("not confirmed; nothing deleted", EXIT_USAGE)
