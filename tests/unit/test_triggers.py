"""How local triggers read a partial batch response (the rules Lambda applies)."""

from __future__ import annotations

import pytest

from moviepipe.local.triggers import failed_item_ids

IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, []),
        ({}, []),
        ({"batchItemFailures": []}, []),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, ["b"]),
        ({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "c"}]}, ["a", "c"]),
        # unusable answers fail the whole batch, as Lambda does
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{}]}, None),
        ({"batchItemFailures": "b"}, None),
        ("ok", None),
    ],
)
def test_partial_batch_response(response: object, expected: list[str] | None) -> None:
    assert failed_item_ids(response, IDS) == expected
