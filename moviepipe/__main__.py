"""``python -m moviepipe``: the same as the ``moviepipe`` command."""

from moviepipe.cli import app

app()
