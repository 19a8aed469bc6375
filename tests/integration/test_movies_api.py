"""The movies API through its local API Gateway, against the Movies table on the embedded AWS."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client, TestResponse

from moviepipe.local.provision import Messaging
from tests.support.movies import (  # noqa: F401 - fixtures
    api_fixture,
    movies_stream_fixture,
    relay_env_fixture,
    strict_api_fixture,
)
from tests.support.sqs import drain

pytestmark = pytest.mark.integration

ALIEN = {"title": "Alien", "rating": 8.5, "genres": ["Horror", "Science fiction"]}


def create(api: Client, **fields: Any) -> TestResponse:
    response = api.post("/movies", json={**ALIEN, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response


def error_of(response: TestResponse) -> str:
    body = response.get_json()
    assert isinstance(body["message"], str) and body["message"]
    return str(body["error"])


def test_post_creates_with_location_and_etag(api: Client) -> None:
    response = create(api)
    body = response.get_json()
    assert body == {**ALIEN, "id": body["id"], "version": 1}
    assert response.headers["Location"] == f"/movies/{body['id']}"
    assert response.headers["ETag"] == '"1"'

    fetched = api.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.get_json() == body and fetched.headers["ETag"] == '"1"'


def test_get_unknown_movie_is_404(api: Client) -> None:
    response = api.get("/movies/no-such-movie")
    assert response.status_code == 404 and error_of(response) == "MovieNotFound"
    assert "no-such-movie" in response.get_json()["message"]


def test_list_pages_through_every_movie_once(api: Client) -> None:
    ids = {create(api, title=f"Movie {i}").get_json()["id"] for i in range(7)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        response = api.get("/movies", query_string={"limit": 3, **({"next_token": token} if token else {})})
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["items"]) <= 3
        seen += [movie["id"] for movie in page["items"]]
        pages += 1
        token = page["next_token"]
        if token is None:
            break
    assert sorted(seen) == sorted(ids) and pages == 3


def test_list_of_empty_table(api: Client) -> None:
    assert api.get("/movies").get_json() == {"items": [], "next_token": None}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"limit": 0}, 422, "ValidationError"),
        ({"limit": 101}, 422, "ValidationError"),
        ({"limit": "ten"}, 422, "ValidationError"),
        ({"next_token": "not-a-token"}, 400, "InvalidNextToken"),
        ({"next_token": "eyJpZCI6IDF9"}, 400, "InvalidNextToken"),  # {"id": 1}
    ],
)
def test_list_rejects_bad_parameters(api: Client, query: dict[str, Any], status: int, code: str) -> None:
    response = api.get("/movies", query_string=query)
    assert response.status_code == status and error_of(response) == code


def test_put_without_if_match_creates_under_the_given_id(api: Client) -> None:
    response = api.put("/movies/tt0078748", json=ALIEN)
    assert response.status_code == 201
    assert response.headers["Location"] == "/movies/tt0078748" and response.headers["ETag"] == '"1"'
    assert response.get_json() == {**ALIEN, "id": "tt0078748", "version": 1}


def test_put_without_if_match_replaces_like_the_reference_design(api: Client) -> None:
    # The reference design's clients PUT with no precondition and expect the movie replaced.
    api.put("/movies/tt0078748", json=ALIEN)
    response = api.put("/movies/tt0078748", json={**ALIEN, "title": "Aliens"})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert response.get_json() == {**ALIEN, "title": "Aliens", "id": "tt0078748", "version": 2}
    assert api.get("/movies/tt0078748").get_json()["title"] == "Aliens"


def test_strict_mode_put_without_if_match_never_overwrites(strict_api: Client) -> None:
    assert strict_api.put("/movies/tt0078748", json=ALIEN).status_code == 201
    response = strict_api.put("/movies/tt0078748", json={**ALIEN, "title": "Aliens"})
    assert response.status_code == 409 and error_of(response) == "MovieExists"
    assert response.headers["ETag"] == '"1"' and 'If-Match: "1"' in response.get_json()["message"]
    assert strict_api.get("/movies/tt0078748").get_json()["title"] == "Alien"
    replaced = strict_api.put(
        "/movies/tt0078748", json={**ALIEN, "title": "Aliens"}, headers={"If-Match": '"1"'}
    )
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"2"'


def test_put_with_current_etag_replaces_and_bumps_version(api: Client) -> None:
    location = create(api).headers["Location"]
    response = api.put(location, json={"title": "Aliens", "rating": 8.4}, headers={"If-Match": '"1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert response.get_json()["genres"] == [] and response.get_json()["version"] == 2
    assert api.get(location).get_json() == response.get_json()


def test_put_with_any_version_and_etag_lists(api: Client) -> None:
    location = create(api).headers["Location"]
    assert api.put(location, json=ALIEN, headers={"If-Match": "*"}).headers["ETag"] == '"2"'
    assert api.put(location, json=ALIEN, headers={"If-Match": '"7", "2"'}).headers["ETag"] == '"3"'


def test_put_with_stale_etag_is_412_and_changes_nothing(api: Client) -> None:
    location = create(api).headers["Location"]
    api.put(location, json={**ALIEN, "rating": 9}, headers={"If-Match": '"1"'})
    for stale in ('"1"', 'W/"2"'):  # weak tags never match (strong comparison)
        response = api.put(location, json={**ALIEN, "rating": 1}, headers={"If-Match": stale})
        assert response.status_code == 412 and error_of(response) == "VersionMismatch"
        assert response.headers["ETag"] == '"2"'
    assert api.get(location).get_json()["rating"] == 9


@pytest.mark.parametrize("if_match", ['"1"', "*", 'W/"1"'])
def test_if_match_on_missing_movie_is_404_and_creates_nothing(api: Client, if_match: str) -> None:
    for response in (
        api.put("/movies/ghost", json=ALIEN, headers={"If-Match": if_match}),
        api.delete("/movies/ghost", headers={"If-Match": if_match}),
    ):
        assert response.status_code == 404 and error_of(response) == "MovieNotFound"
    assert api.get("/movies/ghost").status_code == 404


def test_concurrent_puts_with_the_same_etag_let_exactly_one_win(api: Client) -> None:
    location = create(api).headers["Location"]
    writers = 8
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def write(n: int) -> None:
        client = Client(api.application)
        barrier.wait()
        response = client.put(location, json={**ALIEN, "title": f"Writer {n}"}, headers={"If-Match": '"1"'})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [412] * (writers - 1)
    final = api.get(location).get_json()
    assert final["version"] == 2 and final["title"].startswith("Writer ")


def test_delete_without_if_match_deletes_like_the_reference_design(api: Client) -> None:
    location = create(api).headers["Location"]
    response = api.delete(location)
    assert response.status_code == 204 and response.get_data() == b""
    assert api.get(location).status_code == 404
    again = api.delete(location)
    assert again.status_code == 404 and error_of(again) == "MovieNotFound"


def test_strict_mode_delete_needs_if_match(strict_api: Client) -> None:
    location = create(strict_api).headers["Location"]
    response = strict_api.delete(location)
    assert response.status_code == 428 and error_of(response) == "IfMatchRequired"
    assert strict_api.get(location).status_code == 200
    assert strict_api.delete(location, headers={"If-Match": '"1"'}).status_code == 204


def test_delete_with_stale_etag_is_412(api: Client) -> None:
    location = create(api).headers["Location"]
    api.put(location, json=ALIEN, headers={"If-Match": '"1"'})
    response = api.delete(location, headers={"If-Match": '"1"'})
    assert response.status_code == 412 and response.headers["ETag"] == '"2"'
    assert api.get(location).status_code == 200


def test_delete_with_current_etag_then_404(api: Client) -> None:
    location = create(api).headers["Location"]
    response = api.delete(location, headers={"If-Match": '"1"'})
    assert response.status_code == 204 and response.get_data() == b""
    assert api.get(location).status_code == 404
    again = api.delete(location, headers={"If-Match": '"1"'})
    assert again.status_code == 404 and error_of(again) == "MovieNotFound"


@pytest.mark.parametrize("header", ["3", '"1" junk', " ", '"1",' * 21, '"1", ' * 20 + '"2"'])
def test_malformed_if_match_is_422(api: Client, header: str) -> None:
    location = create(api).headers["Location"]
    response = api.put(location, json=ALIEN, headers={"If-Match": header})
    assert response.status_code == 422 and error_of(response) == "ValidationError"
    assert response.get_json()["details"][0]["location"] == "header.if-match"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "rating": 5}, "body.title"),
        ({"title": "   ", "rating": 5}, "body.title"),
        ({"title": "A\r\nBcc: x", "rating": 5}, "body.title"),
        ({"title": "x" * 501, "rating": 5}, "body.title"),
        ({"title": "\ud800", "rating": 5}, "body.title"),
        ({"title": "A", "rating": 10.5}, "body.rating"),
        ({"title": "A", "rating": "8"}, "body.rating"),
        ({"title": "A", "rating": True}, "body.rating"),
        ({"title": "A", "rating": 1e-300}, "body.rating"),
        ({"title": "A", "rating": 5, "genres": [""]}, "body.genres.0"),
        ({"title": "A", "rating": 5, "genres": ["g"] * 51}, "body.genres"),
        ({"title": "A", "rating": 5, "raiting": 5}, "body.raiting"),
        ({"rating": 5}, "body.title"),
        ([], "body"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(api: Client, body: Any, field: str) -> None:
    for response in (api.post("/movies", json=body), api.put("/movies/m1", json=body)):
        assert response.status_code == 422 and error_of(response) == "ValidationError"
        locations = [detail["location"] for detail in response.get_json()["details"]]
        assert field in locations, locations


def test_invalid_path_id_is_422(api: Client) -> None:
    response = api.get("/movies/" + "x" * 257)
    assert response.status_code == 422
    assert response.get_json()["details"][0]["location"] == "path.movie_id"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"title": ', "application/json", 400, "MalformedJSON"),
        (b"\xff\xfe{}", "application/json", 400, "MalformedBody"),
        (b"<movie/>", "application/xml", 415, "UnsupportedMediaType"),
        (b"", "application/json", 422, "ValidationError"),
    ],
)
def test_unreadable_bodies(api: Client, data: bytes, content_type: str, status: int, code: str) -> None:
    response = api.post("/movies", data=data, headers={"Content-Type": content_type})
    assert response.status_code == status and error_of(response) == code


def test_unknown_route_is_404_json(api: Client) -> None:
    response = api.get("/films")
    assert response.status_code == 404 and error_of(response) == "NoSuchRoute"


def test_unsupported_method_is_405_with_allow(api: Client) -> None:
    response = api.patch("/movies/m1", json=ALIEN)
    assert response.status_code == 405 and error_of(response) == "MethodNotAllowed"
    assert response.headers["Allow"] == "DELETE, GET, PUT"


def test_the_api_never_publishes(api: Client, relay_env: Messaging) -> None:
    location = create(api).headers["Location"]
    api.put(location, json=ALIEN, headers={"If-Match": '"1"'})
    api.delete(location, headers={"If-Match": '"2"'})
    # The topic exists and EVENTS_TOPIC_ARN names it, yet nothing arrives until the relay runs.
    assert drain(relay_env.queue_url) == []


@pytest.mark.parametrize("movie_id", ["a b", "tt/0078748", "é?#%", "100%"])
def test_ids_that_need_percent_encoding(api: Client, movie_id: str) -> None:
    path = "/movies/" + quote(movie_id, safe="")
    created = api.put(path, json=ALIEN)
    assert created.status_code == 201 and created.get_json()["id"] == movie_id
    assert created.headers["Location"] == path
    assert api.get(path).get_json()["id"] == movie_id
    assert api.delete(path, headers={"If-Match": '"1"'}).status_code == 204


def test_encoded_control_character_in_id_is_422(api: Client) -> None:
    response = api.put("/movies/a%0Ab", json=ALIEN)
    assert response.status_code == 422 and response.get_json()["details"][0]["location"] == "path.movie_id"


def test_concurrent_requests_each_get_an_answer_to_their_own_request(api: Client) -> None:
    """Powertools keeps the current event on a class, shared by threads: the local API Gateway runs one
    invocation at a time (as one Lambda execution environment does), so no request reads another's."""
    writers = 8
    barrier = threading.Barrier(writers)
    answers: dict[int, str] = {}
    rounds = 25

    def post(n: int) -> None:
        client = Client(api.application)
        barrier.wait()
        for round_number in range(rounds):
            title = f"Writer {n} round {round_number}"
            response = client.post("/movies", json={**ALIEN, "title": title})
            answers[n * 100 + round_number] = response.get_json()["title"]

    threads = [threading.Thread(target=post, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {n * 100 + r: f"Writer {n} round {r}" for n in range(writers) for r in range(rounds)}
