"""What differs between the query engines' SQL (pure): how a table is named at a snapshot, a time as microseconds
since the epoch, the timestamp-with-time-zone type. Besides these, only the answer's JSON is written differently
(:func:`dp_data_api.merge.rows_json_sql`: a list of structs in DuckDB, named rows cast to JSON in Trino); everything
else the API sends is SQL both engines run as written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    #: the catalog the lakehouse's tables are under (DuckDB's attachment, Trino's catalog)
    catalog: str
    #: ``{table}`` at snapshot ``{snapshot}``; None: the engine's tables have no snapshots (tests' in-memory tables)
    version_at: str | None
    #: an expression of ``{x}``, a timestamp with time zone: microseconds since the epoch, a BIGINT
    epoch_us: str
    timestamptz: str

    def table(self, namespace: str, name: str, snapshot_id: int | None) -> str:
        """``<catalog>."<namespace>"."<name>"`` as of ``snapshot_id`` (names from the catalog, never a request)."""
        table = f'{self.catalog}."{namespace}"."{name}"'
        if self.version_at is None:
            return table
        return self.version_at.format(table=table, snapshot=int(snapshot_id or 0))

    def epoch(self, expression: str) -> str:
        return self.epoch_us.format(x=expression)


def duckdb(catalog: str, *, time_travel: bool = True) -> Dialect:
    return Dialect("duckdb", catalog, "{table} AT (VERSION => {snapshot})" if time_travel else None,
                   "epoch_us({x})", "TIMESTAMPTZ")  # fmt: skip


def trino(catalog: str) -> Dialect:
    return Dialect("trino", catalog, "{table} FOR VERSION AS OF {snapshot}",
                   "CAST(to_unixtime({x}) * 1000000 AS BIGINT)", "TIMESTAMP(6) WITH TIME ZONE")  # fmt: skip
