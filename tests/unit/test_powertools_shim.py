"""The Powertools internals moviepipe relies on are used in one module, written for one version."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from moviepipe.runtime import powertools

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("movie_events", "producers", "consumers", "moviepipe")
#: Powertools modules whose names moviepipe may import anywhere (its documented public surface).
PUBLIC = (
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.api_gateway",
    "aws_lambda_powertools.event_handler.exceptions",
    "aws_lambda_powertools.event_handler.openapi.exceptions",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.batch.exceptions",
    "aws_lambda_powertools.utilities.batch.types",
    "aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event",
    "aws_lambda_powertools.utilities.data_classes.sqs_event",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.idempotency.exceptions",
    "aws_lambda_powertools.utilities.typing",
)


def test_the_installed_powertools_is_the_version_the_shim_was_written_for() -> None:
    installed = powertools.installed_version()
    assert installed == powertools.WRITTEN_FOR, (
        f"aws-lambda-powertools {installed} is installed, but moviepipe/runtime/powertools.py was written "
        f"for {powertools.WRITTEN_FOR}: check the private names it uses against the changelog, run the "
        "consumer's and the movies API's tests, then update WRITTEN_FOR"
    )


def test_the_private_attributes_the_shim_uses_exist() -> None:
    for owner, name in powertools.private_attributes():
        assert callable(getattr(owner, name, None)), f"Powertools' {owner.__name__}.{name} is gone"


def test_no_other_product_module_imports_powertools_internals() -> None:
    shim = ROOT / "moviepipe" / "runtime" / "powertools.py"
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == shim:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "aws_lambda_powertools"
                ):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if node.module not in PUBLIC or private:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module} {private or ''}")
    assert found == [], "import these through moviepipe/runtime/powertools.py"


class _Memo(dict):  # type: ignore[type-arg]
    """A payload that carries a hash memo (as the consumer's does)."""

    def __init__(self, value: dict) -> None:  # type: ignore[type-arg]
        super().__init__(value)
        self.hash_memo: dict = {}  # type: ignore[type-arg]


_json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_json = st.recursive(
    _json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["id", "type", "data", "other"]), _json, max_size=4),
    st.sampled_from(["id", "type", "data.id", "[type, data]", "[id]", "other"]),
    st.sampled_from(["", "[type, data]", "data", "[data.x, type]"]),
)
def test_memoised_hashes_are_powertools_own(payload: dict, key: str, validation: str) -> None:  # type: ignore[type-arg]
    """Whatever the payload and expressions, the memoising layer gives Powertools' key and hash (or
    raises as Powertools does), once computed and again from the memo."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    from tests.support.fakes import InMemoryPersistenceLayer

    class Memoised(powertools.MemoizedHashing, InMemoryPersistenceLayer):
        pass

    config = IdempotencyConfig(
        event_key_jmespath=key, payload_validation_jmespath=validation, raise_on_no_idempotency_key=True
    )
    plain, memoised = InMemoryPersistenceLayer(), Memoised()
    plain.configure(config, key_prefix="p")
    memoised.configure(config, key_prefix="p")

    def outcome(call: Any) -> Any:
        try:
            return call()
        except Exception as exc:
            return type(exc)

    memo = _Memo(payload)
    expected_key = outcome(lambda: plain._get_hashed_idempotency_key(payload))
    expected_hash = outcome(lambda: plain._get_hashed_payload(payload))
    for _ in range(2):  # computed, then from the memo
        assert outcome(lambda: memoised._get_hashed_idempotency_key(memo)) == expected_key
        assert outcome(lambda: memoised._get_hashed_payload(memo)) == expected_hash
