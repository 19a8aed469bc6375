"""Build the Lambda deployment packages: one zip per architecture, shared by every function.

``make package`` (``python -m moviepipe.packaging``) writes ``build/lambda/moviepipe-<architecture>.zip``
for the ``python3.12`` runtime, ``x86_64`` and ``arm64``. Each zip holds the handler packages
(:data:`HANDLER_PACKAGES`) and the pinned runtime dependencies from ``requirements-lambda.lock``,
installed from manylinux wheels for the target — never built from source, never the build machine's own
binaries — so a zip built on a laptop runs on Lambda.

What is left out, and why:

* **boto3 and what only boto3 needs** (botocore, s3transfer, urllib3, python-dateutil, six): the Lambda
  runtime ships them. The set is computed from the lock file's ``# via`` annotations
  (:func:`runtime_provided`), so a package that something else needs too (jmespath, which Powertools
  imports) stays in the zip.
* **The CLI and the local stack** (``moviepipe``, typer, rich, moto): they are extras, not runtime
  dependencies, and no handler imports them.
* **Byte code, console scripts** (``bin/``, whose shebang names the build machine's interpreter) and
  hidden files.

The zips are reproducible: the same lock file, sources, pip and zlib give the same bytes (sorted entries,
a fixed 1980-01-01 timestamp, mode 0644, no byte code). Wheels are cached under ``build/wheels`` per
target, so only the first build needs the package registry.

This module uses the standard library only: ``make package`` runs it with any Python 3.11+ that has pip,
without the development environment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from moviepipe.deployment import DEPLOYMENT

#: The Lambda runtime the zips are built for (``python3.12``).
LAMBDA_PYTHON: Final = "3.12"
#: Lambda architecture name → the manylinux platform tag of its wheels. manylinux2014 (glibc 2.17) runs
#: on every Amazon Linux the Python runtimes use.
ARCHITECTURES: Final = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
#: The project's packages the handlers import; ``moviepipe`` (CLI, local stack) and ``tests`` stay out.
HANDLER_PACKAGES: Final = ("movie_events", "producers", "consumers", "moviepipe/runtime")
#: Every declared Lambda entry point (module, function); the package tests import each one.
HANDLERS: Final = tuple(
    (module, attribute) for module, _, attribute in (f.handler.rpartition(".") for f in DEPLOYMENT.functions)
)
#: Provided by the Lambda runtime, with whatever only they need (see :func:`runtime_provided`).
RUNTIME_PROVIDED_ROOTS: Final = frozenset({"boto3"})
LAMBDA_LOCK: Final = "requirements-lambda.lock"
#: Lambda's limits: 50 MB for a zip uploaded directly, 250 MB unzipped. The build fails above them.
MAX_ZIPPED_BYTES: Final = 50 * 1000 * 1000
MAX_UNZIPPED_BYTES: Final = 250 * 1000 * 1000
#: The earliest time a zip can record; every entry gets it, so rebuilding changes nothing.
ZIP_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE: Final = 0o100644  # a regular file, rw-r--r--
_UNIX: Final = 3  # ZipInfo.create_system: the mode bits in external_attr are Unix bits


class PackagingError(RuntimeError):
    """The package cannot be built as declared; the message says what is wrong."""


@dataclass(frozen=True)
class Pin:
    """One ``name==version`` line of a lock file, with the packages that require it (``# via``)."""

    name: str
    version: str
    required_by: tuple[str, ...]

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def normalize(name: str) -> str:
    """PEP 503 normalised project name (``Jinja2`` and ``jinja2`` are one project)."""
    return re.sub(r"[-_.]+", "-", name).lower()


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_VIA_INLINE = re.compile(r"^\s+# via (.+)$")
_VIA_ITEM = re.compile(r"^\s+#\s{3}(.+)$")


def read_lock(text: str) -> list[Pin]:
    """The pins of a lock file written by ``uv pip compile`` (or pip-compile), in file order.

    ``-c``/``-r`` lines in ``# via`` (the constraint file) are not requirers and are dropped; a project
    named with its origin (``moviepipe (pyproject.toml)``) is kept as its bare name.
    """
    pins: list[Pin] = []
    name = version = ""
    via: list[str] = []

    def flush() -> None:
        if name:
            pins.append(Pin(normalize(name), version, tuple(via)))

    for line in text.splitlines():
        if match := _PIN.match(line):
            flush()
            name, version, via = match[1], match[2], []
        elif (inline := _VIA_INLINE.match(line)) or (inline := _VIA_ITEM.match(line)):
            requirer = inline[1].strip()
            if requirer and not requirer.startswith(("-c ", "-r ")):
                via.append(normalize(requirer.split(" (")[0]))
    flush()
    return pins


def runtime_provided(pins: Iterable[Pin], roots: Iterable[str] = RUNTIME_PROVIDED_ROOTS) -> set[str]:
    """The roots and every pin required by nothing but them (botocore, urllib3, six... for boto3).

    A pin that anything else requires — jmespath, which Powertools imports too — is not in the set: the
    zip must carry it rather than count on the runtime's copy of it.
    """
    pins = list(pins)
    provided = {normalize(root) for root in roots}
    changed = True
    while changed:
        changed = False
        for pin in pins:
            if pin.name not in provided and pin.required_by and set(pin.required_by) <= provided:
                provided.add(pin.name)
                changed = True
    return provided


def shipped(pins: Iterable[Pin]) -> list[Pin]:
    """The pins that go into the zip: every runtime dependency the Lambda runtime does not provide."""
    pins = list(pins)
    provided = runtime_provided(pins)
    return [pin for pin in pins if pin.name not in provided]


@dataclass(frozen=True)
class Target:
    """What the wheels must run on: a Lambda architecture, its manylinux tag, a CPython version."""

    architecture: str
    platform_tag: str
    python_version: str

    @classmethod
    def lambda_runtime(cls, architecture: str) -> Target:
        if architecture not in ARCHITECTURES:
            raise PackagingError(
                f"unknown architecture {architecture!r}; expected one of {sorted(ARCHITECTURES)}"
            )
        return cls(architecture, ARCHITECTURES[architecture], LAMBDA_PYTHON)

    @classmethod
    def running_interpreter(cls) -> Target:
        """This machine's interpreter (Linux only): a package the tests can import here."""
        machine = platform.machine()
        by_machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
        if sys.platform != "linux" or machine.lower() not in by_machine:
            raise PackagingError(f"no manylinux wheels for {sys.platform}/{machine}")
        architecture = by_machine[machine.lower()]
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return cls(architecture, ARCHITECTURES[architecture], version)

    @property
    def cache_key(self) -> str:
        return f"{self.platform_tag}-cp{self.python_version.replace('.', '')}"

    def pip_options(self) -> list[str]:
        return [
            "--only-binary=:all:",
            "--platform",
            self.platform_tag,
            "--python-version",
            self.python_version,
            "--implementation",
            "cp",
        ]


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603


def install(requirements: Sequence[str], target: Target, into: Path, wheel_cache: Path) -> None:
    """``pip install --target`` the pinned requirements, from the wheel cache when it has them all.

    Only when the cache lacks a wheel does pip go to the registry, and it downloads into a scratch
    directory first, so two builds sharing the cache never see half a file.
    """
    if not requirements:
        into.mkdir(parents=True, exist_ok=True)
        return
    wheels = wheel_cache / target.cache_key
    wheels.mkdir(parents=True, exist_ok=True)
    install_args = [
        "install",
        "--quiet",
        "--no-deps",  # the lock file is the whole set; nothing else may slip in
        "--no-compile",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(into),
        *target.pip_options(),
        *requirements,
    ]
    if _pip(*install_args).returncode == 0:
        return
    with tempfile.TemporaryDirectory(dir=wheel_cache, prefix=".download-") as scratch:
        download = _pip(
            "download", "--quiet", "--no-deps", "--dest", scratch, *target.pip_options(), *requirements
        )
        if download.returncode != 0:
            raise PackagingError(f"pip could not download wheels for {target}:\n{download.stderr.strip()}")
        for wheel in Path(scratch).iterdir():
            os.replace(wheel, wheels / wheel.name)
    shutil.rmtree(into, ignore_errors=True)
    result = _pip(*install_args)
    if result.returncode != 0:
        raise PackagingError(f"pip could not install the wheels for {target}:\n{result.stderr.strip()}")


def _strip_install_artifacts(tree: Path) -> None:
    """Drop what pip writes outside the packages: console scripts and their RECORD rows.

    ``bin/`` scripts name the build machine's interpreter in their shebang (so no two machines would
    build the same bytes) and nothing on Lambda can run them.
    """
    shutil.rmtree(tree / "bin", ignore_errors=True)
    for record in tree.glob("*.dist-info/RECORD"):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(("../", "bin/"))]
        if kept != lines:
            record.write_text("".join(kept), encoding="utf-8")


