"""A Spark Thrift server (HiveServer2's protocol) for dbt's ``thrift`` target: one long-running Spark driver on the
shared lakehouse, so each ``dp transform`` command no longer pays a Spark start (~24 s) and a cold JVM.

It is Spark's own ``HiveThriftServer2`` (its jar ships in the pyspark package), started by ``spark-submit`` with a
properties file written from the settings when it starts: the very catalog, S3 and jars ``dp batch`` sessions use
(:func:`dp_spark.conf.lakehouse_spark_conf`), the jars on the driver's class path (through ``spark.jars`` the REST
client's classes are not found by the server's class loader), and the catalog's cache off (a long-lived session
must see the commits of other writers at once). It listens where ``transform.thrift.host``/``port`` say, so the
dbt profile and the server agree by construction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dp_core.config import PlatformSettings
from dp_localstack.errors import InstallError
from dp_localstack.health import Health
from dp_localstack.layout import Layout
from dp_localstack.process import port_open
from dp_localstack.services.base import AWS_CHECKSUM_ENV, LazyEnv, ServiceSpec
from dp_localstack.services.spark_cluster import spark_home
from dp_spark.conf import lakehouse_spark_conf, spark_jars

NAME = "spark-thrift"
MAIN = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
#: The namespace every HiveServer2 client (PyHive) selects when it connects (``USE default``).
DEFAULT_NAMESPACE = "default"


def thrift_address(settings: PlatformSettings) -> tuple[str, int]:
    """Where the server listens: ``transform.thrift.host`` (loopback when unset) and ``transform.thrift.port``."""
    thrift = settings.transform.thrift
    return thrift.host or "127.0.0.1", thrift.port


#: The server's log4j2 configuration: warnings, and the server's own lines (its start, a client that went away
#: without closing its session). At Spark's default INFO level one test's dbt builds wrote 7 MB.
LOG4J2 = """\
# Written by `dp local up` at each start: edits here are overwritten.
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.server.name = org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
logger.server.level = info
logger.sessions.name = org.apache.hive.service.cli.thrift
logger.sessions.level = info
"""


def thrift_server_conf(
    settings: PlatformSettings, jars: list[Path], scratch: Path, log_conf: Path | None = None
) -> dict[str, str]:
    """The server's Spark properties (pure): the lakehouse session's, the jars on the driver's class path instead
    of ``spark.jars``, no catalog cache, no web UI, the driver's temporary files in ``scratch``, its log4j2
    configuration from ``log_conf`` when given."""
    conf = dict(lakehouse_spark_conf(settings, jars, master=settings.local.spark.thrift_master))
    conf.pop("spark.jars")
    catalog = settings.iceberg.catalog.name
    conf.update(
        {
            "spark.app.name": "dp-spark-thrift",
            "spark.driver.extraClassPath": os.pathsep.join(str(jar) for jar in jars),
            "spark.driver.memory": settings.local.spark.thrift_memory,
            "spark.driver.extraJavaOptions": " ".join(
                [f"-Djava.io.tmpdir={scratch}", *([f"-Dlog4j2.configurationFile=file:{log_conf}"] if log_conf else [])]
            ),
            f"spark.sql.catalog.{catalog}.cache-enabled": "false",
            "spark.ui.enabled": "false",
        }
    )
    return conf


def properties_text(conf: Mapping[str, str]) -> str:
    """A ``spark-defaults.conf`` document, which Spark reads with Java's ``Properties.load``: one ``key value`` line
    each, a backslash doubled (else an escape, or at the end a line continuation) and a leading ``=``, ``:`` or
    ``#`` escaped (else a separator or a comment); values never hold a line break."""
    lines = ["# Written by `dp local up` from config/ at each start: edits here are overwritten."]
    for key, value in conf.items():
        if "\n" in value or "\r" in value:
            raise InstallError(NAME, f"the Spark property {key} holds a line break")
        escaped = value.replace("\\", "\\\\")
        if escaped[:1] in ("=", ":", "#", "!"):
            escaped = "\\" + escaped
        lines.append(f"{key} {escaped}")
    return "\n".join(lines) + "\n"


def create_default_namespace(catalog_uri: str) -> None:
    """Create the catalog's ``default`` namespace (kept when it exists): every client's session starts in it."""
    import httpx

    body = {"namespace": [DEFAULT_NAMESPACE], "properties": {}}
    try:
        response = httpx.post(f"{catalog_uri.rstrip('/')}/v1/namespaces", json=body, timeout=10)
    except httpx.HTTPError as exc:
        raise InstallError(f"namespace {DEFAULT_NAMESPACE}", f"the REST catalog at {catalog_uri}: {exc}") from exc
    if response.status_code not in (200, 409):
        raise InstallError(f"namespace {DEFAULT_NAMESPACE}", f"POST /v1/namespaces answered {response.status_code}")


def spark_thrift(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    host, port = thrift_address(settings)
    conf_file = layout.conf(NAME) / "spark-thrift.conf"
    data = layout.data(NAME)
    scratch = layout.runtime / "tmp" / NAME

    def prepare() -> None:
        for folder in (conf_file.parent, data, scratch):
            folder.mkdir(parents=True, exist_ok=True)
        log_conf = conf_file.parent / "log4j2.properties"
        log_conf.write_text(LOG4J2, encoding="utf-8")
        conf = thrift_server_conf(settings, spark_jars(layout.jars("spark")), scratch, log_conf)
        # the file holds the S3 keys: its owner only, before a byte is written
        conf_file.touch(mode=0o600, exist_ok=True)
        conf_file.chmod(0o600)
        conf_file.write_text(properties_text(conf), encoding="utf-8")
        create_default_namespace(settings.iceberg.catalog.uri)

    def command() -> list[str]:
        return [
            str(spark_home() / "bin" / "spark-submit"),
            *("--class", MAIN, "--properties-file", str(conf_file)),
            "spark-internal",
            *("--hiveconf", f"hive.server2.thrift.port={port}"),
            *("--hiveconf", f"hive.server2.thrift.bind.host={host}"),
        ]

    def env() -> dict[str, str]:
        return {"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1", **AWS_CHECKSUM_ENV}

    def healthy() -> Health:
        # the server binds its port only once its SparkSession is up
        up = port_open(port, host)
        return Health(up, f"{host}:{port} {'accepts connections' if up else 'not listening yet'}")

    return ServiceSpec(
        name=NAME,
        group="core",
        port=port,
        description="Spark Thrift server for dbt (Spark of the pyspark package, on the shared catalog)",
        command=command,
        health=healthy,
        env=LazyEnv(env),
        # Derby's metastore_db/ and derby.log of the server's (unused) Hive session catalog land here
        cwd=data,
        prepare=prepare,
        url=f"jdbc:hive2://{host}:{port}",
    )
