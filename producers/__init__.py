"""Producers of movie events: the publisher library, the movies API and the outbox relay.

``EventPublisher``, ``PublishError`` and ``PublishedEvent`` are imported from :mod:`producers.publisher`
on first access (PEP 562), not with the package: the movies API's handler lives in this package and
never publishes, so its cold start does not pay for the publisher.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from producers.publisher import EventPublisher, PublishedEvent, PublishError

__all__ = ["EventPublisher", "PublishError", "PublishedEvent"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("producers.publisher"), name)
    raise AttributeError(f"module 'producers' has no attribute {name!r}")
