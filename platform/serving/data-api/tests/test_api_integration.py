"""The Data API on the real stack, on both of its engines: DuckDB's Iceberg extension and the stack's Trino, each
reading the REST catalog and the S3 store.

For each engine, Gold's and the speed layer's tables are written with pyiceberg in namespaces of the test's own;
the answers are compared with what was written, the snapshots named in the freshness with the catalog's, and a new
Gold build (a new snapshot, a later watermark) moves the boundary: the rows after the old one come back final with
Gold's numbers; as of the first build, the first answer. ``dp serve api`` itself is started on each engine,
answers, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from pyiceberg.catalog import Catalog

from dp_core.config import LoadedConfig, load_settings
from dp_data_api.api import create_app
from dp_data_api.keys import create_key
from dp_data_api.server import build_guard, build_service, config_of, key_store
from dp_lakehouse.pyiceberg import lake_catalog
from dp_localstack.stack import LocalStack
from dp_localstack.testing import DP, run_dp

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
TOPIC = "commerce.order_placed.v1"
WINDOWS = pa.schema(
    [
        pa.field("window_start", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("window_end", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("orders", pa.int64(), nullable=False),
        pa.field("revenue", pa.decimal128(18, 2), nullable=False),
    ]
)
PROGRESS = pa.schema(
    [
        pa.field("kafka_topic", pa.string(), nullable=False),
        pa.field("kafka_partition", pa.int32(), nullable=False),
        pa.field("watermark", pa.timestamp("us", tz="UTC")),
    ]
)


def minutes(first: int, last: int, orders: int, revenue: str) -> pa.Table:
    starts = [T0 + dt.timedelta(minutes=m) for m in range(first, last)]
    return pa.Table.from_pylist(
        [{"window_start": s, "window_end": s + dt.timedelta(minutes=1), "currency": "EUR", "orders": orders,
          "revenue": Decimal(revenue)} for s in starts],
        schema=WINDOWS,
    )  # fmt: skip


@pytest.fixture(scope="module", params=["duckdb", "trino"])
def lake(
    request: pytest.FixtureRequest, local_stack: LocalStack, platform_config: LoadedConfig, run_id: str
) -> Iterator[tuple[LoadedConfig, Catalog]]:
    engine = request.param
    gold, silver = f"api_{run_id}_{engine}_gold", f"api_{run_id}_{engine}_silver"
    env = {**os.environ, "DP_TRANSFORM_NAMESPACE": gold, "DP_ICEBERG_NAMESPACES__SILVER": silver,
           "DP_SERVING_METADATA_TTL_S": "0", "DP_SERVING_ENGINE": engine}  # fmt: skip
    loaded = load_settings(platform_config.config_dir, env)
    catalog = lake_catalog(loaded.settings)
    for ns in (gold, silver):
        catalog.create_namespace_if_not_exists(ns)
    speed = catalog.create_table(f"{silver}.commerce__orders_1m_rt", WINDOWS)
    speed.append(minutes(2, 8, 7, "0.50"))  # the speed layer 12:02-12:07, without some late orders
    progress = catalog.create_table(f"{silver}.commerce__aggregator_progress_rt", PROGRESS)
    progress.append(pa.Table.from_pylist(
        [{"kafka_topic": TOPIC, "kafka_partition": p, "watermark": T0 + dt.timedelta(minutes=7, seconds=p)}
         for p in range(3)], schema=PROGRESS,
    ))  # fmt: skip
    gold_t = catalog.create_table(f"{gold}.agg_orders_1m", WINDOWS)
    gold_t.append(minutes(0, 6, 10, "1.00"))  # Gold holds 12:00-12:05, complete up to 12:03:30
    gold_t.transaction().set_properties({"dp.watermark": "2026-12-07T12:03:30.000000+00:00"}).commit_transaction()
    yield loaded, catalog
    for ns in (gold, silver):
        for identifier in catalog.list_tables(ns):
            catalog.purge_table(identifier)
        catalog.drop_namespace(ns)


def rows(body: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    return [(r["window_start"][11:16], r["orders"], r["revenue"], r["status"]) for r in body["rows"]]


def test_revenue_from_the_real_lakehouse_and_the_boundary_moving_after_a_gold_build(
    lake: tuple[LoadedConfig, Catalog],
) -> None:
    loaded, catalog = lake
    config = config_of(loaded)
    service = build_service(loaded, config)
    _, token = create_key(key_store(loaded.settings), "integration", ["metrics:read", "tables:read"])
    client = TestClient(create_app(service, build_guard(loaded.settings, config)), headers={"X-API-Key": token})
    assert TestClient(create_app(service, build_guard(loaded.settings, config))).get("/v1/tables").status_code == 401
    params = {"from": "2026-12-07T12:00:00Z", "to": "2026-12-07T12:10:00Z", "grain": "minute"}

    body = client.get("/v1/metrics/revenue", params=params).json()
    assert rows(body) == [
        ("12:00", 10, "1.00", "final"), ("12:01", 10, "1.00", "final"), ("12:02", 10, "1.00", "final"),
        ("12:03", 7, "0.50", "provisional"), ("12:04", 7, "0.50", "provisional"),
        ("12:05", 7, "0.50", "provisional"), ("12:06", 7, "0.50", "provisional"),
        ("12:07", 7, "0.50", "provisional"),
    ]  # fmt: skip
    gold_id = catalog.load_table(config.tables.orders_1m).metadata.current_snapshot_id
    speed_id = catalog.load_table(config.tables.orders_rt).metadata.current_snapshot_id
    fresh = body["freshness"]
    assert fresh["snapshots"][config.tables.orders_1m] == gold_id
    assert fresh["snapshots"][config.tables.orders_rt] == speed_id
    assert (fresh["gold_watermark"], fresh["boundary"], fresh["speed_watermark"]) == (
        "2026-12-07T12:03:30Z", "2026-12-07T12:03:00Z", "2026-12-07T12:07:02Z",
    )  # fmt: skip

    # the next Gold build: minutes 12:03-12:07 with the late orders, the watermark at 12:06:10
    before_build = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    gold = catalog.load_table(config.tables.orders_1m)
    gold.overwrite(minutes(0, 8, 10, "1.00"))
    gold.transaction().set_properties({"dp.watermark": "2026-12-07T12:06:10.000000+00:00"}).commit_transaction()
    after = client.get("/v1/metrics/revenue", params=params).json()
    assert rows(after) == [(f"12:0{m}", 10, "1.00", "final") for m in range(6)] + [
        ("12:06", 7, "0.50", "provisional"), ("12:07", 7, "0.50", "provisional"),
    ]  # fmt: skip
    assert after["freshness"]["boundary"] == "2026-12-07T12:06:00Z"
    assert after["freshness"]["snapshots"][config.tables.orders_1m] != gold_id

    # time travel: as of the first build's snapshot, or of a time before the second build, the first answer
    for as_of in (str(gold_id), before_build.isoformat()):
        earlier = client.get("/v1/metrics/revenue", params={**params, "as_of": as_of}).json()
        assert rows(earlier) == rows(body), as_of
        assert earlier["freshness"]["boundary"] == "2026-12-07T12:03:00Z"
        assert earlier["freshness"]["snapshots"][config.tables.orders_1m] == gold_id
    unknown = client.get("/v1/metrics/revenue", params={**params, "as_of": "1"})
    assert (unknown.status_code, unknown.json()["parameter"]) == (404, "as_of")

    described = client.get(f"/v1/tables/{config.gold_namespace}/agg_orders_1m").json()
    assert described["records"] == 8
    assert described["watermark"] == "2026-12-07T12:06:10Z"
    assert [c["name"] for c in described["columns"]] == ["window_start", "window_end", "currency", "orders", "revenue"]
    then = client.get(f"/v1/tables/{config.gold_namespace}/agg_orders_1m", params={"as_of": str(gold_id)}).json()
    assert (then["snapshot_id"], then["records"], then["watermark"]) == (gold_id, 6, "2026-12-07T12:03:30Z")
    history = client.get(f"/v1/tables/{config.gold_namespace}/agg_orders_1m/snapshots").json()["snapshots"]
    table = catalog.load_table(config.tables.orders_1m)
    assert [x["snapshot_id"] for x in history] == [x.snapshot_id for x in sorted(
        table.metadata.snapshots, key=lambda x: (x.timestamp_ms, x.snapshot_id), reverse=True)]  # fmt: skip
    assert history[0]["current"] is True and gold_id in {x["snapshot_id"] for x in history}
    assert history[-1]["operation"] == "append" and history[-1]["added_records"] == 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dp_serve_api_answers_and_stops_on_sigterm(
    lake: tuple[LoadedConfig, Catalog], platform_config: LoadedConfig, tmp_path: Path
) -> None:
    loaded, _ = lake
    port = free_port()
    env = {**os.environ, "DP_TRANSFORM_NAMESPACE": loaded.settings.transform.namespace or "",
           "DP_ICEBERG_NAMESPACES__SILVER": loaded.settings.iceberg.namespaces.silver,
           "DP_SERVING_KEY_CACHE_S": "0", "DP_SERVING_ENGINE": loaded.settings.serving.engine}  # fmt: skip
    created = run_dp(platform_config.repo_root, "serve", "keys", "create", "--name", "cli test", "--scope",
                     "metrics:read", env=env, timeout=120)  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    key_id = token.split("_")[1]
    assert f"created key {key_id} (cli test; metrics:read)" in created.stderr
    listed = run_dp(platform_config.repo_root, "serve", "keys", "list", env=env, timeout=120)
    assert any(line.startswith(key_id) and "cli test" in line for line in listed.stdout.splitlines()), listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # never the secret
    err = tmp_path / "api.err"
    with err.open("w") as stderr:
        proc = subprocess.Popen([DP, "serve", "api", "--port", str(port)], cwd=platform_config.repo_root, env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    try:
        deadline, healthy = time.monotonic() + 60, False
        while not healthy and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()[-2000:]
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert healthy, err.read_text()[-2000:]
        url, params = f"http://127.0.0.1:{port}/v1/metrics/revenue", {"from": "2026-12-07", "to": "2026-12-08",
                                                                          "grain": "day"}  # fmt: skip
        answer = httpx.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert [r["status"] for r in answer.json()["rows"]] == ["provisional"]  # the day straddles the boundary
        assert httpx.get(url, params=params, timeout=30).status_code == 401
        revoked = run_dp(platform_config.repo_root, "serve", "keys", "revoke", key_id, env=env, timeout=120)
        assert (revoked.returncode, revoked.stdout.strip()) == (0, f"revoked key {key_id}")
        refused = httpx.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert (refused.status_code, refused.json()["message"]) == (401, f"API key {key_id} was revoked")
        again = run_dp(platform_config.repo_root, "serve", "keys", "revoke", key_id, env=env, timeout=120)
        assert again.returncode != 0
        assert f"Error: no active key {key_id}" in again.stderr
        taken = run_dp(platform_config.repo_root, "serve", "api", "--port", str(port), env=env, timeout=120)
        assert taken.returncode != 0
        assert f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, err.read_text()[-2000:]
