"""The typed, frozen shape of the platform's configuration.

One section per top-level key (``kafka``, ``iceberg``, ...), each a frozen pydantic model that forbids unknown
keys. Secrets are :class:`pydantic.SecretStr`: the loader refuses them in YAML and every printer redacts them.
Defaults here are the *local* profile's values, so a bare checkout runs against the local stack.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Section(BaseModel):
    """Base of every configuration model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class KafkaTopicDefaults(Section):
    """Defaults for topics the platform provisions."""

    partitions: int = Field(3, ge=1, description="Partitions of a newly provisioned topic")
    replication_factor: int = Field(1, ge=1, description="Replicas per partition (1 on a single local broker)")
    retention_ms: int = Field(
        -1,
        ge=-1,
        description="Time retention of event topics, counted from each record's timestamp -- its event time, so a "
        "replay of events older than this is deleted before the batch layer reads it; -1 = by size only",
    )
    retention_bytes: int = Field(
        1 << 30, ge=-1, description="Size retention per partition of event topics (oldest segments first); -1 = none"
    )


class KafkaSettings(Section):
    """How every component reaches Kafka."""

    bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1, description="host:port[,host:port...]")
    client_id: str = "dtheinfra"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    topics: KafkaTopicDefaults = KafkaTopicDefaults()
    producer: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Extra librdkafka producer properties, passed through as is"
    )
    consumer: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Extra librdkafka consumer properties, passed through as is"
    )


class CatalogSettings(Section):
    """The Iceberg catalog every engine shares."""

    name: str = Field("lake", pattern=r"^[a-z_][a-z0-9_]*$", description="Catalog name engines register")
    type: Literal["rest", "glue", "sql"] = "rest"
    uri: str = "http://127.0.0.1:8181"
    warehouse: str = "s3://warehouse/"
    credential: SecretStr | None = Field(None, description="OAuth2 client credential for a secured REST catalog")
    token: SecretStr | None = Field(None, description="Bearer token for a secured REST catalog")
    properties: dict[str, str] = Field(default_factory=dict, description="Extra catalog properties")


class NamespaceSettings(Section):
    """Namespaces of the medallion layers."""

    bronze: str = "bronze"
    silver: str = "silver"
    gold: str = "gold"


class IcebergSettings(Section):
    """Iceberg tables: the catalog and the layer namespaces."""

    catalog: CatalogSettings = CatalogSettings()
    namespaces: NamespaceSettings = NamespaceSettings()


