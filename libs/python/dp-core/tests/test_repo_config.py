"""The repo's own config/ must load for every environment it ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_core.config import available_environments, load_settings

ENVIRONMENTS = ["local", "docker", "dev", "staging", "prod"]


@pytest.fixture(scope="module")
def repo_config(repo_root: Path) -> Path:
    return repo_root / "config"


def test_every_expected_environment_ships(repo_config: Path) -> None:
    assert available_environments(repo_config) == sorted(ENVIRONMENTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_loads(env: str, repo_config: Path) -> None:
    loaded = load_settings(repo_config, {}, env=env)
    assert loaded.env == env


def test_local_profile_targets_the_local_stack(repo_config: Path) -> None:
    settings = load_settings(repo_config, {}).settings
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.iceberg.catalog.uri == "http://127.0.0.1:8181"
    assert settings.storage.endpoint_url == "http://127.0.0.1:9000"
    assert settings.storage.access_key_id is not None


def test_prod_overrides_reach_the_settings(repo_config: Path) -> None:
    settings = load_settings(repo_config, {}, env="prod").settings
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.topics.replication_factor == 3
    assert settings.storage.endpoint_url is None
    assert settings.logging.format == "json"
    assert settings.storage.access_key_id is None  # no secrets for prod in the repo
