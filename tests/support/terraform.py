"""Running the project's Terraform from tests: where the provider comes from, a CLI config, a runner.

Provider installation. Terraform normally downloads hashicorp/aws from its registry. Machines without
internet (this project's own) carry a filesystem mirror instead; :func:`find_provider_mirror` looks for
one, in this order:

1. ``$MOVIEPIPE_TF_PLUGIN_MIRROR`` (set it to point at a mirror anywhere; set it empty to force the
   registry);
2. the local mirror directories Terraform itself implies on Unix: ``$XDG_DATA_HOME/terraform/plugins``
   (default ``~/.local/share/terraform/plugins``), ``~/.terraform.d/plugins``, and
   ``terraform/plugins`` under each ``$XDG_DATA_DIRS`` entry (default ``/usr/local/share`` and
   ``/usr/share``);
3. any direct child of ``/opt`` laid out as a mirror (``/opt/<name>/registry.terraform.io/...``),
   where machine images commonly unpack one.

A directory counts only if it holds ``registry.terraform.io/hashicorp/aws``. With a mirror,
:func:`cli_config` writes a ``provider_installation { filesystem_mirror { ... } }`` block; without one
it leaves installation to the registry. Either way it sets a plugin cache, so a provider is unpacked
or downloaded once per machine rather than once per run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.faults import FaultInjector

MIRROR_ENV = "MOVIEPIPE_TF_PLUGIN_MIRROR"
PROVIDER = Path("registry.terraform.io", "hashicorp", "aws")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def mirror_candidates(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where a provider mirror may be, in the order :func:`find_provider_mirror` tries them."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = [Path(p) for p in (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":") if p]
    implied = [data_home / "terraform" / "plugins", home / ".terraform.d" / "plugins"]
    implied += [d / "terraform" / "plugins" for d in data_dirs]
    opt = Path("/opt")
    unpacked = sorted(p for p in opt.iterdir() if p.is_dir()) if opt.is_dir() else []
    return implied + unpacked


def find_provider_mirror(environ: Mapping[str, str] | None = None) -> Path | None:
    """The first directory holding a hashicorp/aws mirror, or None (use the registry)."""
    env = os.environ if environ is None else environ
    if MIRROR_ENV in env:
        chosen = env[MIRROR_ENV].strip()
        return Path(chosen) if chosen else None
    for candidate in mirror_candidates(env):
        if (candidate / PROVIDER).is_dir():
            return candidate
    return None


def cli_config(mirror: Path | None, plugin_cache: Path) -> str:
    """A Terraform CLI configuration: the mirror (if any) for every registry provider, and a cache."""
    lines = [f"plugin_cache_dir = {json.dumps(str(plugin_cache))}"]
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(str(mirror))}",
            '    include = ["registry.terraform.io/*/*"]',
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def check(self) -> Result:
        if self.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(self.args)} exited {self.returncode} after {self.seconds:.0f} s\n"
                f"{self.stdout[-4000:]}\n{self.stderr[-4000:]}"
            )
        return self


@dataclass
class Terraform:
    """``terraform`` in one working directory, with a fixed environment."""

    workdir: Path
    env: dict[str, str]
    binary: str = field(default_factory=lambda: shutil.which("terraform") or "terraform")
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 600) -> Result:
        started = time.perf_counter()
        done = subprocess.run(
            [self.binary, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.perf_counter() - started
        self.timings[args[0]] = self.timings.get(args[0], 0.0) + seconds
        return Result(list(args), done.returncode, done.stdout, done.stderr, seconds)

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").check().stdout)
        return {name: entry["value"] for name, entry in raw.items()}


def terraform_environment(
    base: Mapping[str, str], *, config_file: Path, aws: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The process environment for terraform: the caller's, minus any AWS profile or credentials,
    plus the CLI config and (for the embedded AWS) its endpoint and fake credentials."""
    env = {k: v for k, v in base.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(config_file),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",  # no version check call home
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(aws or {})
    return env


class CompactJsonAttributes:
    """WSGI middleware: SQS attributes that hold JSON come back as AWS sends them, compact.

    AWS returns ``RedrivePolicy`` exactly as it was set (Terraform sets ``jsonencode``'s compact
    form); moto parses it and re-serialises it with spaces, which Terraform then reports as a change
    on every plan. Only whitespace is changed, never a value.
    """

    TARGET = "AmazonSQS.GetQueueAttributes"
    KEYS = ("RedrivePolicy",)

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != self.TARGET:
            return self._app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self._app(environ, capture))
        try:
            document = json.loads(body)
            attributes = document.get("Attributes", {})
            for key in self.KEYS:
                if isinstance(attributes.get(key), str):
                    attributes[key] = json.dumps(json.loads(attributes[key]), separators=(",", ":"))
            body = json.dumps(document).encode()
        except ValueError:
            pass  # not JSON (an error page): pass it on untouched
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


class TerraformTargetAWS(EmbeddedAWS):
    """The embedded AWS (mail catcher included) with :class:`CompactJsonAttributes` in front of it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.faults = FaultInjector(CompactJsonAttributes(self.mail))
