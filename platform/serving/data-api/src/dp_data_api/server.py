"""Starting the Data API: settings, the engine, the catalog's metadata, the port, uvicorn (the I/O edge)."""

from __future__ import annotations

import logging

from psycopg.conninfo import make_conninfo

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_core import net
from dp_core.config import LoadedConfig, PlatformSettings
from dp_core.errors import PlatformError
from dp_data_api.api import Guard, create_app
from dp_data_api.config import ApiConfig, api_config
from dp_data_api.engine import DuckDBEngine
from dp_data_api.errors import StartupError
from dp_data_api.keys import Authenticator, PostgresKeyStore, RateLimiter
from dp_data_api.lake import pyiceberg_metadata
from dp_data_api.service import DataService, Engine
from dp_data_api.trino_engine import TrinoEngine
from dp_http import ServeOptions, serve_app
from dp_lakehouse.pyiceberg import lake_catalog

log = logging.getLogger("dp_data_api")


def config_of(loaded: LoadedConfig, host: str | None = None, port: int | None = None) -> ApiConfig:
    """The API's settings; the orders topic (the speed layer's watermark) comes from the domain's contract."""
    settings = loaded.settings
    domain = settings.serving.domain
    contracts = [c for c in load_contracts(contracts_dir(loaded.repo_root)) if c.domain == domain]
    try:
        order = find_contract(contracts, "order_placed")
    except PlatformError as exc:
        raise StartupError(f"serving.domain {domain!r} has no order_placed contract: {exc}") from exc
    config = api_config(settings, order_topic=order.topic, host=host)
    return config if port is None else ApiConfig(**{**config.__dict__, "port": port})


def build_service(loaded: LoadedConfig, config: ApiConfig) -> DataService:
    """The service over the real catalog and the engine of ``serving.engine``: an embedded DuckDB, or Trino."""
    settings = loaded.settings
    engine: Engine
    if settings.serving.engine == "trino":
        engine = TrinoEngine.connect(settings)
    else:
        engine = DuckDBEngine.connect(settings, config.query_threads)
    return DataService(config, engine, pyiceberg_metadata(lake_catalog(settings), config.metadata_ttl_s))


def key_store(settings: PlatformSettings) -> PostgresKeyStore:
    """The API keys in the platform database (``postgres.databases.platform``)."""
    pg = settings.postgres
    conninfo = make_conninfo(
        host=pg.host, port=pg.port, user=pg.user, password=pg.password.get_secret_value() if pg.password else None,
        dbname=pg.databases.platform, application_name="dp-data-api",
    )  # fmt: skip
    return PostgresKeyStore(conninfo)


def build_guard(settings: PlatformSettings, config: ApiConfig) -> Guard | None:
    """Keys and rate limits, or None when ``serving.auth`` is off."""
    if not config.auth:
        return None
    return Guard(
        Authenticator(key_store(settings), config.key_cache_s),
        RateLimiter(config.rate_limit_per_s, config.rate_limit_burst),
    )


def serve(loaded: LoadedConfig, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT (:class:`StartupError` when the port is taken or the engine cannot start)."""
    config = config_of(loaded, host, port)
    sock = net.claim_port(
        config.host, config.port, hint="serving.port sets it; DP_SERVING_PORT overrides it", error=StartupError
    )
    try:
        service = build_service(loaded, config)
        engine = loaded.settings.serving.engine
        log.info("data api listening", extra={"url": f"http://{config.host}:{config.port}/docs", "engine": engine,
                                              "domain": config.domain})  # fmt: skip
        app = create_app(service, build_guard(loaded.settings, config))
        if not serve_app(app, sock, ServeOptions(config.host, config.port)):
            raise StartupError("the HTTP server did not start; see the log above")
    finally:
        sock.close()
