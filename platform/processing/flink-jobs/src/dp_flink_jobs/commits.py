"""``python -m dp_flink_jobs commits JOB``: a job's newest checkpoints, what each committed to which table, and the
Kafka offsets and watermark those snapshots hold (from the job's progress table, read with Flink at the snapshot
committed for the same checkpoint; see :mod:`dp_flink.progress`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dp_core.config import LoadedConfig
from dp_flink import names
from dp_flink.errors import FlinkSetupError
from dp_flink.progress import Checkpoint, Commit, checkpoints, commits_of_table, job_watermark
from dp_flink.session import table_environment
from dp_flink.sql import select_at_snapshot, silver_table
from dp_flink_jobs.run import domain_contracts, job_modules, main
from dp_lakehouse.pyiceberg import lake_catalog

PROGRESS_COLUMNS = ("kafka_topic", "kafka_partition", "last_offset", "records", "max_event_time", "watermark")
TIMES = ("max_event_time", "watermark")


def _iso(value: str | None) -> str | None:
    """Flink's text of a TIMESTAMP_LTZ in the job's UTC session (``2026-11-24 22:10:00.123``) -> ISO 8601 UTC."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms_iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _commit_json(c: Commit) -> dict[str, Any]:
    return {
        "table": c.table,
        "snapshot_id": c.snapshot_id,
        "committed_at": _ms_iso(c.committed_ms),
        "operation": c.operation,
        "added_records": c.added_records,
        "added_deletes": c.deleted_records,
    }


def report(loaded: LoadedConfig, job_name: str, domain: str | None, last: int) -> dict[str, Any]:
    modules = job_modules()
    if job_name not in modules:
        raise FlinkSetupError(f"unknown job {job_name!r}; jobs: {', '.join(sorted(modules))}")
    job = modules[job_name]
    settings = loaded.settings
    contracts = domain_contracts(loaded, domain, job.NEEDS)
    domain = contracts[0].domain
    catalog = lake_catalog(settings)
    prefix = settings.iceberg.catalog.name + "."
    tables = {k: v.removeprefix(prefix) for k, v in job.outputs(settings, domain).items() if v.startswith(prefix)}
    progress_name = tables["progress"]
    found = {key: commits_of_table(key, catalog.load_table(name)) for key, name in tables.items()
             if catalog.table_exists(name)}  # fmt: skip
    if "progress" not in found:
        raise FlinkSetupError(f"{progress_name} does not exist: the {job_name} job has not run on domain {domain!r}")
    outputs = [c for key, cs in found.items() if key != "progress" for c in cs]
    newest = checkpoints(outputs, found["progress"], last)
    rows = _progress_rows(loaded, progress_name, {c.progress.snapshot_id for c in newest if c.progress})
    events = {c.topic for c in job.inputs(contracts) if c.meta.kind != "reference"}
    return {
        "job": names.job_name(job_name, domain),
        "tables": tables,
        "checkpoints": [_checkpoint_json(c, rows, events) for c in newest],
    }


def _checkpoint_json(c: Checkpoint, rows: dict[int, list[dict[str, Any]]], events: set[str]) -> dict[str, Any]:
    partitions = rows.get(c.progress.snapshot_id, []) if c.progress else []
    per_topic, watermark = job_watermark(partitions, events)  # ISO text in UTC orders like the moments
    return {
        "checkpoint_id": c.checkpoint_id,
        "committed_at": _ms_iso(c.committed_ms),
        "outputs": [_commit_json(o) for o in c.outputs],
        "progress_snapshot_id": c.progress.snapshot_id if c.progress else None,
        "progress_checkpoint_id": c.progress.checkpoint_id if c.progress else None,
        "watermark": watermark,
        "topic_watermarks": per_topic,
        "partitions": partitions,
    }


def _progress_rows(loaded: LoadedConfig, name: str, snapshot_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The progress table's rows at each snapshot (Flink, batch: the table has equality deletes)."""
    if not snapshot_ids:
        return {}
    t_env = table_environment(loaded)
    table = silver_table(loaded.settings, name.split(".", 1)[1])
    out = {}
    for snapshot_id in sorted(snapshot_ids):
        with t_env.execute_sql(select_at_snapshot(table, PROGRESS_COLUMNS, snapshot_id, TIMES)).collect() as results:
            got = [dict(zip(PROGRESS_COLUMNS, list(row), strict=True)) for row in results]
        for row in got:
            row["max_event_time"], row["watermark"] = _iso(row["max_event_time"]), _iso(row["watermark"])
        out[snapshot_id] = sorted(got, key=lambda r: (r["kafka_topic"], r["kafka_partition"]))
    return out


def render(result: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo(f"{result['job']}: newest {len(result['checkpoints'])} checkpoint(s) that committed, newest first")
    for c in result["checkpoints"]:
        echo(f"checkpoint {c['checkpoint_id']}  committed {c['committed_at']}")
        for o in c["outputs"]:
            echo(
                f"  {o['table']:<12} snapshot {o['snapshot_id']:<20} {o['operation']:<9} "
                f"+{o['added_records']:,} rows, {o['added_deletes']:,} deletes"
            )
        if c["progress_snapshot_id"] is None:
            echo("  progress: none recorded")
            continue
        echo(f"  input read up to (progress snapshot {c['progress_snapshot_id']} of checkpoint "
             f"{c['progress_checkpoint_id']}); event-time watermark {c['watermark']}")  # fmt: skip
        for p in c["partitions"]:
            echo(
                f"    {p['kafka_topic']}[{p['kafka_partition']}]  last offset {p['last_offset']:,}  "
                f"records {p['records']:,}  newest event {p['max_event_time']}"
            )
        for topic, watermark in sorted(c["topic_watermarks"].items()):
            echo(f"    {topic}  source watermark {watermark}")


def main_commits(job_name: str, domain: str | None, last: int, as_json: bool) -> int:
    return main(lambda loaded: report(loaded, job_name, domain, last), as_json, lambda result: render(result, print))
