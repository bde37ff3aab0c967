"""DuckDB, embedded, over the shared Iceberg catalog: the one module of the Data API that imports the engine.

DuckDB cannot download its extensions on these machines: the ``duckdb-extension-*`` packages ship them, built for
the pinned duckdb, and each is loaded from its file (avro and httpfs before iceberg). The S3 secret and the REST
catalog attachment come from :func:`dp_lakehouse.properties.duckdb_lakehouse`; the catalog is attached as ``lake``.
Every query runs on its own cursor (a connection of the same database), so requests in parallel threads do not
share one; values bound as parameters, never spliced into the SQL.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from dp_core.config import PlatformSettings
from dp_data_api import dialect
from dp_data_api.errors import StartupError, UnavailableError
from dp_lakehouse.properties import duckdb_lakehouse

#: the name the catalog is attached under: tables are ``lake.<namespace>.<table>``
LAKE = "lake"
#: the extensions, in load order
EXTENSIONS = ("avro", "httpfs", "iceberg")


def extension_file(name: str) -> Path:
    """The ``<name>.duckdb_extension`` file the ``duckdb-extension-<name>`` package ships for this duckdb."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    folders = list(spec.submodule_search_locations or []) if spec else []
    wanted = f"v{duckdb.__version__}/{name}.duckdb_extension"
    for folder in folders:
        found = sorted(Path(folder).rglob(f"{name}.duckdb_extension"))
        exact = [p for p in found if p.as_posix().endswith(wanted)]
        if exact or found:
            return (exact or found)[0]
    raise StartupError(
        f"the DuckDB extension {name!r} is not installed: the package duckdb-extension-{name}=={duckdb.__version__} "
        "ships it (make install)"
    )


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


class DuckDBEngine:
    """An in-process DuckDB with the lakehouse attached as ``lake``."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, *, time_travel: bool) -> None:
        self._con = connection
        self.dialect = dialect.duckdb(LAKE, time_travel=time_travel)
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, settings: PlatformSettings, threads: int) -> DuckDBEngine:
        """Load the extensions, create the S3 secret and attach the catalog (:class:`UnavailableError` when the
        catalog does not answer)."""
        con = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
        try:
            for name in EXTENSIONS:
                con.execute(f"LOAD {literal(str(extension_file(name)))}")
            con.execute(f"SET threads = {int(threads)}")
            con.execute("SET TimeZone = 'UTC'")
            lake = duckdb_lakehouse(settings)
            options = ", ".join(f"{key} {literal(value)}" for key, value in lake.s3_secret.items())
            con.execute(f"CREATE SECRET lake_s3 ({options})")
            attach = ", ".join(f"{key} {literal(value)}" for key, value in lake.attach.items())
            con.execute(f"ATTACH {literal(lake.warehouse)} AS {LAKE} ({attach})")
        except duckdb.Error as exc:
            con.close()
            raise UnavailableError(f"DuckDB cannot attach the Iceberg catalog: {exc}") from exc
        return cls(con, time_travel=True)

    @classmethod
    def in_memory(cls) -> DuckDBEngine:
        """A DuckDB with an empty in-memory database attached as ``lake`` (tests create the tables in it)."""
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH ':memory:' AS {LAKE}")
        return cls(con, time_travel=False)

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (:class:`UnavailableError` when the engine cannot read the lakehouse)."""
        try:
            with self._lock:
                cursor = self._con.cursor()
        except duckdb.Error as exc:
            raise UnavailableError(f"the query engine failed: {_first_line(exc)}") from exc
        try:
            return cursor.execute(sql, list(parameters)).fetchall()
        except duckdb.Error as exc:
            raise UnavailableError(f"the query engine failed: {_first_line(exc)}") from exc
        finally:
            cursor.close()

    def execute(self, sql: str) -> None:
        """Run a statement (tests set up tables with it)."""
        self.rows(sql)

    def close(self) -> None:
        self._con.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
