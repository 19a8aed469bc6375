"""What importing each Lambda handler loads, and what it leaves for first use (the cold-start work of
issue 13). Behaviour, not timing: the benchmarks measure the time (``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from movie_events import models


def _loaded_after(statement: str) -> dict[str, bool]:
    code = (
        f"import sys, json; {statement}; import movie_events.models as m; "
        "print(json.dumps({'jinja2': 'jinja2' in sys.modules, "
        "'publisher': 'producers.publisher' in sys.modules, "
        "'events_built': m.MovieCreated.__pydantic_complete__}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])  # after any log lines
    return result


def _imported_after(statement: str, modules: tuple[str, ...]) -> dict[str, bool]:
    """Which of ``modules`` a fresh interpreter holds after ``statement`` (nothing else imported)."""
    code = f"import sys, json; {statement}; print(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "statement",
    [
        "import movie_events",
        "from movie_events import InvalidEventError, SchemaValidationError",
        "import movie_events.errors",
        "from movie_events.jsonlimits import load_bounded",
    ],
)
def test_the_contract_errors_and_bounded_json_load_neither_pydantic_nor_the_models(statement: str) -> None:
    assert _imported_after(statement, ("pydantic", "movie_events.models", "movie_events.parsing")) == {
        "pydantic": False,
        "movie_events.models": False,
        "movie_events.parsing": False,
    }


def test_the_movies_api_never_defines_the_event_models_nor_loads_powertools_batch_processing() -> None:
    """The API validates movies with the contract's field types (movie_events.fields) and never
    handles an event or a batch: its cold start pays for neither."""
    loaded = _imported_after(
        "import producers.movies_api.handler",
        (
            "movie_events.fields",
            "movie_events.models",
            "movie_events.parsing",
            "aws_lambda_powertools.utilities.batch",
        ),
    )
    assert loaded == {
        "movie_events.fields": True,
        "movie_events.models": False,
        "movie_events.parsing": False,
        "aws_lambda_powertools.utilities.batch": False,
    }


def test_the_outbox_relay_publishes_without_loading_the_parser() -> None:
    """The relay builds events and publishes them; it never parses a message off the wire."""
    loaded = _imported_after(
        "import producers.outbox_relay.handler",
        ("movie_events.models", "movie_events.parsing", "movie_events.jsonlimits"),
    )
    assert loaded == {
        "movie_events.models": True,
        "movie_events.parsing": False,
        "movie_events.jsonlimits": False,
    }


def test_every_name_the_contract_package_exports_resolves_to_its_submodule() -> None:
    import movie_events
    from movie_events import errors, parsing

    for name in movie_events.__all__:
        value = getattr(movie_events, name)
        owner = next(module for module in (errors, models, parsing) if hasattr(module, name))
        assert value is getattr(owner, name), name
    assert set(movie_events.__all__) <= set(dir(movie_events))
    with pytest.raises(AttributeError):
        _ = movie_events.NoSuchThing
    from movie_events import fields  # the field types stay importable from models too

    assert (models.MovieId, models.Genres, models.MAX_TITLE_LENGTH) == (
        fields.MovieId,
        fields.Genres,
        fields.MAX_TITLE_LENGTH,
    )


def test_the_movies_api_never_loads_the_publisher_or_builds_the_event_models() -> None:
    assert _loaded_after("import producers.movies_api.handler") == {
        "jinja2": False,
        "publisher": False,
        "events_built": False,
    }


def test_the_consumer_loads_jinja2_and_builds_the_models_when_it_is_built_not_at_import() -> None:
    assert _loaded_after("import consumers.email_notification.handler") == {
        "jinja2": False,
        "publisher": False,
        "events_built": False,
    }
    built = _loaded_after(
        "from tests.support.fakes import FakeConsumer; from movie_events import MovieCreated; "
        "from tests.support.fakes import sqs_record; "
        "h = FakeConsumer(); "
        "assert h.run(sqs_record(MovieCreated(data={'id': 'm1', 'title': 'T', 'rating': 1, 'genres': []})"
        ".to_json(), message_id='1')) == []"
    )
    assert built == {"jinja2": True, "publisher": False, "events_built": True}


def test_the_package_still_exports_the_publisher_lazily() -> None:
    import producers
    from producers.publisher import EventPublisher

    assert producers.EventPublisher is EventPublisher
    with pytest.raises(AttributeError):
        _ = producers.NoSuchThing


def test_build_models_completes_every_contract_model_and_is_idempotent() -> None:
    models.build_models()
    models.build_models()
    for model in (
        models.MovieData,
        models.PreviousMovieValues,
        models.MovieUpdatedData,
        models.MovieDeletedData,
        *models.EVENT_CLASSES.values(),
    ):
        assert model.__pydantic_complete__, model


@pytest.mark.parametrize(
    "module",
    [
        "consumers.email_notification.handler",
        "producers.movies_api.handler",
        "producers.outbox_relay.handler",
    ],
)
def test_each_handler_import_ends_by_freezing_what_it_created(module: str) -> None:
    """The last thing a handler module does (moviepipe.runtime.root.settle_imports): the objects its
    import created go to the collector's permanent generation, so the first invocation's collections
    (the consumer's on its first render) and every later one do not walk them again."""
    code = (
        "import gc, sys, json; before = gc.get_freeze_count(); "
        f"import {module}; frozen = gc.get_freeze_count(); "
        "print(json.dumps({'before': before, 'frozen': frozen, 'tracked': len(gc.get_objects())}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert counts["frozen"] > 10_000  # the SDKs, Powertools, pydantic and our modules
    assert counts["tracked"] < counts["frozen"] // 10  # what the collector still walks: nearly nothing


def test_objects_created_after_the_freeze_are_still_collected() -> None:
    code = (
        "import gc, weakref, producers.outbox_relay.handler\n"
        "class Cycle: pass\n"
        "a = Cycle(); a.me = a; ref = weakref.ref(a); del a\n"
        "gc.collect(); print(ref() is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_the_clients_module_settles_boto3_as_soon_as_it_is_imported() -> None:
    """moviepipe.runtime.aws freezes what is alive once boto3 is loaded (the bulk of every handler's
    import), so the collections the rest of a handler's import triggers do not walk it."""
    code = (
        "import gc, sys, json; import moviepipe.runtime.aws; "
        "print(json.dumps({'boto3': 'botocore.client' in sys.modules, 'frozen': gc.get_freeze_count(), "
        "'tracked': len(gc.get_objects())}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["boto3"] and counts["frozen"] > 10_000 and counts["tracked"] < counts["frozen"] // 10
