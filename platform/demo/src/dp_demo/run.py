"""The demo, stage by stage: stack -> topics, contracts, namespaces -> speed layer started -> workload sent ->
speed layer caught up -> batch layer -> reconciliation report.

Every stage is idempotent, so the demo can be run again at any time, also after being killed half-way: the
workload of the same day and settings is the same, only the records Kafka lacks are sent (found by their
sequence-number header), the speed-layer jobs restart from their last checkpoints and the batch jobs from the
progress stored in their Iceberg snapshots.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig
from dp_demo import reconcile as rec
from dp_demo.batch import LayerRun, run_batch
from dp_demo.errors import DemoDataInTheWay, DemoError
from dp_demo.kafka_io import TopicContents, read_topics
from dp_demo.observe import Observed, observe, read_enriched, table_names
from dp_demo.produce import ProduceResult, load_handoffs, send_missing
from dp_demo.reset import reset_domain
from dp_demo.serving import serving_check
from dp_demo.speed import start_jobs, stop_jobs, stop_leftovers, wait_jobs, wait_running
from dp_demo.workload import Workload, expected
from dp_flink.names import ORDERS_ENRICHED

Say = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    """One run of the demo, as the command line asks for it."""

    workload: Workload
    reset: bool = False
    """Drop the domain's topics, tables and checkpoints first."""
    domain: str
    report: Path
    """Where the JSON report is written."""
    stage_timeout_s: float = 900.0


def _stage(say: Say, number: int, text: str) -> float:
    say(f"[{number}/6] {text}")
    return time.monotonic()


def domain_contracts(loaded: LoadedConfig, domain: str) -> list[Contract]:
    contracts = [c for c in load_contracts(contracts_dir(loaded.repo_root)) if c.domain == domain]
    if not contracts:
        raise DemoError(f"no contracts of domain {domain!r} under schemas/avro/ (demo.domain)")
    return contracts


def provision_domain(loaded: LoadedConfig, contracts: list[Contract], catalog: Any) -> None:
    """The domain's topics (and dead-letter topics), its contracts in the schema registry, the lakehouse's
    namespaces; each step leaves what exists alone."""
    from dp_contracts.registry import register, registry_client
    from dp_ingest.topics import provision, topic_specs

    settings = loaded.settings
    provision(settings, topic_specs(contracts, settings))
    client = registry_client(settings)
    for contract in contracts:
        register(client, settings.registry.url, contract)
    for ns in (
        settings.iceberg.namespaces.bronze,
        settings.iceberg.namespaces.silver,
        settings.iceberg.namespaces.gold,
    ):
        catalog.create_namespace_if_not_exists(ns)


def topic_pairs(contracts: list[Contract]) -> dict[str, tuple[str, str]]:
    return {c.name: (c.topic, c.dlq_topic) for c in contracts}


def _read_back(loaded: LoadedConfig, contracts: list[Contract], workload: Workload) -> dict[str, TopicContents]:
    return read_topics(loaded.settings, [t for pair in topic_pairs(contracts).values() for t in pair], workload.id)


