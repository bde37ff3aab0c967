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
class Snapshot:
    """One snapshot of a table: what committed it and the progress it carries (its summary)."""

    snapshot_id: int
    parent_id: int | None
    committed_at: dt.datetime
    summary: Mapping[str, str]


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
    #: when this metadata version was written (the time an ``as_of`` answer reads the other tables at)
    version_at: dt.datetime | None = None
    snapshots: tuple[Snapshot, ...] = ()

    @property
    def watermark(self) -> dt.datetime | None:
        """Gold's watermark (``dp.watermark``), None when the table has none."""
        value = self.properties.get(WATERMARK_PROPERTY)
        try:
            return parse_time(value) if value else None
        except ValueError:  # not a time: no watermark (everything provisional) rather than a failed answer
            return None


def parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class Metadata(Protocol):
    def state(self, identifier: str) -> TableState | None:
        """The table's state, None when it does not exist."""
        ...

    def state_at(self, identifier: str, at: dt.datetime) -> TableState | None:
        """The table as it was at ``at``: the metadata current then (None: the table or its metadata then is gone)."""
        ...

    def state_of_snapshot(self, identifier: str, snapshot_id: int) -> TableState | None:
        """The table as it was last while ``snapshot_id`` was current (its properties then included), or None."""
        ...

    def tables(self, namespaces: tuple[str, ...]) -> list[str]:
        """Every table of the namespaces, as ``namespace.table``."""
        ...


@dataclass(frozen=True)
class History:
    """What a table's metadata says about its past: ``(time, metadata file)`` of every retained metadata version
    (the metadata log and the current file), oldest first, and ``(time, snapshot id)`` of each change of the current
    snapshot (the snapshot log)."""

    versions: tuple[tuple[dt.datetime, str], ...]
    snapshots: tuple[tuple[dt.datetime, int], ...]

    def version_at(self, at: dt.datetime) -> str | None:
        """The metadata file current at ``at`` (None: ``at`` is older than every retained version)."""
        found = [path for t, path in self.versions if t <= at]
        return found[-1] if found else None

    def last_version_of(self, snapshot_id: int) -> str | None:
        """The last metadata file written while ``snapshot_id`` was current: the newest version before the next
        change of the current snapshot (None: it never was current in the retained history)."""
        times = [i for i, (_, sid) in enumerate(self.snapshots) if sid == snapshot_id]
        if not times:
            return None
        nxt = times[-1] + 1
        if nxt == len(self.snapshots):
            return self.versions[-1][1] if self.versions else None
        until = self.snapshots[nxt][0]
        found = [path for t, path in self.versions if t < until]
        return found[-1] if found else None


class CachedMetadata:
    """A :class:`Metadata` that asks ``load`` at most once per ``ttl_s`` per table; past versions (immutable files)
    are kept once read."""

    def __init__(self, load: Callable[[str], TableState | None], list_tables: Callable[[str], list[str]],
                 ttl_s: float, clock: Callable[[], float] = time.monotonic,
                 history: Callable[[str], History | None] = lambda _: None,
                 read_version: Callable[[str, str], TableState] | None = None) -> None:  # fmt: skip
        self._load, self._list, self._ttl, self._clock = load, list_tables, ttl_s, clock
        self._history, self._read_version = history, read_version
        self._versions: dict[str, TableState] = {}
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

    def state_at(self, identifier: str, at: dt.datetime) -> TableState | None:
        history = self._history(identifier)
        path = history.version_at(at) if history else None
        return None if path is None else self._version(identifier, path)

    def state_of_snapshot(self, identifier: str, snapshot_id: int) -> TableState | None:
        history = self._history(identifier)
        path = history.last_version_of(snapshot_id) if history else None
        return None if path is None else self._version(identifier, path)

    def _version(self, identifier: str, path: str) -> TableState:
        with self._lock:
            hit = self._versions.get(path)
        if hit is None:
            if self._read_version is None:
                raise UnavailableError(f"no metadata history for {identifier}")
            hit = self._read_version(identifier, path)
            with self._lock:
                self._versions[path] = hit
        return hit


def pyiceberg_metadata(catalog: Any, ttl_s: float) -> CachedMetadata:
    """:class:`CachedMetadata` over a pyiceberg catalog (:class:`UnavailableError` when it does not answer)."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    def load_table(identifier: str) -> Any:
        try:
            return catalog.load_table(identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            return None
        except Exception as exc:  # a catalog or network failure, in whichever class the client raises it
            raise UnavailableError(f"the Iceberg catalog cannot load {identifier}: {exc}") from exc

    def load(identifier: str) -> TableState | None:
        table = load_table(identifier)
        return None if table is None else table_state(identifier, table.metadata)

    def history(identifier: str) -> History | None:
        table = load_table(identifier)
        if table is None:
            return None
        meta = table.metadata
        versions = [(_ms(e.timestamp_ms), e.metadata_file) for e in meta.metadata_log]
        versions.append((_ms(meta.last_updated_ms), table.metadata_location))
        snapshots = [(_ms(e.timestamp_ms), e.snapshot_id) for e in meta.snapshot_log]
        ios[identifier] = table.io
        return History(tuple(sorted(versions)), tuple(snapshots))

    def read_version(identifier: str, path: str) -> TableState:
        from pyiceberg.serializers import FromInputFile

        io = ios.get(identifier)
        if io is None:
            raise UnavailableError(f"no file access for {identifier}")
        try:
            return table_state(identifier, FromInputFile.table_metadata(io.new_input(path)))
        except Exception as exc:  # an object-store failure, in whichever class the FileIO raises it
            raise UnavailableError(f"cannot read {path}: {exc}") from exc

    ios: dict[str, Any] = {}

    def list_tables(namespace: str) -> list[str]:
        try:
            return [".".join(ident) for ident in catalog.list_tables(namespace)]
        except NoSuchNamespaceError:
            return []
        except Exception as exc:
            raise UnavailableError(f"the Iceberg catalog cannot list {namespace}: {exc}") from exc

    return CachedMetadata(load, list_tables, ttl_s, history=history, read_version=read_version)


def _ms(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def table_state(identifier: str, meta: Any) -> TableState:
    """A table's metadata (pyiceberg's ``TableMetadata``, current or past) as a :class:`TableState`."""
    snapshot = meta.current_snapshot()
    summary = _summary(snapshot) if snapshot else {}
    schema = meta.schema()
    columns = tuple(Column(f.name, str(f.field_type), f.required) for f in schema.fields)
    spec = meta.spec()
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
        version_at=_ms(meta.last_updated_ms),
        snapshots=tuple(
            Snapshot(x.snapshot_id, x.parent_snapshot_id, _ms(x.timestamp_ms), _summary(x)) for x in meta.snapshots
        ),
    )


def _summary(snapshot: Any) -> dict[str, str]:
    """A snapshot's summary as strings: its operation and every property (Iceberg's counts, the platform's progress)."""
    if snapshot.summary is None:
        return {}
    operation = getattr(snapshot.summary.operation, "value", snapshot.summary.operation)
    return {"operation": str(operation), **{k: str(v) for k, v in snapshot.summary.additional_properties.items()}}
