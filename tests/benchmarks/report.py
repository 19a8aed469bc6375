"""What ``make bench`` prints and writes to docs/benchmarks.md, from the same figures.

Each benchmark module's ``run(console, report)`` adds its tables and notes through :class:`Report`:
they are printed as they come (rich) and collected, one section per module, into the markdown page that
``python -m tests.benchmarks`` writes at the end. Writing the page from the run, never by hand, keeps
the published figures the measured ones.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class _Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    intro: str = ""
    blocks: list[_Table | str] = field(default_factory=list)


#: The machine-speed probe (:func:`tests.benchmarks.common.cpu_probe`): its loop's length and how many
#: times it runs (the fastest counts), named here because the page describes it.
PROBE_ITERATIONS = 1_000_000
PROBE_RUNS = 5


class Report:
    """Tables and notes of one ``make bench`` run, printed now and rendered as markdown later."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.sections: list[Section] = []
        #: (when, ms) of :func:`tests.benchmarks.common.cpu_probe`, e.g. at the start and end of the run.
        self.probes: list[tuple[str, float]] = []

    def probe(self, when: str, ms: float) -> None:
        """Record (and print) the machine's speed probe taken ``when``."""
        self.probes.append((when, ms))
        self.console.print(f"machine speed probe {when}: {ms:.0f} ms", markup=False)

    def section(self, title: str, intro: str = "") -> Section:
        """Start the section the following tables and notes belong to (one per benchmark module)."""
        section = Section(title, intro.strip())
        self.sections.append(section)
        return section

    def _current(self) -> Section:
        if not self.sections:
            self.section("Benchmarks")
        return self.sections[-1]

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Print a table and keep it for the page; cells are shown as ``str(cell)``."""
        cells = [[str(cell) for cell in row] for row in rows]
        rich_table = Table(title=title)
        for index, column in enumerate(columns):
            rich_table.add_column(column, justify="left" if index == 0 else "right")
        for row in cells:
            rich_table.add_row(*row)
        self.console.print(rich_table)
        self._current().blocks.append(_Table(title, list(columns), cells))

    def note(self, text: str) -> None:
        """A paragraph (markdown; rich markup is not used here so both renderings agree)."""
        self.console.print(text, markup=False, highlight=False)
        self._current().blocks.append(text)

    def image(self, path: Path, alt: str) -> None:
        """A committed plot, linked relative to docs/."""
        self._current().blocks.append(f"![{alt}]({path.as_posix()})")
        self.console.print(f"plot written: {path}", markup=False)

    def markdown(self, *, command: str = "make bench") -> str:
        lines = [
            "# Benchmarks",
            "",
            f"Written by `{command}` from the run below; do not edit by hand. Every figure is a ratio against",
            "a baseline measured in the same run, on the same machine, at equal resources.",
            "",
            f"Machine: {machine()}.",
            "",
        ]
        if self.probes:
            lines += [
                f"Machine speed: a fixed pure-Python loop ({PROBE_ITERATIONS:,} multiply-adds, fastest of "
                f"{PROBE_RUNS}) took "
                + " and ".join(f"{ms:.0f} ms {when}" for when, ms in self.probes)
                + ". The absolute figures (CPU ms per record or per email, events/s) scale with it; the "
                "ratios do not need it.",
                "",
            ]
        for section in self.sections:
            lines += [f"## {section.title}", ""]
            if section.intro:
                lines += [section.intro, ""]
            for block in section.blocks:
                if isinstance(block, str):
                    lines += [block, ""]
                    continue
                lines += [f"**{block.title}**", ""]
                lines.append("| " + " | ".join(block.columns) + " |")
                lines.append("|" + "|".join("---" for _ in block.columns) + "|")
                lines += [
                    "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in block.rows
                ]
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def machine() -> str:
    """The facts that make figures comparable: CPU count, interpreter, OS."""
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}), {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}"
    )