def run_demo(loaded: LoadedConfig, options: DemoOptions, environ: Mapping[str, str], say: Say) -> dict[str, Any]:
    """Run the demo and return its report (also written to ``options.report``)."""
    from dp_flink.launch import flink_python
    from dp_lakehouse.pyiceberg import lake_catalog
    from dp_localstack.layout import Layout
    from dp_localstack.stack import LocalStack

    settings = loaded.settings
    if settings.env != "local":
        raise DemoError(f"the demo runs on the local stack (DP_ENV=local), not on {settings.env!r}")
    began = time.monotonic()
    workload, domain = options.workload, options.domain
    state_dir = loaded.runtime_dir / "demo" / domain
    started_at = dt.datetime.now(dt.UTC)

    t0 = _stage(
        say, 1, "the core stack (Kafka, S3 store, PostgreSQL, REST catalog, registry, Spark Thrift, Trino, Data API)"
    )
    flink_python(loaded)  # the speed layer's environment must be there: a clear error now, not in a child later
    LocalStack(settings, Layout.from_config(loaded), echo=lambda line: say("  " + line)).up(core_only=True)
    stack_s = time.monotonic() - t0

    t0 = _stage(say, 2, f"topics, contracts and namespaces of domain {domain!r}")
    contracts = domain_contracts(loaded, domain)
    catalog = lake_catalog(settings)
    stop_leftovers(state_dir / "jobs" / "jobs.pid", say)
    state_file = state_dir / "workload.json"
    previous = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else None
    if options.reset or (previous is not None and previous.get("id") != workload.id):
        why = (
            "--reset" if options.reset else f"the workload changed ({previous and previous.get('id')} -> {workload.id})"
        )
        say(f"  resetting the demo's topics, tables and checkpoints ({why})")
        reset_domain(loaded, catalog, contracts, domain, state_dir, say)
        previous = None
    provision_domain(loaded, contracts, catalog)
    kafka_before = _read_back(loaded, contracts, workload)
    foreign = {t: c.foreign + sum(c.other_workloads.values()) for t, c in kafka_before.items()}
    if previous is None and any(foreign.values()):
        busy = ", ".join(f"{t} ({n:,})" for t, n in foreign.items() if n)
        raise DemoDataInTheWay(
            f"the demo's topics hold records it did not send: {busy}. The demo owns domain {domain!r} on the local "
            "stack; clear it with `dp demo --reset` (make demo DEMO_ARGS=--reset) or set demo.domain"
        )
    if previous is None and _lakehouse_has_rows(catalog, loaded, contracts, domain):
        raise DemoDataInTheWay(
            f"the tables of domain {domain!r} already hold rows the demo did not write; clear them with "
            "`dp demo --reset` (make demo DEMO_ARGS=--reset) or set demo.domain"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"id": workload.id, "config": workload.config.as_dict()}, default=str) + "\n")
    delivered = {seq for c in kafka_before.values() for seq in c.seqs}
    setup_s = time.monotonic() - t0

    t0 = _stage(say, 3, "the speed layer: event enricher and real-time aggregator (PyFlink, embedded)")
    dp = Path(sys.executable).parent / "dp"
    env = dict(environ) | {"DP_CONFIG_DIR": str(loaded.config_dir.resolve()), "DP_ENV": settings.env}
    jobs = start_jobs(dp, loaded.repo_root, env, domain, options.stage_timeout_s, state_dir / "jobs")
    try:
        say(f"  starting; logs in {state_dir / 'jobs'}")
        wait_running(jobs, options.stage_timeout_s, say)
        _stage(say, 4, f"sending workload {workload.id}: {workload.config.count:,} events at {workload.rate:,.0f}/s")
        if delivered:
            say(f"  {len(delivered):,} of its events are already in Kafka (an earlier run): sending only the rest")
        handoff_file = state_dir / f"handoffs-{workload.id}.jsonl"
        produced = send_missing(settings, contracts, workload, delivered, handoff_file, say)
        say(f"  sent {produced.sent:,} records in {produced.seconds:.1f} s ({produced.per_second:,.0f}/s)")
        say("  waiting for the speed layer to commit everything and go idle")
        summaries = wait_jobs(jobs, say)
    finally:
        stop_jobs(jobs)
    (state_dir / "jobs" / "jobs.pid").unlink(missing_ok=True)
    speed_s = time.monotonic() - t0

    _stage(say, 5, "the batch layer: Kafka -> Bronze -> Silver (PySpark local[2]) -> Gold (dbt build)")
    enriched_table = f"{settings.iceberg.catalog.name}.{table_names(settings, [], domain)[f'speed:{ORDERS_ENRICHED}']}"
    layers, enriched = run_batch(loaded, contracts, say, lambda spark: read_enriched(spark, enriched_table))

    _stage(say, 6, "reconciling every layer with the simulator's manifest")
    topics = topic_pairs(contracts)
    kafka = _read_back(loaded, contracts, workload)
    wanted = expected(workload, workload.events(), topics, "unknown")
    seen = observe(catalog, settings, contracts, domain)
    seen.enriched_ids, seen.enriched_visible_at = enriched.ids, enriched.visible_at
    lines = rec.reconcile(wanted, seen, kafka, topics)
    windows, still_open = rec.compare_windows(seen, settings.stream.window_s)
    lines.append(rec.windows_line(windows, still_open))
    lines.append(rec.page_view_windows(seen, settings.stream.window_s))
    api_lines, freshness = serving_check(loaded, domain, seen)  # (per minute: the API's finest grain)
    lines.extend(api_lines)
    latency = rec.latency(load_handoffs(handoff_file), seen.enriched_visible_at, wanted.order_ids)
    report = _report(
        loaded, options, wanted.manifest, lines, windows, produced, summaries, layers, latency, seen, contracts,
        freshness, started_at=started_at, seconds=time.monotonic() - began, stage_seconds={
            "stack": stack_s, "setup": setup_s, "speed": speed_s, "batch": sum(x.seconds for x in layers)},
    )  # fmt: skip
    options.report.parent.mkdir(parents=True, exist_ok=True)
    options.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report


def _days(seen: Observed) -> str:
    """``from=<first day>&to=<the day after the last>`` of the workload's orders (today when there are none), for
    the example queries."""
    times = [o["occurred_at"] for o in seen.silver_orders] or [dt.datetime.now(dt.UTC)]
    return f"from={min(times).date().isoformat()}&to={(max(times).date() + dt.timedelta(days=1)).isoformat()}"


