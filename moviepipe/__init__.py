"""moviepipe operator tooling: the ``moviepipe`` command and the embedded local stack."""
