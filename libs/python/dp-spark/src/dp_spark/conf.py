"""Spark properties derived from the platform settings (pure: no pyspark import); the catalog entries come from the
shared mapping of :mod:`dp_lakehouse.properties`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from dp_core.config import LoadedConfig, PlatformSettings
from dp_lakehouse.properties import Properties, spark_catalog_conf
from dp_spark.errors import SparkSetupError


def spark_jars(jars_dir: Path) -> list[Path]:
    jars = sorted(jars_dir.glob("*.jar"))
    if not jars:
        raise SparkSetupError(f"no Spark jars in {jars_dir}: run `make install`")
    return jars


def spark_conf(loaded: LoadedConfig, *, master: str = "local[2]") -> Properties:
    """Properties for a session on the shared lakehouse: jars as local paths, the Iceberg catalog, S3FileIO."""
    return lakehouse_spark_conf(loaded.settings, spark_jars(loaded.runtime_dir / "jars" / "spark"), master=master)


def lakehouse_spark_conf(settings: PlatformSettings, jars: Sequence[Path], *, master: str) -> Properties:
    """:func:`spark_conf` on given settings and jars (a service of the local stack has no :class:`LoadedConfig`)."""
    conf = {
        "spark.master": master,
        "spark.jars": ",".join(str(p) for p in jars),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": settings.iceberg.catalog.name,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.showConsoleProgress": "false",
    }
    return Properties({**conf, **spark_catalog_conf(settings)})


def local_scratch_conf(conf: Mapping[str, str], scratch: Path) -> dict[str, str]:
    """A local driver's temporary files (``spark-*`` with a copy of every jar, block manager, native libraries, S3
    upload buffers) in ``scratch`` instead of ``/tmp``, where a killed driver would leave them for good.

    Only ``java.io.tmpdir``: Spark's local dir defaults to it (setting ``spark.local.dir`` too makes every session
    warn that a cluster manager may override it)."""
    options = conf.get("spark.driver.extraJavaOptions", "")
    if "-Djava.io.tmpdir=" not in options:
        options = f"{options} -Djava.io.tmpdir={scratch}".strip()
    return {"spark.driver.extraJavaOptions": options}
