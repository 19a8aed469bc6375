"""``make bench``: every benchmark module, each printing its figures as ratios against a baseline
measured in the same run (these machines are noisy; absolute numbers mean little, ratios travel).

Each module's ``run(console, report)`` prints its tables through :class:`~tests.benchmarks.report.Report`;
after a full run (no module named on the command line) the page docs/benchmarks.md is written from them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from rich.console import Console

import tests.benchmarks as package
from tests.benchmarks.common import cpu_probe
from tests.benchmarks.report import Report

PAGE = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


def main(argv: list[str]) -> int:
    console = Console()
    if not console.is_terminal:  # piped (rich assumes 80 columns then): keep wide tables on one line each
        console = Console(width=160)
    report = Report(console)
    wanted = set(argv)
    failures = 0
    report.probe("at the start", cpu_probe())
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("bench_"):
            continue
        if wanted and module_info.name not in wanted:
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        doc = (module.__doc__ or module_info.name).strip()
        title, _, intro = doc.partition("\n")
        console.rule(title)
        report.section(title, intro)
        ok = module.run(console, report)
        failures += 0 if ok else 1
    report.probe("at the end", cpu_probe())
    if failures:
        console.print(f"[red]{failures} benchmark(s) missed their target[/red]")
    if not wanted:
        PAGE.write_text(report.markdown(), encoding="utf-8")
        console.print(f"written: {PAGE}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
