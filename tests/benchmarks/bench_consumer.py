"""Email consumer: batch latency against its floor and against Powertools, CPU per record, cold start.

All measured side by side in one run, each point the median of several batches with its spread:

* **handler** — ``EmailConsumer.handle``: records in parallel lanes on min(lanes, ``BATCH_CONCURRENCY``)
  threads (default 50: concurrency that fits a batch of up to 50). With more lanes than threads (batch
  100 at the default) each record's idempotency completion runs off its lane thread once SES accepted
  the email, so a thread spends 2 calls per record, not 3, and **up to twice the threads' calls are in
  flight** (lanes + completions; the table says how many were); the invoking thread renders the emails
  ahead of their lanes while the first round trips are in flight; every guarantee holds (docs/consumer.md);
* **peer** — what a competent engineer writes in ten lines: Powertools' documented ``BatchProcessor`` +
  ``idempotent_function``, the records mapped over a thread pool of the *same size* as the handler's, the
  email built with the standard library (``email.message.EmailMessage``, text + HTML alternatives and
  the same custom headers) and sent as SES v2 *raw* content. Raw is the fair peer: it sends the email
  the handler sends (same headers, same parts, same SES operation) and stays the same whoever sends it.
  The *simple content* variant (SES builds the MIME from subject + bodies + ``Headers``) is shown too:
  it spends no MIME CPU in the function at all, so it shows how much of the margin is MIME building
  (SES replaces Date and Message-ID in both modes, per its header-fields guide);
* **sequential** — the same Powertools code with no thread pool (records one after another);
* **floor** — 3 sequential AWS calls per record (PutItem in-progress, SendEmail, UpdateItem complete),
  ``ceil(batch / threads)`` waves of them: 60 ms when every record has a thread. The issue's nominal
  floor, kept for batch 100 too, although deferred completions can go below it (2 waves of 2 calls
  plus the last completion: 100 ms) by holding more calls in flight.

*Latency only* (the targets): in-memory stand-ins for DynamoDB (the Powertools persistence semantics) and
SES that sleep 20 ms per call, which isolates what the targets are about — overlapping round trips with
little CPU. *Over HTTP* (secondary, labelled): the embedded moto server with 20 ms added per request;
moto serves each call with ~5 ms of CPU in this process under the GIL, so that table measures moto.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from rich.console import Console

from consumers.email_notification import handler
from consumers.email_notification.adapters import EmailSender, SesEmailSender
from consumers.email_notification.config import DEFAULT_CONCURRENCY, ConsumerConfig
from consumers.email_notification.logic.consumer import EmailConsumer, idempotency_payload
from consumers.email_notification.logic.rendering import (
    EVENT_ID_HEADER,
    MOVIE_ID_HEADER,
    RenderedEmail,
    _context,
    _templates,
    subject_for,
)
from movie_events import MovieCreated, MovieEvent, parse_event
from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.local.provision import (
    Messaging,
    provision_idempotency_table,
    provision_messaging,
    verify_sender,
)
from moviepipe.local.sqs_events import LambdaSqsEvent, to_lambda_event
from moviepipe.local.triggers import Handler, Invocation, SqsTrigger, invoke
from moviepipe.runtime.powertools import DataRecord
from producers import EventPublisher
from tests.benchmarks.common import LATENCY_SECONDS, embedded_aws, median_spread, plain, ratio_spread, verdict
from tests.benchmarks.report import Report
from tests.support import aws
from tests.support.fakes import FakeSender, InMemoryPersistenceLayer
from tests.support.latency import simulated_latency

BATCH = 10
#: Batches per point (median and min-max over them). Each batch is new events: no duplicates.
ROUNDS = int(os.environ.get("BENCH_CONSUMER_ROUNDS", "7"))
#: Batches per handler over HTTP (moto).
HTTP_ROUNDS = int(os.environ.get("BENCH_CONSUMER_HTTP_ROUNDS", "3"))
CALLS_PER_RECORD = 3
#: Batch sizes and thread counts of the latency plot; DEFAULT_CONCURRENCY is what an unset
#: BATCH_CONCURRENCY gives (min(lanes, 50) threads), 10 the former default.
SIZES = (1, 10, 25, 50, 100)
CONCURRENCIES = (10, DEFAULT_CONCURRENCY)
#: Targets of issue 13.
TARGET_CPU_MS = 0.4
TARGET_B10_VS_FLOOR = 1.1
TARGET_VS_PEER = 1.2
TARGET_B100_VS_FLOOR = 1.4
TARGET_IMPORT = 1.3
IMPORT_RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "5"))
CPU_BATCHES = 20
CPU_RUNS = 5
PLOT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks-consumer.png"

CONSUMER = DEPLOYMENT.function("email_notification")
SENDER = str(DEPLOYMENT.settings["email_sender"])
RECIPIENTS = tuple(DEPLOYMENT.settings["email_recipients"])
_counter = [0]

#: What each handler's documented Powertools pattern imports at module level (the cold-start baseline):
#: the utilities the Powertools docs show for that kind of function, plus boto3.
DOCUMENTED_IMPORTS = {
    "consumers.email_notification.handler": (
        "from aws_lambda_powertools import Logger, Metrics; "
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response; "
        "from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord; "
        "from aws_lambda_powertools.utilities.idempotency import "
        "DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function; import boto3"
    ),
    "producers.movies_api.handler": (
        "from aws_lambda_powertools import Logger; "
        "from aws_lambda_powertools.event_handler import APIGatewayRestResolver; "
        "from aws_lambda_powertools.utilities.idempotency import "
        "DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function; import boto3"
    ),
    "producers.outbox_relay.handler": (
        "from aws_lambda_powertools import Logger; "
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response; "
        "from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord; "
        "import boto3"
    ),
}


class _InFlight:
    """One simulated round trip per call, counting how many are in flight at once (the most seen)."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def call(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(LATENCY_SECONDS)
        finally:
            with self._lock:
                self.now -= 1


