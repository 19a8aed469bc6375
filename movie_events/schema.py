"""JSON Schema of each movie event, generated from the models.

``python -m movie_events.schema docs/schemas`` rewrites the committed schemas; a test fails when they
are stale, so the published contract can never drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from movie_events.models import EVENT_CLASSES, REQUIRED_ON_THE_WIRE

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(event_type: str) -> dict[str, Any]:
    schema = EVENT_CLASSES[event_type].model_json_schema(mode="validation")
    # The models default some envelope attributes for producers; on the wire they are required.
    schema["required"] = sorted(set(schema.get("required", [])) | set(REQUIRED_ON_THE_WIRE))
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:moviepipe:schema:{event_type}",
        **schema,
    }


def render_all() -> dict[str, str]:
    """File name → file content, for every event type."""
    return {
        f"{event_type}.schema.json": json.dumps(event_schema(event_type), indent=2, sort_keys=True) + "\n"
        for event_type in EVENT_CLASSES
    }


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render_all().items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    for path in write_all(target):
        print(path)
