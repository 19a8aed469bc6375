"""The email templates ship precompiled (Jinja2's ``compile_templates``): the committed modules are
exactly what the sources compile to, and the handler renders from them without compiling anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from consumers.email_notification.logic import rendering
from movie_events import MovieCreated, MovieDeleted, MovieUpdated

SENDER = "movies@example.com"
EVENTS = (
    MovieCreated(data={"id": "m1", "title": "<b>Up</b> & away", "rating": 8.5, "genres": ["Animation"]}),
    MovieUpdated(
        data={
            "id": "m2",
            "title": "Alien",
            "rating": 9,
            "genres": ["Horror", "Sci-Fi"],
            "previous": {"title": "Alien <1979>", "rating": 8},
        }
    ),
    MovieUpdated(data={"id": "m3", "title": "Heat", "rating": 8, "genres": []}),
    MovieDeleted(data={"id": "m4", "title": "Cats"}),
    MovieDeleted(data={"id": "m5"}),
)


@pytest.fixture
def fresh_templates() -> Iterator[None]:
    rendering._templates.cache_clear()
    yield
    rendering._templates.cache_clear()


def test_the_committed_compiled_templates_are_what_the_sources_compile_to(tmp_path: Path) -> None:
    written = rendering.compile_templates(tmp_path)
    committed = sorted(rendering.COMPILED_TEMPLATES.glob("tmpl_*.py"))
    assert [p.name for p in written] == [p.name for p in committed] and len(committed) == 2
    for new, old in zip(written, committed, strict=True):
        assert new.read_text(encoding="utf-8") == old.read_text(encoding="utf-8"), (
            f"{old} is stale: run `make templates` (python -m consumers.email_notification.logic.rendering)"
        )


def test_the_first_render_compiles_no_template(
    fresh_templates: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("a template was compiled at run time")

    for name in ("compile", "_parse", "_generate", "_compile"):
        monkeypatch.setattr(jinja2.Environment, name, no_compiling)
    email = rendering.render(EVENTS[0], sender=SENDER)
    assert "&lt;b&gt;Up&lt;/b&gt; &amp; away" in email.html and "<b>Up</b> & away" in email.text


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.type}-{e.movie_id}")
def test_the_compiled_templates_render_what_the_sources_render(
    fresh_templates: None, event: MovieCreated | MovieUpdated | MovieDeleted
) -> None:
    context = rendering._context(event)
    compiled_text, compiled_html = rendering._templates()
    for compiled, autoescape in ((compiled_text, False), (compiled_html, True)):
        source = rendering._environment(jinja2.FileSystemLoader(rendering.TEMPLATES), autoescape=autoescape)
        from_source = source.get_template(compiled.name or "")
        assert rendering._render(compiled, dict(context)) == from_source.render(context)


def test_the_package_ships_the_jinja2_the_templates_were_compiled_with() -> None:
    """Compiled templates are specific to a Jinja2 version: the Lambda package's pin is the development
    pin, with which the staleness test above regenerates them."""
    root = Path(__file__).resolve().parents[2]
    pins = [
        line.split(";")[0].strip()
        for lock in ("requirements.lock", "requirements-lambda.lock")
        for line in (root / lock).read_text(encoding="utf-8").splitlines()
        if line.lower().startswith("jinja2==")
    ]
    assert pins == [f"jinja2=={jinja2.__version__}"] * 2
