"""The cases of issue 9, one example each: the reference design's clients, both payload formats, hostile
bodies, strong ETag comparison, items stored without ``version``, and ``Idempotency-Key`` on POST."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from moviepipe.local.http_api import PayloadFormat, movies_api_app
from moviepipe.local.lambda_context import LocalLambdaContext
from moviepipe.runtime.settings import Resources
from producers.movies_api.gateway import MAX_BODY_BYTES
from tests.support import aws
from tests.support.movies import API_ENVIRONMENT, Deployed, api_fixture, api_lambda, movies_stream_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

ALIEN = {"title": "Alien", "rating": 8.5, "genres": ["Horror", "Science fiction"]}
FORMATS: list[PayloadFormat] = ["rest", "http", "function-url"]


def error_of(response: TestResponse) -> str:
    body = response.get_json()
    assert isinstance(body["message"], str) and body["message"], body
    return str(body["error"])


def scan() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=Resources.MOVIES_TABLE)["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


@pytest.fixture(params=FORMATS)
def any_api(request: pytest.FixtureRequest, movies_stream: str) -> Client:
    """The API behind each front: REST (1.0), HTTP API (2.0) and function URL (2.0) events."""
    return Client(movies_api_app(api_lambda, payload_format=request.param))


# -- the reference design's clients -----------------------------------------------------------------
def test_reference_client_puts_and_deletes_without_preconditions(any_api: Client) -> None:
    assert any_api.put("/movies/m1", json=ALIEN).status_code == 201
    replaced = any_api.put("/movies/m1", json={**ALIEN, "rating": 9.1})
    assert replaced.status_code == 200 and replaced.get_json()["rating"] == 9.1
    assert any_api.delete("/movies/m1").status_code == 204
    assert any_api.get("/movies/m1").status_code == 404


def test_concurrent_unconditional_puts_each_get_their_own_version(api: Client) -> None:
    writers = 6
    barrier = threading.Barrier(writers)
    answers: list[tuple[int, str]] = []

    def write(n: int) -> None:
        client = Client(api.application)
        barrier.wait()
        response = client.put("/movies/race", json={**ALIEN, "title": f"Writer {n}"})
        answers.append((response.status_code, response.headers["ETag"]))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Exactly one created it; none was lost: the version counts every write, and the last one is stored.
    # (That each answer names its own version rests on DynamoDB returning ALL_OLD atomically with the
    # update; the embedded AWS does not always, so only the counts are checked here.)
    assert sorted(status for status, _ in answers) == [200] * (writers - 1) + [201]
    stored = api.get("/movies/race").get_json()
    assert stored["version"] == writers and stored["title"] in {f"Writer {n}" for n in range(writers)}
    assert ('"1"' in {tag for _, tag in answers}) and all(tag != '"0"' for _, tag in answers)


def test_a_get_body_put_back_unchanged_is_accepted(any_api: Client) -> None:
    any_api.put("/movies/m1", json=ALIEN)
    read = any_api.get("/movies/m1").get_json()
    assert set(read) == {"id", "title", "rating", "genres", "version"}
    response = any_api.put("/movies/m1", json=read)
    assert response.status_code == 200 and response.get_json() == {**read, "version": 2}


def test_a_body_version_acts_as_if_match(api: Client) -> None:
    api.put("/movies/m1", json=ALIEN)
    stale = api.get("/movies/m1").get_json()
    api.put("/movies/m1", json={**ALIEN, "rating": 1})  # someone else writes version 2
    response = api.put("/movies/m1", json={**stale, "rating": 9})
    assert response.status_code == 412 and error_of(response) == "VersionMismatch"
    assert response.headers["ETag"] == '"2"' and api.get("/movies/m1").get_json()["rating"] == 1
    # Header and body version together: both must hold.
    both = api.put("/movies/m1", json={**ALIEN, "version": 2}, headers={"If-Match": '"1"'})
    assert both.status_code == 412
    assert api.put("/movies/m1", json={**ALIEN, "version": 2}, headers={"If-Match": "*"}).status_code == 200


def test_a_body_version_on_a_missing_movie_is_404_and_creates_nothing(api: Client) -> None:
    response = api.put("/movies/ghost", json={**ALIEN, "id": "ghost", "version": 1})
    assert response.status_code == 404 and api.get("/movies/ghost").status_code == 404


def test_a_body_id_other_than_the_path_id_is_422(api: Client) -> None:
    api.put("/movies/m1", json=ALIEN)
    response = api.put("/movies/m1", json={**ALIEN, "id": "m2"})
    assert response.status_code == 422 and error_of(response) == "ValidationError"
    assert response.get_json()["details"][0]["location"] == "body.id"
    assert api.get("/movies/m2").status_code == 404 and api.get("/movies/m1").get_json()["version"] == 1


def test_post_refuses_id_and_version(api: Client) -> None:
    response = api.post("/movies", json={**ALIEN, "id": "mine"})
    assert response.status_code == 422 and response.get_json()["details"][0]["location"] == "body.id"


# -- strong comparison -------------------------------------------------------------------------------
@pytest.mark.parametrize("tag", ['"03"', '"3a"', '"+3"', 'W/"3"', '"3.0"'])
def test_if_match_compares_opaque_tags_strongly(api: Client, tag: str) -> None:
    api.put("/movies/m1", json=ALIEN)
    api.put("/movies/m1", json=ALIEN)
    api.put("/movies/m1", json=ALIEN)
    assert api.get("/movies/m1").headers["ETag"] == '"3"'
    for response in (
        api.put("/movies/m1", json={**ALIEN, "rating": 1}, headers={"If-Match": tag}),
        api.delete("/movies/m1", headers={"If-Match": tag}),
    ):
        assert response.status_code == 412 and response.headers["ETag"] == '"3"'
    assert api.get("/movies/m1").get_json()["rating"] == ALIEN["rating"]
    assert api.delete("/movies/m1", headers={"If-Match": '"3"'}).status_code == 204


# -- payload formats and events of no known format -------------------------------------------------
def test_every_route_and_error_answers_in_each_payload_format(any_api: Client) -> None:
    created = any_api.post("/movies", json=ALIEN)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    location = created.headers["Location"]
    assert any_api.get(location).get_json()["title"] == "Alien"
    assert any_api.get("/movies", query_string={"limit": 5}).get_json()["items"][0]["id"] in location
    lists = any_api.put(location, json=ALIEN, headers={"If-Match": '"7", "1"'})
    assert lists.status_code == 200 and lists.headers["ETag"] == '"2"'
    assert any_api.put(location, json=ALIEN, headers={"If-Match": '"1"'}).status_code == 412
    assert any_api.patch(location).headers["Allow"] == "DELETE, GET, PUT"
    assert any_api.get("/films").status_code == 404
    assert any_api.delete(location, headers={"If-Match": '"2"'}).status_code == 204


def _context() -> Any:  # LocalLambdaContext, which honours LambdaContext's interface
    return LocalLambdaContext.new_invocation("movies-api")


def http_api_event(method: str, path: str, body: str | None = None, **extra: Any) -> dict[str, Any]:
    """An HTTP API event as AWS documents it (payload format 2.0), with no httpMethod anywhere."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "abc.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 1,
        },
        "isBase64Encoded": False,
        **extra,
    }
    if body is not None:
        event["body"] = body
    return event


