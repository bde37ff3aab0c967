"""The services of the local stack as data: how each starts, where it listens, how its health is proven.

Every address, port and credential comes from the platform settings (the ``local`` environment by default), so
the stack and the platform code agree by construction.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import yaml

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import InstallError, MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.process import is_root

Group = Literal["core", "full"]
POSTGRES_OS_USER = "postgres"
#: The S3 SDKs inside the JVM services send checksums some S3-compatible servers reject; ask only when required.
AWS_CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED",
}


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the stack."""

    name: str
    group: Group
    port: int
    description: str
    command: Callable[[], list[str]]
    health: Callable[[], health.Health]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    extra_ports: tuple[int, ...] = ()
    prepare: Callable[[], None] | None = None
    bootstrap: Callable[[], None] | None = None
    url: str = ""

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host:port`` or a URL -> (host, port)."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def java() -> str:
    path = shutil.which("java")
    if path is None:
        raise MissingToolError("java", "install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)")
    return path


def _run(cmd: list[str], what: str, user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        user=user,
        group=user,
        extra_groups=[] if user else None,
        env=dict(env) if env is not None else None,
        timeout=300,
    )
    if result.returncode != 0:
        raise InstallError(what, (result.stderr or result.stdout).strip()[-2000:])
    return result.stdout


def _classpath(jars_dir: Path, what: str) -> str:
    if not any(jars_dir.glob("*.jar")):
        raise InstallError(what, f"no jars in {jars_dir}: run `make install`")
    return f"{jars_dir}/*"


# ---------------------------------------------------------------------------------------------------------------- Kafka


