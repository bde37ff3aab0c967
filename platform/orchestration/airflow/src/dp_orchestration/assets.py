"""Gold's marts as Airflow assets: the batch DAGs' publish task updates them (with the snapshot and watermark each
mart reached) once a build is in, so DAGs that read Gold can be scheduled on them."""

from __future__ import annotations

from typing import Any

from dp_orchestration.commands import run_dp_json
from dp_orchestration.platform import gold_marts, gold_namespace, settings


def asset_uri(table: str) -> str:
    """``iceberg://<catalog>/<namespace>/<table>`` of ``namespace.table``."""
    namespace, name = table.split(".", 1)
    return f"iceberg://{settings().iceberg.catalog.name}/{namespace}/{name}"


def gold_assets() -> list[Any]:
    from airflow.sdk import Asset

    namespace = gold_namespace()
    return [Asset(name=f"{namespace}.{mart}", uri=asset_uri(f"{namespace}.{mart}")) for mart in gold_marts()]


def publish(outlet_events: Any) -> list[dict[str, Any]]:
    """Read each mart's snapshot and watermark (``dp transform status``) into its asset event; return them."""
    from airflow.sdk import Asset

    states: list[dict[str, Any]] = run_dp_json("transform", "status") or []
    missing = [s["table"] for s in states if s.get("snapshot_id") is None]
    if missing:
        raise RuntimeError(f"Gold's build left marts missing: {', '.join(missing)}")
    for state in states:
        outlet_events[Asset(name=state["table"], uri=asset_uri(state["table"]))].extra = state
    return states
