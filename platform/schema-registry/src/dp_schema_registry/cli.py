"""Entry point: ``python -m dp_schema_registry [--host HOST] [--wait-for-store SECONDS] [--debug]``.

Loads the settings once (``config/`` found from the working directory or ``DP_CONFIG_DIR``, overridden by
``DP_*`` variables), configures logging, claims the port of ``registry.url``, waits a few seconds for PostgreSQL,
creates the tables if missing, and serves until SIGINT/SIGTERM. A failure to start prints ``Error: ...`` and
exits non-zero (``--debug`` adds the traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

import avro.errors

from dp_core import net
from dp_core.config import find_config_dir, load_settings
from dp_core.errors import PlatformError
from dp_core.logs import configure_logging
from dp_http import ServeOptions, serve_app
from dp_schema_registry.api import create_app
from dp_schema_registry.config import DEFAULT_HOST, ServiceConfig, service_config
from dp_schema_registry.errors import StartupError
from dp_schema_registry.service import Registry
from dp_schema_registry.store.postgres import PostgresStore

log = logging.getLogger("dp_schema_registry")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dp_schema_registry",
        description="Serve the Confluent-compatible schema registry on the port of registry.url.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--wait-for-store",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to retry reaching PostgreSQL at start-up (default 10)",
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of a start-up error")
    return parser


def claim_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server; :class:`StartupError` when it cannot be bound."""
    return net.claim_port(
        host, port, hint="registry.url sets the port; DP_REGISTRY_URL overrides it", error=StartupError
    )


def serve(config: ServiceConfig, wait_for_store_s: float) -> None:
    """Claim the port, open the store and serve until the process is told to stop."""
    # Java Avro ignores an invalid logical type too; Python's says so through a warning per parse
    warnings.filterwarnings("ignore", category=avro.errors.IgnoredLogicalType)
    sock = claim_port(config.host, config.port)
    try:
        store = PostgresStore.connect(
            config.conninfo,
            config.database_where,
            wait_s=wait_for_store_s,
            pool_max=config.pool_max,
            pool_timeout_s=config.pool_timeout_s,
        )
        try:
            app = create_app(Registry(store, config.default_compatibility))
            log.info(
                "schema registry starting",
                extra={"listen": f"http://{config.host}:{config.port}", "store": config.database_where},
            )
            serve_app(app, sock, ServeOptions(config.host, config.port))
            log.info("schema registry stopped")
        finally:
            store.close()
    finally:
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        loaded = load_settings(find_config_dir(Path.cwd(), os.environ), os.environ)
        configure_logging(loaded.settings.logging)
        serve(service_config(loaded.settings, host=args.host), args.wait_for_store)
    except PlatformError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"Error: {exc}\n")
        return exc.exit_code
    return 0
