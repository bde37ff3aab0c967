"""lakehouse_batch: the batch layer on a schedule (orchestration.batch_schedule, hourly by default).

bronze (Kafka -> Bronze) -> silver (Bronze -> Silver) -> silver_freshness (`dp transform freshness`: each Silver
source's newest row within transform.source_freshness_error_hours, else the run stops before Gold) -> gold (the dbt
project, one task per model that builds it and runs its tests; a failing test stops what depends on it) -> publish
(Gold's marts as assets, with the snapshot and watermark each reached) -> gold_freshness (the SLA: every mart's
watermark within orchestration.gold_freshness_sla_s of now). One run at a time; every step is the platform's own
command, idempotent, so a retry is safe.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from dp_orchestration.assets import gold_assets
from dp_orchestration.assets import publish as publish_gold
from dp_orchestration.commands import run_dp
from dp_orchestration.defaults import dag_args
from dp_orchestration.gold import gold_task_group
from dp_orchestration.platform import settings

ORCH = settings().orchestration


@dag(**dag_args("lakehouse_batch", ORCH.batch_schedule, "batch", "gold", doc=__doc__))
def lakehouse_batch() -> None:
    @task
    def bronze() -> None:
        run_dp("batch", "run", "bronze")

    @task
    def silver() -> None:
        run_dp("batch", "run", "silver")

    @task(retries=0)
    def silver_freshness() -> None:
        run_dp("transform", "freshness")

    @task(outlets=gold_assets())
    def publish(*, outlet_events: Any = None) -> list[dict[str, Any]]:
        return publish_gold(outlet_events)

    @task(retries=0)
    def gold_freshness() -> None:
        run_dp("transform", "status", "--max-lag-s", str(ORCH.gold_freshness_sla_s))

    gold = gold_task_group()
    bronze() >> silver() >> silver_freshness() >> gold >> publish() >> gold_freshness()


lakehouse_batch()
