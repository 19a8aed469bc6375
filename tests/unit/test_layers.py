"""The layers stay apart: checked on the source, so a shortcut fails here rather than in a review.

* ``movie_events`` is the event contract only: it imports no AWS SDK and nothing else of moviepipe.
* ``moviepipe/runtime`` (settings, the client factory, wire names, the Powertools shim) is shipped in the
  Lambda zip: it imports nothing of the CLI or the local stack.
* In the email consumer, the logic and the adapters meet only in ``ports``: neither imports the other.
* The operator tools (``moviepipe``'s CLI, DLQ tool, local stack and demo) import no consumer internals:
  the names they share with the consumer are in ``moviepipe.runtime.wire``.
* Only ``moviepipe/runtime/settings.py`` reads the process environment, and nothing writes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("movie_events", "producers", "consumers", "moviepipe")
CONSUMER = ROOT / "consumers" / "email_notification"


def modules(folder: Path) -> Iterator[Path]:
    yield from sorted(folder.rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(folder)
        for name in sorted(imported(path))
        if name.startswith(forbidden)
    ]


def test_the_contract_package_holds_only_the_contract() -> None:
    assert (
        offenders(ROOT / "movie_events", ("moviepipe", "consumers", "producers", "boto3", "botocore")) == []
    )


def test_the_runtime_shipped_to_lambda_imports_no_cli_or_local_stack() -> None:
    forbidden = ("moviepipe.cli", "moviepipe.local", "moviepipe.dlq", "typer", "rich", "moto", "werkzeug")
    assert offenders(ROOT / "moviepipe" / "runtime", forbidden) == []


def test_the_consumers_logic_and_adapters_meet_only_in_its_ports() -> None:
    adapters, logic = "consumers.email_notification.adapters", "consumers.email_notification.logic"
    assert offenders(CONSUMER / "adapters", (logic, "consumers.email_notification.handler")) == []
    assert offenders(CONSUMER / "logic", (adapters, "consumers.email_notification.handler")) == []
    assert offenders(CONSUMER / "ports.py", (adapters, logic)) == []


def test_the_operator_tools_import_no_consumer_internals() -> None:
    assert offenders(ROOT / "moviepipe", ("consumers",)) == []


def test_only_the_settings_module_reads_the_process_environment_and_nothing_writes_it() -> None:
    allowed = ROOT / "moviepipe" / "runtime" / "settings.py"
    found = []
    for package in PRODUCT:
        for path in modules(ROOT / package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("environ", "getenv", "putenv", "unsetenv")
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "os"
                    and path != allowed
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(node, ast.ImportFrom) and node.module == "os":
                    found += [
                        f"{path.relative_to(ROOT)}:{node.lineno}" for a in node.names if "env" in a.name
                    ]
    assert found == []
    text = allowed.read_text(encoding="utf-8")
    assert text.count("os.environ") == 1 and "os.environ[" not in text and "os.environ.update" not in text