def kafka_server_properties(settings: PlatformSettings, data: Path) -> str:
    """The broker's server.properties: one KRaft node, every internal topic with a single replica."""
    host, port = host_port(settings.kafka.bootstrap_servers.split(",")[0], 9092)
    ctrl = settings.local.kafka.controller_port
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
    host, port = host_port(settings.kafka.bootstrap_servers.split(",")[0], 9092)
    ctrl = settings.local.kafka.controller_port
    conf, data = layout.conf("kafka"), layout.data("kafka")

    def prepare() -> None:
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "server.properties").write_text(kafka_server_properties(settings, data), encoding="utf-8")
        (conf / "log4j2.properties").write_text(
            "\n".join(
                [
                    "status = warn",
                    "appender.out.type = Console",
                    "appender.out.name = OUT",
                    "appender.out.layout.type = PatternLayout",
                    "appender.out.layout.pattern = [%d] %p %m (%c)%n",
                    "rootLogger.level = INFO",
                    "rootLogger.appenderRef.out.ref = OUT",
                    "logger.controller.name = org.apache.kafka.controller",
                    "logger.controller.level = WARN",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        if (data / "meta.properties").exists():
            return
        cp = _classpath(layout.jars("kafka"), "Kafka")
        tool = [java(), f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}", "-cp", cp]
        cluster_id = (
            _run([*tool, "kafka.tools.StorageTool", "random-uuid"], "Kafka cluster id").strip().splitlines()[-1]
        )
        _run(
            [
                *tool,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--ignore-formatted",
                *("-t", cluster_id, "-c", str(conf / "server.properties")),
            ],
            "Kafka storage format",
        )

    def command() -> list[str]:
        heap = settings.local.kafka.heap
        return [
            java(),
            f"-Xms{min(256, _mb(heap))}m",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}",
            "-cp",
            _classpath(layout.jars("kafka"), "Kafka"),
            "kafka.Kafka",
            str(conf / "server.properties"),
        ]

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


# ------------------------------------------------------------------------------------------------------------ S3 store


def s3(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    if settings.storage.endpoint_url is None:
        raise InstallError("S3 store", "storage.endpoint_url is null: the local stack needs a local endpoint")
    host, port = host_port(settings.storage.endpoint_url, 9000)
    console = settings.local.storage.console_port
    data = layout.data("s3")
    key, secret = settings.storage.access_key_id, settings.storage.secret_access_key
    if key is None or secret is None:
        raise InstallError("S3 store", "storage.access_key_id / secret_access_key are not set (config/secrets/local)")

    def prepare() -> None:
        (data / "buckets").mkdir(parents=True, exist_ok=True)
        (data / "meta").mkdir(parents=True, exist_ok=True)

    def command() -> list[str]:
        binary = layout.bin / "versitygw"
        if not binary.exists():
            raise InstallError("versitygw", f"{binary} is missing: run `make install`")
        webui = ["--webui", f"{host}:{console}", "--webui-no-tls"] if console else []
        return [
            str(binary),
            "--port",
            f"{host}:{port}",
            *webui,
            "--region",
            settings.storage.region,
            "--quiet",
            "posix",
            "--sidecar",
            str(data / "meta"),
            str(data / "buckets"),
        ]

    def bootstrap() -> None:
        client = health.s3_client(settings)
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if settings.storage.warehouse_bucket not in names:
            client.create_bucket(Bucket=settings.storage.warehouse_bucket)

    return ServiceSpec(
        name="s3",
        group="core",
        port=port,
        extra_ports=(console,) if console else (),
        description="S3-compatible object store (versitygw, posix backend)",
        command=command,
        # credentials go through the environment, not the command line that `ps` shows
        env={"ROOT_ACCESS_KEY_ID": key.get_secret_value(), "ROOT_SECRET_ACCESS_KEY": secret.get_secret_value()},
        health=lambda: health.s3_list_buckets(settings),
        prepare=prepare,
        bootstrap=bootstrap,
        url=settings.storage.endpoint_url,
    )


# ------------------------------------------------------------------------------------------------------------ Postgres


def postgres_bin_dir() -> Path:
    """The folder of the newest installed PostgreSQL server binaries (Debian layout, then PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("postgres") or shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    raise MissingToolError("postgres", "install the PostgreSQL server (Debian: apt-get install postgresql)")


def postgres_superuser() -> str:
    return POSTGRES_OS_USER if is_root() else os.environ.get("USER") or "postgres"


def postgres_socket_dir(layout: Layout) -> Path:
    return layout.run / "postgres"


def postgres(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    pg = settings.postgres
    data = layout.data("postgres")
    sockets = postgres_socket_dir(layout)
    os_user = POSTGRES_OS_USER if is_root() else None
    superuser = postgres_superuser()
    admin_conninfo = f"host={sockets} port={pg.port} user={superuser} dbname=postgres"

    def prepare() -> None:
        sockets.mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        if os_user:
            _grant_traverse(layout.runtime, os_user)
            shutil.chown(sockets, os_user, os_user)
            shutil.chown(data, os_user, os_user)
            data.chmod(0o700)
        if (data / "PG_VERSION").exists():
            return
        pwfile = layout.run / "postgres.pwfile"
        pwfile.write_text(pg.password.get_secret_value() if pg.password else "postgres", encoding="utf-8")
        if os_user:
            shutil.chown(pwfile, os_user, os_user)
        pwfile.chmod(0o600)
        try:
            _run(
                [
                    str(postgres_bin_dir() / "initdb"),
                    *("-D", str(data), "-U", superuser, "--auth-local=trust", "--auth-host=scram-sha-256"),
                    *(f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"),
                ],
                "PostgreSQL initdb",
                user=os_user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def command() -> list[str]:
        return [
            str(postgres_bin_dir() / "postgres"),
            "-D",
            str(data),
            "-c",
            f"listen_addresses={pg.host}",
            "-c",
            f"port={pg.port}",
            "-c",
            f"unix_socket_directories={sockets}",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_connections=100",
        ]

    def bootstrap() -> None:
        import psycopg
        from psycopg import sql

        password = pg.password.get_secret_value() if pg.password else None
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (pg.user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(pg.user), sql.Literal(password)
                )
            )
            for db in pg.databases.model_dump().values():
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(pg.user))
                    )

    return ServiceSpec(
        name="postgres",
        group="core",
        port=pg.port,
        description="PostgreSQL (catalog, registry, Airflow and platform metadata)",
        command=command,
        health=lambda: health.postgres_select_one(admin_conninfo),
        user=os_user,
        stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for every client to disconnect
        prepare=prepare,
        bootstrap=bootstrap,
        url=f"postgresql://{pg.user}@{pg.host}:{pg.port}",
    )


def _grant_traverse(path: Path, user: str) -> None:
    """Let the unprivileged server user reach its data folder: o+x on the runtime folder and its parents."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)


# ------------------------------------------------------------------------------------------------ Iceberg REST catalog


def catalog(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    cat, pg, storage = settings.iceberg.catalog, settings.postgres, settings.storage
    _, port = host_port(cat.uri, 8181)
    env = {
        "CATALOG_CATALOG_NAME": cat.name,
        "CATALOG_URI": f"jdbc:postgresql://{pg.host}:{pg.port}/{pg.databases.catalog}",
        "CATALOG_JDBC_USER": pg.user,
        "CATALOG_JDBC_PASSWORD": pg.password.get_secret_value() if pg.password else "",
        "CATALOG_REST_PORT": str(port),
        "CATALOG_WAREHOUSE": cat.warehouse,
        "CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
        "CATALOG_S3_PATH__STYLE__ACCESS": str(storage.path_style_access).lower(),
        "CATALOG_CLIENT_REGION": storage.region,
        **AWS_CHECKSUM_ENV,
    }
    if storage.endpoint_url:
        env["CATALOG_S3_ENDPOINT"] = storage.endpoint_url
    if storage.access_key_id and storage.secret_access_key:
        env["CATALOG_S3_ACCESS__KEY__ID"] = storage.access_key_id.get_secret_value()
        env["CATALOG_S3_SECRET__ACCESS__KEY"] = storage.secret_access_key.get_secret_value()

    def command() -> list[str]:
        heap = settings.local.catalog.heap
        return [
            java(),
            "-Xms64m",
            f"-Xmx{heap}",
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
            "-cp",
            _classpath(layout.jars("iceberg-rest"), "Iceberg REST catalog"),
            "org.apache.iceberg.rest.RESTCatalogServer",
        ]

    def bootstrap() -> None:
        import httpx

        base = cat.uri.rstrip("/")
        for ns in settings.iceberg.namespaces.model_dump().values():
            response = httpx.post(f"{base}/v1/namespaces", json={"namespace": [ns], "properties": {}}, timeout=10)
            if response.status_code not in (200, 409):
                raise InstallError(f"namespace {ns}", f"POST /v1/namespaces answered {response.status_code}")

    return ServiceSpec(
        name="catalog",
        group="core",
        port=port,
        description="Apache Iceberg REST catalog (JDBC on PostgreSQL, S3FileIO)",
        command=command,
        health=lambda: health.http_get(f"{cat.uri.rstrip('/')}/v1/config"),
        env=env,
        bootstrap=bootstrap,
        url=cat.uri,
    )


# ----------------------------------------------------------------------------------------------------- Schema registry


def _platform_env(layout: Layout) -> dict[str, str]:
    """What a platform service written in Python needs to build the same settings as this process."""
    env = {k: v for k, v in os.environ.items() if k.startswith("DP_")}
    env.setdefault("DP_CONFIG_DIR", str(layout.repo / "config"))
    return env


def registry(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    url = settings.registry.url.rstrip("/")
    _, port = host_port(url, 8081)
    return ServiceSpec(
        name="registry",
        group="core",
        port=port,
        description="Schema registry (Confluent API, state in PostgreSQL)",
        command=lambda: [sys.executable, "-m", "dp_schema_registry"],
        env=_platform_env(layout),
        cwd=layout.repo,
        health=lambda: health.http_get(f"{url}/subjects"),
        url=url,
    )


# --------------------------------------------------------------------------------------------------------------- Spark


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package of the main environment (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise MissingToolError("pyspark", "run `make install` (pyspark is part of the main environment)")
    return Path(spec.origin).parent


def _spark_env(layout: Layout) -> dict[str, str]:
    home = spark_home()
    return {
        "SPARK_HOME": str(home),
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_LOG_DIR": str(layout.runtime / "logs"),
        "SPARK_WORKER_DIR": str(layout.data("spark-worker")),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DAEMON_MEMORY": "512m",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def spark_master(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    spark = settings.local.spark
    ui = f"http://127.0.0.1:{spark.ui_port}"
    return ServiceSpec(
        name="spark-master",
        group="full",
        port=spark.master_port,
        extra_ports=(spark.ui_port,),
        description="Spark standalone master",
        command=lambda: [
            str(spark_home() / "bin" / "spark-class"),
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(spark.master_port),
            "--webui-port",
            str(spark.ui_port),
        ],
        env=_LazyEnv(lambda: _spark_env(layout)),
        health=lambda: health.http_json(
            f"{ui}/json/", lambda b: health.Health(b.get("status") == "ALIVE", f"master {b.get('status')}")
        ),
        url=ui,
    )


def spark_worker(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    spark = settings.local.spark
    return ServiceSpec(
        name="spark-worker",
        group="full",
        port=spark.worker_ui_port,
        description="Spark standalone worker",
        command=lambda: [
            str(spark_home() / "bin" / "spark-class"),
            "org.apache.spark.deploy.worker.Worker",
            f"spark://127.0.0.1:{spark.master_port}",
            "--host",
            "127.0.0.1",
            "--webui-port",
            str(spark.worker_ui_port),
            "--cores",
            str(spark.worker_cores),
            "--memory",
            spark.worker_memory,
        ],
        env=_LazyEnv(lambda: _spark_env(layout)),
        prepare=lambda: layout.data("spark-worker").mkdir(parents=True, exist_ok=True),
        health=lambda: health.http_json(
            f"http://127.0.0.1:{spark.ui_port}/json/",
            lambda b: health.Health(b.get("aliveworkers", 0) >= 1, f"{b.get('aliveworkers', 0)} alive worker(s)"),
        ),
        url=f"http://127.0.0.1:{spark.worker_ui_port}",
    )


class _LazyEnv(Mapping[str, str]):
    """An environment computed when the service starts (so listing services never needs the engine installed)."""

    def __init__(self, factory: Callable[[], dict[str, str]]) -> None:
        self._factory = factory
        self._value: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._value is None:
            self._value = self._factory()
        return self._value

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


# --------------------------------------------------------------------------------------------------------------- Flink

FLINK_ENV = "flink-jobs"


def pyflink_home(layout: Layout) -> Path:
    """The Flink distribution inside the PyFlink package of the Flink environment."""
    found = sorted((layout.venv(FLINK_ENV) / "lib").glob("python3*/site-packages/pyflink/bin/jobmanager.sh"))
    if not found:
        raise MissingToolError(
            "pyflink", f"the Flink environment {layout.venv(FLINK_ENV)} is missing: run `make install`"
        )
    return found[0].parent.parent


def _flink_conf(settings: PlatformSettings, layout: Layout) -> dict[str, str]:
    flink = settings.local.flink
    conf = layout.conf("flink")
    conf.mkdir(parents=True, exist_ok=True)
    home = pyflink_home(layout)
    lines = [
        "# Written by `dp local up` from config/ (local.flink.*): edits here are overwritten.",
        "jobmanager:",
        "  bind-host: 127.0.0.1",
        "  rpc:",
        "    address: 127.0.0.1",
        f"    port: {flink.rpc_port}",
        "  memory:",
        f"    process:\n      size: {flink.jobmanager_memory}",
        "taskmanager:",
        "  bind-host: 127.0.0.1",
        "  host: 127.0.0.1",
        f"  numberOfTaskSlots: {flink.taskmanager_slots}",
        "  memory:",
        f"    process:\n      size: {flink.taskmanager_memory}",
        "rest:",
        "  address: 127.0.0.1",
        "  bind-address: 127.0.0.1",
        f"  port: {flink.ui_port}",
        "parallelism:",
        "  default: 1",
    ]
    # the JVM options Flink needs on Java 17 (module opens), as the package's own config has them
    shipped = yaml.safe_load((home / "conf" / "config.yaml").read_text(encoding="utf-8")) or {}
    java_opts = shipped.get("env", {}).get("java", {}).get("opts", {}).get("all")
    if java_opts:
        lines += ["env:", "  java:", "    opts:", f"      all: {json.dumps(str(java_opts))}"]
    lines.append("")
    (conf / "config.yaml").write_text("\n".join(lines), encoding="utf-8")
    for name in ("log4j-console.properties", "log4j.properties", "logback-console.xml"):
        source = home / "conf" / name
        if source.exists():
            shutil.copyfile(source, conf / name)
    jars = layout.jars("flink")
    hadoop = ":".join(str(p) for p in sorted(jars.glob("hadoop-client-*.jar")))
    # the cluster's lib: the package's lib plus flink-python from opt (jobs with Python functions need it)
    lib = layout.runtime / "flink" / "lib"
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    for jar in [*sorted((home / "lib").glob("*.jar")), *sorted((home / "opt").glob("flink-python-*.jar"))]:
        (lib / jar.name).symlink_to(jar)
    site_packages = home.parent
    # editable installs are .pth lines, which PYTHONPATH entries do not get: list their folders too
    paths = [str(site_packages)]
    for pth in sorted(site_packages.glob("*.pth")):
        for line in pth.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith(("#", "import")) and Path(line).is_dir():
                paths.append(line)
    return {
        "FLINK_HOME": str(home),
        "FLINK_LIB_DIR": str(lib),
        # Python functions in thread mode run in an interpreter embedded in the TaskManager: it must see the
        # speed layer's environment
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        "FLINK_CONF_DIR": str(conf),
        "FLINK_LOG_DIR": str(layout.runtime / "logs"),
        "HADOOP_CLASSPATH": hadoop,
        **AWS_CHECKSUM_ENV,
    }


def flink_jobmanager(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    ui = f"http://127.0.0.1:{settings.local.flink.ui_port}"
    return ServiceSpec(
        name="flink-jobmanager",
        group="full",
        port=settings.local.flink.ui_port,
        extra_ports=(settings.local.flink.rpc_port,),
        description="Flink session cluster JobManager (from the PyFlink package)",
        command=lambda: [str(pyflink_home(layout) / "bin" / "jobmanager.sh"), "start-foreground"],
        env=_LazyEnv(lambda: _flink_conf(settings, layout)),
        health=lambda: health.http_get(f"{ui}/config"),
        url=ui,
    )


def flink_taskmanager(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    ui = f"http://127.0.0.1:{settings.local.flink.ui_port}"
    return ServiceSpec(
        name="flink-taskmanager",
        group="full",
        port=0,
        description="Flink session cluster TaskManager",
        command=lambda: [str(pyflink_home(layout) / "bin" / "taskmanager.sh"), "start-foreground"],
        env=_LazyEnv(lambda: _flink_conf(settings, layout)),
        health=lambda: health.http_json(
            f"{ui}/overview",
            lambda b: health.Health(b.get("taskmanagers", 0) >= 1, f"{b.get('taskmanagers', 0)} taskmanager(s)"),
        ),
        url=ui,
    )


SERVICE_BUILDERS: tuple[Callable[[PlatformSettings, Layout], ServiceSpec], ...] = (
    kafka,
    s3,
    postgres,
    catalog,
    registry,
    spark_master,
    spark_worker,
    flink_jobmanager,
    flink_taskmanager,
)


def all_services(settings: PlatformSettings, layout: Layout) -> list[ServiceSpec]:
    """Every service in start order (core first)."""
    return [build(settings, layout) for build in SERVICE_BUILDERS]
