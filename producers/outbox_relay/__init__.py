"""The outbox relay: the Movies table's change stream turned into movie events on the SNS topic.

Every committed write to the table is a stream record; the relay publishes one event per record that
changed something a consumer can see, with an id derived from the record, so retries re-publish the same
ids and never lose or invent an event.
"""