def _skipped(relative: Path) -> bool:
    return any(
        part == "__pycache__" or part.startswith(".") for part in relative.parts
    ) or relative.suffix in (
        ".pyc",
        ".pyo",
    )


def copy_sources(root: Path, into: Path, packages: Iterable[str] = HANDLER_PACKAGES) -> None:
    """Copy the handler packages (code and package data such as templates), without byte code."""
    for package in packages:
        source = root / package
        if not (source / "__init__.py").is_file():
            raise PackagingError(f"{source} is not a package")
        # A sub-package (``moviepipe/runtime``) needs its parents' ``__init__.py``, and nothing else of them.
        for parent in Path(package).parents[:-1]:
            init = root / parent / "__init__.py"
            (into / parent).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(init, into / parent / "__init__.py")
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and not _skipped(relative):
                destination = into / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


def _files(tree: Path) -> Iterator[tuple[str, Path]]:
    for path in tree.rglob("*"):
        relative = path.relative_to(tree)
        if path.is_file() and not _skipped(relative):
            yield relative.as_posix(), path


def write_zip(tree: Path, destination: Path) -> tuple[int, int]:
    """Zip ``tree`` reproducibly; returns (file count, unzipped bytes).

    Entries are sorted by path and carry a fixed timestamp and mode, so the bytes depend only on the
    files' paths and contents (and zlib): not on the order the file system lists them, when they were
    written, or the builder's umask.
    """
    entries = sorted(_files(tree))
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    unzipped = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.create_system = _UNIX
            info.external_attr = ZIP_FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    os.replace(partial, destination)
    return len(entries), unzipped


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Package:
    """What :func:`build` wrote, for the summary and the docs."""

    architecture: str
    python_version: str
    path: str
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    dependencies: list[str]
    left_to_runtime: list[str]