class _SlowStore(InMemoryPersistenceLayer):
    """The DynamoDB persistence layer's semantics, with one simulated round trip per call."""

    def __init__(self, in_flight: _InFlight) -> None:
        super().__init__()
        self.in_flight = in_flight

    def _get_record(self, idempotency_key: str) -> DataRecord:
        self.in_flight.call()
        return super()._get_record(idempotency_key)

    def _put_record(self, data_record: DataRecord) -> None:
        self.in_flight.call()
        super()._put_record(data_record)

    def _update_record(self, data_record: DataRecord) -> None:
        self.in_flight.call()
        super()._update_record(data_record)

    def _delete_record(self, data_record: DataRecord) -> None:
        self.in_flight.call()
        super()._delete_record(data_record)


class _SlowSender(FakeSender):
    """SES with one simulated round trip per send, counted with the store's calls."""

    def __init__(self, in_flight: _InFlight) -> None:
        super().__init__()
        self.in_flight = in_flight

    def send(self, email: RenderedEmail) -> str:
        self.in_flight.call()
        return super().send(email)


def _events() -> list[MovieCreated]:
    events = []
    for _ in range(BATCH):
        _counter[0] += 1
        n = _counter[0]
        events.append(
            MovieCreated(data={"id": f"m{n}", "title": f"Movie {n}", "rating": 7, "genres": ["Drama"]})
        )
    return events


def _batches(trigger: SqsTrigger, messaging: Messaging, count: int) -> list[LambdaSqsEvent]:
    """``count`` batches of 10 new events, received by the event source before timing (they stay
    in flight for the queue's visibility timeout, so no batch is received twice)."""
    publisher = EventPublisher(messaging.topic_arn, clients=aws.clients())
    out = []
    for _ in range(count):
        publisher.publish_many(_events())
        messages: list[dict[str, Any]] = []
        while len(messages) < BATCH:
            messages += trigger.receive(BATCH - len(messages))
        out.append(to_lambda_event(messages, trigger.queue_arn))
    return out


def _ours(config: ConsumerConfig, sender: EmailSender, persistence: BasePersistenceLayer) -> Handler:
    consumer = EmailConsumer(
        config=config,
        sender=sender,
        persistence=persistence,
        dead_letters=None,
        logger=handler.logger,
        metrics=handler.metrics,
    )
    return consumer.handle


