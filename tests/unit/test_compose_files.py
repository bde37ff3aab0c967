"""local/docker-compose*.yml cannot run here (no Docker engine), but they must parse and agree with config/:
the same ports and the same credentials as the `docker` environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from dp_core.config import LoadedConfig, find_repo_root, load_settings

REPO = find_repo_root(Path(__file__))
CORE = REPO / "local" / "docker-compose.core.yml"
FULL = REPO / "local" / "docker-compose.yml"


def compose(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), path
    return data


def published(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[0]) for p in service.get("ports", [])}


@pytest.fixture(scope="module")
def docker_env() -> LoadedConfig:
    return load_settings(REPO / "config", {}, env="docker")


def secret(value: object) -> str:
    assert value is not None
    get = getattr(value, "get_secret_value", None)
    assert get is not None
    return str(get())


def test_both_files_parse_and_the_full_one_includes_the_core() -> None:
    core, full = compose(CORE), compose(FULL)
    assert set(core["services"]) == {"kafka", "s3", "create-bucket", "postgres", "catalog", "registry"}
    assert full["include"] == ["docker-compose.core.yml"]
    assert {"spark-master", "spark-worker", "flink-jobmanager", "flink-taskmanager"} <= set(full["services"])
    for data in (core, full):
        for name, service in data["services"].items():
            assert "image" in service, f"{name} has no image"


def test_core_ports_match_the_docker_environment(docker_env: LoadedConfig) -> None:
    s = docker_env.settings
    services = compose(CORE)["services"]
    assert urlparse(f"tcp://{s.kafka.bootstrap_servers}").port in published(services["kafka"])
    assert urlparse(s.storage.endpoint_url or "").port in published(services["s3"])
    assert urlparse(s.iceberg.catalog.uri).port in published(services["catalog"])
    assert s.postgres.port in published(services["postgres"])
    assert urlparse(s.registry.url).port in published(services["registry"])


def test_full_ports_match_the_docker_environment(docker_env: LoadedConfig) -> None:
    local = docker_env.settings.local
    services = compose(FULL)["services"]
    assert {local.spark.master_port, local.spark.ui_port} <= published(services["spark-master"])
    assert local.spark.worker_ui_port in published(services["spark-worker"])
    assert local.flink.ui_port in published(services["flink-jobmanager"])


def test_credentials_match_the_docker_secrets(docker_env: LoadedConfig) -> None:
    s = docker_env.settings
    services = compose(CORE)["services"]
    key, password = secret(s.storage.access_key_id), secret(s.storage.secret_access_key)
    assert services["s3"]["environment"]["RUSTFS_ACCESS_KEY"] == key
    assert services["s3"]["environment"]["RUSTFS_SECRET_KEY"] == password
    catalog = services["catalog"]["environment"]
    assert catalog["CATALOG_S3_ACCESS__KEY__ID"] == key
    assert catalog["CATALOG_S3_SECRET__ACCESS__KEY"] == password
    pg = services["postgres"]["environment"]
    assert pg["POSTGRES_USER"] == s.postgres.user == catalog["CATALOG_JDBC_USER"]
    assert pg["POSTGRES_PASSWORD"] == secret(s.postgres.password) == catalog["CATALOG_JDBC_PASSWORD"]


def test_catalog_points_at_the_configured_database_and_warehouse(docker_env: LoadedConfig) -> None:
    s = docker_env.settings
    catalog = compose(CORE)["services"]["catalog"]["environment"]
    assert catalog["CATALOG_URI"].endswith(f"/{s.postgres.databases.catalog}")
    assert catalog["CATALOG_WAREHOUSE"] == s.iceberg.catalog.warehouse
    assert catalog["CATALOG_CATALOG_NAME"] == s.iceberg.catalog.name


def test_every_configured_database_is_created(docker_env: LoadedConfig) -> None:
    dbs = docker_env.settings.postgres.databases.model_dump().values()
    init = (REPO / "local" / "docker" / "postgres-init.sql").read_text(encoding="utf-8")
    created = set(re.findall(r"CREATE DATABASE (\w+)", init))
    created.add(compose(CORE)["services"]["postgres"]["environment"]["POSTGRES_DB"])
    assert created == set(dbs)
