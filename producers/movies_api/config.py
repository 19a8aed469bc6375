"""Configuration of the movies API, parsed from its environment variables (given as a mapping).

Every problem raises :class:`~moviepipe.runtime.settings.ConfigurationError` naming the variable.

* ``MOVIES_TABLE_NAME`` (required): the Movies table.
* ``IDEMPOTENCY_TABLE_NAME``: where ``Idempotency-Key`` records live. Needed only by a POST that sends
  the header (the API serves everything else without it); such a POST fails with the variable named.
* ``MOVIES_API_IDEMPOTENCY_TTL_SECONDS``: how long a key is remembered (default 24 hours).
* ``MOVIES_API_REQUIRE_IF_MATCH``: ``true`` for the strict mode (PUT without If-Match only creates,
  409 if the id exists; DELETE without If-Match is 428). Default ``false``: the reference design's
  clients, which send no preconditions, work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from moviepipe.runtime.settings import ConfigurationError, Env, Resources, require_env

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
MAX_TTL_SECONDS = 10 * 365 * 86400


@dataclass(frozen=True)
class ApiConfig:
    movies_table: str
    idempotency_table: str | None = None
    idempotency_ttl_seconds: int = Resources.MOVIES_API_IDEMPOTENCY_TTL_SECONDS
    require_if_match: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiConfig:
        return cls(
            movies_table=require_env(Env.MOVIES_TABLE_NAME, env),
            idempotency_table=env.get(Env.IDEMPOTENCY_TABLE_NAME, "").strip() or None,
            idempotency_ttl_seconds=_ttl(env),
            require_if_match=_flag(env, Env.MOVIES_API_REQUIRE_IF_MATCH),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"environment variable {name} must be true or false, not {raw!r}")


def _ttl(env: Mapping[str, str]) -> int:
    name = Env.MOVIES_API_IDEMPOTENCY_TTL_SECONDS
    raw = env.get(name, "").strip()
    if not raw:
        return Resources.MOVIES_API_IDEMPOTENCY_TTL_SECONDS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_TTL_SECONDS:
        raise ConfigurationError(
            f"environment variable {name} must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}"
        )
    return int(raw)