def build(
    target: Target,
    destination: Path,
    *,
    root: Path,
    wheel_cache: Path,
    lock: Path | None = None,
) -> Package:
    """Build one zip for ``target`` at ``destination`` from ``root`` (the repository)."""
    pins = read_lock((lock or root / LAMBDA_LOCK).read_text(encoding="utf-8"))
    if not pins:
        raise PackagingError(f"{lock or root / LAMBDA_LOCK} pins nothing")
    provided = runtime_provided(pins)
    dependencies = [pin.requirement for pin in shipped(pins)]
    with tempfile.TemporaryDirectory(prefix="moviepipe-package-") as scratch:
        tree = Path(scratch) / "package"
        install(dependencies, target, tree, wheel_cache)
        _strip_install_artifacts(tree)
        clashes = [package for package in HANDLER_PACKAGES if (tree / package).exists()]
        if clashes:
            raise PackagingError(f"a dependency installs a package named like ours: {clashes}")
        copy_sources(root, tree)
        files, unzipped = write_zip(tree, destination)
    zipped = destination.stat().st_size
    if zipped > MAX_ZIPPED_BYTES or unzipped > MAX_UNZIPPED_BYTES:
        raise PackagingError(
            f"{destination} is {zipped:,} bytes zipped and {unzipped:,} unzipped; Lambda accepts at most "
            f"{MAX_ZIPPED_BYTES:,} and {MAX_UNZIPPED_BYTES:,}"
        )
    return Package(
        architecture=target.architecture,
        python_version=target.python_version,
        path=str(destination),
        sha256=sha256(destination),
        zipped_bytes=zipped,
        unzipped_bytes=unzipped,
        files=files,
        dependencies=dependencies,
        left_to_runtime=sorted(pin.requirement for pin in pins if pin.name in provided),
    )


def package_path(out: Path, architecture: str) -> Path:
    """``<out>/moviepipe-<architecture>.zip``: the name the Terraform reads."""
    return out / DEPLOYMENT.package_file.format(architecture=architecture)


def _mebibytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m moviepipe.packaging",
        description="Build the Lambda zips (one per architecture) from requirements-lambda.lock.",
    )
    parser.add_argument(
        "--arch",
        action="append",
        choices=sorted(ARCHITECTURES),
        help="architecture to build (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/lambda"), help="output folder")
    parser.add_argument("--wheel-cache", type=Path, default=Path("build/wheels"), help="downloaded wheels")
    parser.add_argument("--root", type=Path, default=Path(), help="the repository (default: here)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per zip")
    args = parser.parse_args(argv)

    for architecture in args.arch or sorted(ARCHITECTURES):
        started = time.monotonic()
        try:
            built = build(
                Target.lambda_runtime(architecture),
                package_path(args.out, architecture),
                root=args.root,
                wheel_cache=args.wheel_cache,
            )
        except (PackagingError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        seconds = time.monotonic() - started
        if args.json:
            print(json.dumps({**asdict(built), "seconds": round(seconds, 1)}), flush=True)
        else:
            print(
                f"{built.path}: {_mebibytes(built.zipped_bytes)} zipped, {_mebibytes(built.unzipped_bytes)} "
                f"unzipped, {built.files} files, python{built.python_version}, {seconds:.1f} s\n"
                f"  sha256 {built.sha256}\n"
                f"  ships {', '.join(built.dependencies)}\n"
                f"  leaves to the runtime {', '.join(built.left_to_runtime)}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
