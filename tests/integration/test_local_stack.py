"""The local stack of real services: every engine reaches the same Kafka and the same lakehouse.

Runs in definition order: the last test stops and restarts the core stack and checks that data survived.
"""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from pyiceberg.catalog import Catalog

from dp_core.config import LoadedConfig
from dp_ingest.readback import read_to_end
from dp_localstack.health import s3_client
from dp_localstack.stack import LocalStack
from dp_localstack.testing import run_command, run_dp

pytestmark = pytest.mark.integration

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "engine": pa.array(["pyiceberg"] * 3, pa.string())})


def rows_of(catalog: Catalog, identifier: str) -> list[tuple[int, str]]:
    table = catalog.load_table(identifier).scan().to_arrow()
    return sorted(zip(table["id"].to_pylist(), table["engine"].to_pylist(), strict=True))


@pytest.fixture(scope="module")
def names(run_id: str) -> dict[str, str]:
    return {
        "topic": f"it.{run_id}.stack",
        "namespace": f"it_{run_id}",
        "table": f"it_{run_id}.shared",
        "flink_table": f"it_{run_id}.from_flink",
        "key": f"it/{run_id}/hello.txt",
    }


def test_every_core_service_is_healthy(local_stack: LocalStack) -> None:
    rows = {r.name: r for r in local_stack.ps()}
    for name in ("kafka", "s3", "postgres", "catalog", "registry", "spark-thrift", "trino", "data-api"):
        assert rows[name].state == "healthy", rows[name]
        assert rows[name].pid is not None and rows[name].rss_bytes > 0


def test_kafka_round_trip(local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]) -> None:
    bootstrap = platform_config.settings.kafka.bootstrap_servers
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(names["topic"], num_partitions=1, replication_factor=1)])[names["topic"]].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for i in range(10):
        producer.produce(names["topic"], key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    received = consume_all(platform_config, names["topic"])
    assert received == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(10)]


def consume_all(config: LoadedConfig, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """The keys and values of every record of ``topic``, read to its end."""
    return [(m.key(), m.value()) for m in read_to_end(config.settings, [topic], missing_ok=False).records]


def test_s3_put_and_get(local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]) -> None:
    client = s3_client(platform_config.settings)
    bucket = platform_config.settings.storage.warehouse_bucket
    client.put_object(Bucket=bucket, Key=names["key"], Body=b"hello lakehouse")
    assert client.get_object(Bucket=bucket, Key=names["key"])["Body"].read() == b"hello lakehouse"


def test_layer_namespaces_exist(lake_catalog: Catalog, local_stack: LocalStack, platform_config: LoadedConfig) -> None:
    namespaces = {ns[0] for ns in lake_catalog.list_namespaces()}
    assert {"bronze", "silver", "gold"} <= namespaces


def test_pyiceberg_writes_through_the_rest_catalog_to_the_object_store(
    lake_catalog: Catalog, local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]
) -> None:
    catalog = lake_catalog
    catalog.create_namespace_if_not_exists(names["namespace"])
    table = catalog.create_table(names["table"], schema=ROWS.schema)
    table.append(ROWS)
    assert rows_of(catalog, names["table"]) == [(1, "pyiceberg"), (2, "pyiceberg"), (3, "pyiceberg")]
    # the data files are objects in the S3 store, under the warehouse bucket
    bucket = platform_config.settings.storage.warehouse_bucket
    listing = s3_client(platform_config.settings).list_objects_v2(Bucket=bucket, Prefix=f"{names['namespace']}/")
    keys = [o["Key"] for o in listing.get("Contents", [])]
    assert any(k.endswith(".parquet") for k in keys), keys
    assert any(k.endswith(".metadata.json") for k in keys), keys


def test_spark_reads_and_appends_the_same_table(
    lake_catalog: Catalog, local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]
) -> None:
    from dp_spark.session import build_session

    spark = build_session(platform_config, "it-local-stack")
    try:
        fq = f"{platform_config.settings.iceberg.catalog.name}.{names['table']}"
        seen = sorted((r.id, r.engine) for r in spark.table(fq).collect())
        assert seen == [(1, "pyiceberg"), (2, "pyiceberg"), (3, "pyiceberg")]
        spark.sql(f"INSERT INTO {fq} VALUES (4, 'spark'), (5, 'spark')")
    finally:
        spark.stop()
    assert rows_of(lake_catalog, names["table"])[-2:] == [(4, "spark"), (5, "spark")]


