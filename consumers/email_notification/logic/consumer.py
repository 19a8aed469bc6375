"""One invocation of the email consumer: a batch of SQS records → emails, dead letters, failures.

Per record: parse with the shared contract, then send through a Powertools ``idempotent_function`` keyed
on the **event id** (not the SQS messageId: a replay or an SNS re-delivery arrives under a new one),
validating ``[type, data]`` so an id reused for different content is caught. ``time`` and ``source`` are
left out of that validation on purpose: a legacy message gets its receive time as event time, so two
copies of it differ in ``time`` while being the same event.

Legacy messages (no event id of their own) get an id from their content and the deduplication window
their SQS ``SentTimestamp`` falls in (see ``adapters/legacy_windows.py``).

Outcomes: sent, duplicate skipped, dead-lettered (a permanent failure, stored in the DLQ and reported
processed), or failed (reported in ``batchItemFailures`` for SQS to retry). **Confinement:** whatever
is raised while reading, planning, hashing, rendering or sending one record becomes that record's
outcome (see ``logic/failures.py`` for which are transient); nothing a record holds can fail the batch.
See docs/consumer.md.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.email_notification.config import ConsumerConfig
from consumers.email_notification.logic import metrics as m
from consumers.email_notification.logic.batch import ConcurrentBatchProcessor, Pools, defer, wait_for_deferred
from consumers.email_notification.logic.completions import COMPLETION_HANDOFF, ON_FIRST_CALL, ConsumerStore
from consumers.email_notification.logic.failures import AMBIGUOUS_SEND, Failure, Kind, classify
from consumers.email_notification.logic.rendering import render
from consumers.email_notification.ports import DeadLetterQueue, EmailSender, LegacyWindows, RenderedEmail
from movie_events import MovieEvent, ParsedMessage, legacy_window_event_id, parse_message
from movie_events.models import build_models
from moviepipe.runtime.powertools import DataRecord
from moviepipe.runtime.wire import IDEMPOTENCY_KEY_PREFIX


class Outcome(enum.StrEnum):
    """What became of a record that is reported as processed."""

    SENT = "sent"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead-lettered"


class RecordFailed(Exception):
    """Raised so the batch processor reports the record in ``batchItemFailures``."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.kind.value} failure {failure.code}: {failure.message}")
        self.failure = failure


@dataclass
class _Receipt:
    """Filled in by the idempotent function once SES has accepted the email."""

    message_id: str | None = None


def idempotency_payload(event: MovieEvent) -> dict[str, Any]:
    """What the idempotency record is keyed on (``id``) and validated against (``[type, data]``)."""
    return {"id": event.id, "type": event.type, "data": event.data.model_dump(mode="json")}


class _Payload(dict[str, Any]):
    """The idempotency payload as handed to Powertools: a plain dict whose deep copy is itself.

    Powertools deep-copies the payload of every call (so a function that mutates its argument cannot
    change what was hashed). This payload is built per record from the parsed event, is read-only for
    everyone (``_send`` never receives it as anything but the hashed argument) and dies with the
    record, so the copy protects nothing; it was ~5 % of the CPU per record. Hashing, JSON and jmespath
    see a ``dict``: the stored key and payload hash are byte for byte those of the plain dict (tested),
    and the store hashes it once per record, not twice (``MemoizedHashing``).
    """

    __slots__ = ("hash_memo",)

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload)
        #: The key and validation hashes, computed once (``MemoizedHashing``).
        self.hash_memo: dict[str, Any] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> _Payload:
        return self


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from a completed record instead of running the
    # function: that is precisely a duplicate.
    return {**(response or {}), "duplicate": True}


#: SentTimestamps beyond this (ms, year 9999) are not timestamps; the receive time is used instead.
_MAX_TIMESTAMP_MS = 253_402_300_799_000


def _sent_ms(raw_record: dict[str, Any]) -> int:
    """SQS ``SentTimestamp`` in milliseconds (the time now if it is missing or not a timestamp)."""
    attributes = raw_record.get("attributes")
    sent = attributes.get("SentTimestamp") if isinstance(attributes, dict) else None
    if isinstance(sent, str) and 0 < len(sent) <= 15 and sent.isascii() and sent.isdigit():
        value = int(sent)
        if value <= _MAX_TIMESTAMP_MS:
            return value
    return int(datetime.now(UTC).timestamp() * 1000)


def _received_at(record: SQSRecord) -> datetime:
    # SentTimestamp is the same on every delivery of one SQS message, so a legacy event redelivered by
    # SQS keeps the same event time.
    return datetime.fromtimestamp(_sent_ms(record.raw_event) / 1000, UTC)


