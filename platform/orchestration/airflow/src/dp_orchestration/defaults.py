"""What every DAG takes from the configuration (``orchestration.*``): owner, tags, retries, timeouts, and the alert a
failed task raises."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dp_orchestration.platform import settings

log = logging.getLogger("dtheinfra.alerts")


def default_args() -> dict[str, Any]:
    """``default_args`` of every platform DAG."""
    orch = settings().orchestration
    return {
        "owner": orch.owner,
        "retries": orch.retries,
        "retry_delay": dt.timedelta(seconds=orch.retry_delay_s),
        "execution_timeout": dt.timedelta(seconds=orch.task_timeout_s),
        "on_failure_callback": on_failure,
    }


def tags(*more: str) -> list[str]:
    return [*settings().orchestration.tags, *more]


def dag_args(
    dag_id: str, schedule: str | None, *more_tags: str, doc: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The arguments every platform DAG shares: its id and schedule, a start in the past with no catch-up, one run
    at a time, the configured defaults and tags (plus ``more_tags``), its module's docstring as its doc."""
    return {
        "dag_id": dag_id,
        "schedule": schedule,
        "start_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": default_args(),
        "tags": tags(*more_tags),
        "doc_md": doc,
        **extra,
    }


def error_lines(error: BaseException | str | None, lines: int = 5) -> str:
    """The first ``lines`` non-empty lines of an error (what an alert shows)."""
    text = str(error or "no exception recorded")
    return "\n".join([line for line in text.splitlines() if line.strip()][:lines])


def alert_text(dag_id: str, task_id: str, try_number: int, error: BaseException | str | None, log_url: str) -> str:
    return f"task failed: dag={dag_id} task={task_id} try={try_number} log={log_url}\n{error_lines(error)}"


def on_failure(context: Any) -> None:
    """Failure callback of every task: one ERROR line (and a ``dtheinfra.task_failed`` metric) naming the DAG, the
    task, the try, the error's first lines and the task's log URL."""
    ti = context["task_instance"]
    text = alert_text(ti.dag_id, ti.task_id, ti.try_number, context.get("exception"), getattr(ti, "log_url", ""))
    log.error("ALERT %s", text)
    from airflow.sdk.observability.stats import Stats

    Stats.incr("dtheinfra.task_failed", tags={"dag_id": ti.dag_id, "task_id": ti.task_id})
