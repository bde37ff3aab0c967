"""Opening a SparkSession on the shared lakehouse: the edge that imports pyspark."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dp_core.config import LoadedConfig
from dp_spark.conf import spark_conf

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def build_session(loaded: LoadedConfig, app_name: str, *, master: str = "local[2]") -> SparkSession:
    """A SparkSession (``local[2]`` by default) with the fetched jars and the shared Iceberg catalog."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(loaded, master=master).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
