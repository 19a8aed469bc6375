"""One source of truth for names: the committed infra/resources.json follows moviepipe.runtime.settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviepipe.runtime.settings import ConfigurationError, render_resources_json, require_env

ROOT = Path(__file__).resolve().parents[2]


def test_infra_resources_json_is_up_to_date() -> None:
    committed = (ROOT / "infra" / "resources.json").read_text(encoding="utf-8")
    assert committed == render_resources_json(), "stale: run `python -m moviepipe.runtime.settings`"


def test_require_env_names_the_missing_variable() -> None:
    assert require_env("X", {"X": " value "}) == "value"
    with pytest.raises(ConfigurationError, match="environment variable EMAIL_SENDER is required"):
        require_env("EMAIL_SENDER", {"EMAIL_SENDER": "  "})
