"""The consumer's idempotency store: the configured persistence layer (DynamoDB in production) behind
a layer that hashes each payload once and can hand the completion write off the lane thread.

Why a layer in front rather than options on the real one: Powertools' ``idempotent_function`` runs
``save_success`` — the ``UpdateItem`` that marks a record COMPLETED — on the thread that sent the
email, after the send. That write no longer decides the record's outcome (the email is out: a failed
completion is retried once and the record counts as processed either way, see
``EmailConsumer._commit_late``), so when the batch has more lanes than threads the consumer lets
:func:`~consumers.email_notification.logic.batch.defer` run it while the thread takes its next lane.
This layer implements the four record operations of Powertools' "bring your own persistence layer"
interface by delegating to the real layer; only the completion write can be handed off, and only by
the record that set :data:`COMPLETION_HANDOFF` around its own idempotent call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

from moviepipe.runtime.powertools import DataRecord, MemoizedHashing

#: Set by the consumer around one record's idempotent call: takes the completion write and returns
#: True if it will run it (elsewhere), False if the write must run here and now.
COMPLETION_HANDOFF: contextvars.ContextVar[Callable[[Callable[[], None]], bool] | None] = (
    contextvars.ContextVar("completion_handoff", default=None)
)

#: Set by the consumer around an invocation: told each time a record is about to make its first AWS
#: call (the in-progress PutItem), so the invoking thread knows when the lanes are waiting on the network.
ON_FIRST_CALL: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "on_first_call", default=None
)


class ConsumerStore(MemoizedHashing):
    """``inner``'s records and semantics (conditional writes, validation), with hashes memoised and the
    completion write possibly handed off. ``inner`` is configured with the same configuration."""

    def __init__(self, inner: BasePersistenceLayer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.inner = inner

    def configure(
        self, config: IdempotencyConfig, function_name: str | None = None, key_prefix: str | None = None
    ) -> None:
        self.inner.configure(config, function_name=function_name, key_prefix=key_prefix)
        super().configure(config, function_name=function_name, key_prefix=key_prefix)

    def _get_record(self, idempotency_key: str) -> DataRecord:
        return self.inner._get_record(idempotency_key)

    def _put_record(self, data_record: DataRecord) -> None:
        notify = ON_FIRST_CALL.get()
        if notify is not None:
            notify()
        self.inner._put_record(data_record)

    def _update_record(self, data_record: DataRecord) -> None:
        handoff = COMPLETION_HANDOFF.get()
        if handoff is not None and handoff(lambda: self.inner._update_record(data_record)):
            return
        self.inner._update_record(data_record)

    def _delete_record(self, data_record: DataRecord) -> None:
        self.inner._delete_record(data_record)
