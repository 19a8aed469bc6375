"""The Lambda package builder, without the network: the lock files, what is shipped, the zip's bytes.

The builds themselves (pip downloads) are in tests/packaging.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
import zipfile
from pathlib import Path

import pytest

from moviepipe import packaging
from moviepipe.packaging import (
    HANDLER_PACKAGES,
    Pin,
    copy_sources,
    normalize,
    read_lock,
    runtime_provided,
    shipped,
    write_zip,
)

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_LOCK = read_lock((ROOT / packaging.LAMBDA_LOCK).read_text(encoding="utf-8"))
DEV_LOCK = read_lock((ROOT / "requirements.lock").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    """The project name of a PEP 508 requirement (``moto[server]>=5.0`` → ``moto``)."""
    for separator in "[<>=!~; ":
        requirement = requirement.split(separator)[0]
    return normalize(requirement)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the dependency split ---------------------------------------------------------------------------


def test_runtime_dependencies_are_what_the_handlers_import_and_nothing_of_the_cli_or_local_stack() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert runtime == {"boto3", "aws-lambda-powertools", "pydantic", "jinja2"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {_name(r) for r in extras["cli"]} == {"typer", "rich"}
    assert {"moto", "werkzeug"} <= {_name(r) for r in extras["local"]}
    assert "moviepipe[cli]" in extras["local"]
    assert "moviepipe[cli,local]" in extras["dev"], "make venv installs everything through the dev extra"


def test_the_lambda_lock_pins_exactly_the_runtime_dependencies_closure() -> None:
    """A stale requirements-lambda.lock (pyproject changed, `make lock` not run) fails here."""
    direct = {pin.name for pin in LAMBDA_LOCK if "moviepipe" in pin.required_by}
    assert direct == {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    names = {pin.name for pin in LAMBDA_LOCK}
    for pin in LAMBDA_LOCK:
        assert set(pin.required_by) - {"moviepipe"} <= names, f"{pin.name} is required by an unpinned package"
    assert not names & {"typer", "rich", "moto", "werkzeug", "flask", "pytest"}


def test_the_lambda_lock_agrees_with_the_development_lock() -> None:
    """The tests run against requirements.lock; the zip must ship the same versions."""
    dev = {pin.name: pin.version for pin in DEV_LOCK}
    for pin in LAMBDA_LOCK:
        assert dev.get(pin.name) == pin.version, (
            f"{pin.name}: {pin.version} in the Lambda lock, {dev.get(pin.name)} in requirements.lock"
        )


def test_boto3_and_what_only_it_needs_are_left_to_the_runtime_but_powertools_dependencies_ship() -> None:
    provided = runtime_provided(LAMBDA_LOCK)
    assert {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six"} <= provided
    shipped_names = {pin.name for pin in shipped(LAMBDA_LOCK)}
    assert not shipped_names & provided
    # Powertools imports jmespath itself: the zip carries it even though boto3 needs it too.
    assert {
        "aws-lambda-powertools",
        "jmespath",
        "typing-extensions",
        "pydantic",
        "pydantic-core",
    } <= shipped_names
    assert {"jinja2", "markupsafe"} <= shipped_names


def test_a_package_needed_by_boto3_and_by_something_shipped_is_shipped() -> None:
    pins = [
        Pin("boto3", "1", ("moviepipe",)),
        Pin("botocore", "1", ("boto3", "s3transfer")),
        Pin("s3transfer", "1", ("boto3",)),
        Pin("urllib3", "2", ("botocore", "requests")),
        Pin("requests", "2", ("moviepipe",)),
        Pin("six", "1", ("python-dateutil",)),
        Pin("python-dateutil", "2", ("botocore",)),
    ]
    assert runtime_provided(pins) == {"boto3", "botocore", "s3transfer", "python-dateutil", "six"}
    assert [pin.name for pin in shipped(pins)] == ["urllib3", "requests"]


def test_read_lock_understands_inline_and_listed_requirers_and_ignores_the_constraint_file() -> None:
    text = (
        "Jinja2==3.1.6\n"
        "    # via moviepipe (pyproject.toml)\n"
        "markupsafe==3.0.4\n"
        "    # via\n"
        "    #   -c requirements.lock\n"
        "    #   jinja2\n"
        "    #   Werkzeug\n"
        "tomli==2.0 ; python_version < '3.11'\n"
    )
    assert read_lock(text) == [
        Pin("jinja2", "3.1.6", ("moviepipe",)),
        Pin("markupsafe", "3.0.4", ("jinja2", "werkzeug")),
        Pin("tomli", "2.0", ()),
    ]


# --- the zip -----------------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


FILES = {
    "b/module.py": b"VALUE = 1\n",
    "a/__init__.py": b"",
    "a/templates/email.txt.j2": b"{{ title }}\n",
    "z.py": b"import a\n",
}


def test_zip_bytes_depend_only_on_paths_and_contents(tmp_path: Path) -> None:
    first = _tree(tmp_path / "one", FILES)
    # The same files written in the other order, with other times and permissions, plus byte code.
    second = _tree(tmp_path / "two", dict(reversed(FILES.items())))
    for index, path in enumerate(sorted(second.rglob("*.py"))):
        os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
        path.chmod(0o600 if index % 2 else 0o755)
    _tree(
        second, {"a/__pycache__/__init__.cpython-312.pyc": b"\x00", "b/module.pyc": b"\x00", ".hidden": b"x"}
    )

    write_zip(first, tmp_path / "one.zip")
    write_zip(second, tmp_path / "two.zip")
    assert digest(tmp_path / "one.zip") == digest(tmp_path / "two.zip")

    (second / "b" / "module.py").write_bytes(b"VALUE = 2\n")
    write_zip(second, tmp_path / "three.zip")
    assert digest(tmp_path / "three.zip") != digest(tmp_path / "one.zip")


def test_zip_entries_are_sorted_readable_files_with_a_fixed_date(tmp_path: Path) -> None:
    count, unzipped = write_zip(_tree(tmp_path / "tree", FILES), tmp_path / "out.zip")
    assert (count, unzipped) == (len(FILES), sum(len(data) for data in FILES.values()))
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == sorted(FILES)
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert archive.read(info) == FILES[info.filename]
        assert archive.testzip() is None


def test_sources_are_the_handler_packages_with_their_templates_and_without_byte_code(tmp_path: Path) -> None:
    copy_sources(ROOT, tmp_path)
    copied = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()}
    assert {name.split("/")[0] for name in copied} == {package.split("/")[0] for package in HANDLER_PACKAGES}
    # Of the moviepipe package only its light __init__ and the runtime go in: no CLI, no local stack.
    assert {
        name for name in copied if name.startswith("moviepipe/") and not name.startswith("moviepipe/runtime/")
    } == {"moviepipe/__init__.py"}
    assert "consumers/email_notification/templates/email.txt.j2" in copied
    assert "consumers/email_notification/templates/email.html.j2" in copied
    # The precompiled templates the consumer renders from (a ModuleLoader over this folder).
    compiled = {
        name for name in copied if name.startswith("consumers/email_notification/templates/compiled/")
    }
    assert len(compiled) == 2 and all(name.endswith(".py") for name in compiled)
    for module, _ in packaging.HANDLERS:
        assert module.replace(".", "/") + ".py" in copied
    assert not [name for name in copied if "__pycache__" in name or name.endswith(".pyc")]


def test_package_name_is_the_one_the_terraform_reads() -> None:
    assert packaging.package_path(Path("build/lambda"), "arm64") == Path("build/lambda/moviepipe-arm64.zip")
    assert packaging.package_path(Path("build/lambda"), "x86_64") == Path("build/lambda/moviepipe-x86_64.zip")
    assert set(packaging.ARCHITECTURES) == {"x86_64", "arm64"}


def test_an_unknown_architecture_is_a_clear_error() -> None:
    with pytest.raises(packaging.PackagingError, match="unknown architecture 'ppc64le'"):
        packaging.Target.lambda_runtime("ppc64le")
    with pytest.raises(SystemExit) as exit_info:
        packaging.main(["--arch", "ppc64le"])
    assert exit_info.value.code == 2
