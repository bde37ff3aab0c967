"""profiles.yml from the settings: the session target carries dp batch's Spark properties, no secret is written;
dbt runs in its own environment with the secrets and its folders in the process environment."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
import yaml

from dp_core.config import LoadedConfig, find_repo_root, load_settings
from dp_core.config.loader import ENV_PREFIX
from dp_core.config.models import TransformSettings
from dp_spark.conf import spark_conf
from dp_spark.errors import SparkSetupError
from dp_transform import profile as prof
from dp_transform.errors import TransformSetupError
from dp_transform.runner import DbtPaths, ProjectEnv, dbt_environ, orders_topic, run_dbt, write_profile

pytestmark = pytest.mark.unit

REPO = find_repo_root(Path(__file__))
S3_KEY_ID, S3_SECRET, THRIFT_PASSWORD = "ak-51c0", "sk-7f3e", "pw-c2d9"
KEY_ID_NAME = "DBT_ENV_SECRET_SPARK_SQL_CATALOG_LAKE_S3_ACCESS_KEY_ID"
SECRET_NAME = "DBT_ENV_SECRET_SPARK_SQL_CATALOG_LAKE_S3_SECRET_ACCESS_KEY"


def loaded_in(root: Path, env: str = "local", *, jars: bool = True) -> LoadedConfig:
    """The repo's configuration of ``env`` (distinct S3 keys), its runtime folder under ``root``."""
    variables = {"DP_STORAGE_ACCESS_KEY_ID": S3_KEY_ID, "DP_STORAGE_SECRET_ACCESS_KEY": S3_SECRET}
    loaded = dataclasses.replace(load_settings(REPO / "config", variables, env=env), config_dir=root / "config")
    if jars:
        (loaded.runtime_dir / "jars" / "spark").mkdir(parents=True)
        (loaded.runtime_dir / "jars" / "spark" / "iceberg-spark-runtime.jar").touch()
    return loaded


def output(profile: prof.Profile) -> dict[str, object]:
    outputs = profile.document[prof.PROFILE_NAME]["outputs"]
    assert list(outputs) == [profile.target]
    return dict(outputs[profile.target])


def thrift(**fields: object) -> TransformSettings:
    return TransformSettings.model_validate({"target": "thrift", "thrift": fields})


def test_session_target_runs_on_the_properties_dp_batch_uses(tmp_path: Path) -> None:
    loaded = loaded_in(tmp_path)
    profile = prof.build_profile(loaded, TransformSettings())
    out = output(profile)
    assert profile.document[prof.PROFILE_NAME]["target"] == "session"
    assert {k: out[k] for k in ("type", "method", "schema", "threads")} == {
        "type": "spark",
        "method": "session",
        "schema": "gold",
        "threads": 1,
    }
    params = out["server_side_parameters"]
    assert isinstance(params, dict)
    expected = {**spark_conf(loaded), **prof.SESSION_OVERRIDES}
    assert params.keys() == expected.keys()
    assert params["spark.sql.defaultCatalog"] == "lake"
    assert params["spark.sql.catalog.lake.uri"] == "http://127.0.0.1:8181"
    assert params["spark.sql.catalogImplementation"] == "in-memory"
    assert {k: v for k, v in params.items() if v != expected[k]} == {
        "spark.sql.catalog.lake.s3.access-key-id": "{{ env_var('" + KEY_ID_NAME + "') }}",
        "spark.sql.catalog.lake.s3.secret-access-key": "{{ env_var('" + SECRET_NAME + "') }}",
    }


def test_no_secret_value_is_written_and_each_travels_in_the_environment(tmp_path: Path) -> None:
    profile = prof.build_profile(loaded_in(tmp_path), TransformSettings())
    text = profile.render()
    assert S3_SECRET not in text
    assert S3_KEY_ID not in text
    assert dict(profile.secret_env) == {KEY_ID_NAME: S3_KEY_ID, SECRET_NAME: S3_SECRET}
    assert S3_SECRET not in repr(profile.secret_env)
    assert yaml.safe_load(text) == profile.document


