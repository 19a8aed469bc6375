"""``make bench``: every benchmark module, each printing its figures as ratios against a baseline
measured in the same run (these machines are noisy; absolute numbers mean little, ratios travel)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

from rich.console import Console

import tests.benchmarks as package


def main(argv: list[str]) -> int:
    console = Console()
    wanted = set(argv)
    failures = 0
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("bench_"):
            continue
        if wanted and module_info.name not in wanted:
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        console.rule(module.__doc__.strip().splitlines()[0] if module.__doc__ else module_info.name)
        ok = module.run(console)
        failures += 0 if ok else 1
    if failures:
        console.print(f"[red]{failures} benchmark(s) missed their target[/red]")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
