"""Service definitions come from config: ports, listeners, credentials."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from dp_core.config import LoadedConfig, load_settings
from dp_localstack.errors import InstallError
from dp_localstack.layout import Layout
from dp_localstack.services import all_services, host_port, kafka_server_properties
from dp_localstack.services.spark_thrift import properties_text, thrift_server_conf
from dp_spark.errors import SparkSetupError


def test_host_port_parses_addresses_and_urls() -> None:
    assert host_port("127.0.0.1:9092", 1) == ("127.0.0.1", 9092)
    assert host_port("http://127.0.0.1:8181/", 1) == ("127.0.0.1", 8181)
    assert host_port("http://localhost", 9000) == ("localhost", 9000)


def test_ports_come_from_the_configuration(tmp_config: LoadedConfig) -> None:
    services = {s.name: s for s in all_services(tmp_config.settings, Layout.from_config(tmp_config))}
    assert services["kafka"].ports == (19092, 9093)
    assert services["catalog"].port == 18181
    assert services["catalog"].env["CATALOG_REST_PORT"] == "18181"
    assert services["s3"].port == 9000
    assert services["postgres"].port == 5432
    assert services["spark-master"].ports == (7077, 8082)
    assert services["flink-jobmanager"].port == 8083
    assert [s.name for s in services.values() if s.group == "core"] == [
        "kafka",
        "s3",
        "postgres",
        "catalog",
        "registry",
        "spark-thrift",
        "trino",
        "data-api",
    ]
    assert services["registry"].port == 8081
    assert services["data-api"].port == 8000
    assert services["trino"].port == 8088


def test_the_thrift_server_listens_where_dbt_connects(tmp_path: Path, repo_root: Path) -> None:
    loaded = load_settings(
        repo_root / "config",
        {
            "DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime"),
            "DP_TRANSFORM_THRIFT__PORT": "10123",
            "DP_ICEBERG_CATALOG__URI": "http://127.0.0.1:1",
        },
    )
    layout = Layout.from_config(loaded)
    spec = {s.name: s for s in all_services(loaded.settings, layout)}["spark-thrift"]
    assert (spec.port, spec.group) == (10123, "core")
    command = spec.command()
    assert command[command.index("--class") + 1] == "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
    assert "hive.server2.thrift.port=10123" in command
    assert "hive.server2.thrift.bind.host=127.0.0.1" in command
    # no jars fetched: preparing the server says what to run, before it ever asks the catalog
    with pytest.raises(SparkSetupError, match="make install"):
        assert spec.prepare is not None
        spec.prepare()


def test_the_thrift_servers_spark_is_the_lakehouse_session_with_the_jars_on_the_class_path(
    tmp_config: LoadedConfig, tmp_path: Path
) -> None:
    jars = [tmp_path / "a.jar", tmp_path / "b.jar"]
    conf = thrift_server_conf(tmp_config.settings, jars, tmp_path / "scratch")
    assert "spark.jars" not in conf
    assert conf["spark.driver.extraClassPath"] == f"{jars[0]}:{jars[1]}"
    assert conf["spark.sql.catalog.lake.cache-enabled"] == "false"
    assert conf["spark.sql.catalog.lake.uri"] == "http://127.0.0.1:18181"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.driver.memory"] == "1g"
    assert conf["spark.driver.extraJavaOptions"] == f"-Djava.io.tmpdir={tmp_path / 'scratch'}"
    logged = thrift_server_conf(tmp_config.settings, jars, tmp_path / "scratch", tmp_path / "log4j2.properties")
    assert logged["spark.driver.extraJavaOptions"].endswith(
        f" -Dlog4j2.configurationFile=file:{tmp_path}/log4j2.properties"
    )
    text = properties_text(conf)
    assert "spark.sql.defaultCatalog lake\n" in text
    with pytest.raises(InstallError, match="line break"):
        properties_text({"spark.app.name": "a\nspark.master yarn"})


def test_property_values_survive_javas_properties_format() -> None:
    text = properties_text({"a.secret": "x\\y\\", "b": "=c", "c": ":d", "d": "#e", "e": "f=g:h"})
    lines = text.splitlines()[1:]
    assert lines == ["a.secret x\\\\y\\\\", "b \\=c", "c \\:d", "d \\#e", "e f=g:h"]


def test_the_thrift_servers_properties_file_is_its_owners_only(tmp_path: Path, repo_root: Path) -> None:
    loaded = load_settings(
        repo_root / "config",
        {"DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime"), "DP_ICEBERG_CATALOG__URI": "http://127.0.0.1:1"},
    )
    layout = Layout.from_config(loaded)
    layout.jars("spark").mkdir(parents=True)
    (layout.jars("spark") / "iceberg-spark-runtime.jar").touch()
    spec = {s.name: s for s in all_services(loaded.settings, layout)}["spark-thrift"]
    assert spec.prepare is not None
    # the file is written, then the catalog (nothing at port 1) refuses the default namespace: a clear error
    with pytest.raises(InstallError, match=re.escape("the REST catalog at http://127.0.0.1:1")):
        spec.prepare()
    conf = layout.conf("spark-thrift") / "spark-thrift.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert f"spark.driver.extraClassPath {layout.jars('spark')}/iceberg-spark-runtime.jar" in conf.read_text()


def test_catalog_uses_postgres_and_the_object_store(tmp_config: LoadedConfig) -> None:
    s = tmp_config.settings
    env = {x.name: x for x in all_services(s, Layout.from_config(tmp_config))}["catalog"].env
    assert env["CATALOG_URI"] == "jdbc:postgresql://127.0.0.1:5432/iceberg_catalog"
    assert env["CATALOG_JDBC_USER"] == "dataplatform"
    assert env["CATALOG_IO__IMPL"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert env["CATALOG_S3_ENDPOINT"] == "http://127.0.0.1:9000"
    assert env["CATALOG_WAREHOUSE"] == "s3://warehouse/"


def test_s3_credentials_stay_off_the_command_line(tmp_config: LoadedConfig) -> None:
    layout = Layout.from_config(tmp_config)
    layout.bin.mkdir(parents=True)
    (layout.bin / "versitygw").write_text("")
    s3 = {x.name: x for x in all_services(tmp_config.settings, layout)}["s3"]
    assert s3.env["ROOT_ACCESS_KEY_ID"] == "minioadmin"
    command = s3.command()
    assert command[0] == str(layout.bin / "versitygw")
    assert "127.0.0.1:9000" in command
    assert "minioadmin" not in " ".join(command)


def test_missing_binary_is_a_clear_error(tmp_config: LoadedConfig) -> None:
    import pytest

    from dp_localstack.errors import InstallError

    s3 = {x.name: x for x in all_services(tmp_config.settings, Layout.from_config(tmp_config))}["s3"]
    with pytest.raises(InstallError, match="versitygw is missing: run `make install`"):
        s3.command()


def test_kafka_listeners_follow_bootstrap_servers(tmp_config: LoadedConfig) -> None:
    props = kafka_server_properties(tmp_config.settings, tmp_config.runtime_dir / "data" / "kafka")
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:9093" in props
    assert "controller.quorum.bootstrap.servers=127.0.0.1:9093" in props
    assert "offsets.topic.replication.factor=1" in props
    assert f"log.dirs={tmp_config.runtime_dir / 'data' / 'kafka'}" in props


def test_a_stale_postmaster_lock_is_cleared_only_when_its_postmaster_is_gone(tmp_path: Path) -> None:
    from dp_localstack.services.postgres_server import clear_stale_lock

    lock = tmp_path / "postmaster.pid"
    lock.write_text(f"{os.getpid()}\n{tmp_path}\n", encoding="utf-8")
    assert not clear_stale_lock(lock) and lock.exists()  # a live process: PostgreSQL says what is in the way
    zombie = subprocess.Popen(["true"])  # exits, and stays a zombie until waited for (as an unreaped postmaster)
    deadline = time.monotonic() + 10
    while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    lock.write_text(f"{zombie.pid}\n{tmp_path}\n", encoding="utf-8")
    assert clear_stale_lock(lock) and not lock.exists()
    zombie.wait()
    lock.write_text(f"{zombie.pid}\n{tmp_path}\n", encoding="utf-8")  # reaped: no such process
    assert clear_stale_lock(lock) and not lock.exists()
    lock.write_text("not a pid\n", encoding="utf-8")
    assert not clear_stale_lock(lock) and lock.exists()


def test_airflow_runs_as_four_full_stack_processes_on_the_configured_ports(tmp_config: LoadedConfig) -> None:
    layout = Layout.from_config(tmp_config)
    services = {s.name: s for s in all_services(tmp_config.settings, layout)}
    airflow = [name for name in services if name.startswith("airflow-")]
    assert airflow == ["airflow-api", "airflow-scheduler", "airflow-dags", "airflow-triggerer"]
    assert {services[n].group for n in airflow} == {"full"}
    assert services["airflow-api"].ports == (8084,)
    assert services["airflow-scheduler"].ports == (8795,)  # its workers' log server, off Airflow's default 8793
    assert services["airflow-triggerer"].ports == (8796,)
    assert services["airflow-api"].url == "http://127.0.0.1:8084"


def test_airflows_environment_points_at_the_stacks_postgres_and_this_repos_dags(
    tmp_path: Path, repo_root: Path
) -> None:
    from dp_localstack.services.airflow import airflow_env

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    loaded = load_settings(
        repo_root / "config",
        {
            "DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime"),
            "DP_POSTGRES_PASSWORD": "p@ss:w/rd",
            "DP_ORCHESTRATION_AIRFLOW__PORT": "18084",
            "DP_SECRETS_DIR": str(secrets),
        },
    )
    layout = Layout.from_config(loaded)
    env = airflow_env(loaded.settings, layout)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
        "postgresql+psycopg2://dataplatform:p%40ss%3Aw%2Frd@127.0.0.1:5432/airflow"
    )
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(repo_root / "platform/orchestration/airflow/dags")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18084/execution/"
    assert env["AIRFLOW__API__PORT"] == "18084"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "2"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
    assert env["PATH"].startswith(str(tmp_path / "runtime/venvs/airflow/bin") + ":")
    # the keys every process shares are generated once, readable by their owner only, and kept
    keys = tmp_path / "runtime/conf/airflow/keys.json"
    assert keys.stat().st_mode & 0o777 == 0o600
    assert airflow_env(loaded.settings, layout)["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]


def test_the_airflow_admin_password_is_generated_once_into_the_secret_folder(
    tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dp_localstack.services.airflow import ADMIN_PASSWORD_SECRET, admin_password

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    environ = {"DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime"), "DP_SECRETS_DIR": str(secrets)}
    monkeypatch.setenv("DP_SECRETS_DIR", str(secrets))
    loaded = load_settings(repo_root / "config", environ)
    layout = Layout.from_config(loaded)
    first = admin_password(loaded.settings, layout)
    assert len(first) >= 20 and admin_password(loaded.settings, layout) == first
    assert (secrets / ADMIN_PASSWORD_SECRET).stat().st_mode & 0o777 == 0o600
    # the loader now reads it as the configured secret
    again = load_settings(repo_root / "config", environ).settings.orchestration.airflow.admin_password
    assert again is not None and again.get_secret_value() == first
    configured = load_settings(repo_root / "config", environ | {"DP_ORCHESTRATION_AIRFLOW__ADMIN_PASSWORD": "x"})
    assert admin_password(configured.settings, layout) == "x"
