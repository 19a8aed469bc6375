"""On-call dead-letter tools behind ``moviepipe dlq``: stats, peek, replay, export/import, purge and AWS's
move tasks.

``messages`` and ``filters`` are pure (what a dead letter says, which ones a command acts on, how to put
one back exactly); ``sqs`` is the one adapter to AWS; ``scan`` holds what was read so nothing is lost;
``replay`` and ``operations`` are the commands; ``cli`` is the typer sub-app. docs/runbook.md is the
operator's guide.
"""
