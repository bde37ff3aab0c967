"""API keys: scopes, hashed storage (PostgreSQL, or in memory for tests), authentication and per-key rate limits.

A key is ``dpk_<id>_<secret>``: the id names it (in listings, logs and revocations), the secret is 32 random bytes.
Only the secret's SHA-256 is stored: the secret is random and long, so a fast hash is as safe as a slow one (no
dictionary to try), and it lets every request be checked in microseconds. A key is shown once, when created.

Every route but ``/healthz``, ``/metrics`` and the OpenAPI pages needs a key with its scope, sent as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``: none or an unknown or revoked one is a 401, one without
the route's scope a 403, and a key over its rate (a token bucket per key: ``serving.rate_limit_per_s`` with bursts
of ``serving.rate_limit_burst``) a 429 with ``Retry-After``. Keys that checked out are remembered for
``serving.key_cache_s``, which is how long a revocation can take to bite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from dp_data_api.errors import BadParameterError, DataApiError, UnavailableError

METRICS, ORDERS, TABLES = "metrics:read", "orders:read", "tables:read"
SCOPES = (METRICS, ORDERS, TABLES)
PREFIX = "dpk_"
_TOKEN = re.compile(r"^dpk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,99}$")


class UnauthorizedError(DataApiError):
    """No key, or a key this API does not know (or revoked): 401."""

    status = 401
    code = "unauthorized"


class ForbiddenError(DataApiError):
    """A valid key without the route's scope: 403."""

    status = 403
    code = "forbidden"


class RateLimitedError(DataApiError):
    """A key over its rate: 429, with the seconds until the next request may pass."""

    status = 429
    code = "rate_limited"

    def __init__(self, key_id: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"key {key_id} is over its rate limit: retry in {retry_after_s} s")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed key, else None."""
    match = _TOKEN.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def checked_scopes(scopes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown or not chosen:
        raise BadParameterError(
            "scope", f"give one or more of {', '.join(SCOPES)} (got {', '.join(unknown) or 'none'})"
        )
    return chosen


def checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise BadParameterError("name", "1-100 characters: letters, digits, space and . _ @ : -")
    return name


class KeyStore(Protocol):
    def add(self, key: ApiKey, hashed: str) -> None: ...

    def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its secret's hash, None when unknown."""
        ...

    def all(self) -> list[ApiKey]: ...

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Mark the key revoked; False when unknown or already revoked."""
        ...


def create_key(store: KeyStore, name: str, scopes: Iterable[str], now: dt.datetime | None = None) -> tuple[ApiKey, str]:
    """A new key in ``store``: the key and its token (shown once; only its hash is kept)."""
    key = ApiKey(secrets.token_hex(6), checked_name(name), checked_scopes(scopes), now or dt.datetime.now(dt.UTC))
    secret = secrets.token_urlsafe(32)
    store.add(key, digest(secret))
    return key, f"{PREFIX}{key.key_id}_{secret}"


class MemoryKeyStore:
    """Keys in a dict (unit tests)."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[ApiKey, str]] = {}

    def add(self, key: ApiKey, hashed: str) -> None:
        self._keys[key.key_id] = (key, hashed)

    def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        return self._keys.get(key_id)

    def all(self) -> list[ApiKey]:
        return sorted((k for k, _ in self._keys.values()), key=lambda k: (k.created_at, k.key_id))

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        found = self._keys.get(key_id)
        if found is None or found[0].revoked_at is not None:
            return False
        key, hashed = found
        self._keys[key_id] = (ApiKey(key.key_id, key.name, key.scopes, key.created_at, at), hashed)
        return True


class PostgresKeyStore:
    """Keys in the platform database (``postgres.databases.platform``), table ``data_api_keys``."""

    DDL = (
        "CREATE TABLE IF NOT EXISTS data_api_keys (key_id text PRIMARY KEY, name text NOT NULL, "
        "secret_sha256 text NOT NULL, scopes text[] NOT NULL, created_at timestamptz NOT NULL, revoked_at timestamptz)"
    )

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._ready = False

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            with psycopg.connect(self._conninfo, connect_timeout=5, autocommit=True) as conn:
                if not self._ready:
                    conn.execute(self.DDL)
                    self._ready = True
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise UnavailableError(f"the API key store (PostgreSQL) cannot answer: {exc}") from exc

    def add(self, key: ApiKey, hashed: str) -> None:
        self._run(
            "INSERT INTO data_api_keys VALUES (%s, %s, %s, %s, %s, %s)",
            (key.key_id, key.name, hashed, sorted(key.scopes), key.created_at, key.revoked_at),
        )

    def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        rows = self._run(
            "SELECT key_id, name, scopes, created_at, revoked_at, secret_sha256 FROM data_api_keys WHERE key_id = %s",
            (key_id,),
        )
        return (_key(rows[0]), str(rows[0][5])) if rows else None

    def all(self) -> list[ApiKey]:
        rows = self._run("SELECT key_id, name, scopes, created_at, revoked_at FROM data_api_keys ORDER BY created_at")
        return [_key(r) for r in rows]

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        rows = self._run(
            "UPDATE data_api_keys SET revoked_at = %s WHERE key_id = %s AND revoked_at IS NULL RETURNING key_id",
            (at, key_id),
        )
        return bool(rows)


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey(str(row[0]), str(row[1]), frozenset(row[2]), row[3], row[4])


class Authenticator:
    """Checks a request's key against the store (remembering good keys ``ttl_s``) and the route's scope."""

    def __init__(self, store: KeyStore, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._ttl, self._clock = store, ttl_s, clock
        self._seen: dict[str, tuple[float, ApiKey, str]] = {}
        self._unknown: dict[str, float] = {}  # ids the store did not know, and when it was asked
        self._lock = threading.Lock()

    def authenticate(self, token: str | None, scope: str) -> ApiKey:
        if not token:
            raise UnauthorizedError("an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>")
        parts = split_token(token)
        if parts is None:
            raise UnauthorizedError("the API key is malformed (keys look like dpk_<id>_<secret>)")
        key_id, secret = parts
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key_id)
        if seen is None or now - seen[0] >= self._ttl:
            with self._lock:
                unknown_since = self._unknown.get(key_id)
            if unknown_since is not None and now - unknown_since < self._ttl:
                raise UnauthorizedError(f"unknown API key {key_id}")  # asked again: not the store again
            found = self._store.find(key_id)
            if found is None:
                with self._lock:
                    if len(self._unknown) > 10_000:
                        self._unknown.clear()
                    self._unknown[key_id] = now
                raise UnauthorizedError(f"unknown API key {key_id}")
            seen = (now, *found)
            with self._lock:
                self._seen[key_id] = seen
        _, key, hashed = seen
        if not hmac.compare_digest(hashed, digest(secret)):
            raise UnauthorizedError(f"unknown API key {key_id}")
        if key.revoked_at is not None:
            raise UnauthorizedError(f"API key {key_id} was revoked")
        if scope not in key.scopes:
            raise ForbiddenError(f"API key {key_id} lacks the scope {scope} (it has: {', '.join(sorted(key.scopes))})")
        return key


class RateLimiter:
    """A token bucket per key: ``rate_per_s`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate_per_s, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> None:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                raise RateLimitedError(key_id, max(1, math.ceil((1 - tokens) / self._rate)))
            self._buckets[key_id] = (tokens - 1, now)