def _lakehouse_has_rows(catalog: Any, loaded: LoadedConfig, contracts: list[Contract], domain: str) -> bool:
    from pyiceberg.exceptions import NoSuchTableError

    for role, name in table_names(loaded.settings, contracts, domain).items():
        if not role.startswith(("bronze:", "speed:")):
            continue
        try:
            if catalog.load_table(name).current_snapshot() is not None:
                return True
        except NoSuchTableError:
            continue
    return False


def _report(
    loaded: LoadedConfig,
    options: DemoOptions,
    manifest: dict[str, Any],
    lines: list[rec.Line],
    windows: list[rec.Window],
    produced: ProduceResult,
    summaries: dict[str, dict[str, Any]],
    layers: list[LayerRun],
    latency: dict[str, Any],
    seen: Observed,
    contracts: list[Contract],
    freshness: dict[str, Any],
    *,
    started_at: dt.datetime,
    seconds: float,
    stage_seconds: dict[str, float],
) -> dict[str, Any]:
    settings = loaded.settings
    ok = all(line.ok for line in lines)
    local = settings.local
    api, days = f"http://{settings.serving.host}:{settings.serving.port}", _days(seen)
    names = table_names(settings, contracts, options.domain)
    sent = {
        name: {k: c[k] for k in ("sent", "valid_unique", "duplicates", "late", "malformed")}
        for name, c in manifest["contracts"].items()
    }
    return {
        "status": "PASS" if ok else "FAIL",
        "passed": sum(line.ok for line in lines),
        "failed": sum(not line.ok for line in lines),
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "stage_seconds": {k: round(v, 1) for k, v in stage_seconds.items()},
        "workload": {
            "id": options.workload.id,
            "domain": options.domain,
            **options.workload.config.as_dict(),
            "rate_per_s": options.workload.rate,
        },
        "sent": sent,
        "lines": [line.as_dict() for line in lines],
        "windows": [w.as_dict() for w in windows],
        "throughput": {
            "producer": {
                "records_sent_this_run": produced.sent,
                "already_in_kafka": produced.already_in_kafka,
                "seconds": round(produced.seconds, 1),
                "records_per_s": round(produced.per_second),
            },
            "speed_layer": {
                job: {
                    "seconds": round(float(s.get("wall_seconds", 0)), 1),
                    "last_checkpoint": s.get("last_checkpoint"),
                    "restored_checkpoint": s.get("restored_checkpoint"),
                }
                for job, s in summaries.items()
            },
            "batch_layer": {
                layer.layer: {
                    "rows_read": layer.rows_read,
                    "rows_written": layer.rows_written,
                    "tables_committed": layer.committed,
                    "seconds": round(layer.seconds, 1),
                    "rows_read_per_s": round(layer.rows_read / layer.seconds) if layer.seconds else 0,
                }
                for layer in layers
            },
        },
        "latency": {
            "what": "speed layer, event to queryable: hand-off to the producer -> commit of the first Iceberg snapshot "
            f"of {ORDERS_ENRICHED} showing the order",
            "checkpoint_interval_s": settings.stream.checkpoint_interval_s,
            **latency,
        },
        "where_to_look": {
            "tables": {
                "silver": sorted(v for k, v in names.items() if k.startswith("silver:")),
                "speed": sorted(v for k, v in names.items() if k.startswith("speed:")),
                "gold": sorted(v for k, v in names.items() if k.startswith("gold:")),
                "quarantine": sorted(v for k, v in names.items() if k.startswith("rejected:")),
            },
            "dead_letter_topics": sorted(c.dlq_topic for c in contracts),
            "services": {
                "kafka": settings.kafka.bootstrap_servers,
                "schema_registry": settings.registry.url,
                "iceberg_rest_catalog": settings.iceberg.catalog.uri,
                "s3_store": settings.storage.endpoint_url,
                "data_api": f"http://{settings.serving.host}:{settings.serving.port}/docs",
                "spark_ui_with_make_local_up": f"http://127.0.0.1:{local.spark.ui_port}",
                "flink_ui_with_make_local_up": f"http://127.0.0.1:{local.flink.ui_port}",
            },
            "commands": [
                "dp batch run all            # the batch layer again (commits only what is new)",
                "KEY=$(dp serve keys create --name me --scope metrics:read)   # a key for the Data API",
                f"curl -H \"Authorization: Bearer $KEY\" '{api}/v1/metrics/revenue?{days}&grain=hour'",
                f"curl -H \"Authorization: Bearer $KEY\" '{api}/v1/reconciliation?{days}'",
                "dp stream run aggregator    # the speed layer, until Ctrl-C",
                "dp ingest simulate --help   # more events",
                f"the job logs: {loaded.runtime_dir / 'demo' / options.domain / 'jobs'}",
            ],
        },
        "enriched_orders": len(seen.enriched_ids or []),
        "serving": {
            "url": f"http://{settings.serving.host}:{settings.serving.port}",
            "freshness": freshness,
        },
    }
