"""`make bench-stream`: order events at a fixed rate for a fixed time through the event enricher, with the
throughput and the event-to-queryable latency (p50/p95/p99) next to the checkpoint interval.

Latency of one event: from the moment the bench hands it to the producer (its ingestion) to the moment a poll of the
REST catalog first sees a committed snapshot whose new data files hold its row. The poll runs every
``POLL_S``, so figures are upper bounds by at most that much. Everything lands in topics and tables of a domain of
its own (``sbench<timestamp>``), in a scratch checkout, so the shop's data is untouched.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig, load_settings
from dp_flink import names
from dp_flink.errors import StreamJobFailedError
from dp_flink.lag import group_lag
from dp_flink.launch import flink_python, job_args
from dp_lakehouse.pyiceberg import lake_catalog

POLL_S = 0.25
TICK_S = 0.01


@dataclass
class Visibility:
    """event id -> monotonic time its row was first seen committed; filled by a polling thread."""

    seen: dict[str, float] = field(default_factory=dict)
    snapshots: int = 0
    error: str | None = None


def _watch(loaded: LoadedConfig, identifier: str, stop: threading.Event, out: Visibility) -> None:
    catalog = lake_catalog(loaded.settings)
    known: set[int] = set()
    while not stop.is_set():
        try:
            table = catalog.load_table(identifier)
        except Exception:  # noqa: BLE001 -- the table appears with the job's first commit
            time.sleep(POLL_S)
            continue
        try:
            now = time.monotonic()
            for snapshot in sorted(table.snapshots(), key=lambda s: s.sequence_number or 0):
                if snapshot.snapshot_id in known:
                    continue
                known.add(snapshot.snapshot_id)
                out.snapshots += 1
                for manifest in snapshot.manifests(table.io):
                    if manifest.added_snapshot_id != snapshot.snapshot_id or manifest.content.value != 0:
                        continue
                    for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                        if entry.data_file.content.value != 0:
                            continue
                        with table.io.new_input(entry.data_file.file_path).open() as stream:
                            ids = pq.read_table(stream, columns=["event_id"]).column(0).to_pylist()
                        for event_id in ids:
                            out.seen.setdefault(str(event_id), now)
        except Exception as exc:  # noqa: BLE001 -- reported in the result, never a hang
            out.error = f"{type(exc).__name__}: {exc}"
            return
        stop.wait(POLL_S)


def _scratch(loaded: LoadedConfig, root: Path, domain: str) -> list[Contract]:
    shutil.copytree(loaded.config_dir, root / "config")
    shutil.copytree(contracts_dir(loaded.repo_root) / "commerce", contracts_dir(root) / domain)
    return load_contracts(contracts_dir(root))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(
    loaded: LoadedConfig,
    rate: float,
    seconds: float,
    warmup_s: float,
    checkpoint_interval_s: float | None,
    say: Callable[[str], None],
    environ: dict[str, str],
    keep: bool = False,
) -> dict[str, Any]:
    from dp_ingest.dlq import Source
    from dp_ingest.producer import EventProducer
    from dp_ingest.topics import provision, topic_specs
    from dp_simulator import SimulationConfig, simulate

    domain = f"sbench{int(time.time())}"
    interval = checkpoint_interval_s or loaded.settings.stream.checkpoint_interval_s
    with tempfile.TemporaryDirectory(prefix="dp-bench-stream-") as tmp:
        root = Path(tmp)
        contracts = _scratch(loaded, root, domain)
        env = {k: v for k, v in environ.items() if k != "DP_CONFIG_DIR"}
        env |= {"DP_LOCAL_RUNTIME_DIR": str(loaded.runtime_dir), "DP_STREAM_CHECKPOINT_INTERVAL_S": str(interval)}
        bench = load_settings(root / "config", env, env=loaded.env)
        settings = bench.settings
        provision(settings, topic_specs(contracts, settings))
        producer = EventProducer(settings, contracts)
        source = Source("bench", {})

        # reference data first, and order templates, from the simulator
        templates: list[dict[str, Any]] = []
        config = SimulationConfig(seed=7, count=20_000, start=dt.datetime.now(dt.UTC).replace(microsecond=0))
        for event in simulate(config):
            if event.payload is None:
                continue
            if event.contract in ("product", "customer"):
                producer.send(event.contract, event.payload, source)
            elif event.contract == "order_placed" and event.kind == "valid":
                templates.append(event.payload)
        producer.flush(60)
        say(f"bench-stream: {domain}: reference data sent, {len(templates)} order templates; starting the enricher")

        name = names.job_name(names.ENRICHER, domain)
        log = root / f"{names.ENRICHER}.log"
        with log.open("w") as handle:
            job = subprocess.Popen(
                [str(flink_python(loaded)), *job_args(names.ENRICHER, domain)],
                cwd=root,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        try:
            topics = [f"{domain}.{n}.v1" for n in ("order_placed", "product", "customer")]
            deadline = time.monotonic() + 180
            while sum(group_lag(settings, name, topics).values()) > 0:  # the first checkpoint took the references
                if job.poll() is not None or time.monotonic() > deadline:
                    raise StreamJobFailedError(f"the enricher did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)

            visibility = Visibility()
            stop = threading.Event()
            identifier = f"{settings.iceberg.namespaces.silver}.{names.table(domain, names.ORDERS_ENRICHED)}"
            watcher = threading.Thread(target=_watch, args=(bench, identifier, stop, visibility), daemon=True)
            watcher.start()

            sent_at: dict[str, float] = {}
            say(f"bench-stream: producing {rate:,.0f} orders/s for {warmup_s:.0f} s warm-up + {seconds:.0f} s measured")
            began = time.monotonic()
            measured_from = began + warmup_s
            total = 0
            i = 0
            while True:
                now = time.monotonic()
                if now - began >= warmup_s + seconds:
                    break
                due = int((now - began) * rate)
                while total < due:
                    order = dict(templates[i % len(templates)])
                    i += 1
                    event_id = str(uuid.uuid4())
                    order["event_id"], order["order_id"] = event_id, str(uuid.uuid4())
                    order["occurred_at"] = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
                    stamp = time.monotonic()
                    producer.send("order_placed", order, source)
                    if stamp >= measured_from:
                        sent_at[event_id] = stamp
                    total += 1
                producer.poll(0)
                time.sleep(TICK_S)
            producer.flush(60)
            send_s = time.monotonic() - measured_from
            say(f"bench-stream: {len(sent_at):,} measured orders sent; waiting for them to become queryable")
            wait_until = time.monotonic() + 3 * interval + 60
            while time.monotonic() < wait_until and not sent_at.keys() <= visibility.seen.keys():
                if job.poll() is not None:
                    raise StreamJobFailedError(f"the enricher stopped: {log.read_text()[-2000:]}")
                if visibility.error:
                    break
                time.sleep(1)
            stop.set()
            watcher.join(10)
        finally:
            job.terminate()
            try:
                job.wait(60)
            except subprocess.TimeoutExpired:
                job.kill()
        latencies = [visibility.seen[e] - t for e, t in sent_at.items() if e in visibility.seen]
        missing = len(sent_at) - len(latencies)
        last_seen = max((visibility.seen[e] for e in sent_at if e in visibility.seen), default=measured_from)
        result: dict[str, Any] = {
            "domain": domain,
            "target_rate": rate,
            "sent_rate": round(len(sent_at) / send_s, 1) if send_s > 0 else 0.0,
            "measured_events": len(sent_at),
            "visible_events": len(latencies),
            "not_visible": missing,
            "throughput_rows_per_s": round(len(latencies) / max(last_seen - measured_from, 1e-9), 1),
            "checkpoint_interval_s": interval,
            "snapshots_seen": visibility.snapshots,
            "watch_error": visibility.error,
        }
        if latencies:
            p50, p95, p99 = (_percentile(latencies, q) for q in (0.50, 0.95, 0.99))
            result |= {
                "latency_p50_s": round(p50, 2),
                "latency_p95_s": round(p95, 2),
                "latency_p99_s": round(p99, 2),
                "latency_mean_s": round(statistics.fmean(latencies), 2),
                "p95_over_checkpoint_interval": round(p95 / interval, 2),
                "target_met": p95 <= 2 * interval and missing == 0,
            }
        shutil.rmtree(loaded.runtime_dir / "flink" / "checkpoints" / name, ignore_errors=True)
        if not keep:
            say(f"bench-stream: dropping {domain}'s topics and tables (--keep leaves them)")
            _drop(bench, contracts, domain)
        return result


def _drop(loaded: LoadedConfig, contracts: list[Contract], domain: str) -> None:
    """The bench's topics and tables (a 5,000/s minute leaves ~300,000 orders in each of Kafka and Iceberg)."""
    from dp_ingest.topics import delete_topics, topic_specs

    settings = loaded.settings
    delete_topics(
        settings, [s.name for s in topic_specs(contracts, settings)] + [names.enriched_topic(settings, domain)]
    )
    catalog = lake_catalog(settings)
    silver = settings.iceberg.namespaces.silver
    for _, table in catalog.list_tables(silver):
        if table.startswith(f"{domain}__"):
            catalog.purge_table(f"{silver}.{table}")
