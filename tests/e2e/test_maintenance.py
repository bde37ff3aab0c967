"""`lakehouse_maintenance` (Airflow) on a table the enricher (PyFlink) is committing small files into at that moment:
it ends with fewer files, old snapshots expired, and the enricher's rows exactly the simulator's orders (one row per
valid order event: nothing lost to a lost commit race, nothing repeated by a rewrite)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from pathlib import Path

import pytest

from dp_core.config import load_settings
from dp_flink import names
from dp_localstack.stack import LocalStack
from dp_localstack.testing import (
    DP,
    airflow_dags_test,
    airflow_ready,
    airflow_test_env,
    clean_environ,
    run_dp,
    scratch_checkout,
    simulate_args,
)
from dp_simulator import SimulationConfig, simulate
from dp_spark_jobs.catalog import lake_catalog

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
#: events sent at RATE/s: long enough for 50+ checkpoints before maintenance and commits during it
COUNT, SEED, RATE = 7000, 17, 40
FRACTIONS = {"duplicates": 0.03}
SMALL_FILES = 50


def data_files(table: object) -> int:
    files = table.inspect.files()  # type: ignore[attr-defined]
    return sum(1 for content in files.column("content").to_pylist() if content == 0)


def test_maintenance_compacts_a_table_the_enricher_writes_meanwhile_and_loses_no_row(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    domain = f"mt{run_id}"
    scratch_checkout(repo_root, tmp_path, domain)
    env = clean_environ() | {
        "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),
        "DP_STREAM_CHECKPOINT_INTERVAL_S": "0.5",  # a commit (a small file) every half second
        "DP_STREAM_IDLE_TIMEOUT_S": "5",
    }
    loaded = load_settings(tmp_path / "config", env)
    settings = loaded.settings
    assert run_dp(tmp_path, "ingest", "topics", env=env).returncode == 0
    airflow_ready(local_stack)
    lake = lake_catalog(settings)
    identifier = f"{settings.iceberg.namespaces.silver}.{names.table(domain, 'orders_enriched_rt')}"

    log = tmp_path / "stream.log"
    with log.open("w") as out:
        feeder = subprocess.Popen(
            [DP, *simulate_args(COUNT, SEED, START, fractions=FRACTIONS), "--rate", str(RATE)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        job = subprocess.Popen(
            [DP, "stream", "run", names.ENRICHER, "--until-idle", "8", "--timeout", "600"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:  # every checkpoint with new orders commits a data file (and the upserts' delete files)
            assert job.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            if lake.table_exists(identifier) and data_files(lake.load_table(identifier)) >= SMALL_FILES:
                break
            time.sleep(1)
        assert feeder.poll() is None, "everything was sent before maintenance: the enricher would not write meanwhile"
        before = lake.load_table(identifier)
        first_snapshot = min(before.snapshots(), key=lambda s: s.timestamp_ms).snapshot_id
        maintenance_env = airflow_test_env(
            local_stack,
            tmp_path / "config",
            **{k: v for k, v in env.items() if k.startswith("DP_")},
            # every snapshot but the newest few is old enough to expire (the one with the enricher's checkpoint stays)
            DP_ORCHESTRATION_MAINTENANCE__SNAPSHOT_RETENTION_HOURS="0.0001",
            DP_ORCHESTRATION_MAINTENANCE__RETAIN_LAST_SNAPSHOTS="1",
            DP_ORCHESTRATION_RETRIES="0",
        )
        output = airflow_dags_test(local_stack, maintenance_env, "lakehouse_maintenance", {"tables": [identifier]})
        assert feeder.poll() is None, "the feeder had finished before maintenance did: the enricher was not writing"
        row = next(line for line in output.splitlines() if re.search(rf"{re.escape(identifier)}\s+\d+ -> \d+", line))
        files_before, files_after = map(int, re.search(r"(\d+) -> (\d+)", row).groups())  # type: ignore[union-attr]
        assert files_before >= SMALL_FILES and files_after < files_before, row
        assert "rewrite_data_files ok" in output and "expire_snapshots ok" in output, output[-3000:]
        assert feeder.wait(timeout=300) == 0
        assert job.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        for process in (feeder, job):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    table = lake.load_table(identifier)
    assert first_snapshot not in {s.snapshot_id for s in table.snapshots()}  # old snapshots expired
    orders = {
        str(e.payload["event_id"])
        for e in simulate(SimulationConfig(seed=SEED, count=COUNT, start=START, duplicates=0.03))
        if e.contract == "order_placed" and e.kind in ("valid", "duplicate") and e.payload is not None
    }
    from dp_spark.session import build_session  # the table has equality deletes (upserts): pyiceberg cannot read it

    spark = build_session(loaded, "e2e-maintenance-check")
    try:
        rows = [r.event_id for r in spark.table(f"{settings.iceberg.catalog.name}.{identifier}").collect()]
    finally:
        spark.stop()
    assert len(rows) == len(orders) and set(rows) == orders  # every order once: none lost, none repeated