def test_namespace_threads_and_master_come_from_the_transform_settings(tmp_path: Path) -> None:
    transform = TransformSettings(namespace="dbt_proto", threads=2, master="local[1]")
    out = output(prof.build_profile(loaded_in(tmp_path), transform))
    assert (out["schema"], out["threads"]) == ("dbt_proto", 2)
    assert isinstance(out["server_side_parameters"], dict)
    assert out["server_side_parameters"]["spark.master"] == "local[1]"


@pytest.mark.parametrize(("master", "scratched"), [("local[2]", True), ("spark://spark-master:7077", False)])
def test_a_local_sessions_jvm_keeps_its_temporary_files_in_the_scratch_folder(
    tmp_path: Path, master: str, scratched: bool
) -> None:
    scratch = tmp_path / "tmp" / "dbt" / "42"
    out = output(prof.build_profile(loaded_in(tmp_path), TransformSettings(master=master), scratch=scratch))
    params = out["server_side_parameters"]
    assert isinstance(params, dict)
    if scratched:
        assert params["spark.driver.extraJavaOptions"] == f"-Djava.io.tmpdir={scratch}"
    else:  # a cluster's executors have their own disks
        assert "spark.driver.extraJavaOptions" not in params


def test_session_target_needs_the_spark_jars(tmp_path: Path) -> None:
    with pytest.raises(SparkSetupError, match="make install"):
        prof.build_profile(loaded_in(tmp_path, jars=False), TransformSettings())


def test_thrift_target_is_a_config_switch_that_needs_no_local_spark(tmp_path: Path) -> None:
    transform = thrift(host="emr-master.internal", user="hadoop", auth="LDAP", password=THRIFT_PASSWORD)
    profile = prof.build_profile(loaded_in(tmp_path, "prod", jars=False), transform)
    name = "DBT_ENV_SECRET_TRANSFORM_THRIFT_PASSWORD"
    assert output(profile) == {
        "type": "spark",
        "schema": "gold",
        "threads": 1,
        "method": "thrift",
        "host": "emr-master.internal",
        "port": 10000,
        "poll_interval": 1,
        "user": "hadoop",
        "auth": "LDAP",
        "password": "{{ env_var('" + name + "') }}",
        "server_side_parameters": dict(prof.THRIFT_PARAMETERS),
    }
    assert dict(profile.secret_env) == {name: THRIFT_PASSWORD}
    assert THRIFT_PASSWORD not in profile.render()


def test_thrift_poll_interval_is_configurable(tmp_path: Path) -> None:
    profile = prof.build_profile(loaded_in(tmp_path, "prod", jars=False), thrift(host="h", poll_interval_s=3))
    assert output(profile)["poll_interval"] == 3


def test_thrift_target_without_a_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TransformSetupError, match=r"transform\.thrift\.host"):
        prof.build_profile(loaded_in(tmp_path, jars=False), thrift(port=10001))


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("spark.sql.catalog.lake.token", "DBT_ENV_SECRET_SPARK_SQL_CATALOG_LAKE_TOKEN"),
        ("transform.thrift.password", "DBT_ENV_SECRET_TRANSFORM_THRIFT_PASSWORD"),
    ],
)
def test_secret_variable_names(key: str, name: str) -> None:
    assert prof.secret_env_name(key) == name


def test_profile_file_is_private_to_its_owner(tmp_path: Path) -> None:
    profile = prof.build_profile(loaded_in(tmp_path), TransformSettings())
    path = write_profile(profile, tmp_path / ".runtime" / "dbt")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == profile.document