#: Parsed messages of one invocation, by the identity of their raw record: planning parses each record
#: to find its lane, and the record's processing then reuses that parse instead of paying for it twice.
ParseCache = dict[int, tuple[dict[str, Any], ParsedMessage]]


def _parse(raw_record: dict[str, Any]) -> ParsedMessage:
    record = SQSRecord(raw_record)
    return parse_message(record.body, raw_record.get("messageAttributes"), received_at=_received_at(record))


def event_id_of(raw_record: dict[str, Any], cache: ParseCache | None = None) -> str | None:
    """The lane key of a raw SQS record: its event id (a legacy message's content id, so its copies
    share a lane), or None if it does not parse — it then gets a lane of its own and its processing
    reports why. Never raises: planning must not fail the batch for one record.

    With ``cache``, a successful parse is kept for the record's processing (:func:`parsed_record`).
    """
    try:
        parsed = _parse(raw_record)
    except Exception:  # noqa: BLE001 - whatever it is, the record's own processing meets it again
        return None
    if cache is not None:
        cache[id(raw_record)] = (raw_record, parsed)
    return parsed.event.id


def parsed_record(raw_record: dict[str, Any], cache: ParseCache) -> ParsedMessage:
    """The record's parse from planning if there is one (the very same dict object), else a fresh one.
    A record planning could not parse is parsed here again, so its failure is raised and classified in
    its own processing, exactly as without the cache."""
    hit = cache.pop(id(raw_record), None)
    if hit is not None and hit[0] is raw_record:
        return hit[1]
    return _parse(raw_record)


class EagerEmail:
    """One record's email, rendered once by whichever thread asks first.

    Why: a record's lane renders its email between its first round trip (the in-progress PutItem) and
    its second (SendEmail). With the lanes of a batch all in their first round trip at once, their
    renders queued up for the GIL as the answers came back, and that queue was on the batch's
    critical path. The invoking thread, idle while the lanes run, renders the emails ahead
    (:meth:`prepare`, in batch order) while the lanes wait on the network; a lane that gets there
    first renders its own (:meth:`get`) and the invoking thread skips it.

    Rendering is pure (no I/O, no state): rendering ahead changes no outcome. A render that fails is
    kept and raised by :meth:`get`, inside the record's idempotent call, exactly where an inline
    render raises. The cost: an email rendered for a record that then turns out to be a duplicate of
    a completed event is thrown away (about 0.1 ms of CPU).
    """

    __slots__ = ("_email", "_error", "_lock", "_sender", "event")

    def __init__(self, event: MovieEvent, sender: str) -> None:
        #: The event rendered; a lane uses this email only for this very object.
        self.event = event
        self._sender = sender
        self._lock = threading.Lock()
        self._email: RenderedEmail | None = None
        self._error: Exception | None = None

    def prepare(self) -> None:
        """Render now unless done; never raises (a failure is :meth:`get`'s to raise)."""
        with self._lock:
            if self._email is None and self._error is None:
                try:
                    self._email = render(self.event, sender=self._sender)
                except Exception as exc:  # noqa: BLE001 - raised by get(), in the record's own processing
                    self._error = exc

    def get(self) -> RenderedEmail:
        """The email, rendered here if nobody has yet; raises what rendering raised."""
        self.prepare()
        if self._error is not None:
            raise self._error
        assert self._email is not None  # prepare() sets one of the two
        return self._email


#: Longest the invoking thread waits for the lanes' first round trips before it renders ahead anyway.
RENDER_AHEAD_WAIT_SECONDS = 0.002


class _FirstCalls:
    """Counts the records of an invocation that have started their first AWS call.

    Rendering ahead waits until the first wave of lanes is on the network (the GIL is then free):
    any earlier, the invoking thread would hold the GIL while those lanes queue for it, and only
    delay the calls they are about to send.
    """

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def passed(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._count >= count, timeout)