def flink_check(config: LoadedConfig, *args: str) -> dict[str, object]:
    python = config.runtime_dir / "venvs" / "flink-jobs" / "bin" / "python"
    result = run_command([str(python), "-m", "dp_flink_jobs.lakehouse_check", *args], config.repo_root, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    parsed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def test_flink_writes_a_table_pyiceberg_reads_and_reads_the_spark_rows(
    lake_catalog: Catalog, local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]
) -> None:
    written = flink_check(platform_config, "--table", names["flink_table"], "--rows", "3")
    assert written == {"written": 3, "rows": [[1, "flink"], [2, "flink"], [3, "flink"]]}
    assert rows_of(lake_catalog, names["flink_table"]) == [(1, "flink"), (2, "flink"), (3, "flink")]
    read = flink_check(platform_config, "--table", names["table"], "--read-only")
    assert read["rows"] == [[1, "pyiceberg"], [2, "pyiceberg"], [3, "pyiceberg"], [4, "spark"], [5, "spark"]]


def test_local_ps_command_lists_every_service(local_stack: LocalStack) -> None:
    result = run_dp(local_stack.layout.repo, "local", "ps", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {s.name for s in local_stack.services}
    assert rows["kafka"]["port"] == 9092 and rows["kafka"]["state"] == "healthy"
    assert rows["catalog"]["log_file"].endswith("logs/catalog.log")


def test_second_install_does_no_work(local_stack: LocalStack) -> None:
    began = time.monotonic()
    result = run_dp(local_stack.layout.repo, "local", "install", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(0 fetched)" in result.stdout
    assert result.stderr == ""  # nothing was fetched or built
    assert time.monotonic() - began < 30


def test_full_stack_adds_spark_flink_and_airflow(local_stack: LocalStack) -> None:
    extra = [s for s in local_stack.services if s.group == "full"]
    assert [s.name for s in extra if s.name.startswith("airflow-")] == [
        "airflow-api", "airflow-scheduler", "airflow-dags", "airflow-triggerer"
    ]  # fmt: skip
    try:
        local_stack.up(core_only=False)
        rows = {r.name: r for r in local_stack.ps()}
        for spec in extra:
            assert rows[spec.name].state == "healthy", rows[spec.name]
        assert "1 alive worker(s)" in local_stack.service("spark-worker").health().detail
        assert "1 taskmanager(s)" in local_stack.service("flink-taskmanager").health().detail
        check_airflow(local_stack)
        # the speed layer's watch on a cluster that runs neither job: each named, exit 1
        watched = run_dp(local_stack.layout.repo, "stream", "watch", "--domain", "nosuchdomain")
        assert watched.returncode == 1, watched.stderr[-2000:]
        for job in ("dp-enricher-nosuchdomain: missing", "dp-aggregator-nosuchdomain: missing"):
            assert job in watched.stderr
    finally:
        local_stack.down(extra)
    assert {r.name: r.state for r in local_stack.ps() if r.name in {s.name for s in extra}} == dict.fromkeys(
        (s.name for s in extra), "stopped"
    )


def check_airflow(stack: LocalStack) -> None:
    """Airflow's api-server: the admin logs in with the generated password (a wrong one is refused), the DAG
    processor has parsed every DAG of the repository, with no import error."""
    import httpx

    from dp_localstack.services.airflow import admin_password

    af = stack.settings.orchestration.airflow
    url = f"http://{af.host}:{af.port}"
    refused = httpx.post(f"{url}/auth/token", json={"username": af.admin_user, "password": "wrong"}, timeout=10)
    assert refused.status_code == 401, refused.text
    login = {"username": af.admin_user, "password": admin_password(stack.settings, stack.layout)}
    token = httpx.post(f"{url}/auth/token", json=login, timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    expected = {"lakehouse_batch", "lakehouse_backfill", "lakehouse_maintenance", "speed_layer_watch"}
    deadline = time.monotonic() + 120
    while True:
        dags = httpx.get(f"{url}/api/v2/dags", params={"limit": 100}, headers=headers, timeout=10).json()
        found = {d["dag_id"] for d in dags.get("dags", [])}
        if found >= expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert found >= expected, dags
    assert all(d["is_paused"] for d in dags["dags"] if d["dag_id"] in expected)  # nothing runs until unpaused
    errors = httpx.get(f"{url}/api/v2/importErrors", headers=headers, timeout=10).json()
    assert errors["total_entries"] == 0, errors


def test_data_survives_down_and_up(
    lake_catalog: Catalog, local_stack: LocalStack, platform_config: LoadedConfig, names: dict[str, str]
) -> None:
    core = local_stack.select(core_only=True)
    assert set(local_stack.down(core)) == {
        "kafka", "s3", "postgres", "catalog", "registry", "spark-thrift", "trino", "data-api"
    }  # fmt: skip
    assert {r.name: r.state for r in local_stack.ps() if r.name in {"kafka", "catalog"}} == {
        "kafka": "stopped",
        "catalog": "stopped",
    }
    local_stack.up(core_only=True)
    assert rows_of(lake_catalog, names["table"]) == [
        (1, "pyiceberg"),
        (2, "pyiceberg"),
        (3, "pyiceberg"),
        (4, "spark"),
        (5, "spark"),
    ]
    received = consume_all(platform_config, names["topic"])
    assert len(received) == 10
