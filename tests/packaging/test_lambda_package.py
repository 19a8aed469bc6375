"""The Lambda zips, built for real (pip downloads manylinux wheels: needs the package registry).

Wheels are cached in the repository's build/wheels, shared with `make package`, so only the first run
downloads (about 30 MB, botocore most of it); later runs take seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from moviepipe import packaging
from moviepipe.packaging import HANDLERS, Package, Target, build, install, read_lock, runtime_provided

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = ROOT / "build" / "wheels"


@pytest.fixture(scope="module")
def local_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Package, Path]:
    """The package built for this interpreter (same code path as the Lambda's, other wheel tags)."""
    try:
        target = Target.running_interpreter()
    except packaging.PackagingError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("local-package")
    return build(target, out / "moviepipe-local.zip", root=ROOT, wheel_cache=WHEEL_CACHE), out


@pytest.fixture(scope="module")
def lambda_runtime_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only what the Lambda runtime provides to the zip: boto3 and its dependencies."""
    pins = read_lock((ROOT / packaging.LAMBDA_LOCK).read_text(encoding="utf-8"))
    provided = runtime_provided(pins)
    folder = tmp_path_factory.mktemp("runtime")
    install(
        [pin.requirement for pin in pins if pin.name in provided],
        Target.running_interpreter(),
        folder,
        WHEEL_CACHE,
    )
    return folder


# Runs with `python -I -S`: no site-packages, no user site, no PYTHON* variables, no current directory.
# The only paths added are the unzipped package and the runtime stand-in.
IMPORT_EVERY_HANDLER = textwrap.dedent(
    """
    import importlib, json, sys
    package, runtime = sys.argv[1], sys.argv[2]
    sys.path[:0] = [package, runtime]
    report = {"sys_path": sys.path, "handlers": {}, "origins": {}, "absent": []}
    for module_name, function in json.loads(sys.argv[3]):
        module = importlib.import_module(module_name)
        report["handlers"][module_name] = callable(getattr(module, function))
    for name in ("movie_events", "producers", "consumers", "pydantic", "pydantic_core", "jinja2",
                 "aws_lambda_powertools", "jmespath", "boto3", "botocore"):
        # import_module, not sys.modules: the consumer imports jinja2 on its first render, not at import.
        report["origins"][name] = importlib.import_module(name).__file__
    for name in ("moviepipe.cli", "moviepipe.local", "typer", "rich", "moto", "werkzeug", "pytest"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            report["absent"].append(name)
    # The compiled parts load and work: pydantic-core validates, markupsafe escapes, templates parse.
    from movie_events import MovieCreated
    event = MovieCreated(data={"id": "42", "title": "Up", "rating": 8.3, "genres": ["Animation"]})
    report["event_type"] = json.loads(event.model_dump_json(by_alias=True))["type"]
    import jinja2, pathlib
    environment = jinja2.Environment(autoescape=True)
    templates = sorted(pathlib.Path(package).rglob("*.j2"))
    report["templates"] = [environment.from_string(path.read_text()).render() is not None for path in templates]
    # The consumer renders from the precompiled templates shipped in the package.
    from consumers.email_notification.logic import rendering
    email = rendering.render(event, sender="movies@example.com")
    report["compiled_templates"] = {
        "origins": [t.filename for t in rendering._templates()],
        "renders": "Up" in email.text and "Up" in email.html,
    }
    print(json.dumps(report))
    """
)


def test_every_handler_imports_from_the_package_with_nothing_else_but_boto3(
    local_package: tuple[Package, Path], lambda_runtime_stand_in: Path, tmp_path: Path
) -> None:
    built, _ = local_package
    unzipped = tmp_path / "task"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(unzipped)
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            IMPORT_EVERY_HANDLER,
            str(unzipped),
            str(lambda_runtime_stand_in),
            json.dumps(HANDLERS),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},  # no AWS_*, no project variables: importing needs none
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    assert report["handlers"] == {module: True for module, _ in HANDLERS}
    assert not [path for path in report["sys_path"] if "site-packages" in path or path.startswith(str(ROOT))]
    for name, origin in report["origins"].items():
        expected = lambda_runtime_stand_in if name in ("boto3", "botocore") else unzipped
        assert Path(origin).is_relative_to(expected), f"{name} came from {origin}"
    assert report["absent"] == [
        "moviepipe.cli",
        "moviepipe.local",
        "typer",
        "rich",
        "moto",
        "werkzeug",
        "pytest",
    ]
    assert report["event_type"] == "MovieCreated"
    assert report["templates"] and all(report["templates"])
    compiled = report["compiled_templates"]
    assert compiled["renders"]
    assert [Path(origin).relative_to(unzipped).parent.as_posix() for origin in compiled["origins"]] == [
        "consumers/email_notification/templates/compiled"
    ] * 2


def test_the_package_holds_the_handlers_and_runtime_dependencies_but_not_boto3_the_cli_or_tests(
    local_package: tuple[Package, Path],
) -> None:
    built, _ = local_package
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names}
    assert {
        "movie_events",
        "producers",
        "consumers",
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "jinja2",
        "markupsafe",
        "jmespath",
        "moviepipe",
    } <= top
    moviepipe = {name for name in names if name.startswith("moviepipe/")}
    assert "moviepipe/runtime/aws.py" in moviepipe
    assert not {name for name in moviepipe if not name.startswith("moviepipe/runtime/")} - {
        "moviepipe/__init__.py"
    }
    assert not top & {
        "boto3",
        "botocore",
        "s3transfer",
        "urllib3",
        "dateutil",
        "six.py",
        "tests",
        "bin",
        "typer",
        "rich",
        "moto",
    }
    assert not [name for name in names if name.endswith((".pyc", ".pyo")) or "__pycache__" in name]
    assert built.zipped_bytes < 20 * 1000 * 1000, "well under Lambda's 50 MB"
    assert built.unzipped_bytes < 50 * 1000 * 1000, "well under Lambda's 250 MB"


@pytest.fixture(scope="module")
def lambda_zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    """The python3.12 zips, one per architecture, as `make package` builds them."""
    out = tmp_path_factory.mktemp("lambda")
    return {
        architecture: build(
            Target.lambda_runtime(architecture),
            packaging.package_path(out, architecture),
            root=ROOT,
            wheel_cache=WHEEL_CACHE,
        )
        for architecture in sorted(packaging.ARCHITECTURES)
    }


@pytest.mark.parametrize("architecture", sorted(packaging.ARCHITECTURES))
def test_each_lambda_zip_carries_binaries_for_its_architecture_and_python(
    architecture: str, lambda_zips: dict[str, Package]
) -> None:
    built = lambda_zips[architecture]
    assert built.python_version == "3.12"
    assert Path(built.path).name == f"moviepipe-{architecture}.zip"
    with zipfile.ZipFile(built.path) as archive:
        binaries = [name for name in archive.namelist() if name.endswith(".so")]
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
    assert binaries and all(f"cpython-312-{machine}-linux-gnu" in name for name in binaries), binaries
    assert built.zipped_bytes < 20 * 1000 * 1000 and built.unzipped_bytes < 50 * 1000 * 1000


def test_the_lambda_zip_is_reproducible(lambda_zips: dict[str, Package], tmp_path: Path) -> None:
    """A second build from the same lock and sources, elsewhere, is byte for byte the same zip."""
    first = lambda_zips["x86_64"]
    second = build(
        Target.lambda_runtime("x86_64"),
        packaging.package_path(tmp_path, "x86_64"),
        root=ROOT,
        wheel_cache=WHEEL_CACHE,
    )
    assert second.sha256 == first.sha256
    assert Path(second.path).read_bytes() == Path(first.path).read_bytes()
