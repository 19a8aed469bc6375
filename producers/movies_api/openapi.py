"""Print the movies API's OpenAPI document: ``python -m producers.movies_api.openapi > docs/openapi.json``."""

from __future__ import annotations

import json
import sys

from producers.movies_api.routes import openapi_document


def render() -> str:
    """The document exactly as committed (sorted keys, so diffs show real changes only)."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