@pytest.mark.usefixtures("movies_stream")
def test_an_http_api_event_is_served_not_a_key_error() -> None:
    created = api_lambda(http_api_event("POST", "/movies", json.dumps(ALIEN)), _context())
    assert created["statusCode"] == 201 and "multiValueHeaders" not in created
    movie_id = json.loads(created["body"])["id"]
    read = api_lambda(http_api_event("GET", f"/movies/{movie_id}"), _context())
    assert read["statusCode"] == 200 and read["headers"]["ETag"] == '"1"'


@pytest.mark.usefixtures("movies_stream")
def test_an_http_api_event_on_a_named_stage_routes_without_the_stage() -> None:
    event = http_api_event("GET", "/prod/movies")
    event["requestContext"]["stage"] = "prod"
    assert api_lambda(event, _context())["statusCode"] == 200


@pytest.mark.usefixtures("movies_stream")
@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({}, "not an API Gateway or function URL request"),
        ({"Records": []}, "not an API Gateway or function URL request"),
        ([1, 2], "is a list"),
        ({"version": "3.0", "rawPath": "/movies"}, "not 1.0 or 2.0"),
        ({"version": "2.0", "rawPath": "/movies"}, "requestContext"),
        ({"version": "2.0", "rawPath": "/movies", "requestContext": {"http": {}}}, "method"),
        ({"httpMethod": "GET"}, "path"),
        ({"httpMethod": 7, "path": "/movies"}, "httpMethod"),
        ({"httpMethod": "GET", "path": "/movies", "headers": ["x"]}, "headers"),
        ({"httpMethod": "POST", "path": "/movies", "body": {"title": "A"}}, "body"),
    ],
)
def test_an_event_of_no_known_format_gets_a_clear_400(event: Any, words: str) -> None:
    response = api_lambda(event, _context())
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["error"] == "UnsupportedEvent" and words in body["message"], body
    assert scan() == []


