"""lakehouse_maintenance: keep the tables healthy while the streaming jobs write small files into them.

Daily (orchestration.maintenance_schedule), one layer after another (2 cores): every table of Bronze, Silver (the
speed layer's _rt tables included) and Gold gets `dp batch maintain`: rewrite_data_files (bin-pack, deletes
applied), rewrite_manifests, expire_snapshots (never a snapshot a job's progress is in) and remove_orphan_files,
with files and bytes before/after in the log. A commit that loses the race with a writer is retried, then skipped
until the next run. Param ``tables`` (a list of namespace.table) limits a run to those tables.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from dp_orchestration.commands import run_dp
from dp_orchestration.defaults import dag_args
from dp_orchestration.platform import settings

ORCH = settings().orchestration


@dag(
    **dag_args(
        "lakehouse_maintenance",
        ORCH.maintenance_schedule,
        "maintenance",
        doc=__doc__,
        params={"tables": Param([], type="array", description="Only these tables (namespace.table); empty: all")},
    )
)
def lakehouse_maintenance() -> None:
    def maintain(layer: str, params: dict[str, Any] | None) -> None:
        tables = [t for t in (params or {}).get("tables") or [] if t.split(".")[0] == _namespace(layer)]
        if (params or {}).get("tables") and not tables:
            print(f"no {layer} table among {params['tables'] if params else []}: nothing to do")  # noqa: T201
            return
        args = [arg for t in tables for arg in ("--table", t)] or ["--layer", layer]
        run_dp("batch", "maintain", *args)

    @task
    def bronze(params: dict[str, Any] | None = None) -> None:
        maintain("bronze", params)

    @task
    def silver(params: dict[str, Any] | None = None) -> None:
        maintain("silver", params)

    @task
    def gold(params: dict[str, Any] | None = None) -> None:
        maintain("gold", params)

    bronze() >> silver() >> gold()


def _namespace(layer: str) -> str:
    names = settings().iceberg.namespaces
    if layer == "gold":
        return settings().transform.namespace or names.gold
    return str(getattr(names, layer))


lakehouse_maintenance()