def _median_time(run: Handler, batches: list[LambdaSqsEvent], trigger: SqsTrigger | None = None) -> float:
    """Median time of the handler over the batches, each invoked as the event source does (with
    ``trigger``: the SQS event source's own invoke and settle; without: the same invocation rules on
    batches that never were on a queue)."""
    times = []
    for batch in batches:
        if trigger is not None:
            trigger.handler = run
            invocation = trigger.invoke(batch)
            trigger.settle(invocation)
        else:
            ids = [r["messageId"] for r in batch["Records"]]
            failed, error, seconds, response = invoke(run, dict(batch), CONSUMER.suffix, 30.0, ids)
            invocation = Invocation(
                CONSUMER.suffix, [dict(r) for r in batch["Records"]], failed, error, seconds, response
            )
        assert invocation.error is None and invocation.failed_ids == [], invocation
        times.append(invocation.seconds)
    return statistics.median(times)


def _unset(event: dict[str, Any], context: Any) -> Any:
    raise AssertionError("the benchmark sets the trigger's handler before each measure")


def _import_time(statement: str, environment: dict[str, str] | None = None) -> float:
    """Seconds ``statement`` takes in a fresh interpreter (this process's environment plus ``environment``)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, **(environment or {})}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def _declared_settings(module: str) -> dict[str, str]:
    """The environment the deployment declares for the function whose handler lives in ``module``, as
    far as it is known before deploying: its ``setting`` values (``PYDANTIC_DISABLE_PLUGINS``, the
    consumer's sender and limits, ...), as the function runs with them; resource names and ARNs are
    resolved only when deployed and no import reads them."""
    function = next(f for f in DEPLOYMENT.functions if f.handler.rpartition(".")[0] == module)
    settings = {}
    for name, ref in function.environment.items():
        if ref.kind == "setting":
            value = DEPLOYMENT.settings[ref.key]
            settings[name] = ",".join(value) if isinstance(value, list) else str(value)
    return settings


@contextmanager
def _quiet() -> Iterator[None]:
    """No per-record log lines or EMF output in the benchmark's report."""
    level = handler.logger.log_level
    saved = os.environ.get("POWERTOOLS_METRICS_DISABLED")
    handler.logger.setLevel(logging.WARNING)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    try:
        yield
    finally:
        handler.logger.setLevel(level)
        if saved is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = saved


def _over_http() -> dict[str, float]:
    with embedded_aws():
        messaging = provision_messaging()
        table = provision_idempotency_table()
        verify_sender()
        config = ConsumerConfig(
            idempotency_table=table, sender=SENDER, recipients=RECIPIENTS, batch_concurrency=BATCH
        )
        # The one SQS event source, from the declaration; the handler it invokes is set per measure.
        trigger = SqsTrigger.declared(CONSUMER, queue_url=messaging.queue_url, handler=_unset, wait_seconds=0)

        def wired() -> tuple[EmailSender, BasePersistenceLayer]:
            ses = SesEmailSender(aws.client("sesv2"), sender=config.sender, recipients=config.recipients)
            return ses, DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))

        warmup, *batches = _batches(trigger, messaging, 3 * HTTP_ROUNDS + 1)
        _median_time(_ours(config, *wired()), [warmup], trigger)  # imports, templates, connection pools
        floor = _median_time(_ours(config, *wired()), batches[:HTTP_ROUNDS], trigger)
        with simulated_latency(LATENCY_SECONDS) as calls:
            ours_run, base_run = _ours(config, *wired()), _powertools(config, *wired())
        # The trigger's own client was created outside the block: its deletes are neither slowed nor counted.
        ours = _median_time(ours_run, batches[HTTP_ROUNDS : 2 * HTTP_ROUNDS], trigger)
        ours_calls = calls.total
        base = _median_time(base_run, batches[2 * HTTP_ROUNDS :], trigger)
        base_calls = calls.total - ours_calls
    return {
        "ours": ours,
        "base": base,
        "floor": floor,
        "ours_calls": ours_calls / HTTP_ROUNDS,
        "base_calls": base_calls / HTTP_ROUNDS,
    }


