"""The shared Iceberg catalog as Flink SQL sees it, and the jars a Flink session is started with."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_core.config import PlatformSettings, load_settings
from dp_flink.catalog import catalog_properties, create_catalog_sql, hadoop_classpath, pipeline_jars
from dp_flink.errors import FlinkSetupError


def test_local_catalog_properties(settings: PlatformSettings) -> None:
    assert catalog_properties(settings) == {
        "type": "iceberg",
        "catalog-type": "rest",
        "warehouse": "s3://warehouse/",
        "uri": "http://127.0.0.1:8181",
        "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "client.region": "us-east-1",
        "s3.path-style-access": "true",
        "s3.endpoint": "http://127.0.0.1:9000",
        "s3.access-key-id": "minioadmin",
        "s3.secret-access-key": "minioadmin",
    }
    assert create_catalog_sql(settings).splitlines()[:3] == [
        "CREATE CATALOG `lake` WITH (",
        "  'type' = 'iceberg',",
        "  'catalog-type' = 'rest',",
    ]


def test_prod_catalog_has_no_endpoint_and_no_static_keys(repo_root: Path) -> None:
    props = catalog_properties(load_settings(repo_root / "config", {}, env="prod").settings)
    assert props["uri"] == "https://glue.eu-west-1.amazonaws.com/iceberg"
    assert props["s3.path-style-access"] == "false" and props["client.region"] == "eu-west-1"
    assert not [k for k in props if k in ("s3.endpoint", "s3.access-key-id", "s3.secret-access-key", "token")]


def test_jars_split_between_pipeline_and_hadoop_classpath(tmp_path: Path) -> None:
    for name in (
        "iceberg-flink-runtime-2.0-1.11.0.jar",
        "hadoop-client-api-3.4.2.jar",
        "flink-sql-connector-kafka.jar",
    ):
        (tmp_path / name).write_bytes(b"PK")
    (tmp_path / "hadoop-client-runtime-3.4.2.jar").write_bytes(b"PK")
    (tmp_path / "notes.txt").write_text("not a jar")
    assert pipeline_jars(tmp_path) == [
        (tmp_path / "flink-sql-connector-kafka.jar").resolve().as_uri(),
        (tmp_path / "iceberg-flink-runtime-2.0-1.11.0.jar").resolve().as_uri(),
    ]
    assert hadoop_classpath(tmp_path) == ":".join(
        str((tmp_path / n).resolve()) for n in ("hadoop-client-api-3.4.2.jar", "hadoop-client-runtime-3.4.2.jar")
    )


def test_missing_jars_say_make_install(tmp_path: Path) -> None:
    with pytest.raises(FlinkSetupError, match=r"no Flink connector jars in .*: run `make install`"):
        pipeline_jars(tmp_path)
    (tmp_path / "iceberg.jar").write_bytes(b"PK")
    with pytest.raises(FlinkSetupError, match=r"no Hadoop client jars in .*: run `make install`"):
        hadoop_classpath(tmp_path)
