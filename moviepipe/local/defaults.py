"""Defaults of the local stack, in a module light enough for the CLI to import at start-up."""

from __future__ import annotations

from pathlib import Path

#: The port LocalStack made familiar for an AWS endpoint on one machine.
DEFAULT_AWS_PORT = 4566
DEFAULT_API_PORT = 8080
DEFAULT_MAIL_FOLDER = Path(".moviepipe/outbox")
#: Local only: on AWS it is six times the consumer's timeout (see Resources). Short, so that a failed
#: message is retried in seconds rather than minutes.
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 3