#: What each handler's import leaves for its first invocation (cold start = import + this): the
#: contract's models built when the consumer or the relay's processor is built (first invocation),
#: and the consumer's templates (jinja2 imported then). The movies API's entry is empty: it builds its
#: request models at import and never defines the event models (it uses movie_events.fields), but
#: Powertools prepares each route's validation on that route's first call, which is not measured here.
FIRST_USE = {
    "consumers.email_notification.handler": (
        "from movie_events.models import build_models; build_models(); "
        "from consumers.email_notification.logic.rendering import _templates; _templates()"
    ),
    "producers.movies_api.handler": "",
    "producers.outbox_relay.handler": "from movie_events.models import build_models; build_models()",
}


def _events_n(size: int) -> list[MovieCreated]:
    events: list[MovieCreated] = []
    while len(events) < size:
        events += _events()
    return events[:size]


def _sqs_batch(size: int) -> LambdaSqsEvent:
    """A Lambda SQS event of ``size`` new events (never on a queue: the latency-only runs)."""
    records = [
        {
            "messageId": f"{_counter[0]}-{i}",
            "receiptHandle": "-",
            "body": event.to_json(),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {},
            "md5OfBody": "-",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            "awsRegion": "us-east-1",
        }
        for i, event in enumerate(_events_n(size))
    ]
    return cast(LambdaSqsEvent, {"Records": records})


# -- the peer: Powertools as documented, records over a thread pool ----------------------------------
class _ThreadedBatchProcessor(BatchProcessor):
    """Powertools' BatchProcessor with its records mapped over a thread pool (the whole change)."""

    def __init__(self, workers: int) -> None:
        super().__init__(event_type=EventType.SQS)
        self.workers = workers

    def process(self) -> list[tuple[Any, ...]]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._process_record, self.records))


def _stdlib_email(movie: MovieEvent, sender: str) -> RenderedEmail:
    """The email as the standard library builds it: same templates, parts and headers as the handler's."""
    text_template, html_template = _templates()
    context = _context(movie)
    text, html = text_template.render(context), html_template.render(context)
    subject = subject_for(movie)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = sender
    message["Subject"] = subject
    message["Date"] = format_datetime(movie.time)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message[EVENT_ID_HEADER] = movie.id
    message[MOVIE_ID_HEADER] = movie.movie_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return RenderedEmail(subject=subject, text=text, html=html, mime=message.as_bytes())


def _simple_content(movie: MovieEvent, sender: str) -> RenderedEmail:
    """SES v2 simple content: the function renders subject and bodies only; SES builds the MIME."""
    text_template, html_template = _templates()
    context = _context(movie)
    text, html = text_template.render(context), html_template.render(context)
    return RenderedEmail(subject=subject_for(movie), text=text, html=html, mime=b"")


