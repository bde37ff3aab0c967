"""`make bench-ingest`: the simulator's validated, Avro-encoded events per second against Kafka's own Java producer
benchmark (``org.apache.kafka.tools.ProducerPerformance``) on the same broker, same record size, same run.

Both write to topics of their own (domain ``bench``), so the shop's topics are untouched. Figures:

* ``python_pipeline``: generate + validate + encode + produce + wait for every delivery (acks=all, idempotent);
* ``python_send``: validate + encode + produce + deliveries, over events generated beforehand;
* ``java``: ProducerPerformance with the same durability settings and the average record size of the Python run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from typing import Any, NamedTuple

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig
from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.producer import EventProducer
from dp_ingest.topics import TopicSpec, provision, topic_specs
from dp_stream_ingestors.errors import IngestRunError

BENCH_DOMAIN = "bench"
_JAVA_RESULT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


class Figure(NamedTuple):
    """One measured run: how many events in how many seconds of wall-clock time."""

    events: int
    seconds: float
    """Wall-clock seconds; 0 when nothing was measured (the rate is then 0)."""

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def bench_contracts(loaded: LoadedConfig) -> list[Contract]:
    return [
        Contract(name=c.name, domain=BENCH_DOMAIN, path=c.path, schema=c.schema)
        for c in load_contracts(contracts_dir(loaded.repo_root))
    ]


def _send_all(producer: EventProducer, events: list[Any]) -> None:
    for event in events:
        source = Source("simulator", {"seq": event.seq})
        if event.raw is not None:
            producer.reject(event.contract, [FieldError("", "not_json", "the body is not JSON")], source, raw=event.raw)
        else:
            producer.send(event.contract, event.payload, source)
    remaining = producer.flush(120)
    if remaining or producer.stats.failed:
        raise IngestRunError(f"bench: {producer.stats.failed} failed, {remaining} undelivered")


def python_figures(loaded: LoadedConfig, events: int, seed: int) -> tuple[Figure, Figure, float]:
    """(pipeline, send-only, average framed value bytes) of the simulator through the producer core."""
    import datetime as dt

    from dp_simulator import SimulationConfig, simulate

    contracts = bench_contracts(loaded)
    provision(loaded.settings, topic_specs(contracts, loaded.settings))
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    config = SimulationConfig(seed=seed, count=events, start=start)

    producer = EventProducer(loaded.settings, contracts)
    for contract in contracts:  # schema ids resolved before the clock starts
        producer.codec(contract.name)
    began = time.perf_counter()
    _send_all(producer, list(simulate(config)))
    pipeline = Figure(events, time.perf_counter() - began)

    pregenerated = list(simulate(config))
    sizes = [len(producer.codec(e.contract).encode(e.payload)[1]) for e in pregenerated[:5000] if e.payload]
    producer = EventProducer(loaded.settings, contracts)
    for contract in contracts:
        producer.codec(contract.name)
    began = time.perf_counter()
    _send_all(producer, pregenerated)
    send = Figure(events, time.perf_counter() - began)
    return pipeline, send, sum(sizes) / max(len(sizes), 1)


def java_figure(loaded: LoadedConfig, events: int, record_size: int) -> Figure:
    """ProducerPerformance with the producer core's durability and batching settings."""
    java = shutil.which("java")
    jars = loaded.runtime_dir / "jars" / "kafka"
    if java is None or not any(jars.glob("kafka-tools-*.jar")):
        raise IngestRunError(f"ProducerPerformance needs java and the Kafka jars in {jars}: run `make install`")
    settings = loaded.settings
    topic = f"{BENCH_DOMAIN}.producer_performance"
    # the broker does not auto-create topics: without this the tool waits for metadata, record after record
    defaults = settings.kafka.topics
    spec = TopicSpec(
        name=topic,
        contract="bench",
        role="events",
        partitions=defaults.partitions,
        replication_factor=defaults.replication_factor,
        config={},
    )
    provision(settings, [spec])
    props = [
        f"bootstrap.servers={settings.kafka.bootstrap_servers}",
        "acks=all",
        "enable.idempotence=true",
        "compression.type=zstd",
        "linger.ms=20",
        "batch.size=1048576",
    ]
    command = [
        java,
        "-Xmx512m",
        "-cp",
        f"{jars}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(events),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--command-property",
        *props,
        "max.block.ms=10000",
    ]
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - began
    matches = _JAVA_RESULT.findall(result.stdout)
    if result.returncode != 0 or not matches:
        raise IngestRunError(f"ProducerPerformance failed: {(result.stderr or result.stdout)[-1500:]}")
    sent, per_second, _ = matches[-1]
    return Figure(int(sent), int(sent) / float(per_second) if float(per_second) else elapsed)


def run(loaded: LoadedConfig, events: int, seed: int) -> dict[str, Any]:
    pipeline, send, size = python_figures(loaded, events, seed)
    java = java_figure(loaded, events, round(size))
    return {
        "events": events,
        "record_bytes": round(size),
        "python_pipeline_per_s": round(pipeline.per_second),
        "python_send_per_s": round(send.per_second),
        "java_per_s": round(java.per_second),
        "ratio_pipeline_to_java": round(pipeline.per_second / java.per_second, 3) if java.per_second else None,
        "ratio_send_to_java": round(send.per_second / java.per_second, 3) if java.per_second else None,
        "target_per_s": 50_000,
    }
