"""What the catalog knows of a table (snapshot, properties, schema), read with pyiceberg and kept ``ttl_s``.

The API reads each table's data at the snapshot named here (``AT (VERSION => id)``), so an answer, its freshness
and its cache key all come from one metadata read: Gold's watermark is a table property that dbt sets after the
build's commit, so a metadata read that shows a watermark shows a snapshot at least as new as what it describes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dp_data_api.errors import UnavailableError

#: the table property in which Gold's marts keep their watermark (dbt's record_progress)
WATERMARK_PROPERTY = "dp.watermark"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class TableState:
    """One table as of one metadata read."""

    identifier: str
    snapshot_id: int | None
    committed_at: dt.datetime | None
    properties: Mapping[str, str]
    columns: tuple[Column, ...] = ()
    partitioning: tuple[str, ...] = ()
    records: int | None = None
    summary: Mapping[str, str] = field(default_factory=dict)

    @property
    def watermark(self) -> dt.datetime | None:
        """Gold's watermark (``dp.watermark``), None when the table has none."""
        value = self.properties.get(WATERMARK_PROPERTY)
        return parse_time(value) if value else None


def parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class Metadata(Protocol):
    def state(self, identifier: str) -> TableState | None:
        """The table's state, None when it does not exist."""
        ...

    def tables(self, namespaces: tuple[str, ...]) -> list[str]:
        """Every table of the namespaces, as ``namespace.table``."""
        ...


class CachedMetadata:
    """A :class:`Metadata` that asks ``load`` at most once per ``ttl_s`` per table."""

    def __init__(self, load: Callable[[str], TableState | None], list_tables: Callable[[str], list[str]],
                 ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._load, self._list, self._ttl, self._clock = load, list_tables, ttl_s, clock
        self._cache: dict[str, tuple[float, TableState | None]] = {}
        self._lock = threading.Lock()

    def state(self, identifier: str) -> TableState | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(identifier)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        state = self._load(identifier)
        with self._lock:
            self._cache[identifier] = (now, state)
        return state

    def tables(self, namespaces: tuple[str, ...]) -> list[str]:
        return sorted(t for ns in namespaces for t in self._list(ns))


def pyiceberg_metadata(catalog: Any, ttl_s: float) -> CachedMetadata:
    """:class:`CachedMetadata` over a pyiceberg catalog (:class:`UnavailableError` when it does not answer)."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    def load(identifier: str) -> TableState | None:
        try:
            table = catalog.load_table(identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            return None
        except Exception as exc:  # a catalog or network failure, in whichever class the client raises it
            raise UnavailableError(f"the Iceberg catalog cannot load {identifier}: {exc}") from exc
        return table_state(identifier, table)

    def list_tables(namespace: str) -> list[str]:
        try:
            return [".".join(ident) for ident in catalog.list_tables(namespace)]
        except NoSuchNamespaceError:
            return []
        except Exception as exc:
            raise UnavailableError(f"the Iceberg catalog cannot list {namespace}: {exc}") from exc

    return CachedMetadata(load, list_tables, ttl_s)


def table_state(identifier: str, table: Any) -> TableState:
    """A loaded pyiceberg table as a :class:`TableState`."""
    meta = table.metadata
    snapshot = table.current_snapshot()
    summary = {k: str(v) for k, v in (snapshot.summary.additional_properties.items() if snapshot and
               snapshot.summary else [])}  # fmt: skip
    schema = table.schema()
    columns = tuple(Column(f.name, str(f.field_type), f.required) for f in schema.fields)
    spec = table.spec()
    partitioning = tuple(f"{schema.find_column_name(f.source_id)}:{f.transform}" for f in spec.fields)
    records = summary.get("total-records")
    return TableState(
        identifier=identifier,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        committed_at=dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.UTC) if snapshot else None,
        properties=dict(meta.properties),
        columns=columns,
        partitioning=partitioning,
        records=int(records) if records is not None else (0 if snapshot is None else None),
        summary=summary,
    )
