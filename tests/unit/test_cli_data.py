"""``moviepipe publish --data``: inline, ``@FILE`` or ``-`` (stdin), within the JSON limits. Hostile JSON is
exit 2 with one line on stderr, never a traceback. (``--dry-run`` validates without AWS.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from moviepipe.cli import app

runner = CliRunner()
MOVIE = {"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]}


def publish(data: str, stdin: str | bytes | None = None) -> Result:
    return runner.invoke(
        app, ["publish", "--type", "MovieCreated", "--data", data, "--dry-run", "--json"], input=stdin
    )


def assert_usage_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    assert result.stdout == ""


def printed_data(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["event"]["data"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ('{"id": ' + "[" * 1000 + "]" * 1000 + "}", ("nested more than",)),
        ("[" * 100_000 + "]" * 100_000, ("nested more than",)),
        ('{"id": "42", "title": "Up", "rating": ' + "9" * 4301 + "}", ("4301 digits",)),
        ('{"rating": 1e400}', ("too large",)),
        ('{"title": "\\ud800"}', ("lone surrogate",)),
        ('{"title": NaN}', ("NaN",)),
        ("{not json", ("not JSON",)),
        ("", ("not JSON",)),
        ('{"x": "' + "a" * 300_000 + '"}', ("at most 262144",)),
    ],
)
def test_hostile_inline_data_is_a_one_line_usage_error(data: str, words: tuple[str, ...]) -> None:
    assert_usage_error(publish(data), "--data", *words)


def test_data_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "movie.json"
    file.write_text(json.dumps(MOVIE), encoding="utf-8")
    assert printed_data(publish(f"@{file}")) == MOVIE


def test_hostile_data_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "deep.json"
    file.write_bytes(b"[" * 5000 + b"]" * 5000)
    assert_usage_error(publish(f"@{file}"), f"@{file}", "nested more than")
    file.write_bytes(b'{"title": "\xff"}')
    assert_usage_error(publish(f"@{file}"), "UTF-8")


@pytest.mark.parametrize("name", ["missing.json", ""])
def test_an_unreadable_file_is_a_usage_error(tmp_path: Path, name: str) -> None:
    # "" names the directory itself.
    assert_usage_error(publish(f"@{tmp_path / name}" if name else f"@{tmp_path}"), "cannot read")


def test_data_from_stdin() -> None:
    assert printed_data(publish("-", json.dumps(MOVIE))) == MOVIE


def test_hostile_data_from_stdin() -> None:
    assert_usage_error(publish("-", b"[" * 2000 + b"]" * 2000), "stdin", "nested more than")
    assert_usage_error(publish("-", b" " * 300_000), "stdin", "at most")


def test_data_that_is_json_but_no_movie_is_still_a_usage_error() -> None:
    assert_usage_error(publish("[1, 2]"), "invalid MovieCreated")


_hostile = st.one_of(
    st.text(max_size=60),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(60, 5000).map(lambda n: '{"id": "1", "title": "T", "rating": ' + "7" * n + "}"),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    ).map(json.dumps),
    st.sampled_from(['"\\udc80"', '{"title": "=?utf-8?b?VXA=?=", "id": "1", "rating": 1}', "1e999"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=_hostile)
def test_any_data_is_published_or_refused_in_one_line(data: str) -> None:
    result = publish(data)
    if result.exit_code == 0:
        assert isinstance(printed_data(result), dict)
    else:
        assert_usage_error(result)
