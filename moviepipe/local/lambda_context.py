"""A Lambda context object for invoking handlers locally (local triggers and tests).

It has the attributes and the method the Lambda runtime's context has and that Powertools reads:
``function_name``, ``aws_request_id``, ``invoked_function_arn``, ``memory_limit_in_mb`` and
``get_remaining_time_in_millis()`` counting down from the configured timeout (the idempotency utility
uses it to expire the in-progress lock of a timed-out invocation).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from moviepipe.runtime.aws import DEFAULT_REGION


@dataclass
class LocalLambdaContext:
    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    region: str = DEFAULT_REGION
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/{self.aws_request_id}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    @classmethod
    def new_invocation(cls, function_name: str, timeout_seconds: float = 30.0) -> LocalLambdaContext:
        """A context for one invocation: a fresh request id and a full timeout."""
        return cls(function_name=function_name, timeout_seconds=timeout_seconds)