class StorageSettings(Section):
    """The S3-compatible object store that holds the lakehouse."""

    endpoint_url: str | None = Field("http://127.0.0.1:9000", description="S3 API endpoint; null means AWS S3 itself")
    region: str = "us-east-1"
    path_style_access: bool = True
    warehouse_bucket: str = Field("warehouse", pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
    access_key_id: SecretStr | None = Field(None, description="Omit on AWS to use the instance/IRSA role")
    secret_access_key: SecretStr | None = None


class RegistrySettings(Section):
    """The Confluent-compatible schema registry."""

    url: str = "http://127.0.0.1:8081"
    basic_auth_user: str | None = None
    basic_auth_password: SecretStr | None = None
    default_compatibility: Literal[
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    ] = "BACKWARD"


class CollectorSettings(Section):
    """The HTTP collector of the stream ingestor (`dp ingest serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(8090, ge=1, le=65535)
    max_body_bytes: int = Field(5 * 2**20, ge=1024, description="Larger request bodies are refused with 413")
    max_events_per_request: int = Field(10_000, ge=1)
    retry_after_s: int = Field(5, ge=1, description="Retry-After of a 503 answer")
    ack: Literal["delivered", "buffered"] = Field(
        "delivered",
        description="When a 202 is answered: delivered = once Kafka acknowledged every record of the request "
        "(acks=all; survives a crash of the collector); buffered = once they are in the producer's buffer "
        "(faster; a SIGKILL or machine crash loses the buffer)",
    )
    ack_timeout_s: float = Field(
        30.0, gt=0, description="How long a request waits for its delivery reports (ack: delivered), else 503"
    )


class IngestSettings(Section):
    """The stream ingestor: producing contract-checked events to Kafka."""

    auto_register_schemas: bool = Field(True, description="Register a contract's schema on first use")
    max_buffered_messages: int = Field(
        100_000, ge=1, description="Producer buffer bound (backpressure beyond it: 503 / a blocking send)"
    )
    delivery_timeout_ms: int = Field(300_000, ge=1000, description="How long a record may wait for the broker")
    dlq_retention_ms: int = Field(30 * 24 * 3600 * 1000, ge=-1, description="Retention of dead-letter topics")
    collector: CollectorSettings = CollectorSettings()


class ContractsSettings(Section):
    """Rules every contract shares, enforced wherever a record enters or is rebuilt (producer core, Silver)."""

    oldest_event_time: dt.datetime = Field(
        dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        description="An event time before this is implausible: the event is dead-lettered (Silver: quarantined)",
    )
    max_future_skew_s: int = Field(
        86_400, ge=0, description="An event time more than this many seconds after the clock is implausible"
    )

    @field_validator("oldest_event_time")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("give a UTC offset (e.g. 2000-01-01T00:00:00Z)")
        return value.astimezone(dt.UTC)


class DatabaseNames(Section):
    """One PostgreSQL database per consumer."""

    catalog: str = "iceberg_catalog"
    registry: str = "schema_registry"
    airflow: str = "airflow"
    platform: str = "platform"


class PostgresSettings(Section):
    """The PostgreSQL server that holds the catalog, the registry, Airflow and the platform's own metadata."""

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    user: str = "dataplatform"
    password: SecretStr | None = None
    databases: DatabaseNames = DatabaseNames()


class LocalKafkaSettings(Section):
    """The single KRaft broker of the local stack (its client port comes from kafka.bootstrap_servers)."""

    controller_port: int = Field(9093, ge=1, le=65535)
    heap: str = Field("512m", pattern=r"^[0-9]+[kmg]$")


class LocalStorageSettings(Section):
    """The local S3-compatible server (its API port comes from storage.endpoint_url)."""

    console_port: int | None = Field(None, ge=1, le=65535, description="Web console, where the server has one")


class LocalCatalogSettings(Section):
    """Apache Iceberg's REST catalog server (its port comes from iceberg.catalog.uri)."""

    heap: str = Field("256m", pattern=r"^[0-9]+[kmg]$")


class LocalSparkSettings(Section):
    """The Spark standalone master and worker of `make local-up`, and the Thrift server dbt runs on (core)."""

    master_port: int = Field(7077, ge=1, le=65535)
    ui_port: int = Field(8082, ge=1, le=65535)
    worker_ui_port: int = Field(8086, ge=1, le=65535)
    worker_cores: int = Field(2, ge=1)
    worker_memory: str = Field("2g", pattern=r"^[0-9]+[kmg]$")
    thrift_master: str = Field("local[2]", description="Spark master of the Thrift server dbt runs on (spark-thrift)")
    thrift_memory: str = Field("1g", pattern=r"^[0-9]+[kmg]$", description="Driver memory of the Thrift server")


class LocalFlinkSettings(Section):
    """The Flink session cluster (JobManager + TaskManager from the PyFlink package) of `make local-up`."""

    ui_port: int = Field(8083, ge=1, le=65535)
    rpc_port: int = Field(6123, ge=1, le=65535)
    taskmanager_slots: int = Field(2, ge=1)
    jobmanager_memory: str = Field("1024m", pattern=r"^[0-9]+[kmg]$")
    taskmanager_memory: str = Field("1536m", pattern=r"^[0-9]+[kmg]$")


class LocalTrinoSettings(Section):
    """The single-node Trino of the local stack (core; its port comes from serving.trino.url)."""

    heap: str = Field("1g", pattern=r"^[0-9]+[kmg]$", description="Trino's JVM heap (-Xmx)")
    query_memory: str = Field("512MB", pattern=r"^[0-9]+(MB|GB)$", description="query.max-memory(-per-node)")
    java_home: str | None = Field(
        None, description="A JDK 24+ for Trino (unset: the newest under /usr/lib/jvm that is 24 or later)"
    )


class LocalSettings(Section):
    """The local stack of plain processes: where its files live and how each service is sized."""

    runtime_dir: str = Field(".runtime", description="Fetched artifacts, data and logs; relative to the repo root")
    startup_timeout_s: float = Field(90.0, gt=0, description="How long to wait for one service to become healthy")
    stop_timeout_s: float = Field(20.0, gt=0, description="Grace period after SIGTERM before SIGKILL")
    kafka: LocalKafkaSettings = LocalKafkaSettings()
    storage: LocalStorageSettings = LocalStorageSettings()
    catalog: LocalCatalogSettings = LocalCatalogSettings()
    spark: LocalSparkSettings = LocalSparkSettings()
    flink: LocalFlinkSettings = LocalFlinkSettings()
    trino: LocalTrinoSettings = LocalTrinoSettings()


class LoggingSettings(Section):
    """Log output of every entry point."""

    level: LogLevel = "INFO"
    format: Literal["text", "json"] = Field("text", description="text: readable lines; json: one JSON object a line")
    loggers: dict[str, LogLevel] = Field(default_factory=dict, description="Per-logger levels, e.g. kafka: WARNING")


class GoldSettings(Section):
    """Gold, built by dbt (dp transform, the last step of dp batch run all)."""

    allowed_lateness_s: int = Field(3600, ge=0, description="How far Gold's watermark trails its slowest source")


class BatchSettings(Section):
    """The batch layer (platform/processing/spark-jobs)."""

    gold: GoldSettings = GoldSettings()


class StreamSettings(Section):
    """The speed layer (platform/processing/flink-jobs)."""

    checkpoint_interval_s: float = Field(10.0, gt=0, description="Flink checkpoint interval: Iceberg commits on each")
    checkpoint_dir: str = Field(
        "", description="Where checkpoints are kept (file:// or s3:// URI); empty: <runtime_dir>/flink/checkpoints"
    )
    window_s: int = Field(60, ge=1, description="Tumbling window size of the real-time aggregates")
    allowed_lateness_s: int = Field(
        60, ge=0, description="How far behind the newest event time an event may be and still count in its window"
    )
    idle_timeout_s: float = Field(
        30.0, gt=0, description="An input partition silent this long (wall clock) stops holding windows open"
    )
    parallelism: int = Field(1, ge=1, description="Default operator parallelism")
    dedup_ttl_s: int = Field(
        86400,
        gt=0,
        description="How long the jobs keep an event's state (its id, the enricher's orders and payments) after its "
        "last change; reference data is kept for good",
    )
    jvm_heap_mb: int = Field(
        1024,
        ge=256,
        description="Maximum heap (-Xmx) of the JVM PyFlink starts for a job, which also runs the job's embedded "
        "cluster when it runs locally: bounds the job's memory (raise it for large state on the heap)",
    )
    flink: dict[str, str] = Field(
        default_factory=dict, description="Extra Flink configuration for the speed-layer jobs, e.g. state backend"
    )
    enriched_topic_suffix: str = Field(
        "orders_enriched.v1", description="The enricher's output topic, after '<domain>.'"
    )


class ThriftSettings(Section):
    """A Spark Thrift server (EMR's, or ``start-thriftserver.sh``) that runs dbt's SQL: its catalog is its own."""

    host: str | None = Field(None, description="Thrift server host; required when transform.target is thrift")
    port: int = Field(10000, ge=1, le=65535, description="Thrift server port")
    user: str | None = Field(None, description="User dbt connects as (default: the server's)")
    auth: Literal["NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM"] | None = Field(
        None, description="Authentication mechanism (default: the driver's)"
    )
    kerberos_service_name: str | None = Field(None, description="Kerberos service name, with auth KERBEROS")
    password: SecretStr | None = Field(None, description="Password of auth LDAP or CUSTOM (a secret: never in YAML)")
    poll_interval_s: int = Field(
        1, ge=1, le=60, description="Seconds dbt waits between polls of a running statement (dbt-spark's default: 5)"
    )


class TransformSettings(Section):
    """The dbt layer (platform/transformation/dbt): Gold built from Silver by ``dp transform``."""

    target: Literal["session", "thrift"] = Field(
        "session", description="Where dbt runs its SQL: session = an embedded local Spark; thrift = a Thrift server"
    )
    namespace: str | None = Field(
        None,
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Iceberg namespace of the models (default: iceberg.namespaces.gold)",
    )
    threads: int = Field(1, ge=1, description="Models dbt builds at once (one Spark session serves them all)")
    master: str = Field("local[2]", min_length=1, description="Spark master of the session target")
    thrift: ThriftSettings = ThriftSettings()
    source_freshness_warn_hours: int = Field(
        1, ge=1, description="A Silver source whose newest _ingested_at is older than this many hours warns"
    )
    source_freshness_error_hours: int = Field(
        6, ge=1, description="A Silver source whose newest _ingested_at is older than this many hours fails"
    )

    @model_validator(mode="after")
    def _error_after_warn(self) -> TransformSettings:
        if self.source_freshness_error_hours <= self.source_freshness_warn_hours:
            raise ValueError("source_freshness_error_hours must be greater than source_freshness_warn_hours")
        return self


class DemoSettings(Section):
    """`make demo` / `dp demo`: the seeded shop workload run through both layers and reconciled."""

    domain: str = Field("commerce", description="Contract domain the demo runs on (its topics and tables)")
    seed: int = Field(7, description="Simulator seed: the same seed (and day) gives the same events and ids")
    events: int = Field(20000, ge=100, description="Events the simulator sends, every kind together")
    rate: float = Field(2000.0, gt=0, description="Events per second sent to Kafka")
    late: float = Field(0.03, ge=0, le=1, description="Fraction of events sent minutes late")
    duplicates: float = Field(0.03, ge=0, le=1, description="Fraction of events that are exact re-sends")
    malformed: float = Field(0.02, ge=0, le=1, description="Fraction of events that break their contract")
    recategorised: int = Field(
        3, ge=0, description="Products moved to another category half-way through (Gold's revenue per category takes "
        "the category as of each order)",
    )  # fmt: skip
    report: str = Field("demo-report.json", description="Where the JSON report is written (relative: to the repo)")
    stage_timeout_s: float = Field(900.0, gt=0, description="A stage (speed layer, batch layer) failing after this")


class TrinoSettings(Section):
    """The Trino coordinator the Data API queries with ``serving.engine: trino``, and BI tools connect to."""

    url: str = Field("http://127.0.0.1:8088", description="Trino's HTTP endpoint (the local stack's listens here)")
    catalog: str = Field("lake", description="Trino catalog of the shared Iceberg REST catalog (Iceberg connector)")
    user: str = Field("dp-data-api", description="User the Data API queries as")
    timeout_s: float = Field(30.0, gt=0, description="How long one query may take before the request fails (503)")


class ServingSettings(Section):
    """The Data API (platform/serving/data-api, ``dp serve api``): Gold and the speed layer merged at a boundary."""

    host: str = Field("127.0.0.1", description="Interface the API listens on")
    port: int = Field(8000, ge=1, le=65535, description="Port of the API (OpenAPI at /docs)")
    engine: Literal["duckdb", "trino"] = Field(
        "duckdb", description="Query engine: duckdb = embedded, reading the catalog; trino = the Trino at serving.trino"
    )
    domain: str = Field("commerce", description="Contract domain whose speed-layer tables the API serves")
    max_range_days: int = Field(92, ge=1, description="Widest from/to range of one request (400 beyond)")
    max_rows: int = Field(50_000, ge=1, description="Most rows of one answer (400 beyond: narrow the range or grain)")
    cache_entries: int = Field(1024, ge=0, description="Answers kept, keyed by the snapshots they read (0: no cache)")
    metadata_ttl_s: float = Field(
        1.0, ge=0, description="How long a table's metadata (snapshot, watermark) is reused before the catalog is asked"
    )
    query_threads: int = Field(2, ge=1, description="Threads of the embedded engine")
    auth: bool = Field(True, description="Require an API key with the route's scope (dp serve keys create)")
    key_cache_s: float = Field(5.0, ge=0, description="How long a checked key is trusted (a revocation's delay)")
    rate_limit_per_s: float = Field(50.0, gt=0, description="Requests per second each key may make, sustained")
    rate_limit_burst: int = Field(100, ge=1, description="Requests a key may make at once after a quiet spell")
    trino: TrinoSettings = TrinoSettings()


class AirflowSettings(Section):
    """Airflow 3 of the local stack (`make local-up`): its api-server (UI and REST) and how much it runs at once."""

    host: str = Field("127.0.0.1", description="Interface the api-server listens on")
    port: int = Field(8084, ge=1, le=65535, description="Port of the api-server (UI, REST API, execution API)")
    worker_log_port: int = Field(8795, ge=1, le=65535, description="Log server of the LocalExecutor's workers")
    trigger_log_port: int = Field(8796, ge=1, le=65535, description="Log server of the triggerer")
    parallelism: int = Field(2, ge=1, description="Task instances running at once (2 cores: keep it low)")
    admin_user: str = Field("admin", description="The UI's admin user (its password is a secret)")
    admin_password: SecretStr | None = Field(
        None, description="Secret: orchestration.airflow.admin_password; generated into the local secrets when unset"
    )


class MaintenanceSettings(Section):
    """Table maintenance (`dp batch maintain`, DAG lakehouse_maintenance): Iceberg's Spark procedures per table."""

    target_file_size_mb: int = Field(128, ge=1, description="Data files are bin-packed to about this size")
    min_input_files: int = Field(5, ge=2, description="A partition is compacted once it has this many small files")
    snapshot_retention_hours: float = Field(168, gt=0, description="Snapshots older than this are expired")
    retain_last_snapshots: int = Field(5, ge=1, description="... but at least this many are always kept")
    orphan_age_hours: float = Field(
        72,
        ge=0,
        description="Files no snapshot references, older than this, are deleted (keep it above the longest "
        "write: a file being written is not referenced yet)",
    )
    commit_retries: int = Field(3, ge=0, description="A commit that lost a race with a writer is retried this often")


class WatchSettings(Section):
    """DAG speed_layer_watch: what counts as a stuck speed layer."""

    max_consumer_lag: int = Field(100_000, ge=0, description="Records a job may trail its topics' end by")
    max_checkpoint_age_s: float = Field(600, gt=0, description="Newest completed checkpoint may be this old")


class OrchestrationSettings(Section):
    """Airflow (platform/orchestration/airflow): its DAGs' defaults and schedules, maintenance and watch limits."""

    owner: str = Field("data-platform", description="Owner of every DAG")
    tags: tuple[str, ...] = Field(("dtheinfra",), description="Tags every DAG carries (besides its layer's)")
    retries: int = Field(2, ge=0, description="Retries of a failed task")
    retry_delay_s: float = Field(60, ge=0, description="Wait before a retry")
    task_timeout_s: float = Field(3600, gt=0, description="A task running longer fails")
    batch_schedule: str | None = Field("@hourly", description="lakehouse_batch's schedule (null: only when triggered)")
    maintenance_schedule: str | None = Field("@daily", description="lakehouse_maintenance's schedule")
    watch_schedule: str | None = Field("*/5 * * * *", description="speed_layer_watch's schedule")
    gold_freshness_sla_s: float = Field(7200, gt=0, description="Gold's watermark may trail now by this much")
    airflow: AirflowSettings = AirflowSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    watch: WatchSettings = WatchSettings()


class PlatformSettings(Section):
    """The whole effective configuration of one environment (``DP_ENV``)."""

    env: str = Field("local", description="The environment these settings were built for (set by the loader)")
    kafka: KafkaSettings = KafkaSettings()
    iceberg: IcebergSettings = IcebergSettings()
    storage: StorageSettings = StorageSettings()
    registry: RegistrySettings = RegistrySettings()
    postgres: PostgresSettings = PostgresSettings()
    contracts: ContractsSettings = ContractsSettings()
    ingest: IngestSettings = IngestSettings()
    local: LocalSettings = LocalSettings()
    logging: LoggingSettings = LoggingSettings()
    batch: BatchSettings = BatchSettings()
    stream: StreamSettings = StreamSettings()
    transform: TransformSettings = TransformSettings()
    demo: DemoSettings = DemoSettings()
    serving: ServingSettings = ServingSettings()
    orchestration: OrchestrationSettings = OrchestrationSettings()