def _powertools(
    config: ConsumerConfig,
    sender: EmailSender,
    persistence: BasePersistenceLayer,
    workers: int = 1,
    build: Callable[[MovieEvent, str], RenderedEmail] = _stdlib_email,
) -> Handler:
    """Powertools as documented; ``workers`` > 1 maps the records over a thread pool (the peer)."""
    idempotency = IdempotencyConfig(
        event_key_jmespath="id",
        payload_validation_jmespath="[type, data]",
        expires_after_seconds=config.idempotency_ttl_seconds,
    )

    @idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=idempotency)
    def send(event: dict[str, Any], movie: Any) -> dict[str, str]:
        return {"messageId": sender.send(build(movie, config.sender))}

    def record_handler(record: SQSRecord) -> Any:
        movie = parse_event(record.body, record.raw_event.get("messageAttributes"))
        return send(event=idempotency_payload(movie), movie=movie)

    def run(batch: dict[str, Any], context: Any) -> dict[str, Any]:
        idempotency.register_lambda_context(context)
        processor = _ThreadedBatchProcessor(workers) if workers > 1 else BatchProcessor(EventType.SQS)
        response = process_partial_response(
            event=batch, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    return run


# -- latency only ------------------------------------------------------------------------------------
def _config(concurrency: int = DEFAULT_CONCURRENCY) -> ConsumerConfig:
    return ConsumerConfig(
        idempotency_table="-", sender=SENDER, recipients=RECIPIENTS, batch_concurrency=concurrency
    )


def _threads(size: int, concurrency: int) -> int:
    return max(1, min(size, concurrency))


def _floor(size: int, concurrency: int) -> float:
    """3 round trips per record, ``ceil(size / threads)`` waves of records."""
    return math.ceil(size / _threads(size, concurrency)) * CALLS_PER_RECORD * LATENCY_SECONDS


def _runs(run: Handler, size: int, rounds: int = ROUNDS) -> list[float]:
    """Seconds per batch of ``size`` new events, ``rounds`` times (after one warm-up batch)."""
    _median_time(run, [_sqs_batch(size)])
    times = []
    for _ in range(rounds):
        times.append(_median_time(run, [_sqs_batch(size)]))
    return times


def _sleep_floor(size: int, concurrency: int = DEFAULT_CONCURRENCY) -> list[float]:
    """The floor as this machine delivers it right now: the handler's threads doing nothing but the
    3 sleeps of 20 ms per record. On a loaded machine sleeps overrun; this shows by how much."""

    def record(_: int) -> None:
        for _call in range(CALLS_PER_RECORD):
            time.sleep(LATENCY_SECONDS)

    # Threads started once and kept, as the handler keeps its own (logic/batch.py's Pools).
    times = []
    with ThreadPoolExecutor(max_workers=_threads(size, concurrency)) as pool:
        list(pool.map(record, range(size)))  # start the threads
        for _ in range(ROUNDS):
            start = time.perf_counter()
            list(pool.map(record, range(size)))
            times.append(time.perf_counter() - start)
    return times


def _slow(in_flight: _InFlight | None = None) -> tuple[EmailSender, BasePersistenceLayer]:
    in_flight = in_flight or _InFlight()
    return _SlowSender(in_flight), _SlowStore(in_flight)


def _cpu_per_record(run: Handler) -> list[float]:
    """CPU seconds per record (process time, no latency, one thread), one figure per run."""
    _median_time(run, [_sqs_batch(BATCH)])
    figures = []
    for _ in range(CPU_RUNS):
        batches = [_sqs_batch(BATCH) for _ in range(CPU_BATCHES)]
        start = time.process_time()
        for batch in batches:
            context = LocalLambdaContext.new_invocation(CONSUMER.suffix, timeout_seconds=30)
            run(dict(batch), context)
        figures.append((time.process_time() - start) / (CPU_BATCHES * BATCH))
    return figures


def _latency_only() -> dict[str, Any]:
    curves: dict[str, dict[int, list[float]]] = {}
    in_flight: dict[tuple[int, int], int] = {}
    for concurrency in CONCURRENCIES:
        points = {}
        for size in SIZES:
            calls = _InFlight()
            points[size] = _runs(_ours(_config(concurrency), *_slow(calls)), size)
            in_flight[(concurrency, size)] = calls.most
        curves[f"handler, {concurrency} threads"] = points
    curves["peer (EmailMessage + raw), same threads"] = {
        size: _runs(_powertools(_config(), *_slow(), workers=_threads(size, DEFAULT_CONCURRENCY)), size)
        for size in SIZES
    }
    simple_peer = _powertools(_config(), *_slow(), workers=BATCH, build=_simple_content)
    sequential = _powertools(_config(), *_slow())
    return {
        "curves": curves,
        "in_flight": in_flight,
        "simple": _runs(simple_peer, BATCH),
        "sequential": _runs(sequential, BATCH, rounds=max(3, ROUNDS // 2)),
        "sleep_floor": {size: _sleep_floor(size) for size in (BATCH, 100)},
        "cpu": _cpu_per_record(_ours(_config(1), FakeSender(), InMemoryPersistenceLayer())),
        "cpu_peer": _cpu_per_record(_powertools(_config(1), FakeSender(), InMemoryPersistenceLayer())),
    }


def _plot(curves: dict[str, dict[int, list[float]]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for label, points in curves.items():
        sizes = sorted(points)
        medians = [statistics.median(points[s]) * 1000 for s in sizes]
        low = [medians[i] - min(points[s]) * 1000 for i, s in enumerate(sizes)]
        high = [max(points[s]) * 1000 - medians[i] for i, s in enumerate(sizes)]
        style = "--" if label.startswith("peer") else "-"
        ax.errorbar(sizes, medians, yerr=[low, high], label=label, marker="o", linestyle=style, capsize=3)
    for concurrency in CONCURRENCIES:
        sizes = list(range(1, max(SIZES) + 1))
        ax.step(
            sizes,
            [_floor(s, concurrency) * 1000 for s in sizes],
            where="post",
            color="grey",
            linewidth=1,
            linestyle=":" if concurrency != DEFAULT_CONCURRENCY else "-",
            label=f"floor, {concurrency} threads (3 x 20 ms per wave)",
        )
    ax.set_xlabel("records per batch")
    ax.set_ylabel("ms per batch (median; bars: min-max)")
    ax.set_title("Email consumer, 20 ms per AWS call (latency-only stand-ins)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT)
    plt.close(fig)
    return PLOT


#: The libraries the brief chose that a handler cannot start without, beyond the documented imports:
#: pydantic (the contract's models; the API's request models) and, for the consumer, Jinja2. Importing
#: them beside the documented imports is a floor for any handler on those libraries, measured so the page
#: can say how much of the gap to the documented imports is theirs and how much is moviepipe's code.
CHOSEN_LIBRARIES = {
    "consumers.email_notification.handler": "from pydantic import BaseModel; import jinja2",
    "producers.movies_api.handler": "from pydantic import BaseModel",
    "producers.outbox_relay.handler": "from pydantic import BaseModel",
}


def _cold_starts() -> list[tuple[str, list[float], list[float], list[float], list[float]]]:
    """(handler, its import times, import + first-use work, documented-imports times, documented
    imports + the chosen libraries' imports): fresh interpreters, interleaved so load on the machine
    hits all four alike."""
    out = []
    for module, documented in DOCUMENTED_IMPORTS.items():
        ours: list[float] = []
        with_first_use: list[float] = []
        base: list[float] = []
        floor: list[float] = []
        # The handler runs with its function's declared settings (PYDANTIC_DISABLE_PLUGINS among them);
        # the documented imports with this process's environment (they load no pydantic).
        declared = _declared_settings(module)
        for _ in range(IMPORT_RUNS):
            base.append(_import_time(documented))
            floor.append(_import_time(f"{documented}; {CHOSEN_LIBRARIES[module]}", declared))
            ours.append(_import_time(f"import {module}", declared))
            deferred = FIRST_USE[module]
            with_first_use.append(
                _import_time(f"import {module}; {deferred}", declared) if deferred else ours[-1]
            )
        out.append((module, ours, with_first_use, base, floor))
    return out


def run(console: Console, report: Report) -> bool:
    with _quiet():
        sleep_only = _latency_only()
        http = _over_http()
    curves: dict[str, dict[int, list[float]]] = sleep_only["curves"]
    default = curves[f"handler, {DEFAULT_CONCURRENCY} threads"]
    peer = curves["peer (EmailMessage + raw), same threads"]
    b10_floor = _floor(BATCH, DEFAULT_CONCURRENCY)
    ours10 = statistics.median(default[BATCH])
    peer10 = statistics.median(peer[BATCH])

    rows: list[list[str]] = [
        ["floor: 3 calls per record, every record on a thread", f"{b10_floor * 1000:.0f}", "1.00x", ""],
        [
            "machine floor: the same 10 threads only sleeping 3 x 20 ms",
            median_spread(sleep_only["sleep_floor"][BATCH]),
            ratio_spread(sleep_only["sleep_floor"][BATCH], b10_floor),
            "",
        ],
        [
            "handler (default settings)",
            median_spread(default[BATCH]),
            ratio_spread(default[BATCH], b10_floor),
            "1.00x",
        ],
        [
            "peer: Powertools + thread pool of 10, EmailMessage + SES raw",
            median_spread(peer[BATCH]),
            ratio_spread(peer[BATCH], b10_floor),
            f"{peer10 / ours10:.2f}x",
        ],
        [
            "peer variant: SES simple content (SES builds the MIME)",
            median_spread(sleep_only["simple"]),
            ratio_spread(sleep_only["simple"], b10_floor),
            f"{statistics.median(sleep_only['simple']) / ours10:.2f}x",
        ],
        [
            "Powertools sequential (documented BatchProcessor)",
            median_spread(sleep_only["sequential"]),
            ratio_spread(sleep_only["sequential"], b10_floor),
            f"{statistics.median(sleep_only['sequential']) / ours10:.1f}x",
        ],
    ]
    report.table(
        f"Batch of {BATCH}, latency only (20 ms per call), median (min-max) of {ROUNDS} batches",
        ["", "ms / batch", "vs floor", "handler faster by"],
        rows,
    )

    size_rows = []
    for size in SIZES:
        row = [str(size)]
        for concurrency in CONCURRENCIES:
            points = curves[f"handler, {concurrency} threads"][size]
            row += [median_spread(points), ratio_spread(points, _floor(size, concurrency))]
        row += [
            median_spread(peer[size]),
            f"{statistics.median(peer[size]) / statistics.median(default[size]):.2f}x",
        ]
        size_rows.append(row)
    columns = ["records"]
    for concurrency in CONCURRENCIES:
        columns += [f"handler, {concurrency} threads: ms", "vs its floor"]
    columns += ["peer, same threads as default: ms", "handler faster by"]
    report.table(
        "Batch latency by size and concurrency, latency only, median (min-max)",
        columns,
        size_rows,
    )
    report.image(Path(_plot(curves).name), "consumer batch latency against batch size and concurrency")

    cpu = sleep_only["cpu"]
    cpu_peer = sleep_only["cpu_peer"]
    report.table(
        f"CPU per record (process time, 1 thread, no latency), median (min-max) of {CPU_RUNS} x {CPU_BATCHES} batches",
        ["", "ms / record", "vs peer"],
        [
            ["handler", median_spread(cpu, digits=3), ratio_spread(cpu, statistics.median(cpu_peer))],
            ["peer (Powertools + EmailMessage)", median_spread(cpu_peer, digits=3), "1.00x"],
        ],
    )

    b100 = default[100]
    machine100 = statistics.median(sleep_only["sleep_floor"][100])
    flights = sleep_only["in_flight"]
    report.note(
        f"Most AWS calls in flight at once, handler at the default {DEFAULT_CONCURRENCY} threads: "
        + ", ".join(f"batch {size}: {flights[(DEFAULT_CONCURRENCY, size)]}" for size in SIZES)
        + f" (batch 100: {DEFAULT_CONCURRENCY} lanes + the completions deferred off them; at 10 threads, "
        + ", ".join(f"batch {size}: {flights[(10, size)]}" for size in SIZES if size > 10)
        + "). Batches with no more lanes than threads defer nothing."
    )
    report.note(
        f"Machine floor for a batch of 100 on the default 50 threads (threads only sleeping): "
        f"{median_spread(sleep_only['sleep_floor'][100])} ms against the nominal "
        f"{_floor(100, DEFAULT_CONCURRENCY) * 1000:.0f} ms; the handler took "
        f"{statistics.median(default[100]) / machine100:.2f}x the machine floor. Targets are judged "
        "against the nominal floor, as the issue states them; the machine floor shows how much of a miss "
        "is the machine's (sleep overrun under load) rather than the handler's."
    )
    b100_floor = _floor(100, DEFAULT_CONCURRENCY)
    cpu_ms = statistics.median(cpu) * 1000
    b10_ratio = ours10 / b10_floor
    vs_peer = peer10 / ours10
    b100_ratio = statistics.median(b100) / b100_floor
    checks = [
        ("CPU per record", f"<= {TARGET_CPU_MS} ms", f"{cpu_ms:.3f} ms", cpu_ms <= TARGET_CPU_MS),
        (
            "batch 10 vs floor (60 ms)",
            f"<= {TARGET_B10_VS_FLOOR}x",
            f"{b10_ratio:.2f}x",
            b10_ratio <= TARGET_B10_VS_FLOOR,
        ),
        ("batch 10: peer / handler", f">= {TARGET_VS_PEER}x", f"{vs_peer:.2f}x", vs_peer >= TARGET_VS_PEER),
        (
            f"batch 100, default settings, vs its floor ({b100_floor * 1000:.0f} ms: 2 waves on 50 threads)",
            f"<= {TARGET_B100_VS_FLOOR}x",
            f"{b100_ratio:.2f}x ({statistics.median(b100) / (CALLS_PER_RECORD * LATENCY_SECONDS):.2f}x of 60 ms)",
            b100_ratio <= TARGET_B100_VS_FLOOR,
        ),
    ]

    report.table(
        f"Over HTTP (secondary: embedded moto, 20 ms added per request), batch of {BATCH}, median of {HTTP_ROUNDS}",
        ["", "AWS calls", "ms / batch", "vs floor (60 ms)", "handler faster by"],
        [
            [
                "handler",
                f"{http['ours_calls']:.0f}",
                f"{http['ours'] * 1000:.0f}",
                f"{http['ours'] / b10_floor:.2f}x",
                "1.0x",
            ],
            [
                "Powertools sequential",
                f"{http['base_calls']:.0f}",
                f"{http['base'] * 1000:.0f}",
                f"{http['base'] / b10_floor:.2f}x",
                f"{http['base'] / http['ours']:.1f}x",
            ],
            ["handler, 0 ms added: moto's CPU floor", "", f"{http['floor'] * 1000:.0f}", "", ""],
        ],
    )
    report.note(
        "Over HTTP, moto serves the calls in this process under the GIL (about 5 ms of CPU each), so the "
        "handler's figure there sits on moto's CPU floor (last row), not on the round trips."
    )

    import_rows = []
    for module, ours, with_first_use, base, floor in _cold_starts():
        ratio = statistics.median(ours) / statistics.median(base)
        first = statistics.median(with_first_use) / statistics.median(base)
        import_rows.append(
            [
                module,
                median_spread(base),
                median_spread(ours),
                f"{ratio:.2f}x",
                median_spread(with_first_use),
                f"{first:.2f}x",
                median_spread(floor),
                f"{statistics.median(floor) / statistics.median(base):.2f}x",
                f"{statistics.median(with_first_use) / statistics.median(floor):.2f}x",
            ]
        )
        # Judged on import + first-use work: that is the cold start (work deferred to the first
        # invocation is still paid by it), so deferring cannot pass this check by itself.
        checks.append(
            (
                f"cold start {module} (import + first use)",
                f"<= {TARGET_IMPORT}x",
                f"{first:.2f}x",
                first <= TARGET_IMPORT,
            )
        )
    report.table(
        f"Cold start: import in a fresh interpreter, median (min-max) of {IMPORT_RUNS}",
        [
            "handler",
            "documented Powertools imports: ms",
            "handler import: ms",
            "ratio",
            "import + work deferred to first use: ms",
            "ratio",
            "documented + chosen libraries: ms",
            "its ratio (a floor)",
            "import + first use vs that floor",
        ],
        import_rows,
    )
    report.note(
        "Documented Powertools imports: what the Powertools docs' pattern for that kind of function imports "
        "at module level (consumer: Logger, Metrics, BatchProcessor, SQSRecord, idempotency + boto3; API: "
        "Logger, APIGatewayRestResolver, idempotency + boto3; relay: Logger, BatchProcessor, "
        "DynamoDBRecord + boto3). The target is judged on import + first use (the second ratio), so deferring "
        "work cannot meet it by itself. What is deferred, and where it "
        "lands: the contract's pydantic models are built on first use (build_models(), when the consumer "
        "or the relay is built on its first invocation; the movies API never builds them, a true saving), "
        "jinja2 and the (precompiled) templates on the consumer's first render; its two columns add "
        "that work back. Each handler runs with its function's declared settings (PYDANTIC_DISABLE_PLUGINS="
        "__all__ among them, as deployed); the documented imports load no pydantic. The last three columns: "
        "the documented imports plus the libraries the brief chose that each handler cannot start without "
        "(pydantic's BaseModel; and Jinja2 for the consumer), imported beside them in the same fresh "
        "interpreters: a floor for any handler built on those libraries, and how far each handler's cold "
        "start is above it (its own modules, the contract's model classes, the templates)."
    )
    report.table("Targets", ["", "target", "measured", "verdict"], [[*c[:3], plain(c[3])] for c in checks])
    ok = all(c[3] for c in checks)
    console.print(f"consumer targets: {verdict(ok)}")
    return ok
