"""The local stack, the CLI and the demo take every resource and function name, and every trigger
setting, from the declaration (:mod:`moviepipe.deployment`); the only differences are explicit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from moviepipe.deployment import DEPLOYMENT
from moviepipe.local.stack import CONSUMER_QUEUE, StackSettings

ROOT = Path(__file__).resolve().parents[2]
#: Where no name may be spelled: the CLI, the local stack and the shared test drivers.
SCANNED = [
    *sorted((ROOT / "moviepipe").rglob("*.py")),
    *sorted((ROOT / "tests" / "support").rglob("*.py")),
    *sorted((ROOT / "tests" / "benchmarks").rglob("*.py")),
]


def declared_names() -> set[str]:
    names = {f.suffix for f in DEPLOYMENT.functions}
    for group in (DEPLOYMENT.topics, DEPLOYMENT.queues, DEPLOYMENT.tables, DEPLOYMENT.functions):
        names |= {DEPLOYMENT.name(item.suffix) for item in group}
    return names


#: Strings that equal a declared name but are not resource names: the email consumer's idempotency key
#: prefix is a stored data format, fixed on purpose so that renaming the function never changes the keys
#: (moviepipe/runtime/wire.py says why).
NOT_RESOURCE_NAMES = {(Path("moviepipe/runtime/wire.py"), "moviepipe-email-notification")}


def test_no_resource_or_function_name_is_spelled_outside_the_declaration() -> None:
    names = declared_names()
    found = []
    for path in SCANNED:
        # The declaration, and the Resources names it reuses (moviepipe/runtime/settings.py, which
        # infra/resources.json is generated from).
        if path in (ROOT / "moviepipe" / "deployment.py", ROOT / "moviepipe" / "runtime" / "settings.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if (path.relative_to(ROOT), node.value) in NOT_RESOURCE_NAMES:
                    continue
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names if name in node.value
                ]
    assert found == []


def test_stack_settings_override_only_the_consumer_queue_and_the_email_settings() -> None:
    settings = StackSettings(
        visibility_timeout=1, max_receive_count=2, sender="s@example.com", recipients=("r@x.io",)
    )
    local = settings.declaration()
    queue = local.queue(CONSUMER_QUEUE.key)
    assert (queue.visibility_timeout_seconds, queue.max_receive_count) == (1, 2)
    assert queue.retention_seconds == CONSUMER_QUEUE.retention_seconds
    assert local.settings["email_sender"] == "s@example.com" and local.settings["email_recipients"] == [
        "r@x.io"
    ]
    assert local.functions == DEPLOYMENT.functions
    assert local.tables == DEPLOYMENT.tables and local.subscriptions == DEPLOYMENT.subscriptions
    assert [q for q in local.queues if q.key != queue.key] == [
        q for q in DEPLOYMENT.queues if q.key != queue.key
    ]


def test_stack_defaults_are_the_declared_values() -> None:
    settings = StackSettings()
    assert settings.max_receive_count == CONSUMER_QUEUE.max_receive_count
    assert settings.sender == DEPLOYMENT.settings["email_sender"]
    assert list(settings.recipients) == DEPLOYMENT.settings["email_recipients"]


def test_one_process_environment_refuses_two_functions_disagreeing_on_a_variable() -> None:
    from moviepipe.local.stack import union_of_environments

    assert union_of_environments({"a": {"X": "1", "Y": "2"}, "b": {"X": "1", "Z": "3"}}) == {
        "X": "1",
        "Y": "2",
        "Z": "3",
    }
    with pytest.raises(ValueError, match="a and b both set X"):
        union_of_environments({"a": {"X": "1"}, "b": {"X": "2"}})


def test_the_declared_functions_environments_fit_in_one_process() -> None:
    """What the local stack relies on: no two declared functions map one variable to different refs."""
    from moviepipe.deployment import DEPLOYMENT
    from moviepipe.local.stack import union_of_environments

    union_of_environments(
        {f.key: {name: str(ref) for name, ref in f.environment.items()} for f in DEPLOYMENT.functions}
    )
