"""The test-side fidelity shim in front of the embedded AWS changes whitespace only, and only where
AWS and moto disagree (see tests/support/terraform.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.support.terraform import CompactJsonAttributes

BODY = {
    "Attributes": {
        "RedrivePolicy": '{"deadLetterTargetArn": "arn:x", "maxReceiveCount": 5}',
        "Policy": '{"a": 1}',
    }
}


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", "999")])
    return [json.dumps(BODY).encode()]


def call(target: str) -> tuple[dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen.update(headers)

    body = b"".join(CompactJsonAttributes(app)({"HTTP_X_AMZ_TARGET": target}, start_response))
    return seen, body


def test_redrive_policy_comes_back_compact_with_the_same_values() -> None:
    headers, body = call("AmazonSQS.GetQueueAttributes")
    attributes = json.loads(body)["Attributes"]
    assert attributes["RedrivePolicy"] == '{"deadLetterTargetArn":"arn:x","maxReceiveCount":5}'
    assert json.loads(attributes["RedrivePolicy"]) == json.loads(BODY["Attributes"]["RedrivePolicy"])
    assert attributes["Policy"] == BODY["Attributes"]["Policy"]
    assert headers["Content-Length"] == str(len(body))


def test_other_calls_pass_through_untouched() -> None:
    headers, body = call("AmazonSQS.ReceiveMessage")
    assert json.loads(body) == BODY and headers["Content-Length"] == "999"
