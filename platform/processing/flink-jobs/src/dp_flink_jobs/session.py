"""Opening a PyFlink TableEnvironment wired to the shared lakehouse: the one place that imports pyflink here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from dp_core.config import LoadedConfig
from dp_flink_jobs.catalog import create_catalog_sql, hadoop_classpath, pipeline_jars

if TYPE_CHECKING:
    from pyflink.table import TableEnvironment


def flink_jars_dir(loaded: LoadedConfig) -> Path:
    return loaded.runtime_dir / "jars" / "flink"


def table_environment(loaded: LoadedConfig, *, streaming: bool = False) -> TableEnvironment:
    """A TableEnvironment (MiniCluster by default) with the connector jars and the Iceberg catalog registered.

    HADOOP_CLASSPATH is set here, before the gateway JVM starts, because Iceberg's Flink catalog needs Hadoop's
    classes even when it talks to a REST catalog.
    """
    jars = flink_jars_dir(loaded)
    os.environ["HADOOP_CLASSPATH"] = hadoop_classpath(jars)
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "WHEN_REQUIRED")
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env_settings = EnvironmentSettings.in_streaming_mode() if streaming else EnvironmentSettings.in_batch_mode()
    t_env = TableEnvironment.create(env_settings)
    conf = t_env.get_config()
    conf.set("pipeline.jars", ";".join(pipeline_jars(jars)))
    conf.set("parallelism.default", "1")
    t_env.execute_sql(create_catalog_sql(loaded.settings))
    return t_env
