"""``Idempotency-Key`` on POST /movies (draft-ietf-httpapi-idempotency-key-header), on Powertools
idempotency persisted in DynamoDB.

A client that retries a POST after a timeout cannot know whether the first attempt created the movie. With
the same ``Idempotency-Key`` the retry is safe:

* the first request with a key creates the movie and stores its response under the key (TTL
  ``MOVIES_API_IDEMPOTENCY_TTL_SECONDS``, 24 hours by default);
* a retry with the same key and the same body gets that first response again (201, same id, same
  ETag, ``Idempotent-Replayed: true``) and creates nothing;
* the same key with another body is refused (422 naming the header): a key names one request;
* the same key while the first request is still running gets 409 (retry later).

The body is compared as the validated movie, not as bytes: the same fields in another order or spacing
are the same request. Keys are global (the API has no caller identity to scope them by); they are stored
hashed, under the prefix :data:`KEY_PREFIX` in the table the email consumer also uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from moviepipe.runtime.powertools import DataRecord
from producers.movies_api.models import Movie, MovieFields

#: Records of this API in the shared idempotency table start with this (the consumer's use another).
KEY_PREFIX: Final = "moviepipe-movies-api-post"
HEADER: Final = "Idempotency-Key"
#: Longest key accepted (a UUID is 36; the draft sets no limit, DynamoDB keys allow 2 KB).
MAX_KEY_LENGTH: Final = 255
#: The header's OpenAPI pattern: 1 to 255 visible ASCII characters (spaces inside), optionally quoted as
#: the draft's structured-field string (``"8e03978e-…"`` and ``8e03978e-…`` name the same key).
KEY_PATTERN: Final = rf"^[\x21-\x7e]([\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?$"
REPLAYED_HEADER: Final = "Idempotent-Replayed"


class InvalidIdempotencyKeyError(ValueError):
    """An ``Idempotency-Key`` that names no key (``""`` once its quotes are removed)."""


def normalize_key(header: str) -> str:
    """The key an ``Idempotency-Key`` header names: the header's sf-string without its quotes."""
    key = header.strip()
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not key:
        raise InvalidIdempotencyKeyError(f"{HEADER} must name a key, such as a UUID")
    return key


@dataclass(frozen=True)
class Outcome:
    """The movie a keyed POST created, and whether this answer is a replay of the first one."""

    movie: Movie
    replayed: bool


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    # Powertools calls this only when it answers from a completed record instead of running the function.
    return {**response, "replayed": True}


class IdempotentCreate:
    """Runs ``create`` at most once per key (within the TTL), answering retries from the stored record."""

    def __init__(self, persistence: BasePersistenceLayer, ttl_seconds: int) -> None:
        self._persistence = persistence
        self._ttl_seconds = ttl_seconds
        # Configured once, up front (Powertools would otherwise configure lazily on first use).
        persistence.configure(self._config(), key_prefix=KEY_PREFIX)

    def _config(self) -> IdempotencyConfig:
        return IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="movie",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._ttl_seconds,
            response_hook=_mark_replayed,
        )

    def __call__(
        self,
        key: str,
        fields: MovieFields,
        create: Callable[[MovieFields], Movie],
        context: LambdaContext | None,
    ) -> Outcome:
        config = self._config()
        if context is not None:
            # The in-progress lock expires with this invocation: a retry after a timeout is not blocked.
            config.register_lambda_context(context)

        def run(request: dict[str, Any]) -> dict[str, Any]:
            return {"movie": create(fields).model_dump(mode="json"), "replayed": False}

        once = idempotent_function(
            run,
            data_keyword_argument="request",
            persistence_store=self._persistence,
            config=config,
            key_prefix=KEY_PREFIX,
        )
        result = once(request={"key": key, "movie": fields.model_dump(mode="json")})
        return Outcome(Movie.model_validate(result["movie"]), replayed=bool(result.get("replayed")))
