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
  once, however often one idempotent call asks for them, reading plain top-level fields directly
  (``BasePersistenceLayer._generate_hash`` hashes them, as Powertools does).

A Powertools upgrade can change any of these without notice. :data:`WRITTEN_FOR` is the version this
module was written and tested against; ``tests/unit/test_powertools_shim.py`` fails, naming both
versions, when the installed one differs, so an upgrade is a deliberate step: read the changelog for
these names, run the consumer's tests, then move :data:`WRITTEN_FOR`.

Importing this module does not import Powertools' batch utility (nor the asyncio it loads): the movies
API needs only :class:`DataRecord`, and its cold start should not pay for batch processing it never does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BasePartialBatchProcessor, BatchProcessor

__all__ = [
    "STATUS_CONSTANTS",
    "WRITTEN_FOR",
    "DataRecord",
    "MemoizedHashing",
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

    return (
        (BasePartialBatchProcessor, "_to_batch_type"),
        (BatchProcessor, "_process_record"),
        (BasePersistenceLayer, "_get_hashed_idempotency_key"),
        (BasePersistenceLayer, "_get_hashed_payload"),
        (BasePersistenceLayer, "_generate_hash"),
    )


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


@lru_cache(maxsize=64)
def plain_fields(compiled: Any) -> tuple[str, tuple[str, ...]] | None:
    """The shape of a compiled jmespath expression when it only reads top-level fields: ``("field",
    (name,))`` for ``name``, ``("list", names)`` for ``[a, b]``; None for anything else.

    Cached per compiled expression (jmespath's ``ParsedResult`` hashes by identity, and the cache holds
    it, so an id is never reused): a layer's expressions are compiled once when it is configured, and
    reading their shape twice per record was ~1 % of the consumer's CPU per record."""
    node = getattr(compiled, "parsed", None)
    if not isinstance(node, dict):
        return None
    if node.get("type") == "field":
        return "field", (node["value"],)
    children = node.get("children") or []
    if node.get("type") == "multi_select_list" and all(c.get("type") == "field" for c in children):
        return "list", tuple(c["value"] for c in children)
    return None


def _extract(shape: tuple[str, tuple[str, ...]], data: dict[str, Any]) -> Any:
    # What jmespath's interpreter returns for these two node types on a dict (a missing field: None).
    kind, names = shape
    if kind == "field":
        return data.get(names[0])
    return [data.get(name) for name in names]


class MemoizedHashing(BasePersistenceLayer):
    """A persistence layer that hashes each payload once, reading plain fields without jmespath.

    Powertools hashes the idempotency key and the validation payload (a jmespath search, a sorted
    ``json.dumps`` and an md5 each) in ``save_inprogress`` and again in ``save_success``: four hashes
    per call where two are distinct. A payload that has a ``hash_memo`` dict attribute keeps the two
    results there; any other payload is hashed as before. A memo belongs to one payload object, which
    must not change after it is first hashed (the consumer builds one per record and never mutates it).
    A hash that raises is not memoised: it raises again, as before.

    When an expression only reads top-level fields (``id``, ``[type, data]``) of a dict payload, the
    value is read directly — what jmespath's interpreter returns for those nodes — and hashed with
    Powertools' own ``_generate_hash``, so the strings are the same (tested against Powertools); a
    missing key, or any other expression or payload, goes through Powertools' methods unchanged.
    """

    def _get_hashed_idempotency_key(self, data: dict[str, Any]) -> str | None:
        memo = getattr(data, "hash_memo", None)
        if memo is None:
            return super()._get_hashed_idempotency_key(data)
        if "key" not in memo:
            memo["key"] = self._hashed_key(data)
        return memo["key"]  # type: ignore[no-any-return]

    def _get_hashed_payload(self, data: dict[str, Any]) -> str:
        memo = getattr(data, "hash_memo", None)
        if memo is None:
            return super()._get_hashed_payload(data)
        if "payload" not in memo:
            memo["payload"] = self._hashed_payload(data)
        return memo["payload"]  # type: ignore[no-any-return]

    def _hashed_key(self, data: dict[str, Any]) -> str | None:
        shape = plain_fields(self.event_key_compiled_jmespath) if self.event_key_jmespath else None
        if shape is None or not isinstance(data, dict):
            return super()._get_hashed_idempotency_key(data)
        value = _extract(shape, data)
        if self.is_missing_idempotency_key(data=value):  # Powertools raises or warns: let it
            return super()._get_hashed_idempotency_key(data)
        return f"{self.function_name}#{self._generate_hash(data=value)}"

    def _hashed_payload(self, data: dict[str, Any]) -> str:
        if not self.payload_validation_enabled:
            return ""
        shape = plain_fields(self.validation_key_jmespath)
        if shape is None or not isinstance(data, dict):
            return super()._get_hashed_payload(data)
        return self._generate_hash(data=_extract(shape, data))
