"""The parts of Powertools for AWS Lambda moviepipe uses that are not its public API, in one place.

Powertools documents ``aws_lambda_powertools.utilities.batch`` and ``…utilities.idempotency`` as its
public surface; what moviepipe needs beyond them lives here, and only here:

* :class:`DataRecord` and :data:`STATUS_CONSTANTS` (``idempotency.persistence.datarecord``): the record
  an idempotency ``response_hook`` receives, to tell a replayed response from a fresh one.
* :func:`to_batch_type` and :func:`process_record` (``BasePartialBatchProcessor._to_batch_type`` and
  ``BatchProcessor._process_record``): the consumer's concurrent batch processor runs Powertools' own
  per-record handling (the handler call, success and failure bookkeeping) from its worker threads.

* :class:`MemoizedHashing` (``BasePersistenceLayer._get_hashed_idempotency_key`` and
  ``._get_hashed_payload``): a persistence layer computes the key and the validation hash of a payload
  once, however often one idempotent call asks for them.

A Powertools upgrade can change any of these without notice. :data:`WRITTEN_FOR` is the version this
module was written and tested against; ``tests/unit/test_powertools_shim.py`` fails, naming both
versions, when the installed one differs, so an upgrade is a deliberate step: read the changelog for
these names, run the consumer's tests, then move :data:`WRITTEN_FOR`.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, Final

from aws_lambda_powertools.utilities.batch import BasePartialBatchProcessor, BatchProcessor
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

__all__ = [
    "STATUS_CONSTANTS",
    "WRITTEN_FOR",
    "DataRecord",
    "MemoizedHashing",
    "installed_version",
    "process_record",
    "to_batch_type",
]

#: The aws-lambda-powertools version this shim was written for (requirements.lock pins it).
WRITTEN_FOR: Final = "3.37.0"

#: The private attributes used below, checked by the shim's test.
PRIVATE_ATTRIBUTES: Final = (
    (BasePartialBatchProcessor, "_to_batch_type"),
    (BatchProcessor, "_process_record"),
    (BasePersistenceLayer, "_get_hashed_idempotency_key"),
    (BasePersistenceLayer, "_get_hashed_payload"),
)


def installed_version() -> str:
    return version("aws-lambda-powertools")


def to_batch_type(processor: BasePartialBatchProcessor, record: dict[str, Any]) -> Any:
    """``record`` as the data class (or model) the processor's handler receives."""
    return processor._to_batch_type(record, event_type=processor.event_type, model=processor.model)


def process_record(processor: BatchProcessor, record: dict[str, Any]) -> tuple[Any, ...]:
    """Powertools' handling of one record: call the handler, then its success or failure handler."""
    result: tuple[Any, ...] = processor._process_record(record)
    return result


class MemoizedHashing(BasePersistenceLayer):
    """A persistence layer that hashes each payload once.

    Powertools hashes the idempotency key and the validation payload (a jmespath search, a sorted
    ``json.dumps`` and an md5 each) in ``save_inprogress`` and again in ``save_success``: four hashes
    per call where two are distinct. A payload that has a ``hash_memo`` dict attribute keeps the two
    results there, computed by Powertools' own methods the first time, so they are the same strings;
    any other payload is hashed as before. A memo belongs to one payload object, which must not change
    after it is first hashed (the consumer builds one per record and never mutates it). A hash that
    raises is not memoised: it raises again, as before.
    """

    def _get_hashed_idempotency_key(self, data: dict[str, Any]) -> str | None:
        memo = getattr(data, "hash_memo", None)
        if memo is None:
            return super()._get_hashed_idempotency_key(data)
        if "key" not in memo:
            memo["key"] = super()._get_hashed_idempotency_key(data)
        return memo["key"]  # type: ignore[no-any-return]

    def _get_hashed_payload(self, data: dict[str, Any]) -> str:
        memo = getattr(data, "hash_memo", None)
        if memo is None:
            return super()._get_hashed_payload(data)
        if "payload" not in memo:
            memo["payload"] = super()._get_hashed_payload(data)
        return memo["payload"]  # type: ignore[no-any-return]
