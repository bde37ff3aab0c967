"""The Iceberg catalog as Flink SQL sees it, from the shared mapping of :mod:`dp_lakehouse.properties` (pure: no Flink
or pyiceberg import, so it loads in the PyFlink environment too)."""

from __future__ import annotations

from pathlib import Path

from dp_core.config import PlatformSettings
from dp_flink.errors import FlinkSetupError
from dp_lakehouse.properties import Properties, flink_catalog_properties

#: Jars on HADOOP_CLASSPATH (Iceberg's Flink catalog loads Hadoop classes even with a REST catalog).
HADOOP_JAR_PREFIX = "hadoop-client-"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def catalog_properties(settings: PlatformSettings) -> Properties:
    """Flink's ``CREATE CATALOG ... WITH (...)`` properties for the shared Iceberg catalog (secrets hidden in repr)."""
    return flink_catalog_properties(settings)


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