@pytest.mark.usefixtures("movies_stream")
def test_a_body_marked_base64_that_is_not_is_400() -> None:
    event = http_api_event("POST", "/movies", "***not base64***", isBase64Encoded=True)
    response = api_lambda(event, _context())
    assert response["statusCode"] == 400 and json.loads(response["body"])["error"] == "MalformedBody"


# -- hostile bodies: no 5xx, a clear JSON error, nothing written ------------------------------------------
def nested(levels: int) -> bytes:
    return ('{"title": "A", "rating": 5, "genres": ' + "[" * levels + "]" * levels + "}").encode()


@pytest.mark.parametrize(
    ("data", "status", "code", "location"),
    [
        (nested(1000), 422, "ValidationError", "body"),
        (b'{"title": "A", "rating": ' + b"9" * 4301 + b"}", 422, "ValidationError", "body"),
        (b'{"title": "A", "rating": ' + b"9" * 70 + b"}", 422, "ValidationError", "body"),
        (b'{"title": "A", "rating": 1e400}', 422, "ValidationError", "body"),
        (b'{"title": "\\udc80", "rating": 5}', 422, "ValidationError", "body.title"),
        (b'{"title": "A", "rating": NaN}', 400, "MalformedJSON", None),
        (b'{"title": "A", "rating": 5} trailing', 400, "MalformedJSON", None),
    ],
)
def test_hostile_json_bodies_get_a_clear_4xx(
    any_api: Client, data: bytes, status: int, code: str, location: str | None
) -> None:
    for response in (
        any_api.post("/movies", data=data, content_type="application/json"),
        any_api.put("/movies/m1", data=data, content_type="application/json"),
    ):
        assert response.status_code == status and error_of(response) == code, response.get_data()
        if location is not None:
            assert response.get_json()["details"][0]["location"] == location
    assert scan() == []


def test_a_body_above_the_limit_is_413(any_api: Client) -> None:
    padded = b'{"title": "A", "rating": 5}' + b" " * MAX_BODY_BYTES
    response = any_api.post("/movies", data=padded, content_type="application/json")
    assert response.status_code == 413 and error_of(response) == "BodyTooLarge"
    assert str(MAX_BODY_BYTES) in response.get_json()["message"]
    just_fits = b'{"title": "A", "rating": 5}'.ljust(MAX_BODY_BYTES)
    assert any_api.post("/movies", data=just_fits, content_type="application/json").status_code == 201


@pytest.mark.usefixtures("movies_stream")
def test_a_60_mb_body_is_refused_without_being_processed() -> None:
    body = '{"title": "A", "rating": 5, "genres": ["' + "x" * (60 * 1024 * 1024) + '"]}'
    event = http_api_event("POST", "/movies", body)
    response = api_lambda(event, _context())
    assert response["statusCode"] == 413 and json.loads(response["body"])["error"] == "BodyTooLarge"
    assert scan() == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl -d with -H 'Content-Type:' removed, or any client that sends none
        {"Content-Type": "application/x-www-form-urlencoded"},  # what curl -d sends by default
        {"Content-Type": "text/plain"},
        {"Content-Type": "multipart/form-data"},
        {"Content-Type": "application/jsonx"},
    ],
)
def test_a_body_not_sent_as_json_is_415(api: Client, headers: dict[str, str]) -> None:
    data = json.dumps(ALIEN).encode()
    for response in (
        api.post("/movies", data=data, headers=headers),
        api.put("/movies/m1", data=data, headers=headers),
    ):
        assert response.status_code == 415 and error_of(response) == "UnsupportedMediaType"
    assert scan() == []


