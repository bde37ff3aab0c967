"""The Iceberg catalog as Flink SQL sees it, derived from the platform settings (pure: no Flink import)."""

from __future__ import annotations

from pathlib import Path

from dp_core.config import PlatformSettings
from dp_flink.errors import FlinkSetupError

#: Jars on HADOOP_CLASSPATH (Iceberg's Flink catalog loads Hadoop classes even with a REST catalog).
HADOOP_JAR_PREFIX = "hadoop-client-"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def catalog_properties(settings: PlatformSettings) -> dict[str, str]:
    """Flink's ``CREATE CATALOG ... WITH (...)`` properties for the shared Iceberg catalog."""
    cat, storage = settings.iceberg.catalog, settings.storage
    props = {"type": "iceberg", "catalog-type": cat.type, "warehouse": cat.warehouse}
    if cat.type in ("rest", "sql"):
        props["uri"] = cat.uri
    props["io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    props["client.region"] = storage.region
    props["s3.path-style-access"] = str(storage.path_style_access).lower()
    if storage.endpoint_url:
        props["s3.endpoint"] = storage.endpoint_url
    if storage.access_key_id and storage.secret_access_key:
        props["s3.access-key-id"] = storage.access_key_id.get_secret_value()
        props["s3.secret-access-key"] = storage.secret_access_key.get_secret_value()
    if cat.token:
        props["token"] = cat.token.get_secret_value()
    if cat.credential:
        props["credential"] = cat.credential.get_secret_value()
    props.update(cat.properties)
    return props


def create_catalog_sql(settings: PlatformSettings) -> str:
    """``CREATE CATALOG <name> WITH (...)``: the shared Iceberg catalog, registered once per TableEnvironment."""
    body = ",\n  ".join(f"{_quote(k)} = {_quote(v)}" for k, v in catalog_properties(settings).items())
    return f"CREATE CATALOG `{settings.iceberg.catalog.name}` WITH (\n  {body}\n)"


def pipeline_jars(jars_dir: Path) -> list[str]:
    """``file://`` URLs of the connector jars for ``pipeline.jars`` (the Hadoop client goes on HADOOP_CLASSPATH)."""
    jars = sorted(p for p in jars_dir.glob("*.jar") if not p.name.startswith(HADOOP_JAR_PREFIX))
    if not jars:
        raise FlinkSetupError(f"no Flink connector jars in {jars_dir}: run `make install`")
    return [p.resolve().as_uri() for p in jars]


def hadoop_classpath(jars_dir: Path) -> str:
    """The value HADOOP_CLASSPATH needs before the PyFlink gateway JVM starts."""
    jars = sorted(jars_dir.glob(f"{HADOOP_JAR_PREFIX}*.jar"))
    if not jars:
        raise FlinkSetupError(f"no Hadoop client jars in {jars_dir}: run `make install`")
    return ":".join(str(p.resolve()) for p in jars)
