"""Opening a SparkSession on the shared lakehouse: the edge that imports pyspark."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dp_core.config import LoadedConfig
from dp_core.scratch import scratch_dir
from dp_spark.conf import local_scratch_conf, spark_conf

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def build_session(loaded: LoadedConfig, app_name: str, *, master: str = "local[2]") -> SparkSession:
    """A SparkSession (``local[2]`` by default) with the fetched jars and the shared Iceberg catalog."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    conf = dict(spark_conf(loaded, master=master))
    if master.startswith("local"):
        conf.update(local_scratch_conf(conf, scratch_dir(loaded.runtime_dir, "spark")))
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