def test_dbt_runs_in_its_environment_with_the_secrets_and_the_runtime_folders(tmp_path: Path) -> None:
    loaded = loaded_in(tmp_path)
    paths = DbtPaths.of(loaded)
    paths.executable.parent.mkdir(parents=True)
    # a stand-in for dbt: records its arguments and the variables dbt reads
    seen = tmp_path / "seen"
    paths.executable.write_text(
        f'#!/bin/sh\necho "$@|$DBT_PROFILES_DIR|$DBT_PROJECT_DIR|${SECRET_NAME}|$DTHEINFRA_DBT_DOMAIN" > {seen}\n'
        "exit 3\n",
        encoding="utf-8",
    )
    paths.executable.chmod(0o755)
    profile = prof.build_profile(loaded, TransformSettings())
    args = ["build", "--select", "fct_orders"]
    assert run_dbt(paths, profile, args, {"PATH": os.environ["PATH"]}, ProjectEnv("shop", "s2")) == 3
    assert seen.read_text(encoding="utf-8").strip() == "|".join(
        ["build --select fct_orders", str(paths.work_dir), str(paths.project_dir), S3_SECRET, "shop"]
    )
    assert paths.project_dir == tmp_path / "platform" / "transformation" / "dbt" / "project"
    environ = dbt_environ(paths, profile, {}, ProjectEnv("shop", "s2", allowed_lateness_s=90))
    assert (environ["DTHEINFRA_DBT_DOMAIN"], environ["DTHEINFRA_DBT_SILVER_NAMESPACE"]) == ("shop", "s2")
    assert environ["DTHEINFRA_DBT_ALLOWED_LATENESS_S"] == "90"
    # the reconciliation reads the speed layer's tables of the window label and the orders topic's watermark
    assert (environ["DTHEINFRA_DBT_SPEED_WINDOW"], environ["DTHEINFRA_DBT_ORDERS_TOPIC"]) == (
        "1m",
        "shop.order_placed.v1",
    )
    speed = ProjectEnv("shop", "s2", speed_window="30s", orders_topic="shop.orders.v2").environ()
    assert (speed["DTHEINFRA_DBT_SPEED_WINDOW"], speed["DTHEINFRA_DBT_ORDERS_TOPIC"]) == ("30s", "shop.orders.v2")
    assert (environ["DBT_TARGET_PATH"], environ["DBT_SEND_ANONYMOUS_USAGE_STATS"]) == (
        str(loaded.runtime_dir / "dbt" / "target"),
        "false",
    )


def test_the_projects_variables_do_not_break_dp_when_exported() -> None:
    """A user who exports what the dbt project reads (to run dbt by hand) can still run dp: the names are outside
    dp's configuration prefix (``DP_DBT_DOMAIN`` was read by dp as the unknown section ``dbt``)."""
    variables = {"DP_STORAGE_ACCESS_KEY_ID": S3_KEY_ID, "DP_STORAGE_SECRET_ACCESS_KEY": S3_SECRET}
    project = ProjectEnv("shop", "s2", allowed_lateness_s=90).environ()
    assert project and not [name for name in project if name.startswith(ENV_PREFIX)]
    exported = load_settings(REPO / "config", variables | project)
    assert exported.settings == load_settings(REPO / "config", variables).settings


def test_without_the_dbt_environment_the_run_says_how_to_install_it(tmp_path: Path) -> None:
    loaded = loaded_in(tmp_path)
    paths = DbtPaths.of(loaded)
    with pytest.raises(TransformSetupError, match="make install"):
        run_dbt(
            paths,
            prof.build_profile(loaded, TransformSettings()),
            ["debug"],
            {},
            ProjectEnv("commerce", "silver"),
        )
    assert not (paths.work_dir / "profiles.yml").exists()


def test_the_orders_topic_is_the_domains_order_placed_contracts() -> None:
    loaded = load_settings(REPO / "config", {})
    assert orders_topic(loaded, "commerce") == "commerce.order_placed.v1"
    assert orders_topic(loaded, "no_such_domain") == ""
