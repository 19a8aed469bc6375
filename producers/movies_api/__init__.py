"""The movies API: CRUD on the Movies table behind API Gateway (REST, proxy integration).

It never publishes: the table's stream is the outbox, relayed to SNS by :mod:`producers.outbox_relay`.
"""
