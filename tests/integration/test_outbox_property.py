"""Property: for any sequence of API calls, the events the relay emits, folded in order, reproduce the
Movies table's final state (and every MovieUpdated's ``previous`` is what the fold held before it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from movie_events import MovieCreated, MovieDeleted, MovieUpdated, parse_event
from moviepipe.local.embedded_aws import EmbeddedAWS
from moviepipe.local.http_api import movies_api_app
from moviepipe.local.provision import provision_messaging, provision_movies_table
from moviepipe.runtime.settings import Env, Resources
from producers.outbox_relay.processor import OutboxBatchProcessor
from producers.publisher import EventPublisher
from tests.support import aws
from tests.support.movies import Deployed, api_lambda, run_trigger

pytestmark = pytest.mark.integration

IDS = ("m0", "m1", "m2")
fields = st.fixed_dictionaries(
    {
        "title": st.sampled_from(["Alien", "Aliens", "Heat"]),
        "rating": st.sampled_from([0, 5.5, 10]),
        "genres": st.lists(st.sampled_from(["Drama", "SF"]), max_size=2),
    }
)
preconditions = st.sampled_from(["none", "current", "stale", "any"])
calls: st.SearchStrategy[tuple[str, str, dict[str, Any], str]] = st.one_of(
    st.tuples(st.just("POST"), st.just(""), fields, st.just("none")),
    st.tuples(st.just("PUT"), st.sampled_from(IDS), fields, preconditions),
    st.tuples(st.just("DELETE"), st.sampled_from(IDS), st.just({}), preconditions),
)


class RecordingSNS:
    """Passes PublishBatch through and keeps every message body, in the order published."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.bodies: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def publish_batch(self, **params: Any) -> Any:
        response = self._client.publish_batch(**params)
        ok = {entry["Id"] for entry in response.get("Successful", [])}
        self.bodies += [e["Message"] for e in params["PublishBatchRequestEntries"] if e["Id"] in ok]
        return response


def call(api: Client, method: str, movie_id: str, body: dict[str, Any], precondition: str) -> None:
    headers = {}
    if precondition != "none":
        current = api.get(f"/movies/{movie_id}").headers.get("ETag", '"1"')
        stale = f'"{int(current.strip(chr(34))) + 7}"'
        headers["If-Match"] = {"current": current, "stale": stale, "any": "*"}[precondition]
    path = "/movies" if method == "POST" else f"/movies/{movie_id}"
    response = api.open(path, method=method, json=body or None, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)


def fold(bodies: list[str]) -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for body in bodies:
        event = parse_event(body)
        if isinstance(event, MovieCreated):
            assert event.movie_id not in state
            state[event.movie_id] = event.data.model_dump(include={"title", "rating", "genres"})
        elif isinstance(event, MovieUpdated):
            before = state[event.movie_id]
            previous = event.data.previous.model_dump(exclude_none=True) if event.data.previous else {}
            assert previous and all(before[name] == value for name, value in previous.items())
            state[event.movie_id] = event.data.model_dump(include={"title", "rating", "genres"})
        elif isinstance(event, MovieDeleted):
            assert state.pop(event.movie_id)["title"] == event.data.title
    return state


def table_state() -> dict[str, dict[str, Any]]:
    api = Client(movies_api_app(api_lambda))
    items = api.get("/movies", query_string={"limit": 100}).get_json()["items"]
    return {m["id"]: {"title": m["title"], "rating": m["rating"], "genres": m["genres"]} for m in items}


@given(script=st.lists(calls, max_size=12))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_folded_events_reproduce_the_table(
    aws: EmbeddedAWS, monkeypatch: pytest.MonkeyPatch, script: list[tuple[str, str, dict[str, Any], str]]
) -> None:
    aws.reset()
    stream_arn = provision_movies_table()
    topic_arn = provision_messaging().topic_arn
    Deployed.deploy_api({Env.MOVIES_TABLE_NAME: Resources.MOVIES_TABLE})
    api = Client(movies_api_app(api_lambda))
    for method, movie_id, body, precondition in script:
        call(api, method, movie_id, body, precondition)

    sns = RecordingSNS(aws_client("sns"))
    # One PublishBatch at a time, so the recorded order is the order the relay emitted.
    publisher = EventPublisher(topic_arn, sns_client=sns, max_workers=1)
    run_trigger(stream_arn, OutboxBatchProcessor(publisher), batch_size=5)

    assert fold(sns.bodies) == table_state()
    Deployed.clear()


def aws_client(service: str) -> Any:
    return aws.client(service)
