"""The parts of Powertools for AWS Lambda moviepipe uses that are not its public API, in one place.

Powertools documents ``aws_lambda_powertools.utilities.batch`` and ``…utilities.idempotency`` as its
public surface; what moviepipe needs beyond them lives here, and only here:

* :class:`DataRecord` and :data:`STATUS_CONSTANTS` (``idempotency.persistence.datarecord``): the record
  an idempotency ``response_hook`` receives, to tell a replayed response from a fresh one.
* :func:`to_batch_type` and :func:`process_record` (``BasePartialBatchProcessor._to_batch_type`` and
  ``BatchProcessor._process_record``): the consumer's concurrent batch processor runs Powertools' own
  per-record handling (the handler call, success and failure bookkeeping) from its worker threads.

A Powertools upgrade can change any of these without notice. :data:`WRITTEN_FOR` is the version this
module was written and tested against; ``tests/unit/test_powertools_shim.py`` fails, naming both
versions, when the installed one differs, so an upgrade is a deliberate step: read the changelog for
these names, run the consumer's tests, then move :data:`WRITTEN_FOR`.

Importing this module does not import Powertools' batch utility (nor the asyncio it loads): the movies
API needs only :class:`DataRecord`, and its cold start should not pay for batch processing it never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BasePartialBatchProcessor, BatchProcessor

__all__ = [
    "STATUS_CONSTANTS",
    "WRITTEN_FOR",
    "DataRecord",
    "installed_version",
    "private_attributes",
    "process_record",
    "to_batch_type",
]

#: The aws-lambda-powertools version this shim was written for (requirements.lock pins it).
WRITTEN_FOR: Final = "3.37.0"


def private_attributes() -> tuple[tuple[type, str], ...]:
    """The private attributes used below (owner, name), checked by the shim's test."""
    from aws_lambda_powertools.utilities.batch import BasePartialBatchProcessor, BatchProcessor

    return ((BasePartialBatchProcessor, "_to_batch_type"), (BatchProcessor, "_process_record"))


def installed_version() -> str:
    from importlib.metadata import version

    return version("aws-lambda-powertools")


def to_batch_type(processor: BasePartialBatchProcessor, record: dict[str, Any]) -> Any:
    """``record`` as the data class (or model) the processor's handler receives."""
    return processor._to_batch_type(record, event_type=processor.event_type, model=processor.model)


def process_record(processor: BatchProcessor, record: dict[str, Any]) -> tuple[Any, ...]:
    """Powertools' handling of one record: call the handler, then its success or failure handler."""
    result: tuple[Any, ...] = processor._process_record(record)
    return result
