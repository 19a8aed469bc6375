"""Producers of movie events: the publisher library, the movies API and the outbox relay."""

from producers.publisher import EventPublisher, PublishedEvent, PublishError

__all__ = ["EventPublisher", "PublishError", "PublishedEvent"]
