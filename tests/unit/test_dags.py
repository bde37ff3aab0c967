"""The DAGs' integrity, checked where they run: Airflow's own environment (.runtime/venvs/airflow) parses each DAG
file alone (`python -m dp_orchestration.integrity`) and the report is held to the platform's rules: no import
error, parsed in under 2 s, no engine imported at parse time, owner, tags, retries and the failure alert from the
configuration, one run at a time, and Gold rendered as one task per dbt model."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dp_core.config import load_settings
from dp_localstack.layout import Layout
from dp_localstack.services.airflow import AIRFLOW_UNIT, airflow_venv, render_dbt_manifest

DAGS = {"lakehouse_batch", "lakehouse_backfill", "lakehouse_maintenance", "speed_layer_watch"}
#: tasks that must not retry: a check that failed has said what it had to (the next scheduled run checks again)
NO_RETRY = {"silver_freshness", "gold_freshness", "watch"}


@pytest.fixture(scope="module")
def report(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DP_", "AIRFLOW"))}
    loaded = load_settings(repo_root / "config", environ)
    layout = Layout.from_config(loaded)
    python = airflow_venv(layout) / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"the Airflow environment is missing ({python}): run `make install`")
    render_dbt_manifest(layout, {})  # what the DAG processor's start does: Gold's tasks come from it
    home = tmp_path_factory.mktemp("airflow-home")
    out = home / "report.json"
    env = environ | {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "DO_NOT_TRACK": "1"}
    dags = repo_root / AIRFLOW_UNIT / "dags"
    result = subprocess.run(
        [str(python), "-m", "dp_orchestration.integrity", str(dags), str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    parsed: list[dict[str, Any]] = json.loads(out.read_text())
    return parsed


def test_every_dag_file_imports_alone_fast_and_without_an_engine(report: list[dict[str, Any]]) -> None:
    assert {dag for entry in report for dag in entry["dags"]} == DAGS
    for entry in report:
        assert entry["errors"] == {}, entry["file"]
        assert entry["seconds"] < 2.0, entry
        assert entry["heavy_modules"] == [], entry


def test_every_dag_takes_owner_tags_retries_and_the_alert_from_the_configuration(
    report: list[dict[str, Any]], repo_root: Path
) -> None:
    orchestration = load_settings(repo_root / "config", {}).settings.orchestration
    for entry in report:
        for dag_id, dag in entry["dags"].items():
            assert dag["owners"] == [orchestration.owner], dag_id
            assert set(orchestration.tags) <= set(dag["tags"]) and len(dag["tags"]) > len(orchestration.tags)
            for task_id, retries in dag["retries"].items():
                assert retries == (0 if task_id in NO_RETRY else orchestration.retries), (dag_id, task_id)
            assert dag["has_failure_callback"], dag_id
            assert dag["max_active_runs"] == 1, dag_id


def test_gold_is_one_task_per_dbt_model_between_silver_and_publish(
    report: list[dict[str, Any]], repo_root: Path
) -> None:
    (batch,) = [entry["dags"]["lakehouse_batch"] for entry in report if "lakehouse_batch" in entry["dags"]]
    models = sorted(p.stem for p in (repo_root / "platform/transformation/dbt/project/models").rglob("*.sql"))
    gold = sorted(task.split(".")[1] for task in batch["retries"] if task.startswith("gold."))
    assert gold == models
    assert {"bronze", "silver", "silver_freshness", "publish", "gold_freshness"} <= set(batch["retries"])
    assert batch["schedule"] == "CronTriggerTimetable" or batch["schedule"].endswith("Timetable")


def test_a_failed_task_alerts_with_the_commands_error_first(repo_root: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DP_", "AIRFLOW"))}
    python = airflow_venv(Layout.from_config(load_settings(repo_root / "config", environ))) / "bin" / "python"
    script = (
        "import json\n"
        "from dp_orchestration.commands import failure\n"
        "from dp_orchestration.defaults import alert_text\n"
        "tail = ['gold.fct_orders  snapshot 1', 'Error: Gold is staler than 60 s']\n"
        "error = failure(('transform', 'status'), 1, tail)\n"
        "print(json.dumps([error, alert_text('lakehouse_batch', 'gold_freshness', 2, error, 'http://x/log')]))\n"
    )
    result = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, env=environ, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    error, alert = json.loads(result.stdout.strip().splitlines()[-1])
    assert error.splitlines()[0] == "`dp transform status` exited 1: Gold is staler than 60 s"
    assert alert.splitlines()[0] == "task failed: dag=lakehouse_batch task=gold_freshness try=2 log=http://x/log"
    assert alert.splitlines()[1] == error.splitlines()[0]
