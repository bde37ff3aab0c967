"""Trino, the Data API's scale-out engine (``serving.engine: trino``): the one module that imports Trino's client.

The API sends Trino the same questions it sends DuckDB, in Trino's dialect (:func:`dp_data_api.dialect.trino`:
``FOR VERSION AS OF`` for a table at a snapshot). Each query runs on a connection of its own (an HTTP session), with
the session's time zone UTC and its values bound as parameters (``EXECUTE IMMEDIATE ... USING``), never spliced
into the SQL. Trino's rows (``NamedRowTuple``) come back as dicts, the shape DuckDB gives a struct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import requests
import trino
from trino.exceptions import TrinoConnectionError, TrinoExternalError, TrinoQueryError

from dp_core.config import PlatformSettings
from dp_data_api import dialect
from dp_data_api.errors import UnavailableError


def plain(value: Any) -> Any:
    """A Trino value as DuckDB's client gives it: a row (``NamedRowTuple``) as a dict, lists and maps inside too."""
    names = getattr(value, "_names", None)
    if isinstance(value, tuple) and names is not None:
        return {name: plain(v) for name, v in zip(names, value, strict=True)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class TrinoEngine:
    """The Trino coordinator at ``serving.trino.url``, its Iceberg catalog ``serving.trino.catalog``."""

    def __init__(self, settings: PlatformSettings) -> None:
        cfg = settings.serving.trino
        url = urlparse(cfg.url)
        self.url = cfg.url
        self._host, self._scheme = url.hostname or "127.0.0.1", url.scheme or "http"
        self._port = url.port or (443 if self._scheme == "https" else 8080)
        self._user, self._catalog, self._timeout = cfg.user, cfg.catalog, cfg.timeout_s
        self.dialect = dialect.trino(cfg.catalog)

    @classmethod
    def connect(cls, settings: PlatformSettings) -> TrinoEngine:
        """The engine, once Trino answered a query (:class:`UnavailableError` when it does not)."""
        engine = cls(settings)
        engine.rows("SELECT 1")
        return engine

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (:class:`UnavailableError` when Trino cannot answer it)."""
        connection = trino.dbapi.connect(  # type: ignore[no-untyped-call]
            host=self._host, port=self._port, http_scheme=self._scheme, user=self._user, catalog=self._catalog,
            source="dp-data-api", timezone="UTC", request_timeout=self._timeout, legacy_prepared_statements=False,
        )  # fmt: skip
        try:
            cursor = connection.cursor()
            cursor.execute(sql, list(parameters) if parameters else None)
            return [tuple(plain(v) for v in row) for row in cursor.fetchall()]
        except (TrinoQueryError, TrinoExternalError, TrinoConnectionError, requests.RequestException) as exc:
            raise UnavailableError(f"Trino at {self.url} failed: {_first_line(exc)}") from exc
        finally:
            connection.close()

    def close(self) -> None:
        """Nothing is held between queries."""


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