class EmailConsumer:
    """Processes SQS batches of movie events. One instance per execution environment.

    :param persistence: the idempotency store (``DynamoDBPersistenceLayer`` in production). It is
        configured here, once, before any worker thread exists: Powertools configures a persistence
        layer lazily on first use, and two threads doing that first use at once could hash a key with a
        half-applied configuration.
    """

    def __init__(
        self,
        *,
        config: ConsumerConfig,
        sender: EmailSender,
        persistence: BasePersistenceLayer,
        dead_letters: DeadLetterQueue | None,
        logger: Logger,
        metrics: Metrics,
        legacy_windows: LegacyWindows | None = None,
    ) -> None:
        self.config = config
        self._sender = sender
        #: The configured layer (DynamoDB): the late commit writes to it directly, on its own thread.
        self._persistence = persistence
        #: What the idempotent calls use: the same records, hashed once, completion possibly handed off.
        self._store = ConsumerStore(persistence)
        self._dead_letters = dead_letters
        #: None: a legacy message's id is its content id alone, deduplicated for the idempotency TTL
        #: (logic tests that do not exercise windows). The handler always wires the DynamoDB store.
        self._legacy_windows = legacy_windows
        self._logger = logger
        self._metrics = metrics
        #: Lane and completion threads, started on first need and kept across invocations.
        self._pools = Pools(config.batch_concurrency)
        self._store.configure(self._idempotency_config(), key_prefix=IDEMPOTENCY_KEY_PREFIX)
        # The contract's models are built on first use (movie_events.models); build them here, in one
        # thread, before any lane runs: two lanes must never run pydantic's deferred build at once.
        build_models()

    def _idempotency_config(self) -> IdempotencyConfig:
        return IdempotencyConfig(
            event_key_jmespath="id",
            payload_validation_jmespath="[type, data]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self.config.idempotency_ttl_seconds,
            response_hook=_mark_duplicate,
        )

    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Process one SQS event; returns ``{"batchItemFailures": [...]}``."""
        # A config per invocation, carrying this invocation's context: the in-progress lock of a record
        # expires with the invocation's deadline, so a timed-out invocation does not block its retry.
        idempotency = self._idempotency_config()
        idempotency.register_lambda_context(context)
        send_once = idempotent_function(
            self._send,
            data_keyword_argument="event",
            persistence_store=self._store,
            config=idempotency,
            key_prefix=IDEMPOTENCY_KEY_PREFIX,
        )
        counts = m.Counts()
        cache: ParseCache = {}
        #: The first record of each event in the batch, by raw record identity: its email, rendered
        #: ahead of its lane when the batch runs on several threads (EagerEmail). Filled while planning,
        #: on this thread, before any lane runs; the lanes only read it.
        emails: dict[int, EagerEmail] = {}
        keys: set[str] = set()

        def lane_key(raw: dict[str, Any]) -> str | None:
            key = event_id_of(raw, cache)
            hit = cache.get(id(raw))
            # Not a later copy of an event (a duplicate), nor a legacy message: its id, and so its
            # email, changes once its window is known.
            if (
                key is not None
                and hit is not None
                and key not in keys
                and not (hit[1].legacy and self._legacy_windows is not None)
            ):
                keys.add(key)
                emails[id(raw)] = EagerEmail(hit[1].event, self.config.sender)
            return key

        first_calls = _FirstCalls()

        def render_ahead() -> None:
            # Once the first wave of records is on the network, or after a short wait (a record may
            # fail before its first call): nothing but timing depends on which.
            first_calls.wait_for(min(len(emails), self.config.batch_concurrency), RENDER_AHEAD_WAIT_SECONDS)
            for email in list(emails.values()):
                email.prepare()

        processor = ConcurrentBatchProcessor(
            self.config.batch_concurrency, lane_key=lane_key, pools=self._pools, alongside=render_ahead
        )

        def record_handler(record: SQSRecord) -> Outcome:
            return self._process(record, send_once, counts, cache, emails.get(id(record.raw_event)))

        token = ON_FIRST_CALL.set(first_calls.passed)
        try:
            return dict(
                process_partial_response(
                    event=event, record_handler=record_handler, processor=processor, context=context
                )
            )
        finally:
            ON_FIRST_CALL.reset(token)
            m.publish(self._metrics, counts)

    # -- one record --------------------------------------------------------------------------------
    def _process(
        self, record: SQSRecord, send_once: Any, counts: m.Counts, cache: ParseCache, email: EagerEmail | None
    ) -> Outcome:
        try:
            # On-call reads receive_count to tell a first attempt from the last one before the redrive.
            self._logger.thread_safe_append_keys(
                message_id=record.message_id,
                receive_count=record.raw_event.get("attributes", {}).get("ApproximateReceiveCount"),
            )
            event, legacy = parsed_record(record.raw_event, cache)
            if legacy and self._legacy_windows is not None:
                start = self._legacy_windows.window_start(event.id, _sent_ms(record.raw_event))
                event = event.model_copy(update={"id": legacy_window_event_id(event.id, start)})
            self._logger.thread_safe_append_keys(correlation_id=event.id)
            return self._deliver(event, send_once, counts, email if email and email.event is event else None)
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes unreported
            return self._fail(record, self._classify(exc), counts)

    def _classify(self, exc: BaseException) -> Failure:
        try:
            return classify(exc)
        except Exception as inner:  # noqa: BLE001 - e.g. str() of a hostile exception: still permanent
            return Failure(Kind.PERMANENT, "UnprocessableRecord", type(exc).__name__, type(inner).__name__)

    def _deliver(
        self, event: MovieEvent, send_once: Any, counts: m.Counts, email: EagerEmail | None
    ) -> Outcome:
        payload = _Payload(idempotency_payload(event))
        receipt = _Receipt()

        def complete_later(write: Callable[[], None]) -> bool:
            # Called by the store for this record's completion only, after SES accepted the email.
            if receipt.message_id is None:
                return False
            message_id = receipt.message_id

            def complete() -> None:
                try:
                    write()
                except Exception as exc:  # noqa: BLE001 - exactly the synchronous path's handling
                    self._commit_late(payload, message_id, exc)

            return defer(complete)

        token = COMPLETION_HANDOFF.set(complete_later)
        try:
            result = send_once(event=payload, movie_event=event, receipt=receipt, email=email)
        except IdempotencyPersistenceLayerError as exc:
            if receipt.message_id is None:
                raise
            # SES accepted the email but marking the record completed failed. Reporting a failure would
            # make SQS retry, and the retry would send again once the in-progress lock expires; the
            # email is out, so the record counts as processed. One more commit attempt closes the gap
            # for later duplicates too.
            self._commit_late(payload, receipt.message_id, exc)
            result = {"messageId": receipt.message_id}
        finally:
            COMPLETION_HANDOFF.reset(token)
        if result.get("duplicate"):
            counts.add(m.DUPLICATES_SKIPPED)
            self._logger.info("duplicate event skipped", extra={"event_type": event.type})
            return Outcome.DUPLICATE
        counts.add(m.EMAILS_SENT)
        self._logger.info(
            "email sent",
            extra={
                "event_type": event.type,
                "movie_id": event.movie_id,
                "ses_message_id": result["messageId"],
            },
        )
        return Outcome.SENT

    def _send(
        self, *, event: dict[str, Any], movie_event: MovieEvent, receipt: _Receipt, email: EagerEmail | None
    ) -> dict[str, str]:
        """The idempotent operation: render and send one email (``event`` is the hashed payload;
        ``email``, if any, is ``movie_event``'s email, possibly rendered ahead)."""
        rendered = email.get() if email is not None else render(movie_event, sender=self.config.sender)
        # This thread's previous record may still be completing (deferred): at most one record per
        # thread is ever sent and not yet completed, as without deferral.
        wait_for_deferred()
        message_id = self._sender.send(rendered)
        receipt.message_id = message_id
        return {"messageId": message_id}

    def _commit_late(self, payload: dict[str, Any], message_id: str, cause: Exception) -> None:
        try:
            self._persistence.save_success(data=payload, result={"messageId": message_id})
        except Exception as exc:  # noqa: BLE001 - logged; the email is sent either way
            self._logger.error(
                "email sent but its idempotency record could not be completed; a re-delivery of this "
                "event after the in-progress lock expires would send it again",
                extra={"ses_message_id": message_id, "error": str(exc), "first_error": str(cause)},
            )
        else:
            self._logger.warning(
                "idempotency record completed on a second attempt",
                extra={"ses_message_id": message_id, "first_error": str(cause)},
            )

    def _fail(self, record: SQSRecord, failure: Failure, counts: m.Counts) -> Outcome:
        details = {"error_code": failure.code, "error_class": failure.error_class, "reason": failure.message}
        if failure.code == AMBIGUOUS_SEND:
            counts.add(m.AMBIGUOUS_SENDS)
            self._logger.error(
                "ambiguous send: the request reached SES but no answer came back; the email may have been "
                "sent, and SQS's retry of this record will send it (at most one extra email per receive)",
                extra=details,
            )
        if not failure.permanent:
            counts.add(m.TRANSIENT_FAILURES)
            self._logger.warning("transient failure; SQS will retry the record", extra=details)
            raise RecordFailed(failure)
        counts.add(m.PERMANENT_FAILURES)
        if self._dead_letters is None:
            self._logger.error("permanent failure and no dead-letter queue configured", extra=details)
            raise RecordFailed(failure)
        try:
            self._dead_letters.send(record, failure)
        except Exception as exc:
            self._logger.error(
                "permanent failure; sending to the dead-letter queue failed, SQS will retry",
                extra={**details, "dlq_error": str(exc)},
            )
            raise RecordFailed(failure) from exc
        self._logger.warning("permanent failure; record moved to the dead-letter queue", extra=details)
        return Outcome.DEAD_LETTERED
