"""The `transform:` section (dp transform, Gold in dbt): its base YAML documents every key, DP_TRANSFORM_* variables
reach every key, the Thrift password is a secret, and the freshness thresholds keep their rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from dp_core.config import load_settings
from dp_core.config.models import TransformSettings
from dp_core.errors import ConfigError

BASE_FILE = "config/base/transform.yaml"


def secret_free_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """The dotted keys of ``model`` that YAML may set (every field but the secrets), sections descended into."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= secret_free_keys(annotation, f"{prefix}{name}.")
        elif SecretStr not in getattr(annotation, "__args__", (annotation,)):
            keys.add(prefix + name)
    return keys


def yaml_keys(node: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in node.items():
        keys |= yaml_keys(value, f"{prefix}{name}.") if isinstance(value, dict) else {prefix + name}
    return keys


@pytest.fixture
def repo_config(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the repo's config/ (a test may change a file in it)."""
    return Path(shutil.copytree(repo_root / "config", tmp_path / "config"))


def test_the_base_file_sets_every_key_but_the_secret(repo_root: Path) -> None:
    document = yaml.safe_load((repo_root / BASE_FILE).read_text(encoding="utf-8"))
    assert yaml_keys(document["transform"]) == secret_free_keys(TransformSettings)
    assert "thrift.password" not in yaml_keys(document["transform"])
    assert "thrift.host" in secret_free_keys(TransformSettings)


def test_defaults_come_from_the_base_file(repo_root: Path) -> None:
    loaded = load_settings(repo_root / "config", {}, env="dev")
    transform = loaded.settings.transform
    assert (transform.target, transform.namespace, transform.threads, transform.master) == (
        "session",
        None,
        1,
        "local[2]",
    )
    thrift = transform.thrift
    assert (thrift.host, thrift.port, thrift.user, thrift.auth, thrift.kerberos_service_name, thrift.password) == (
        None,
        10000,
        None,
        None,
        None,
        None,
    )
    assert (transform.source_freshness_warn_hours, transform.source_freshness_error_hours) == (1, 6)
    assert loaded.sources["transform.target"] == BASE_FILE
    assert loaded.sources["transform.thrift.port"] == BASE_FILE


def test_the_local_environment_runs_dbt_on_the_stacks_thrift_server(repo_root: Path) -> None:
    transform = load_settings(repo_root / "config", {}).settings.transform
    assert (transform.target, transform.thrift.host, transform.thrift.port) == ("thrift", "127.0.0.1", 10000)
    assert transform.threads == 2


def test_variables_override_every_key(repo_root: Path) -> None:
    variables = {
        "DP_TRANSFORM_TARGET": "thrift",
        "DP_TRANSFORM_NAMESPACE": "gold_backfill",
        "DP_TRANSFORM_THREADS": "4",
        "DP_TRANSFORM_THRIFT__HOST": "emr-master.internal",
        "DP_TRANSFORM_THRIFT__PORT": "10001",
        "DP_TRANSFORM_THRIFT__AUTH": "LDAP",
        "DP_TRANSFORM_THRIFT__PASSWORD": "pw-61d2",
        "DP_TRANSFORM_SOURCE_FRESHNESS_ERROR_HOURS": "12",
    }
    loaded = load_settings(repo_root / "config", variables)
    transform = loaded.settings.transform
    assert (transform.target, transform.namespace, transform.threads) == ("thrift", "gold_backfill", 4)
    assert (transform.thrift.host, transform.thrift.port, transform.thrift.auth) == (
        "emr-master.internal",
        10001,
        "LDAP",
    )
    assert transform.thrift.password is not None
    assert transform.thrift.password.get_secret_value() == "pw-61d2"
    assert "pw-61d2" not in repr(loaded.settings)
    assert transform.source_freshness_error_hours == 12
    assert loaded.sources["transform.target"] == "env DP_TRANSFORM_TARGET"
    assert loaded.sources["transform.thrift.host"] == "env DP_TRANSFORM_THRIFT__HOST"


def test_the_thrift_password_is_never_read_from_yaml(repo_config: Path) -> None:
    path = repo_config / "environments" / "prod.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "transform:\n  target: thrift\n  thrift:\n    password: pw-61d2\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(repo_config, {}, env="prod")
    problems = "\n".join(exc.value.problems)
    assert "transform.thrift.password: is a secret and is never read from YAML" in problems
    assert "DP_TRANSFORM_THRIFT__PASSWORD" in problems
    assert "pw-61d2" not in problems


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"DP_TRANSFORM_TARGET": "emr"}, "transform.target:"),
        ({"DP_TRANSFORM_NAMESPACE": "Gold-Backfill"}, "transform.namespace:"),
        ({"DP_TRANSFORM_THREADS": "0"}, "transform.threads:"),
        ({"DP_TRANSFORM_THRIFT__PORT": "70000"}, "transform.thrift.port:"),
        (
            {"DP_TRANSFORM_SOURCE_FRESHNESS_ERROR_HOURS": "1"},
            "source_freshness_error_hours must be greater than source_freshness_warn_hours",
        ),
    ],
)
def test_invalid_values_are_refused_by_key(repo_root: Path, variables: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(repo_root / "config", variables)
    assert problem in "\n".join(exc.value.problems)
