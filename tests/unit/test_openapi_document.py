"""docs/openapi.json is the document the routes generate, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from producers.movies_api.openapi import render

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `python -m producers.movies_api.openapi > docs/openapi.json`"
    )


def test_document_lists_every_route() -> None:
    paths = {path: set(operations) for path, operations in json.loads(render())["paths"].items()}
    assert paths == {"/movies": {"get", "post"}, "/movies/{movie_id}": {"get", "put", "delete"}}
