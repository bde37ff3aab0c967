"""lakehouse_backfill: recompute Gold from Silver for a range of days (params ``from`` and ``to``, YYYY-MM-DD).

silver (brings Silver up to date with Bronze: incremental and exact, every event once) -> gold (the dbt build with the
range: the incremental marts recompute those days besides new ones, so the result equals a full rebuild) -> publish.
Triggered by hand (`airflow dags trigger lakehouse_backfill -c '{"from": "2026-11-30", "to": "2026-12-01"}'`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param, dag, task

from dp_orchestration.assets import gold_assets
from dp_orchestration.assets import publish as publish_gold
from dp_orchestration.commands import run_dp
from dp_orchestration.defaults import dag_args


@dag(
    **dag_args(
        "lakehouse_backfill",
        None,
        "batch",
        "backfill",
        doc=__doc__,
        params={
            "from": Param(type="string", format="date", description="First day to recompute (YYYY-MM-DD)"),
            "to": Param(type="string", format="date", description="Last day to recompute, included"),
        },
    )
)
def lakehouse_backfill() -> None:
    @task
    def days(params: dict[str, Any] | None = None) -> list[str]:
        assert params is not None
        first, last = dt.date.fromisoformat(params["from"]), dt.date.fromisoformat(params["to"])
        if first > last:
            raise ValueError(f"the range starts after it ends: from {first} to {last}")
        return [first.isoformat(), last.isoformat()]

    @task
    def silver() -> None:
        run_dp("batch", "run", "silver")

    @task
    def gold(span: list[str]) -> None:
        run_dp("batch", "run", "gold", "--from", span[0], "--to", span[1])

    @task(outlets=gold_assets())
    def publish(*, outlet_events: Any = None) -> list[dict[str, Any]]:
        return publish_gold(outlet_events)

    span = days()
    span >> silver() >> gold(span) >> publish()


lakehouse_backfill()
