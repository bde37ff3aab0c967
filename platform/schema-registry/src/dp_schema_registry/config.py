"""The registry service's settings, derived once from the platform settings at the entry point.

Keys read: ``registry.url`` (the port to listen on), ``registry.default_compatibility``, ``postgres.host``,
``postgres.port``, ``postgres.user``, ``postgres.password`` and ``postgres.databases.registry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from psycopg.conninfo import make_conninfo

from dp_contracts.compat import CompatibilityMode
from dp_core.config import PlatformSettings
from dp_core.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ServiceConfig:
    """Where the service listens, where its state lives, and its default compatibility level."""

    host: str
    port: int
    conninfo: str = field(repr=False)  # holds the password: never printed
    database_where: str = field(default="")
    """``host:port/database`` of the store, for messages."""
    default_compatibility: CompatibilityMode = CompatibilityMode.BACKWARD
    pool_max: int = 10
    """PostgreSQL connections at most (requests beyond wait for one)."""
    pool_timeout_s: float = 5.0
    """How long a request waits for a connection before failing with 50001."""


def port_of(url: str) -> int:
    """The port of ``registry.url`` (explicit, else 80 for http and 443 for https).

    Raises:
        ConfigError: the URL has no usable scheme or port.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"registry.url: {url!r} has an invalid port") from exc
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme)
    if port is None or not parts.hostname:
        raise ConfigError(f"registry.url: {url!r} is not an http(s)://host:port URL")
    return port


def service_config(settings: PlatformSettings, host: str = DEFAULT_HOST) -> ServiceConfig:
    """The service's configuration from the platform settings; ``host`` is the interface to listen on."""
    pg = settings.postgres
    database = pg.databases.registry
    conninfo = make_conninfo(
        host=pg.host,
        port=pg.port,
        user=pg.user,
        password=pg.password.get_secret_value() if pg.password else None,
        dbname=database,
        application_name="dp-schema-registry",
    )
    return ServiceConfig(
        host=host,
        port=port_of(settings.registry.url),
        conninfo=conninfo,
        database_where=f"{pg.host}:{pg.port}/{database}",
        default_compatibility=CompatibilityMode(settings.registry.default_compatibility),
    )
