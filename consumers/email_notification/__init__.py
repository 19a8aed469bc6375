"""The email consumer: SQS batches of movie events → exactly one SES email per event.

``handler.py`` is the Lambda entry point (wiring only), ``config.py`` reads the environment,
``logic/`` holds the plain-Python processing (one record, failure classification, the concurrent batch
processor), ``rendering.py`` the Jinja2 emails and ``adapters/`` the SES and dead-letter-queue calls.
See ``docs/consumer.md``.
"""
