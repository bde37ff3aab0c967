"""Apache Kafka as one KRaft node (broker and controller in one JVM), its storage formatted on first start."""

from __future__ import annotations

from pathlib import Path

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.layout import Layout
from dp_localstack.services.base import ServiceSpec, host_port, java_command, jvm_options, run

#: Console logging of the broker: INFO, the chatty controller at WARN.
LOG4J2 = [
    "status = warn",
    "appender.out.type = Console",
    "appender.out.name = OUT",
    "appender.out.layout.type = PatternLayout",
    "appender.out.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = INFO",
    "rootLogger.appenderRef.out.ref = OUT",
    "logger.controller.name = org.apache.kafka.controller",
    "logger.controller.level = WARN",
]


def _listener(settings: PlatformSettings) -> tuple[str, int, int]:
    """(host, client port, controller port) of the node, the first bootstrap server."""
    host, port = host_port(settings.kafka.bootstrap_servers.split(",")[0], 9092)
    return host, port, settings.local.kafka.controller_port


def kafka_server_properties(settings: PlatformSettings, data: Path) -> str:
    """The broker's server.properties: one KRaft node, every internal topic with a single replica."""
    host, port, ctrl = _listener(settings)
    lines = [
        "# Written by `dp local up` from config/ (kafka.*, local.kafka.*): edits here are overwritten.",
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers={host}:{ctrl}",
        f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctrl}",
        f"advertised.listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctrl}",
        "inter.broker.listener.name=PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={data}",
        f"num.partitions={settings.kafka.topics.partitions}",
        "default.replication.factor=1",
        "min.insync.replicas=1",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        f"log.retention.ms={settings.kafka.topics.retention_ms}",
        f"log.retention.bytes={settings.kafka.topics.retention_bytes}",
    ]
    return "\n".join(lines) + "\n"


def kafka(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    host, port, ctrl = _listener(settings)
    conf, data, jars = layout.conf("kafka"), layout.data("kafka"), layout.jars("kafka")
    logging = f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}"

    def prepare() -> None:
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "server.properties").write_text(kafka_server_properties(settings, data), encoding="utf-8")
        (conf / "log4j2.properties").write_text("\n".join([*LOG4J2, ""]), encoding="utf-8")
        if (data / "meta.properties").exists():
            return

        def storage_tool(what: str, *args: str) -> str:
            return run(java_command(jars, "Kafka", [logging], "kafka.tools.StorageTool", *args), what)

        cluster_id = storage_tool("Kafka cluster id", "random-uuid").strip().splitlines()[-1]
        options = ("--standalone", "--ignore-formatted", "-t", cluster_id, "-c", str(conf / "server.properties"))
        storage_tool("Kafka storage format", "format", *options)

    def command() -> list[str]:
        heap = settings.local.kafka.heap
        options = jvm_options(f"{min(256, _mb(heap))}m", heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")
        options += ["-Djava.awt.headless=true", logging]
        return java_command(jars, "Kafka", options, "kafka.Kafka", str(conf / "server.properties"))

    return ServiceSpec(
        name="kafka",
        group="core",
        port=port,
        extra_ports=(ctrl,),
        description="Apache Kafka, KRaft broker+controller",
        command=command,
        health=lambda: health.kafka_metadata(settings),
        prepare=prepare,
        url=f"{host}:{port}",
    )


def _mb(size: str) -> int:
    number, unit = int(size[:-1]), size[-1]
    return number * {"k": 1, "m": 1, "g": 1024}[unit] // (1024 if unit == "k" else 1)
