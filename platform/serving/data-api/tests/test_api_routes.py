"""The Data API's routes over an in-memory DuckDB holding Gold's and the speed layer's tables.

The integration test runs the same routes on the real catalog and object store (DuckDB's Iceberg extension); these
pin down the answers, the freshness, the cache and every bad-input case quickly.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from pyarrow import ipc

from dp_core.config.models import PlatformSettings
from dp_data_api.api import Guard, answer_json, create_app
from dp_data_api.config import ApiConfig, api_config
from dp_data_api.engine import DuckDBEngine
from dp_data_api.errors import BadParameterError, StartupError
from dp_data_api.keys import SCOPES, Authenticator, MemoryKeyStore, RateLimiter, UnauthorizedError, create_key
from dp_data_api.lake import Column, Snapshot, TableState
from dp_data_api.params import revenue_query
from dp_data_api.service import DataService

NOW = dt.datetime(2026, 12, 7, 12, 30, tzinfo=dt.UTC)
DAY = "2026-12-07"
TOPIC = "commerce.order_placed.v1"
ORDER_DDL = (
    "order_id VARCHAR, customer_id VARCHAR, session_id VARCHAR, occurred_at TIMESTAMPTZ, currency VARCHAR, "
    "shipping_country VARCHAR, line_count INT, subtotal DECIMAL(12, 2), shipping DECIMAL(12, 2), tax DECIMAL(12, 2), "
    "total DECIMAL(12, 2), payment_status VARCHAR"
)


class FakeMetadata:
    """Table states by identifier, as a catalog would give them, and earlier states by time (``past``)."""

    def __init__(self, states: dict[str, TableState]) -> None:
        self.states = states
        self.past: dict[str, list[TableState]] = {}

    def state(self, identifier: str) -> TableState | None:
        return self.states.get(identifier)

    def versions(self, identifier: str) -> list[TableState]:
        now = self.states.get(identifier)
        return sorted([*self.past.get(identifier, []), *([now] if now else [])], key=lambda v: v.version_at or NOW)

    def state_at(self, identifier: str, at: dt.datetime) -> TableState | None:
        found = [v for v in self.versions(identifier) if (v.version_at or NOW) <= at]
        return found[-1] if found else None

    def state_of_snapshot(self, identifier: str, snapshot_id: int) -> TableState | None:
        found = [v for v in self.versions(identifier) if v.snapshot_id == snapshot_id]
        return found[-1] if found else None

    def tables(self, namespaces: tuple[str, ...]) -> list[str]:
        return sorted(t for t in self.states if t.split(".", 1)[0] in namespaces)


def state(identifier: str, snapshot: int | None = 1, watermark: str | None = None, at: dt.datetime = NOW) -> TableState:
    props = {"dp.watermark": watermark} if watermark else {}
    return TableState(
        identifier, snapshot, at if snapshot else None, props, (Column("x", "long", True),), (), 3, version_at=at
    )


@pytest.fixture
def config() -> ApiConfig:
    return api_config(PlatformSettings(), order_topic=TOPIC)


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    e = DuckDBEngine.in_memory()
    for sql in (
        "CREATE SCHEMA lake.gold",
        "CREATE SCHEMA lake.silver",
        "CREATE TABLE lake.gold.agg_orders_1m (window_start TIMESTAMPTZ, currency VARCHAR, orders BIGINT, "
        "revenue DECIMAL(18, 2))",
        "CREATE TABLE lake.gold.agg_revenue_daily (order_date DATE, category VARCHAR, currency VARCHAR, "
        "placed_orders BIGINT, placed_units BIGINT, gross_revenue DECIMAL(18, 2))",
        "CREATE TABLE lake.silver.commerce__orders_1m_rt (window_start TIMESTAMPTZ, currency VARCHAR, "
        "orders BIGINT, revenue DECIMAL(18, 2), window_end TIMESTAMPTZ AS (window_start + INTERVAL 1 MINUTE))",
        "CREATE TABLE lake.silver.commerce__revenue_1m_rt (window_start TIMESTAMPTZ, category VARCHAR, "
        "currency VARCHAR, orders BIGINT, units BIGINT, revenue DECIMAL(18, 2), "
        "window_end TIMESTAMPTZ AS (window_start + INTERVAL 1 MINUTE))",
        "CREATE TABLE lake.silver.commerce__aggregator_progress_rt (kafka_topic VARCHAR, kafka_partition INT, "
        "watermark TIMESTAMPTZ)",
        # Gold: minutes 12:00-12:05 (complete up to 12:03:30); the speed layer: 12:02-12:08
        "INSERT INTO lake.gold.agg_orders_1m SELECT TIMESTAMPTZ '2026-12-07 12:00:00+00' + to_minutes(m), 'EUR', "
        "10 + m, CAST(10 + m AS DECIMAL(18, 2)) FROM range(6) t(m)",
        "INSERT INTO lake.gold.agg_orders_1m VALUES ('2026-12-07 12:01:00+00', 'USD', 1, 5.50)",
        "INSERT INTO lake.silver.commerce__orders_1m_rt SELECT TIMESTAMPTZ '2026-12-07 12:00:00+00' + "
        "to_minutes(m), 'EUR', 100 + m, CAST(0.25 AS DECIMAL(18, 2)) FROM range(2, 9) t(m)",
        "INSERT INTO lake.gold.agg_revenue_daily VALUES ('2026-12-06', 'books', 'EUR', 40, 50, 400.00), "
        "('2026-12-07', 'books', 'EUR', 3, 3, 30.00), ('2026-12-06', 'toys', 'EUR', 1, 1, 9.99)",
        "INSERT INTO lake.silver.commerce__revenue_1m_rt VALUES ('2026-12-07 00:01:00+00', 'books', 'EUR', 2, 2, "
        "20.00), ('2026-12-07 00:02:00+00', 'books', 'EUR', 1, 4, 1.50), ('2026-12-06 23:59:00+00', 'books', "
        "'EUR', 9, 9, 99.00)",
        f"CREATE TABLE lake.gold.fct_orders ({ORDER_DDL})",
        f"CREATE TABLE lake.silver.commerce__orders_enriched_rt ({ORDER_DDL}, lines STRUCT(line_number INT, "
        "product_id VARCHAR, quantity INT, unit_price DECIMAL(12, 2), line_total DECIMAL(12, 2), category VARCHAR)[])",
        "CREATE TABLE lake.gold.fct_order_lines (order_id VARCHAR, line_number INT, product_id VARCHAR, quantity INT, "
        "unit_price DECIMAL(12, 2), line_total DECIMAL(12, 2))",
        # C1 has o1, o2 in Gold (o2 also still in the speed table) and o3, o4 only in the speed table; C2 has o5
        "INSERT INTO lake.gold.fct_orders VALUES "
        "('o1', 'C1', 's1', '2026-12-07 10:00:00+00', 'EUR', 'DE', 2, 10.00, 1.00, 2.00, 13.00, 'AUTHORISED'), "
        "('o2', 'C1', 's2', '2026-12-07 11:00:00+00', 'EUR', 'DE', 1, 5.00, 1.00, 1.00, 7.00, NULL), "
        "('o5', 'C2', 's5', '2026-12-07 11:30:00+00', 'USD', 'US', 1, 1.00, 0.00, 0.00, 1.00, NULL)",
        "INSERT INTO lake.gold.fct_order_lines VALUES ('o1', 2, 'p2', 1, 4.00, 4.00), ('o1', 1, 'p1', 2, 3.00, 6.00), "
        "('o2', 1, 'p3', 1, 5.00, 5.00)",
        "INSERT INTO lake.silver.commerce__orders_enriched_rt VALUES "
        "('o2', 'C1', 's2', '2026-12-07 11:00:00+00', 'EUR', 'DE', 1, 5.00, 1.00, 1.00, 7.00, 'PENDING', "
        "[{'line_number': 1, 'product_id': 'p3', 'quantity': 1, 'unit_price': 5.00, 'line_total': 5.00, "
        "'category': 'books'}]), "
        "('o3', 'C1', 's3', '2026-12-07 12:00:00+00', 'EUR', 'DE', 1, 9.00, 1.00, 1.00, 11.00, NULL, "
        "[{'line_number': 1, 'product_id': 'p9', 'quantity': 3, 'unit_price': 3.00, 'line_total': 9.00, "
        "'category': 'toys'}]), "
        "('o4', 'C1', 's4', '2026-12-07 12:00:00+00', 'EUR', 'DE', 0, 0.00, 0.00, 0.00, 0.00, NULL, [])",
        "CREATE TABLE lake.gold.agg_funnel_daily (event_date DATE, sessions BIGINT, carts BIGINT, orders BIGINT, "
        "paid BIGINT, cart_rate DOUBLE, order_rate DOUBLE, payment_rate DOUBLE, conversion_rate DOUBLE)",
        "INSERT INTO lake.gold.agg_funnel_daily VALUES ('2026-12-06', 100, 20, 10, 8, 0.2, 0.5, 0.8, 0.08), "
        "('2026-12-07', 40, 4, 2, 1, 0.1, 0.5, 0.5, 0.025)",
        "CREATE TABLE lake.silver.commerce__funnel_1m_rt (window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, "
        "active_sessions BIGINT, view_sessions BIGINT, cart_sessions BIGINT, order_sessions BIGINT, "
        "cart_to_order DOUBLE)",
        "INSERT INTO lake.silver.commerce__funnel_1m_rt VALUES ('2026-12-07 12:01:00+00', '2026-12-07 12:02:00+00', "
        "9, 9, 3, 1, 0.3333333333333333)",
        f"INSERT INTO lake.silver.commerce__aggregator_progress_rt VALUES ('{TOPIC}', 0, '2026-12-07 12:07:00+00'), "
        f"('{TOPIC}', 1, '2026-12-07 12:08:30+00'), ('commerce.product.v1', 0, '2026-12-07 12:20:00+00')",
    ):
        e.execute(sql)
    yield e
    e.close()


def bronze_with_snapshots() -> TableState:
    """A Bronze table with three appends, each carrying the Kafka offsets it read up to."""
    snapshots = []
    for i in (1, 2, 3):
        total = sum(range(3, i + 3))
        summary = {"operation": "append", "added-records": str(i + 2), "total-records": str(total),
                   "dp.kafka.offsets": json.dumps({TOPIC: {"0": total}})}  # fmt: skip
        snapshots.append(Snapshot(i, i - 1 if i > 1 else None, NOW - dt.timedelta(minutes=3 - i), summary))
    return replace(state("bronze.commerce__order_placed", 3), snapshots=tuple(snapshots))


@pytest.fixture
def metadata() -> FakeMetadata:
    return FakeMetadata(
        {
            "gold.agg_orders_1m": state("gold.agg_orders_1m", 11, "2026-12-07T12:03:30+00:00"),
            "gold.agg_revenue_daily": state("gold.agg_revenue_daily", 12, "2026-12-07T05:00:00+00:00"),
            "silver.commerce__orders_1m_rt": state("silver.commerce__orders_1m_rt", 21),
            "silver.commerce__revenue_1m_rt": state("silver.commerce__revenue_1m_rt", 22),
            "silver.commerce__aggregator_progress_rt": state("silver.commerce__aggregator_progress_rt", 23),
            "silver.commerce__order_placed": state("silver.commerce__order_placed", 24),
            "bronze.commerce__order_placed": bronze_with_snapshots(),
            "gold.fct_orders": state("gold.fct_orders", 13),
            "gold.agg_funnel_daily": state("gold.agg_funnel_daily", 15, "2026-12-07T09:00:00+00:00"),
            "silver.commerce__funnel_1m_rt": state("silver.commerce__funnel_1m_rt", 26),
            "gold.fct_order_lines": state("gold.fct_order_lines", 14),
            "silver.commerce__orders_enriched_rt": state("silver.commerce__orders_enriched_rt", 25),
        }
    )


@pytest.fixture
def service(config: ApiConfig, engine: DuckDBEngine, metadata: FakeMetadata) -> DataService:
    return DataService(config, engine, metadata, clock=lambda: NOW)


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def client(service: DataService, keys: MemoryKeyStore) -> TestClient:
    _, token = create_key(keys, "tests", SCOPES)
    guard = Guard(Authenticator(keys, 5.0), RateLimiter(1000.0, 1000))
    return TestClient(create_app(service, guard), headers={"Authorization": f"Bearer {token}"})


def revenue(client: TestClient, **params: str) -> Any:
    return client.get("/v1/metrics/revenue", params={"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:10:00Z", **params})


def test_revenue_per_minute_is_final_up_to_the_boundary_and_provisional_after(client: TestClient) -> None:
    answer = revenue(client, grain="minute")
    assert answer.status_code == 200
    body = answer.json()
    got = [(r["window_start"][11:16], r["currency"], r["orders"], r["revenue"], r["status"]) for r in body["rows"]]
    assert got == [
        ("12:00", "EUR", 10, "10.00", "final"),
        ("12:01", "EUR", 11, "11.00", "final"),
        ("12:01", "USD", 1, "5.50", "final"),
        ("12:02", "EUR", 12, "12.00", "final"),
        ("12:03", "EUR", 103, "0.25", "provisional"),
        ("12:04", "EUR", 104, "0.25", "provisional"),
        ("12:05", "EUR", 105, "0.25", "provisional"),
        ("12:06", "EUR", 106, "0.25", "provisional"),
        ("12:07", "EUR", 107, "0.25", "provisional"),
        ("12:08", "EUR", 108, "0.25", "provisional"),
    ]
    assert body["rows"][0]["window_end"] == f"{DAY}T12:01:00Z"
    assert body["freshness"] == {
        "gold_watermark": f"{DAY}T12:03:30Z",
        "speed_watermark": f"{DAY}T12:08:30Z",  # the orders topic's, not the idle product topic's
        "boundary": f"{DAY}T12:03:00Z",
        "gold_lag_s": 26 * 60 + 30.0,
        "speed_lag_s": 21 * 60 + 30.0,
        "snapshots": {
            "gold.agg_orders_1m": 11,
            "silver.commerce__orders_1m_rt": 21,
            "silver.commerce__aggregator_progress_rt": 23,
        },
    }
    assert (body["metric"], body["grain"], body["from"], body["to"]) == (
        "revenue", "minute", f"{DAY}T12:00:00Z", f"{DAY}T12:10:00Z",
    )  # fmt: skip


def test_revenue_per_hour_sums_both_sides_and_is_provisional_when_it_straddles(client: TestClient) -> None:
    body = revenue(client, grain="hour", currency="EUR").json()
    assert [(r["window_start"], r["orders"], r["revenue"], r["status"]) for r in body["rows"]] == [
        (f"{DAY}T12:00:00Z", 10 + 11 + 12 + 103 + 104 + 105 + 106 + 107 + 108, "34.50", "provisional"),
    ]
    assert body["to"] == f"{DAY}T13:00:00Z"  # widened to whole hours
    assert body["filters"] == {"currency": "EUR"}


def test_revenue_per_category_is_per_day_with_the_boundary_at_midnight(client: TestClient) -> None:
    body = client.get(
        "/v1/metrics/revenue", params={"from": "2026-12-06", "to": "2026-12-08", "grain": "day", "category": "books"}
    ).json()
    rows = [(r["window_start"], r["category"], r["currency"], r["orders"], r["units"], r["revenue"], r["status"])
            for r in body["rows"]]  # fmt: skip
    assert rows == [
        ("2026-12-06T00:00:00Z", "books", "EUR", 40, 50, "400.00", "final"),  # not the speed layer's 23:59
        ("2026-12-07T00:00:00Z", "books", "EUR", 3, 6, "21.50", "provisional"),  # not Gold's partial day
    ]
    assert body["freshness"]["boundary"] == "2026-12-07T00:00:00Z"


def test_no_gold_yet_is_all_provisional(client: TestClient, metadata: FakeMetadata) -> None:
    del metadata.states["gold.agg_orders_1m"]
    body = revenue(client, grain="minute").json()
    assert {r["status"] for r in body["rows"]} == {"provisional"}
    assert len(body["rows"]) == 7
    assert body["freshness"]["boundary"] is None
    assert body["freshness"]["gold_watermark"] is None


def test_as_of_a_snapshot_or_a_time_answers_as_it_was(client: TestClient, metadata: FakeMetadata) -> None:
    # an hour earlier Gold's snapshot 10 had a watermark of 12:01:10 and the speed layer's snapshot 20 existed
    earlier = NOW - dt.timedelta(hours=1)
    metadata.past["gold.agg_orders_1m"] = [state("gold.agg_orders_1m", 10, "2026-12-07T12:01:10+00:00", earlier)]
    for name, sid in (("silver.commerce__orders_1m_rt", 20), ("silver.commerce__aggregator_progress_rt", 19)):
        metadata.past[name] = [state(name, sid, at=earlier)]
    for as_of in ("10", (earlier + dt.timedelta(minutes=5)).isoformat()):
        body = revenue(client, grain="minute", as_of=as_of).json()
        assert body["as_of"] == as_of
        assert body["freshness"]["boundary"] == f"{DAY}T12:01:00Z"
        assert body["freshness"]["snapshots"] == {
            "gold.agg_orders_1m": 10, "silver.commerce__orders_1m_rt": 20,
            "silver.commerce__aggregator_progress_rt": 19,
        }  # fmt: skip
        assert [r["status"] for r in body["rows"]][:2] == ["final", "provisional"]
    now = revenue(client, grain="minute").json()
    assert now["freshness"]["boundary"] == f"{DAY}T12:03:00Z"
    missing = revenue(client, as_of="12345")
    assert missing.status_code == 404
    assert (missing.json()["parameter"], missing.json()["error"]) == ("as_of", "not_found")
    assert "12345" in missing.json()["message"]
    future = revenue(client, as_of="2027-01-01T00:00:00Z")
    assert (future.status_code, future.json()["parameter"]) == (400, "as_of")
    bad = revenue(client, as_of="last tuesday")
    assert (bad.status_code, bad.json()["parameter"]) == (400, "as_of")


def test_csv_on_request(client: TestClient) -> None:
    answer = revenue(client, grain="minute", currency="USD")
    csv_answer = client.get(
        "/v1/metrics/revenue",
        params={"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:10:00Z", "grain": "minute", "currency": "USD"},
        headers={"Accept": "text/csv"},
    )
    assert answer.status_code == csv_answer.status_code == 200
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert csv_answer.text == (
        f"window_start,window_end,currency,orders,revenue,status\n{DAY}T12:01:00Z,{DAY}T12:02:00Z,USD,1,5.50,final\n"
    )
    assert csv_answer.headers["x-dp-boundary"] == f"{DAY}T12:03:00Z"


@pytest.mark.parametrize("accept", ["application/vnd.apache.arrow.stream", "application/vnd.apache.parquet"])
def test_arrow_and_parquet_on_request_keep_the_types(client: TestClient, accept: str) -> None:
    answer = revenue(client, grain="minute", currency="USD")
    binary = client.get(
        "/v1/metrics/revenue",
        params={"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:10:00Z", "grain": "minute", "currency": "USD"},
        headers={"Accept": f"{accept}, application/json;q=0.5"},
    )
    assert answer.status_code == binary.status_code == 200
    assert binary.headers["content-type"] == accept
    assert binary.headers["x-dp-boundary"] == f"{DAY}T12:03:00Z"
    data = (
        ipc.open_stream(binary.content).read_all() if "arrow" in accept else pq.read_table(io.BytesIO(binary.content))
    )
    assert data.schema.field("revenue").type == pa.decimal128(18, 2)
    assert data.schema.field("window_start").type == pa.timestamp("us", tz="UTC")
    assert data.to_pylist() == [
        {"window_start": dt.datetime(2026, 12, 7, 12, 1, tzinfo=dt.UTC),
         "window_end": dt.datetime(2026, 12, 7, 12, 2, tzinfo=dt.UTC), "currency": "USD", "orders": 1,
         "revenue": Decimal("5.50"), "status": "final"},
    ]  # fmt: skip


def test_answers_are_cached_by_the_snapshots_they_read(
    client: TestClient, service: DataService, metadata: FakeMetadata, engine: DuckDBEngine
) -> None:
    first = revenue(client, grain="minute").json()
    misses = service.cache.misses
    assert revenue(client, grain="minute").json() == first
    assert service.cache.misses == misses
    # new rows in the speed table are read once its snapshot changes, not before
    engine.execute("INSERT INTO lake.silver.commerce__orders_1m_rt VALUES ('2026-12-07 12:09:00+00', 'EUR', 1, 1)")
    assert revenue(client, grain="minute").json() == first
    speed = metadata.states["silver.commerce__orders_1m_rt"]
    metadata.states[speed.identifier] = replace(speed, snapshot_id=99)
    rows = revenue(client, grain="minute").json()["rows"]
    assert rows[-1]["window_start"] == f"{DAY}T12:09:00Z"


def test_without_the_answer_cache_an_answer_asks_its_engine_one_statement(
    config: ApiConfig, engine: DuckDBEngine, metadata: FakeMetadata
) -> None:
    """``serving.cache_entries: 0`` turns off the answers, not what each snapshot holds (the speed layer's span and
    watermark, the known currencies): a second answer runs its merge statement and nothing else."""
    asked: list[str] = []

    class Counting:
        dialect = engine.dialect

        def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            asked.append(sql)
            return engine.rows(sql, parameters)

        def close(self) -> None:
            pass

    service = DataService(replace(config, cache_entries=0), Counting(), metadata, clock=lambda: NOW)
    client = TestClient(create_app(service, None))
    first = revenue(client, grain="minute", currency="EUR").json()
    before = len(asked)
    assert before >= 4  # the merge, the speed layer's span, its watermark, the currencies
    assert revenue(client, grain="minute", currency="EUR").json() == first
    assert len(asked) == before + 1 and "UNION ALL" in asked[-1].upper()


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"from": None}, "from", "required"),
        ({"from": "yesterday"}, "from", "not an RFC 3339"),
        ({"from": "2026-12-07T12:00:00"}, "from", "no UTC offset"),
        ({"from": "2026-02-30"}, "from", "not an RFC 3339"),
        ({"to": "2026-12-07T11:00:00Z"}, "to", "after from"),
        ({"to": "2027-12-07T11:00:00Z"}, "to", "wider than 92 days"),
        ({"grain": "week"}, "grain", "not one of minute, hour, day"),
        ({"grain": "minute", "to": "2027-02-07T11:00:00Z"}, "grain", "more than 50000 rows"),
        ({"currency": "eur"}, "currency", "ISO 4217"),
        ({"currency": "GBP"}, "currency", "unknown currency 'GBP' (known: EUR, USD)"),
        ({"category": "books"}, "grain", "grain=day"),
        ({"category": "garden", "grain": "day"}, "category", "unknown category 'garden' (known: books, toys)"),
        ({"category": "x" * 300, "grain": "day"}, "category", "1-200 characters"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, params: dict[str, str | None], parameter: str, words: str
) -> None:
    query = {"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:10:00Z", **params}
    answer = client.get("/v1/metrics/revenue", params={k: v for k, v in query.items() if v is not None})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "bad_parameter"
    assert body["parameter"] == parameter
    assert words in body["message"]
    assert body["request_id"]


def test_tables_lists_gold_and_the_speed_layer_and_describes_one(client: TestClient) -> None:
    listed = client.get("/v1/tables").json()["tables"]
    assert [f"{t['namespace']}.{t['table']}" for t in listed] == [
        "bronze.commerce__order_placed", "gold.agg_funnel_daily", "gold.agg_orders_1m", "gold.agg_revenue_daily",
        "gold.fct_order_lines", "gold.fct_orders", "silver.commerce__aggregator_progress_rt",
        "silver.commerce__funnel_1m_rt", "silver.commerce__order_placed", "silver.commerce__orders_1m_rt",
        "silver.commerce__orders_enriched_rt", "silver.commerce__revenue_1m_rt",
    ]  # fmt: skip
    one = client.get("/v1/tables/gold/agg_orders_1m").json()
    assert one["snapshot_id"] == 11
    assert one["watermark"] == f"{DAY}T12:03:30Z"
    assert one["columns"] == [{"name": "x", "type": "long", "required": True}]
    assert one["records"] == 3
    for missing in ("/v1/tables/silver/other__order_placed", "/v1/tables/silver/nope", "/v1/tables/x/y/snapshots"):
        answer = client.get(missing)  # another domain's table, none at all
        assert answer.status_code == 404, missing
        assert "not found" in answer.json()["message"]


def test_the_funnel_per_day_is_golds_and_per_minute_the_speed_layers(client: TestClient) -> None:
    daily = client.get("/v1/metrics/funnel", params={"from": "2026-12-06", "to": "2026-12-08"}).json()
    assert (daily["grain"], daily["boundary"], daily["snapshots"]) == (
        "day", f"{DAY}T00:00:00Z", {"gold.agg_funnel_daily": 15},
    )  # fmt: skip
    assert [(r["window_start"][:10], r["sessions"], r["paid"], r["conversion_rate"], r["status"]) for r in
            daily["rows"]] == [("2026-12-06", 100, 8, 0.08, "final"), (DAY, 40, 1, 0.025, "provisional")]  # fmt: skip
    live = client.get("/v1/metrics/funnel", params={"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T13:00:00Z",
                                                    "grain": "minute"}).json()  # fmt: skip
    assert live["rows"] == [{
        "window_start": f"{DAY}T12:01:00Z", "window_end": f"{DAY}T12:02:00Z", "active_sessions": 9,
        "view_sessions": 9, "cart_sessions": 3, "order_sessions": 1, "cart_to_order": 0.3333333333333333,
        "status": "provisional",
    }]  # fmt: skip
    hourly = client.get("/v1/metrics/funnel", params={"from": "2026-12-06", "to": "2026-12-08", "grain": "hour"})
    assert (hourly.status_code, hourly.json()["parameter"]) == (400, "grain")
    csv_answer = client.get("/v1/metrics/funnel", params={"from": "2026-12-06", "to": "2026-12-07"},
                            headers={"Accept": "text/csv"})  # fmt: skip
    assert csv_answer.text.splitlines()[0].startswith("window_start,window_end,sessions,carts")


def test_a_tables_snapshots_carry_their_progress(client: TestClient) -> None:
    body = client.get("/v1/tables/bronze/commerce__order_placed/snapshots", params={"limit": "2"}).json()
    assert [s["snapshot_id"] for s in body["snapshots"]] == [3, 2]  # newest first
    newest = body["snapshots"][0]
    assert newest == {
        "snapshot_id": 3, "parent_id": 2, "committed_at": f"{DAY}T12:30:00Z", "current": True, "operation": "append",
        "added_records": 5, "deleted_records": None, "total_records": 12,
        "progress": {"kafka_offsets": {"commerce.order_placed.v1": {"0": 12}}},
    }  # fmt: skip
    assert body["snapshots"][1]["current"] is False
    assert client.get("/v1/tables/bronze/commerce__order_placed/snapshots", params={"limit": "0"}).status_code == 400


def test_an_engine_failure_is_503_with_retry_after(client: TestClient, engine: DuckDBEngine) -> None:
    engine.execute("DROP TABLE lake.silver.commerce__orders_1m_rt")
    answer = revenue(client, grain="minute")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == "unavailable"


def test_health_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    revenue(client, grain="minute")
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert 'dp_api_requests_total{route="/v1/metrics/revenue",status="200"} 1' in text
    assert 'dp_api_requests_total{route="other",status="404"} 1' in text
    assert "dp_api_cache_misses_total" in text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/metrics/revenue", "/v1/tables", "/v1/tables/{namespace}/{table}", "/healthz"} <= set(paths)


def test_speed_windows_that_do_not_tile_a_minute_are_refused_at_start() -> None:
    settings = PlatformSettings.model_validate({"stream": {"window_s": 90}})
    with pytest.raises(StartupError, match="window_s is 90"):
        api_config(settings, order_topic=TOPIC)


def test_an_order_is_golds_once_it_has_it_else_the_speed_layers(client: TestClient) -> None:
    final = client.get("/v1/orders/o1").json()
    assert (final["status"], final["source"]) == ("final", {"table": "gold.fct_orders", "snapshot_id": 13})
    assert (final["customer_id"], final["total"], final["occurred_at"]) == ("C1", "13.00", f"{DAY}T10:00:00Z")
    assert [(line["line_number"], line["product_id"], line["line_total"]) for line in final["lines"]] == [
        (1, "p1", "6.00"), (2, "p2", "4.00"),
    ]  # fmt: skip
    assert client.get("/v1/orders/o2").json()["status"] == "final"  # in both: Gold's
    live = client.get("/v1/orders/o3").json()
    assert (live["status"], live["source"]["table"]) == ("provisional", "silver.commerce__orders_enriched_rt")
    assert live["lines"] == [
        {"line_number": 1, "product_id": "p9", "quantity": 3, "unit_price": "3.00", "line_total": "9.00"}
    ]
    missing = client.get("/v1/orders/nope")
    assert (missing.status_code, missing.json()["parameter"]) == (404, "order_id")


def test_a_customers_orders_come_in_keyset_pages_each_order_once(client: TestClient) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params = {"customer_id": "C1", "limit": "2", **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/orders", params=params).json()
        seen += [(o["order_id"], o["status"]) for o in body["orders"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [("o1", "final"), ("o2", "final"), ("o3", "provisional"), ("o4", "provisional")]
    assert pages == 2
    ranged = client.get(
        "/v1/orders", params={"customer_id": "C1", "from": f"{DAY}T10:30:00Z", "to": f"{DAY}T12:00:00Z"}
    )
    assert [o["order_id"] for o in ranged.json()["orders"]] == ["o2"]
    assert ranged.json()["snapshots"] == {"gold.fct_orders": 13, "silver.commerce__orders_enriched_rt": 25}


def test_as_of_on_every_gold_route_reads_the_tables_as_they_were(client: TestClient, metadata: FakeMetadata) -> None:
    # an hour earlier: fct_orders at snapshot 7 (fct_order_lines not there yet), the enriched orders at 8, the daily
    # funnel at 9 with an older watermark, the speed layer's funnel at 6
    earlier = NOW - dt.timedelta(hours=1)
    then = (earlier + dt.timedelta(minutes=5)).isoformat()
    for name, sid, watermark in (("gold.fct_orders", 7, None), ("silver.commerce__orders_enriched_rt", 8, None),
                                 ("gold.agg_funnel_daily", 9, "2026-12-05T09:00:00+00:00"),
                                 ("silver.commerce__funnel_1m_rt", 6, None)):  # fmt: skip
        metadata.past[name] = [state(name, sid, watermark, earlier)]
    days = {"from": "2026-12-06", "to": "2026-12-08"}
    for as_of in ("7", then):
        one = client.get("/v1/orders/o1", params={"as_of": as_of}).json()
        assert (one["source"], one["lines"], one["as_of"]) == (
            {"table": "gold.fct_orders", "snapshot_id": 7},
            [],
            as_of,
        )
        page = client.get("/v1/orders", params={"customer_id": "C1", "as_of": as_of}).json()
        assert (page["snapshots"], page["as_of"]) == (
            {"gold.fct_orders": 7, "silver.commerce__orders_enriched_rt": 8}, as_of
        )  # fmt: skip
    assert client.get("/v1/orders/o1").json()["source"]["snapshot_id"] == 13  # now: the current snapshot
    for as_of in ("9", then):
        daily = client.get("/v1/metrics/funnel", params={**days, "as_of": as_of}).json()
        assert (daily["snapshots"], daily["boundary"], daily["as_of"]) == (
            {"gold.agg_funnel_daily": 9}, "2026-12-05T00:00:00Z", as_of
        )  # fmt: skip
        assert [r["status"] for r in daily["rows"]] == ["provisional", "provisional"]  # past that older watermark
        described = client.get("/v1/tables/gold/agg_funnel_daily", params={"as_of": as_of}).json()
        assert (described["snapshot_id"], described["watermark"]) == (9, "2026-12-05T09:00:00Z")
    live = client.get("/v1/metrics/funnel", params={**days, "grain": "minute", "as_of": then}).json()
    assert live["snapshots"] == {"silver.commerce__funnel_1m_rt": 6}
    for path, params in (("/v1/orders/o1", {}), ("/v1/orders", {"customer_id": "C1"}), ("/v1/metrics/funnel", days),
                         ("/v1/tables/gold/fct_orders", {})):  # fmt: skip
        missing = client.get(path, params={**params, "as_of": "12345"})
        assert (missing.status_code, missing.json()["parameter"]) == (404, "as_of"), path
        future = client.get(path, params={**params, "as_of": "2027-01-01T00:00:00Z"})
        assert (future.status_code, future.json()["parameter"]) == (400, "as_of"), path


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "customer_id"),
        ({"customer_id": "C1", "limit": "0"}, "limit"),
        ({"customer_id": "C1", "limit": "1001"}, "limit"),
        ({"customer_id": "C1", "limit": "ten"}, "limit"),
        ({"customer_id": "C1", "cursor": "not-a-cursor"}, "cursor"),
        ({"customer_id": "C1", "from": "2026-12-07", "to": "2026-12-06"}, "to"),
        ({"customer_id": "C1", "from": "soon"}, "from"),
    ],
)
def test_bad_order_listing_parameters_are_400(client: TestClient, params: dict[str, str], parameter: str) -> None:
    answer = client.get("/v1/orders", params=params)
    assert (answer.status_code, answer.json()["parameter"]) == (400, parameter), answer.text


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_keys_scopes_and_revocation(service: DataService, keys: MemoryKeyStore) -> None:
    clock = Clock()
    app = create_app(service, Guard(Authenticator(keys, 5.0, clock), RateLimiter(1000.0, 1000)))
    anonymous = TestClient(app)
    _, metrics_only = create_key(keys, "dashboard", ["metrics:read"])
    url = "/v1/metrics/revenue?from=2026-12-07T12:00:00Z&to=2026-12-07T12:10:00Z"

    none = anonymous.get(url)
    assert (none.status_code, none.json()["error"], none.headers["www-authenticate"]) == (401, "unauthorized", "Bearer")
    assert "API key is required" in none.json()["message"]
    assert anonymous.get(url, headers={"X-API-Key": "hello"}).status_code == 401
    key_id = metrics_only.split("_")[1]
    forged = metrics_only[:-4] + ("AAAA" if not metrics_only.endswith("AAAA") else "BBBB")
    assert anonymous.get(url, headers={"X-API-Key": forged}).json()["message"] == f"unknown API key {key_id}"
    assert anonymous.get(url, headers={"X-API-Key": "dpk_000000000000_" + "x" * 43}).status_code == 401

    assert anonymous.get(url, headers={"X-API-Key": metrics_only}).status_code == 200
    assert anonymous.get(url, headers={"Authorization": f"Bearer {metrics_only}"}).status_code == 200
    denied = anonymous.get("/v1/tables", headers={"X-API-Key": metrics_only})
    assert (denied.status_code, denied.json()["error"]) == (403, "forbidden")
    assert "lacks the scope tables:read" in denied.json()["message"]

    assert keys.revoke(key_id, dt.datetime.now(dt.UTC))
    assert anonymous.get(url, headers={"X-API-Key": metrics_only}).status_code == 200  # trusted for key_cache_s
    clock.now += 5
    revoked = anonymous.get(url, headers={"X-API-Key": metrics_only})
    assert (revoked.status_code, revoked.json()["message"]) == (401, f"API key {key_id} was revoked")

    for path in ("/healthz", "/metrics", "/openapi.json", "/docs"):
        assert anonymous.get(path).status_code == 200, path


def test_a_key_over_its_rate_gets_429_with_retry_after(service: DataService, keys: MemoryKeyStore) -> None:
    clock = Clock()
    app = create_app(service, Guard(Authenticator(keys, 5.0, clock), RateLimiter(0.5, 3, clock)))
    _, token = create_key(keys, "busy", ["tables:read"])
    _, other = create_key(keys, "other", ["tables:read"])
    client = TestClient(app, headers={"X-API-Key": token})
    assert [client.get("/v1/tables").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/v1/tables")
    assert (limited.status_code, limited.json()["error"], limited.headers["retry-after"]) == (429, "rate_limited", "2")
    assert client.get("/v1/tables", headers={"X-API-Key": other}).status_code == 200  # per key
    clock.now += 2
    assert client.get("/v1/tables").status_code == 200
    assert client.get("/v1/tables").status_code == 429


@pytest.mark.parametrize(
    ("scopes", "name", "parameter"),
    [([], "x", "scope"), (["metrics:write"], "x", "scope"), (["metrics:read"], "", "name"),
     (["metrics:read"], "a\nb", "name")],
)  # fmt: skip
def test_a_key_needs_known_scopes_and_a_plain_name(scopes: list[str], name: str, parameter: str) -> None:
    with pytest.raises(BadParameterError) as caught:
        create_key(MemoryKeyStore(), name, scopes)
    assert caught.value.parameter == parameter


def test_no_keys_asked_when_auth_is_off(service: DataService) -> None:
    assert TestClient(create_app(service, None)).get("/v1/tables").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"grain": "minute"}, {"grain": "hour", "currency": "EUR"}, {"grain": "day"},
        {"from": "2026-12-06", "to": "2026-12-08", "grain": "day", "category": "books"},
        {"from": "2026-12-01", "to": "2026-12-02", "grain": "hour"},  # no rows
    ],
)  # fmt: skip
def test_the_engines_json_rows_are_the_rows_of_the_typed_answer(service: DataService, params: dict[str, str]) -> None:
    query = revenue_query(params.get("from", f"{DAY}T12:00:00Z"), params.get("to", f"{DAY}T12:10:00Z"),
                          params["grain"], params.get("currency"), params.get("category"),
                          max_range_days=92, max_rows=50_000)  # fmt: skip
    text, fresh = service.revenue_json(query)
    typed = service.revenue(query)
    assert json.loads(text) == answer_json(typed, {})["rows"]
    assert fresh == typed.freshness


def test_every_v1_route_needs_a_key(service: DataService, keys: MemoryKeyStore) -> None:
    app = create_app(service, Guard(Authenticator(keys, 5.0), RateLimiter(1000.0, 1000)))
    anonymous = TestClient(app)
    paths = sorted({r.path for r in app.routes if getattr(r, "path", "").startswith("/v1/")})  # type: ignore[attr-defined]
    assert len(paths) == 8, paths
    for path in paths:
        concrete = path.replace("{order_id}", "o1").replace("{namespace}", "gold").replace("{table}", "fct_orders")
        assert anonymous.get(concrete).status_code == 401, path


def test_a_watermark_moved_without_a_new_snapshot_moves_the_boundary(
    client: TestClient, metadata: FakeMetadata
) -> None:
    assert revenue(client, grain="minute").json()["freshness"]["boundary"] == f"{DAY}T12:03:00Z"
    gold = metadata.states["gold.agg_orders_1m"]  # dbt's post-hook: new properties, the same snapshot
    metadata.states[gold.identifier] = replace(gold, properties={"dp.watermark": "2026-12-07T12:05:10+00:00"})
    body = revenue(client, grain="minute").json()
    assert body["freshness"]["boundary"] == f"{DAY}T12:05:00Z"
    assert [r["status"] for r in body["rows"] if r["currency"] == "EUR"][:5] == ["final"] * 5


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"from": "9999-12-31T22:00:00Z", "to": "9999-12-31T23:30:00Z", "grain": "hour"}, "to", "end of time"),
        ({"from": "2026-12-07T00:30:00Z", "to": "2026-12-07T02:30:00Z", "grain": "minute",
          "as_of": "2026-11-01T00:00:00Z"}, "as_of", "keeps no metadata as old as"),
    ],
)  # fmt: skip
def test_more_bad_parameters(client: TestClient, params: dict[str, str], parameter: str, words: str) -> None:
    answer = client.get("/v1/metrics/revenue", params=params)
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["parameter"] == parameter
    assert words in answer.json()["message"]


def test_limits_hold_for_the_widened_range() -> None:
    with pytest.raises(BadParameterError, match="3 hours in the range"):
        revenue_query("2026-12-07T00:30:00Z", "2026-12-07T02:30:00Z", "hour", None, None, max_range_days=1,
                      max_rows=2)  # fmt: skip


@pytest.mark.parametrize("snapshots", [[True, None], [10**30, None], ["1", None]])
def test_a_cursor_with_odd_snapshot_ids_is_400(client: TestClient, snapshots: list[object]) -> None:
    import base64

    raw = json.dumps(["2026-12-07T10:00:00+00:00", "o1", snapshots]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    answer = client.get("/v1/orders", params={"customer_id": "C1", "cursor": cursor})
    assert (answer.status_code, answer.json()["parameter"]) == (400, "cursor")


def test_an_unknown_key_is_not_looked_up_again_within_the_cache_time(keys: MemoryKeyStore) -> None:
    asked: list[str] = []

    class Counting(MemoryKeyStore):
        def find(self, key_id: str) -> tuple[Any, str] | None:
            asked.append(key_id)
            return super().find(key_id)

    clock = Clock()
    auth = Authenticator(Counting(), 5.0, clock)
    token = "dpk_0123456789ab_" + "x" * 43
    for _ in range(3):
        with pytest.raises(UnauthorizedError):
            auth.authenticate(token, "metrics:read")
    assert asked == ["0123456789ab"]
    clock.now += 5
    with pytest.raises(UnauthorizedError):
        auth.authenticate(token, "metrics:read")
    assert len(asked) == 2


RECONCILIATION_DDL = (
    "CREATE TABLE lake.gold.reconciliation_1m (window_start TIMESTAMPTZ, window_end TIMESTAMPTZ, order_date DATE, "
    "currency VARCHAR, batch_orders BIGINT, batch_revenue DECIMAL(18, 2), speed_orders BIGINT, "
    "speed_revenue DECIMAL(18, 2), late_orders BIGINT, late_revenue DECIMAL(18, 2), orders_difference BIGINT, "
    "revenue_difference DECIMAL(18, 2), unexplained_orders BIGINT, unexplained_revenue DECIMAL(18, 2), "
    "silver_orders_batch_id BIGINT)"
)


def reconciled(minute: int, currency: str, batch: int, speed: int, late: int) -> str:
    """A row of the store: each order worth 2.50."""
    start = f"TIMESTAMPTZ '{DAY} 12:00:00+00' + to_minutes({minute})"
    b, s, lt = (f"CAST({n * 2.5} AS DECIMAL(18, 2))" for n in (batch, speed, late))
    return (
        f"SELECT {start}, {start} + INTERVAL 1 MINUTE, DATE '{DAY}', '{currency}', {batch}, {b}, {speed}, {s}, "
        f"{late}, {lt}, {batch - speed}, {b} - {s}, {batch - speed - late}, {b} - {s} - {lt}, 3"
    )


@pytest.fixture
def with_reconciliation(engine: DuckDBEngine, metadata: FakeMetadata) -> None:
    engine.execute(RECONCILIATION_DDL)
    rows = [reconciled(0, "EUR", 10, 9, 1), reconciled(1, "EUR", 11, 11, 0), reconciled(1, "USD", 1, 0, 0),
            reconciled(2, "EUR", 12, 10, 2), reconciled(4, "EUR", 14, 15, 0)]  # fmt: skip
    engine.execute("INSERT INTO lake.gold.reconciliation_1m " + " UNION ALL ".join(rows))
    metadata.states["gold.reconciliation_1m"] = state("gold.reconciliation_1m", 31, "2026-12-07T12:02:30+00:00")


@pytest.mark.usefixtures("with_reconciliation")
def test_the_reconciliation_is_the_stores_rows_final_up_to_its_watermark(client: TestClient) -> None:
    answer = client.get("/v1/reconciliation", params={"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:10:00Z"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["rows"]
    assert [(r["window_start"][11:16], r["currency"], r["status"]) for r in rows] == [
        ("12:00", "EUR", "final"), ("12:01", "EUR", "final"), ("12:01", "USD", "final"),
        ("12:02", "EUR", "provisional"), ("12:04", "EUR", "provisional"),
    ]  # fmt: skip
    assert rows[0] == {
        "window_start": f"{DAY}T12:00:00Z", "window_end": f"{DAY}T12:01:00Z", "currency": "EUR",
        "batch_orders": 10, "batch_revenue": "25.00", "speed_orders": 9, "speed_revenue": "22.50",
        "late_orders": 1, "late_revenue": "2.50", "orders_difference": 1, "revenue_difference": "2.50",
        "unexplained_orders": 0, "unexplained_revenue": "0.00", "status": "final",
    }  # fmt: skip
    # 12:01 USD: batch 1, speed 0, no late event (-> unexplained); 12:04: speed 15 > batch 14 (-> unexplained)
    assert body["summary"] == {"windows": 5, "windows_corrected": 4, "windows_unexplained": 2,
                               "orders_difference": 3, "revenue_difference": "7.50"}  # fmt: skip
    fresh = body["freshness"]
    assert fresh["boundary"] == f"{DAY}T12:02:00Z"
    assert fresh["speed_watermark"] == f"{DAY}T12:08:30Z"
    assert fresh["snapshots"] == {"gold.reconciliation_1m": 31, "silver.commerce__aggregator_progress_rt": 23}
    only_usd = client.get("/v1/reconciliation", params={"from": DAY, "to": "2026-12-08", "currency": "USD"}).json()
    assert [(r["window_start"], r["batch_orders"]) for r in only_usd["rows"]] == [(f"{DAY}T12:01:00Z", 1)]


@pytest.mark.usefixtures("with_reconciliation")
def test_the_reconciliation_as_csv_arrow_and_as_of_an_earlier_build(client: TestClient, metadata: FakeMetadata) -> None:
    params = {"from": f"{DAY}T12:00:00Z", "to": f"{DAY}T12:03:00Z"}
    csv_text = client.get("/v1/reconciliation", params=params, headers={"Accept": "text/csv"}).text
    assert csv_text.splitlines()[0].startswith("window_start,window_end,currency,batch_orders,batch_revenue,")
    assert len(csv_text.splitlines()) == 5
    arrow = client.get("/v1/reconciliation", params=params, headers={"Accept": "application/vnd.apache.arrow.stream"})
    table = ipc.open_stream(io.BytesIO(arrow.content)).read_all()
    assert table.schema.field("late_revenue").type == pa.decimal128(18, 2)
    assert table.column("unexplained_orders").to_pylist() == [0, 0, 1, 0]
    # an earlier build: the same table at snapshot 30, when its watermark was 12:00:30 (nothing final past 12:00)
    earlier = state("gold.reconciliation_1m", 30, "2026-12-07T12:00:30+00:00", at=NOW - dt.timedelta(hours=1))
    metadata.past["gold.reconciliation_1m"] = [earlier]
    then = client.get("/v1/reconciliation", params={**params, "as_of": "30"})
    assert then.status_code == 200, then.text
    assert then.json()["freshness"]["boundary"] == f"{DAY}T12:00:00Z"
    assert then.json()["freshness"]["snapshots"]["gold.reconciliation_1m"] == 30
    assert client.get("/v1/reconciliation", params={**params, "as_of": "99"}).status_code == 404


def test_no_reconciliation_yet_is_empty_not_an_error(client: TestClient) -> None:
    body = client.get("/v1/reconciliation", params={"from": DAY, "to": "2026-12-08"}).json()
    assert body["rows"] == []
    assert body["summary"]["windows"] == 0
    assert body["freshness"]["snapshots"]["gold.reconciliation_1m"] is None


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"from": DAY}, "to"), ({"from": "2026-12-08", "to": DAY}, "to"), ({"from": DAY, "to": "2027-06-01"}, "to"),
     ({"from": DAY, "to": "2026-12-08", "currency": "eu"}, "currency"),
     ({"from": DAY, "to": "2026-12-08", "as_of": "yesterday"}, "as_of")],
)  # fmt: skip
def test_bad_reconciliation_parameters_are_400(client: TestClient, params: dict[str, str], parameter: str) -> None:
    answer = client.get("/v1/reconciliation", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["parameter"] == parameter