def test_json_with_parameters_and_any_case_is_json(api: Client) -> None:
    data = json.dumps(ALIEN).encode()
    response = api.post("/movies", data=data, headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 201


# -- items without version, or in the reference design's schema -------------------------------------------
def put_raw(item: dict[str, Any]) -> None:
    aws.client("dynamodb").put_item(TableName=Resources.MOVIES_TABLE, Item=item)


REFERENCE_ITEM = {
    "id": {"S": "42"},
    "title": {"S": "Up"},
    "rating": {"N": "8.3"},
    "genres": {"SS": ["Animation", "Adventure"]},
    "year": {"N": "2009"},
}


def test_an_item_without_version_reads_as_version_0(any_api: Client) -> None:
    put_raw({"id": {"S": "42"}, "title": {"S": "Up"}, "rating": {"N": "8.3"}, "genres": {"L": []}})
    read = any_api.get("/movies/42")
    assert read.status_code == 200 and read.headers["ETag"] == '"0"'
    assert read.get_json() == {"id": "42", "title": "Up", "rating": 8.3, "genres": [], "version": 0}
    assert any_api.get("/movies").get_json()["items"] == [read.get_json()]
    # A conditional write on version 0 matches it, a stale one does not, and the write makes it version 1.
    assert any_api.put("/movies/42", json=ALIEN, headers={"If-Match": '"1"'}).status_code == 412
    replaced = any_api.put("/movies/42", json=ALIEN, headers={"If-Match": '"0"'})
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"1"'


def test_an_item_in_the_reference_schema_is_served(api: Client) -> None:
    put_raw(REFERENCE_ITEM)
    read = api.get("/movies/42").get_json()
    assert read == {
        "id": "42",
        "title": "Up",
        "rating": 8.3,
        "genres": ["Adventure", "Animation"],
        "version": 0,
    }
    assert api.put("/movies/42", json=read).status_code == 200  # the GET body back, version 0 as If-Match
    assert api.get("/movies/42").get_json()["version"] == 1
    [stored] = [item for item in scan() if item["id"] == {"S": "42"}]
    assert stored["year"] == {"N": "2009"}  # attributes the API does not know are left alone
    put_raw({**REFERENCE_ITEM, "id": {"S": "43"}})
    assert api.put("/movies/43", json=ALIEN).get_json()["version"] == 1
    put_raw({**REFERENCE_ITEM, "id": {"S": "44"}})
    assert api.delete("/movies/44", headers={"If-Match": '"0"'}).status_code == 204


def test_an_item_that_is_no_movie_is_a_clear_error_not_a_crash(api: Client) -> None:
    put_raw({"id": {"S": "broken"}, "rating": {"N": "5"}})
    response = api.get("/movies/broken")
    # The server's data is wrong, not the request: a 500 that says which item and why, in JSON.
    assert response.status_code == 500 and error_of(response) == "StoredMovieInvalid"
    assert "'broken'" in response.get_json()["message"] and "title" in response.get_json()["message"]
    # Writes still work on it, and repair it.
    assert api.put("/movies/broken", json=ALIEN).status_code == 200
    assert api.get("/movies/broken").get_json()["version"] == 1


# -- Idempotency-Key ----------------------------------------------------------------------------------
def test_a_retried_post_with_the_same_key_creates_nothing(any_api: Client) -> None:
    key = {"Idempotency-Key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}
    first = any_api.post("/movies", json=ALIEN, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    retry = any_api.post("/movies", json=dict(reversed(ALIEN.items())), headers=key)  # same JSON, reordered
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert retry.headers["Location"] == first.headers["Location"] and retry.headers["ETag"] == '"1"'
    assert len(scan()) == 1


def test_the_key_may_be_sent_as_a_structured_field_string(api: Client) -> None:
    first = api.post("/movies", json=ALIEN, headers={"Idempotency-Key": '"abc"'})
    retry = api.post("/movies", json=ALIEN, headers={"Idempotency-Key": "abc"})
    assert retry.get_json()["id"] == first.get_json()["id"] and len(scan()) == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(any_api: Client) -> None:
    key = {"Idempotency-Key": "order-1"}
    any_api.post("/movies", json=ALIEN, headers=key)
    response = any_api.post("/movies", json={**ALIEN, "rating": 2}, headers=key)
    assert response.status_code == 422 and error_of(response) == "IdempotencyKeyReused"
    assert "Idempotency-Key" in response.get_json()["message"]
    assert response.get_json()["details"][0]["location"] == "header.idempotency-key"
    assert len(scan()) == 1


def test_without_a_key_every_post_creates(api: Client) -> None:
    api.post("/movies", json=ALIEN)
    api.post("/movies", json=ALIEN)
    assert len(scan()) == 2
    other = api.post("/movies", json=ALIEN, headers={"Idempotency-Key": "k2"})
    assert other.status_code == 201 and len(scan()) == 3


@pytest.mark.parametrize("key", ['""', "a\tb", "é", "x" * 256])
def test_a_key_that_names_nothing_is_a_4xx(api: Client, key: str) -> None:
    response = api.post("/movies", json=ALIEN, headers={"Idempotency-Key": key})
    assert response.status_code in (400, 422)
    assert error_of(response) in ("InvalidIdempotencyKey", "ValidationError")
    assert scan() == []


def test_a_refused_body_does_not_burn_the_key(api: Client) -> None:
    key = {"Idempotency-Key": "k3"}
    assert api.post("/movies", json={"title": "", "rating": 5}, headers=key).status_code == 422
    assert api.post("/movies", json=ALIEN, headers=key).status_code == 201


def test_the_same_key_while_the_first_request_runs_is_refused(api: Client) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    from producers.movies_api.config import ApiConfig
    from producers.movies_api.handler import build_services
    from producers.movies_api.models import Movie, MovieFields

    services = build_services(ApiConfig.from_env(API_ENVIRONMENT), aws.clients())
    assert services.idempotent_create is not None
    store = services.idempotent_create()
    fields = MovieFields.model_validate(ALIEN)
    seen: list[str] = []

    def create_while_a_retry_arrives(movie: MovieFields) -> Movie:
        # The retry arrives while the first request is still creating: it must not create a second movie.
        with pytest.raises(IdempotencyAlreadyInProgressError):
            store("k-busy", fields, lambda again: pytest.fail("the retry ran the create"), _context())
        seen.append("retry refused")
        return Movie(id="m-busy", version=1, **movie.model_dump())

    outcome = store("k-busy", fields, create_while_a_retry_arrives, _context())
    assert seen == ["retry refused"] and outcome.movie.id == "m-busy" and not outcome.replayed


def test_a_key_in_progress_is_409_with_retry_after(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    from producers.movies_api.idempotency import IdempotentCreate

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise IdempotencyAlreadyInProgressError("in progress")

    monkeypatch.setattr(IdempotentCreate, "__call__", busy)
    response = api.post("/movies", json=ALIEN, headers={"Idempotency-Key": "k"})
    assert response.status_code == 409 and error_of(response) == "IdempotencyKeyInUse"
    assert response.headers["Retry-After"] == "1" and scan() == []


@pytest.fixture
def no_idempotency_table(movies_stream: str) -> Client:
    Deployed.deploy_api({k: v for k, v in API_ENVIRONMENT.items() if k != "IDEMPOTENCY_TABLE_NAME"})
    return Client(movies_api_app(api_lambda))


def test_without_an_idempotency_table_only_keyed_posts_need_one(no_idempotency_table: Client) -> None:
    api = no_idempotency_table
    assert api.post("/movies", json=ALIEN).status_code == 201
    with pytest.raises(Exception, match="IDEMPOTENCY_TABLE_NAME"):
        api.post("/movies", json=ALIEN, headers={"Idempotency-Key": "k"})
