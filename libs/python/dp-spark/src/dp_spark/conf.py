"""Spark properties derived from the platform settings (pure: no pyspark import)."""

from __future__ import annotations

from pathlib import Path

from dp_core.config import LoadedConfig
from dp_spark.errors import SparkSetupError


def spark_jars(jars_dir: Path) -> list[Path]:
    jars = sorted(jars_dir.glob("*.jar"))
    if not jars:
        raise SparkSetupError(f"no Spark jars in {jars_dir}: run `make install`")
    return jars


def spark_conf(loaded: LoadedConfig, *, master: str = "local[2]") -> dict[str, str]:
    """Properties for a session on the shared lakehouse: jars as local paths, the Iceberg catalog, S3FileIO."""
    settings = loaded.settings
    cat, storage = settings.iceberg.catalog, settings.storage
    prefix = f"spark.sql.catalog.{cat.name}"
    conf = {
        "spark.master": master,
        "spark.jars": ",".join(str(p) for p in spark_jars(loaded.runtime_dir / "jars" / "spark")),
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": cat.name,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.showConsoleProgress": "false",
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": cat.type if cat.type != "sql" else "jdbc",
        f"{prefix}.warehouse": cat.warehouse,
        f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        f"{prefix}.client.region": storage.region,
        f"{prefix}.s3.path-style-access": str(storage.path_style_access).lower(),
    }
    if cat.type in ("rest", "sql"):
        conf[f"{prefix}.uri"] = cat.uri
    if storage.endpoint_url:
        conf[f"{prefix}.s3.endpoint"] = storage.endpoint_url
    if storage.access_key_id and storage.secret_access_key:
        conf[f"{prefix}.s3.access-key-id"] = storage.access_key_id.get_secret_value()
        conf[f"{prefix}.s3.secret-access-key"] = storage.secret_access_key.get_secret_value()
    if cat.token:
        conf[f"{prefix}.token"] = cat.token.get_secret_value()
    if cat.credential:
        conf[f"{prefix}.credential"] = cat.credential.get_secret_value()
    for key, value in cat.properties.items():
        conf[f"{prefix}.{key}"] = value
    return conf
