"""The benchmark page is rendered from the run's own tables (never edited by hand)."""

from __future__ import annotations

import io

from rich.console import Console

from tests.benchmarks.report import Report


def test_markdown_holds_each_section_table_and_note_in_order() -> None:
    report = Report(Console(file=io.StringIO()))
    report.section("Consumer", "Batch latency.")
    report.table("batch 10", ["method", "ms"], [["handler", 61.5], ["peer", "a|b"]])
    report.note("target met")
    page = report.markdown()
    assert page.index("## Consumer") < page.index("Batch latency.") < page.index("**batch 10**")
    assert "| method | ms |" in page
    assert "| handler | 61.5 |" in page
    assert "| peer | a\\|b |" in page  # a pipe in a cell does not split the markdown row
    assert page.index("| handler | 61.5 |") < page.index("target met")
    assert "Machine: " in page


def test_the_speed_probes_land_on_the_page_in_order() -> None:
    report = Report(Console(file=io.StringIO()))
    assert "Machine speed" not in report.markdown()  # no probe taken, no claim made
    report.probe("at the start", 251.4)
    report.probe("at the end", 298.6)
    page = report.markdown()
    assert "took 251 ms at the start and 299 ms at the end." in page
    assert page.index("Machine: ") < page.index("Machine speed")
