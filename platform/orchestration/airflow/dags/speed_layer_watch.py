"""speed_layer_watch: every few minutes (orchestration.watch_schedule), is the speed layer healthy?

One task: `dp stream watch --restart` on the session cluster. A job that is not running is submitted again (it
restores from its newest checkpoint); a job trailing its topics by more than orchestration.watch.max_consumer_lag
records, or whose newest checkpoint is older than orchestration.watch.max_checkpoint_age_s, fails the task with a
message naming it (the failure alert), and each job's lag and checkpoint age go out as metrics
(dtheinfra.speed.<job>.lag, dtheinfra.speed.<job>.checkpoint_age_s).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import dag, task

from dp_orchestration.commands import PlatformCommandError, run_dp_json_result
from dp_orchestration.defaults import dag_args, default_args
from dp_orchestration.platform import settings

ORCH = settings().orchestration


@dag(
    **dag_args(
        "speed_layer_watch",
        ORCH.watch_schedule,
        "speed",
        "watch",
        doc=__doc__,
        default_args=default_args() | {"retries": 0, "retry_delay": dt.timedelta(0)},
    )
)
def speed_layer_watch() -> None:
    @task
    def watch() -> list[dict[str, object]]:
        from airflow.sdk.observability.stats import Stats

        code, jobs, error = run_dp_json_result("stream", "watch", "--restart")
        for job in jobs or []:
            if job.get("lag") is not None:
                Stats.gauge(f"dtheinfra.speed.{job['job']}.lag", job["lag"])
            if job.get("checkpoint_age_s") is not None:
                Stats.gauge(f"dtheinfra.speed.{job['job']}.checkpoint_age_s", job["checkpoint_age_s"])
        if code != 0:
            raise PlatformCommandError(error)
        return list(jobs or [])

    watch()


speed_layer_watch()
