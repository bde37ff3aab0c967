"""Gold by dbt on the real stack, in a checkout of its own (a domain, a Silver and a Gold namespace of its own):
simulator -> Kafka -> ``dp batch run all`` (bronze, silver, then the dbt project's build). After a first wave of
events and after a second one folded in incrementally, each mart is checked against an independent computation from
Silver (here, in Python, from the documented rules): ``fct_orders`` row for row (first placed order, payment status
of the latest event, lines summed up), ``agg_funnel_daily`` row for row, ``agg_revenue_daily`` per day, category and
currency with each line in the category its product had at the order's time (seed 6 re-sends the catalogue with
other categories), ``agg_orders_1m`` per minute and currency, ``fct_order_lines`` exactly the lines ``fct_orders``
sums up, ``dim_products`` every version; each mart's watermark (a table property) is the newest event time of its
slowest source minus the allowed lateness. The second wave's ``dp batch run all`` is first SIGKILLed (dp, dbt and
dbt's client) right after a mart committed, then run again: every check above holds after it. A rerun with nothing
new commits nothing to any mart (no snapshot, no properties), and ``--full-refresh`` rebuilds every mart equal to the
incremental result row for row. The Data API (its library, on DuckDB and on Trino, always the same answer): after each
build revenue per minute with Gold's numbers, final up to the watermark's minute; between the builds, once the speed
layer (the aggregator) has read both waves, the first wave's minutes from the speed layer's windows, provisional,
which the second build turns final with Gold's numbers; as of the first build's snapshot, and as of the time the
speed layer answered, the answers of then; the reconciliation store after the second build: per closed minute Gold's
numbers, the speed layer's, and the late events explaining every difference. The first wave also holds the poison
records' test's orders at the contract's limits (the largest total, empty strings, a 200 KB string, a negative line),
written past the producer: every layer keeps them, and the build ends with warnings (the negative line), no error,
nothing skipped."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from pyiceberg.catalog import Catalog

from dp_contracts.model import contracts_dir, find_contract, load_contracts
from dp_contracts.testing import extreme_orders
from dp_core.config import load_settings
from dp_core.config.models import PlatformSettings
from dp_data_api.params import AsOf, reconciliation_query, revenue_query
from dp_data_api.server import build_service, config_of
from dp_ingest.codec import ContractCodec
from dp_ingest.kafka import client_conf
from dp_localstack.stack import LocalStack
from dp_localstack.testing import DP, clean_environ, run_dp, scratch_checkout, simulate_args
from dp_spark_jobs.catalog import lake_catalog

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)
FRACTIONS = {"late": 0.05, "duplicates": 0.05, "malformed": 0.02}


MARTS = (
    "fct_orders",
    "fct_order_lines",
    "agg_revenue_daily",
    "agg_funnel_daily",
    "agg_orders_1m",
    "dim_products",
    "dim_customers",
)
#: the columns the independent computations below give, per mart (the marts have their cursor columns besides)
FCT_COLUMNS = (
    "order_id", "customer_id", "session_id", "occurred_at", "order_date", "currency", "shipping_country",
    "line_count", "units", "lines_total", "subtotal", "shipping", "tax", "total", "payment_status", "paid_at",
    "refunded",
)  # fmt: skip
FUNNEL_COLUMNS = (
    "event_date", "sessions", "carts", "orders", "paid", "cart_rate", "order_rate", "payment_rate", "conversion_rate"
)  # fmt: skip
REVENUE = ("orders", "units", "revenue", "placed_orders", "placed_units", "gross_revenue")
#: a mart's cursor column silver_<source>_batch_id -> its Silver entity (macros/record_progress.sql)
SOURCES = {"orders": "order_placed", "payments": "payment_processed", "page_views": "page_view",
           "cart_updates": "cart_updated"}  # fmt: skip
LATENESS = dt.timedelta(hours=1)  # batch.gold.allowed_lateness_s
#: which of two payment events at the same instant is the later step of a payment's life
STEP = {"DECLINED": 1, "AUTHORISED": 2, "REFUNDED": 3}


def rows_by_key(
    lake: Catalog, table: str, columns: tuple[str, ...], key: tuple[str, ...]
) -> dict[tuple[Any, ...], Any]:
    """The table's rows (``columns`` only) by ``key``."""
    rows = lake.load_table(table).scan(selected_fields=columns).to_arrow().to_pylist()
    by_key = {tuple(row[k] for k in key): row for row in rows}
    assert len(by_key) == len(rows), f"a key of {table} is there twice"
    return by_key


def first_placed(placed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per order its first placed event in Silver: the earliest, then the smallest event id."""
    first: dict[str, dict[str, Any]] = {}
    for o in sorted(placed, key=lambda o: (utc(o["occurred_at"]), str(o["event_id"]))):
        first.setdefault(o["order_id"], o)
    return first


def expected_orders(first: dict[str, dict[str, Any]], payments: list[dict[str, Any]]) -> dict[tuple[Any, ...], Any]:
    """``fct_orders`` from Silver's rows, by the rules in ``_marts.yml``: per order its first placed event
    (:func:`first_placed`), its lines summed up; the status of its latest payment event (on a tie the later step
    of a payment's life, then the greater event id; PENDING without one), paid_at its first AUTHORISED, refunded
    whether any was REFUNDED."""
    by_order: dict[str, list[dict[str, Any]]] = {}
    for p in payments:
        by_order.setdefault(p["order_id"], []).append(p)
    facts: dict[tuple[Any, ...], Any] = {}
    for order_id, o in first.items():
        lines = o["lines"] or []
        events = by_order.get(order_id, [])
        latest = max(events, key=lambda p: (utc(p["occurred_at"]), STEP.get(p["status"], 0), str(p["event_id"])),
                     default=None)  # fmt: skip
        authorised = [utc(p["occurred_at"]) for p in events if p["status"] == "AUTHORISED"]
        facts[(order_id,)] = {
            "order_id": order_id,
            "customer_id": o["customer_id"],
            "session_id": o["session_id"],
            "occurred_at": utc(o["occurred_at"]),
            "order_date": utc(o["occurred_at"]).date(),
            "currency": o["currency"],
            "shipping_country": o["shipping_country"],
            "line_count": len(lines),
            "units": sum(line["quantity"] or 0 for line in lines),
            "lines_total": sum((line["line_total"] or Decimal(0) for line in lines), Decimal(0)),
            "subtotal": o["subtotal"],
            "shipping": o["shipping"],
            "tax": o["tax"],
            "total": o["total"],
            "payment_status": latest["status"] if latest else "PENDING",
            "paid_at": min(authorised, default=None),
            "refunded": any(p["status"] == "REFUNDED" for p in events),
        }
    return facts


def expected_funnel(
    views: list[dict[str, Any]], carts: list[dict[str, Any]], facts: Iterable[dict[str, Any]]
) -> dict[tuple[Any, ...], Any]:
    """``agg_funnel_daily`` from Silver's page views and cart updates and the expected orders: distinct sessions per
    UTC day at each step, and the ratios (null over 0)."""
    steps: dict[Any, dict[str, set[str]]] = {}

    def add(day: dt.date, step: str, session: str | None) -> None:
        sessions = steps.setdefault(day, {"sessions": set(), "carts": set(), "orders": set(), "paid": set()})[step]
        if session is not None:
            sessions.add(session)

    for v in views:
        add(utc(v["occurred_at"]).date(), "sessions", v["session_id"])
    for c in carts:
        if c["action"] == "ADD":
            add(utc(c["occurred_at"]).date(), "carts", c["session_id"])
    for f in facts:
        add(f["order_date"], "orders", f["session_id"])
        add(f["order_date"], "paid", f["session_id"] if f["payment_status"] == "AUTHORISED" else None)

    def ratio(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    rows: dict[tuple[Any, ...], Any] = {}
    for day, found in steps.items():
        n = {step: len(sessions) for step, sessions in found.items()}
        rows[(day,)] = {"event_date": day, **n, "cart_rate": ratio(n["carts"], n["sessions"]),
                        "order_rate": ratio(n["orders"], n["carts"]), "payment_rate": ratio(n["paid"], n["orders"]),
                        "conversion_rate": ratio(n["paid"], n["sessions"])}  # fmt: skip
    return rows


def expected_lines(facts: Iterable[dict[str, Any]], first: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines of the expected orders (of their first placed event), each with its order's columns."""
    return [
        {**f, "product_id": line["product_id"], "quantity": line["quantity"], "line_total": line["line_total"]}
        for f in facts
        for line in first[f["order_id"]]["lines"] or []
    ]


def expected_watermark(lake: Catalog, silver: str, domain: str, mart_columns: Iterable[str]) -> str:
    """The mart's ``dp.watermark`` once all of Silver is folded in: the newest event time of its slowest source
    (its ``silver_<source>_batch_id`` columns) minus the allowed lateness."""
    newest = []
    for column in mart_columns:
        match = re.fullmatch(r"silver_(\w+)_batch_id", column)
        if match and match.group(1) in SOURCES:
            table = lake.load_table(f"{silver}.{domain}__{SOURCES[match.group(1)]}")
            newest.append(max(utc(t) for t in table.scan(selected_fields=("occurred_at",)).to_arrow()
                              .column("occurred_at").to_pylist()))  # fmt: skip
    assert newest, "a mart without cursors"
    return (min(newest) - LATENESS).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def plain(value: Any) -> Any:
    """``value`` with its UUIDs (Silver's id columns) as the strings the marts hold."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def revenue_as_of(lines: list[dict[str, Any]], versions: list[dict[str, Any]]) -> dict[tuple[Any, ...], Any]:
    """``agg_revenue_daily`` recomputed from ``fct_order_lines`` rows and Silver's product versions, each line in the
    category its product had at the order's time (before its first version or without one: unknown)."""
    history: dict[str, list[tuple[dt.datetime, str]]] = {}
    for v in versions:
        history.setdefault(str(v["product_id"]), []).append((utc(v["updated_at"]), v["category"]))

    def category(product: str, at: dt.datetime) -> str:
        known = sorted(history.get(product, []))
        chosen = "unknown"
        for since, name in known:
            if since <= utc(at):
                chosen = name
        return chosen

    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for line in lines:
        key = (line["order_date"], category(str(line["product_id"]), line["occurred_at"]), line["currency"])
        g = groups.setdefault(key, {"paid": set(), "units": 0, "revenue": 0, "placed": set(), "pu": 0, "gross": 0})
        g["placed"].add(line["order_id"])
        g["pu"] += line["quantity"] or 0
        g["gross"] += line["line_total"] or 0
        if line["payment_status"] == "AUTHORISED":
            g["paid"].add(line["order_id"])
            g["units"] += line["quantity"] or 0
            g["revenue"] += line["line_total"] or 0
    return {
        k: (len(g["paid"]), g["units"], g["revenue"], len(g["placed"]), g["pu"], g["gross"]) for k, g in groups.items()
    }


def orders_per_minute(facts: Iterable[dict[str, Any]]) -> dict[tuple[Any, str], tuple[int, Any, int]]:
    """``agg_orders_1m`` recomputed from ``fct_orders`` rows: (minute, currency) -> (orders, revenue, sessions)."""
    groups: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for f in facts:
        groups.setdefault((f["occurred_at"].replace(second=0, microsecond=0), f["currency"]), []).append(f)
    return {
        key: (len(rows), sum(r["total"] for r in rows), len({r["session_id"] for r in rows} - {None}))
        for key, rows in groups.items()
    }


def minutes(lake: Catalog, table: str) -> dict[tuple[Any, str], tuple[int, Any, int]]:
    rows = lake.load_table(table).scan().to_arrow().to_pylist()
    assert all(r["window_end"] - r["window_start"] == dt.timedelta(minutes=1) for r in rows)
    return {(r["window_start"], r["currency"]): (r["orders"], r["revenue"], r["sessions"]) for r in rows}


def send_extreme_orders(root: Path, settings: PlatformSettings, at: dt.datetime) -> list[dict[str, Any]]:
    """The orders at the contract's limits, written as raw Avro records (past the producer's own limits, as the
    poison records' test does) into the order topic at ``at``, stamped with their event time as the platform's
    producers stamp theirs (the speed layer windows a record by its timestamp); returned as sent."""
    contract = find_contract(load_contracts(contracts_dir(root)), "order_placed")
    schema_id = SchemaRegistryClient({"url": settings.registry.url}).get_latest_version(contract.subject).schema_id
    assert schema_id is not None
    codec = ContractCodec(contract, schema_id)
    orders = extreme_orders(occurred_at=at.isoformat().replace("+00:00", "Z"))
    producer = Producer(client_conf(settings) | {"enable.idempotence": True, "acks": "all"})
    for order in orders:
        datum = codec.to_datum(order)
        producer.produce(contract.topic, value=codec.encode_datum(datum), key=b"limits",
                         timestamp=codec.timestamp_ms(datum) or 0)  # fmt: skip
    assert producer.flush(30) == 0
    return orders


def kill_mid_build(root: Path, env: dict[str, str], lake: Catalog, namespace: str) -> None:
    """Start ``dp batch run all`` and SIGKILL its process group (dp, dbt and dbt's client; bronze and silver are
    done by then) as soon as one mart has committed; check that another had not yet (the build was cut in the
    middle)."""
    before = {mart: lake.load_table(f"{namespace}.{mart}").metadata_location for mart in MARTS}

    def moved() -> list[str]:
        return [m for m in MARTS if lake.load_table(f"{namespace}.{m}").metadata_location != before[m]]

    process = subprocess.Popen(
        [DP, "batch", "run", "all"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not moved():
            assert process.poll() is None, "the build ended before any mart committed"
            assert time.monotonic() < deadline, "no mart committed within 600 s"
            time.sleep(0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the whole group ended already: the assertion above says why
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert len(moved()) < len(MARTS), "every mart committed before the kill: not mid-build"


# the suite's 600 s per test is too short for this one on a loaded 2-core machine (7-9 min in CI)
@pytest.mark.timeout(1200)
def test_gold_by_dbt_equals_an_independent_computation_survives_a_kill_and_a_rebuild_commits_nothing(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    domain = f"tr{run_id}"
    scratch_checkout(repo_root, tmp_path, domain)  # the dbt project too
    silver_ns, dbt_gold = f"{domain}_silver", f"{domain}_gold"
    env = clean_environ(drop=("DP_",)) | {
        "DP_LOCAL_RUNTIME_DIR": str(local_stack.layout.runtime),  # the fetched jars and the dbt environment
        "DP_DEMO_DOMAIN": domain,
        "DP_ICEBERG_NAMESPACES__SILVER": silver_ns,
        "DP_ICEBERG_NAMESPACES__GOLD": dbt_gold,
    }

    def dp(*args: str) -> str:
        result = run_dp(tmp_path, *args, env=env, timeout=900)
        assert result.returncode == 0, f"dp {' '.join(args)}: {result.stdout[-4000:]}{result.stderr[-3000:]}"
        return result.stdout

    # the sources of this checkout's domain (the repository's read the domain dbt is given, but name commerce's)
    dp("transform", "sources")
    dp("transform", "sources", "--check")
    dp("ingest", "topics")
    settings = load_settings(tmp_path / "config", env).settings
    lake = lake_catalog(settings)

    def silver(entity: str) -> list[dict[str, Any]]:
        rows = lake.load_table(f"{silver_ns}.{domain}__{entity}").scan().to_arrow().to_pylist()
        return [plain(row) for row in rows]

    # the Data API over this Gold and the speed layer (which runs once, after the second wave) on both engines
    serving = env | {"DP_SERVING_DOMAIN": domain, "DP_SERVING_METADATA_TTL_S": "0"}
    apis = {}
    for engine in ("duckdb", "trino"):
        engine_settings = load_settings(tmp_path / "config", serving | {"DP_SERVING_ENGINE": engine})
        apis[engine] = build_service(engine_settings, config_of(engine_settings))
    api, tables = apis["duckdb"], apis["duckdb"].config.tables
    window = revenue_query(START.isoformat(), (START + dt.timedelta(hours=3)).isoformat(), "minute", None, None,
                           max_range_days=1, max_rows=10_000)  # fmt: skip
    minutes_window = reconciliation_query(window.start.isoformat(), window.end.isoformat(), None, max_range_days=1,
                                          max_rows=10_000)  # fmt: skip
    served: list[tuple[int | None, list[tuple[Any, ...]]]] = []

    def revenue_rows(as_of: AsOf | None = None) -> list[tuple[Any, ...]]:
        """The API's revenue per minute, the same on both engines."""
        answers = {
            engine: [(r.start, r.key[0], r.values["orders"], r.values["revenue"], r.status)
                     for r in service.revenue(window, as_of).rows]
            for engine, service in apis.items()
        }  # fmt: skip
        assert answers["trino"] == answers["duckdb"], "Trino's answer is not DuckDB's"
        return answers["duckdb"]

    valid: list[str] = []
    for wave, (count, seed) in enumerate(((1200, 5), (600, 6))):
        # two hours apart: the second build moves Gold's watermark (an hour behind its newest order) past the first
        start = START + dt.timedelta(hours=2 * wave)
        dp(*simulate_args(count, seed, start, manifest=tmp_path / f"m{wave}.json", fractions=FRACTIONS))
        valid += json.loads((tmp_path / f"m{wave}.json").read_text())["contracts"]["order_placed"]["valid_ids"]
        if not wave:  # and the orders at the contract's limits (the poison records' test's): a later layer takes them
            limits = send_extreme_orders(tmp_path, settings, start + dt.timedelta(minutes=5))
            valid += [o["event_id"] for o in limits]
        # the first wave builds into an empty namespace (a unit test's `this` fixture cannot be typed from a table
        # that is not there yet); the second after a run killed in the middle of its build
        if wave:
            # the speed layer reads both waves: the second, two hours later, closes every window of the first, which
            # Gold's first build holds after its boundary only: now the API answers those minutes from the speed layer
            # (short checkpoints and idle timeout: it settles sooner)
            stream_env = env | {"DP_STREAM_CHECKPOINT_INTERVAL_S": "2", "DP_STREAM_IDLE_TIMEOUT_S": "5"}
            streamed = run_dp(tmp_path, "stream", "run", "aggregator", "--until-idle", "2", "--timeout", "600",
                              env=stream_env, timeout=900)  # fmt: skip
            assert streamed.returncode == 0, streamed.stderr[-3000:]
            speed = minutes(lake, tables.orders_rt)
            span = (min(s for s, _ in speed), max(s for s, _ in speed) + dt.timedelta(minutes=1)) if speed else None
            assert span and span[0] < window.end and span[1] > window.start, "no window of the first wave closed"
            provisional = sorted(
                [(s, c, n, revenue, "provisional") for (s, c), (n, revenue, _) in speed.items()
                 if window.start <= s < window.end]
                + [r for r in served[0][1] if not span[0] <= r[0] < span[1]]
            )  # fmt: skip
            asked_at = dt.datetime.now(dt.UTC)
            assert revenue_rows() == provisional, "the provisional answer is not the speed layer's windows"
            served.append((None, provisional))
            kill_mid_build(tmp_path, env, lake, dbt_gold)
        out = dp("batch", "run", "all")
        done = re.findall(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", out)
        # the negative line: dbt's non_negative tests warn, never stop Gold
        assert done and int(done[-1][1]) > 0 and done[-1][2:] == ("0", "0"), out[-3000:]
        assert re.search(rf"^gold\s+{dbt_gold}\.fct_orders\s", out, re.MULTILINE), out[-3000:]

        placed = silver("order_placed")
        assert sorted(str(o["event_id"]) for o in placed) == sorted(valid)
        first = first_placed(placed)
        expected = expected_orders(first, silver("payment_processed"))
        facts = rows_by_key(lake, f"{dbt_gold}.fct_orders", FCT_COLUMNS, ("order_id",))
        assert set(facts) == set(expected), f"wave {wave}: fct_orders' orders are not Silver's"
        different = {k: (facts[k], expected[k]) for k in facts if facts[k] != expected[k]}
        assert not different, (
            f"wave {wave}: {len(different)} fct_orders row(s) differ, e.g. {next(iter(different.items()))}"
        )
        totals = [facts[(o["order_id"],)]["total"] for o in limits]
        assert totals == [Decimal(o["total"]) for o in limits], f"wave {wave}: {totals}"
        assert {"AUTHORISED", "PENDING"} <= {
            f["payment_status"] for f in facts.values()
        }  # (dbt's unit tests: the rest)

        funnel = rows_by_key(lake, f"{dbt_gold}.agg_funnel_daily", FUNNEL_COLUMNS, ("event_date",))
        assert funnel == expected_funnel(silver("page_view"), silver("cart_updated"), expected.values()), f"wave {wave}"

        lines = lake.load_table(f"{dbt_gold}.fct_order_lines").scan().to_arrow().to_pylist()
        assert len({(r["order_id"], r["line_index"]) for r in lines}) == len(lines)
        summed: dict[str, tuple[int, Any]] = {}
        for r in lines:
            count, total = summed.get(r["order_id"], (0, 0))
            summed[r["order_id"]] = (count + 1, total + r["line_total"])
        wanted = {k[0]: (f["line_count"], f["lines_total"]) for k, f in expected.items() if f["line_count"]}
        assert summed == wanted, f"wave {wave}: fct_order_lines is not the lines of the orders"
        assert sorted((r["order_id"], str(r["product_id"]), r["quantity"], r["line_total"]) for r in lines) == sorted(
            (x["order_id"], str(x["product_id"]), x["quantity"], x["line_total"])
            for x in expected_lines(expected.values(), first)
        ), f"wave {wave}: fct_order_lines' products and quantities"
        assert minutes(lake, f"{dbt_gold}.agg_orders_1m") == orders_per_minute(expected.values()), f"wave {wave}"
        versions = silver("product__versions")
        revenue = rows_by_key(lake, f"{dbt_gold}.agg_revenue_daily", ("order_date", "category", "currency", *REVENUE),
                              ("order_date", "category", "currency"))  # fmt: skip
        by_category = {k: tuple(r[m] for m in REVENUE) for k, r in revenue.items()}
        assert by_category == revenue_as_of(expected_lines(expected.values(), first), versions), (
            f"wave {wave}: revenue is not per category as of the order"
        )
        dim = lake.load_table(f"{dbt_gold}.dim_products").scan().to_arrow().to_pylist()
        assert sorted((str(r["product_id"]), utc(r["valid_from"]), r["version_batch_id"]) for r in dim) == sorted(
            (str(v["product_id"]), utc(v["updated_at"]), v["_batch_id"]) for v in versions
        )
        assert sorted(str(r["product_id"]) for r in dim if r["is_current"]) == sorted(
            {str(r["product_id"]) for r in dim}
        )
        if wave:  # some product is in another category than before, and an order of each wave has it
            categories: dict[str, set[str]] = {}
            for v in versions:
                categories.setdefault(str(v["product_id"]), set()).add(v["category"])
            changed = {p for p, seen in categories.items() if len(seen) > 1}
            ordered = {str(line["product_id"]) for line in expected_lines(expected.values(), first)}
            assert changed & ordered, "no ordered product changed its category: the as-of rule is not exercised"

        for mart in MARTS:  # each mart's progress: what it folded in, and its watermark
            table = lake.load_table(f"{dbt_gold}.{mart}")
            columns = [f.name for f in table.schema().fields]
            if not {f"silver_{source}_batch_id" for source in SOURCES} & set(columns):
                continue  # the dimensions: no event time
            props = table.properties
            assert props.get("dp.job") == "dbt", f"wave {wave}: {mart} has no progress"
            folded = json.loads(props["dp.silver.batch-ids"])  # compact, sorted, no -1
            assert props["dp.silver.batch-ids"] == json.dumps(folded, sort_keys=True, separators=(",", ":"))
            assert folded and min(folded.values()) >= 0 and props["dp.silver.batch-id"] == str(max(folded.values()))
            assert props.get("dp.watermark") == expected_watermark(lake, silver_ns, domain, columns), (
                f"wave {wave}: {mart}'s watermark"
            )

        # the API: every minute of the waves with Gold's numbers, final up to the watermark's minute, then provisional
        gold_1m = lake.load_table(f"{dbt_gold}.agg_orders_1m")
        edge = dt.datetime.fromisoformat(gold_1m.properties["dp.watermark"]).replace(second=0, microsecond=0)
        answer = api.revenue(window)
        api_rows = revenue_rows()
        per_minute = orders_per_minute(expected.values())
        api_wanted = [(start, cur, n, revenue, "final" if start + dt.timedelta(minutes=1) <= edge else "provisional")
                  for (start, cur), (n, revenue, _) in sorted(per_minute.items())
                  if window.start <= start < window.end]  # fmt: skip
        assert api_rows == api_wanted, f"wave {wave}: the API's revenue per minute"
        if wave:  # the first wave's watermark (its newest event less an hour) is before its events: all provisional
            assert {"final", "provisional"} <= {r[4] for r in api_rows}, "no boundary inside the waves"
        assert answer.freshness.boundary == edge
        assert answer.freshness.snapshots[f"{dbt_gold}.agg_orders_1m"] == gold_1m.metadata.current_snapshot_id
        served.append((gold_1m.metadata.current_snapshot_id, api_rows))
        if wave:  # the reconciliation store: per minute the speed layer closed, the late events explain batch - speed
            recon = {engine: service.reconciliation(minutes_window) for engine, service in apis.items()}
            assert recon["trino"]["rows"] == recon["duckdb"]["rows"], "Trino's reconciliation is not DuckDB's"
            truth = orders_per_minute(expected.values())
            by_minute = {
                (dt.datetime.fromisoformat(r["window_start"]), r["currency"]): r for r in recon["duckdb"]["rows"]
            }
            # every minute either side has that the speed layer had closed by its progress (the watermark its
            # progress table holds: the one the build read, the aggregator has not run since)
            closed = dt.datetime.fromisoformat(recon["duckdb"]["freshness"]["speed_watermark"])
            assert set(by_minute) == {
                k for k in {*truth, *speed} if window.start <= k[0] and k[0] + dt.timedelta(minutes=1) <= closed
            }
            assert any(speed.get(k) for k in by_minute), "no minute of the speed layer reconciled"
            recon_columns = ("batch_orders", "batch_revenue", "speed_orders", "speed_revenue", "unexplained_orders",
                       "unexplained_revenue")  # fmt: skip
            numbers = {k: tuple(Decimal(str(r[c])) for c in recon_columns) for k, r in by_minute.items()}
            nothing = (0, Decimal(0), 0)
            assert numbers == {
                k: tuple(Decimal(str(x)) for x in (*truth.get(k, nothing)[:2], *speed.get(k, nothing)[:2], 0, 0))
                for k in by_minute
            }, "the reconciliation's numbers"
            assert recon["duckdb"]["summary"]["windows_unexplained"] == 0
        some = next(iter(expected.values()))["order_id"]
        assert api.order(str(some))["status"] == "final"

    # the second build moved the boundary: the first wave's minutes, provisional from the speed layer before it, came
    # back final with Gold's numbers; as of the first build's snapshot, and as of the time the speed layer answered,
    # the API answers as it did then
    (first_build, first_rows), (_, speed_rows), (_, last_rows) = served
    assert span is not None
    from_speed = {(r[0], r[1]) for r in speed_rows if span[0] <= r[0] < span[1]}
    assert from_speed and from_speed <= {(r[0], r[1]) for r in last_rows if r[4] == "final"}
    assert revenue_rows(first_build) == first_rows
    assert revenue_rows(asked_at) == speed_rows

    before = {mart: lake.load_table(f"{dbt_gold}.{mart}") for mart in MARTS}
    assert all(table.current_snapshot() is not None for table in before.values())
    dp("transform", "run")
    after = {mart: lake.load_table(f"{dbt_gold}.{mart}") for mart in MARTS}
    moved = [m for m in MARTS if after[m].metadata_location != before[m].metadata_location]
    assert not moved, f"a rerun with no new rows committed to {moved} (a snapshot or table properties)"

    def contents(mart: str) -> list[dict[str, Any]]:
        return sorted(lake.load_table(f"{dbt_gold}.{mart}").scan().to_arrow().to_pylist(), key=repr)

    incremental = {mart: contents(mart) for mart in MARTS}
    dp("transform", "run", "--full-refresh", "--select", "path:models/marts")
    rebuilt = [m for m in MARTS if lake.load_table(f"{dbt_gold}.{m}").current_snapshot() == after[m].current_snapshot()]
    assert not rebuilt, f"--full-refresh did not rebuild {rebuilt}"
    differ = [mart for mart in MARTS if contents(mart) != incremental[mart]]
    assert not differ, f"the full refresh of {differ} differs from the incremental result"

    # freshness: each Silver source of the domain, just loaded, passes; the docs site holds every mart
    fresh = dp("transform", "freshness")
    sources = {"cart_updated", "customer", "customer__versions", "order_placed", "page_view", "payment_processed",
               "product", "product__versions"}  # fmt: skip
    assert {s for s in sources if f"PASS freshness of silver.{s}" in fresh} == sources, fresh[-3000:]
    dp("transform", "docs")
    docs = local_stack.layout.runtime / "dbt" / "docs"
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    assert (docs / "index.html").is_file()
    assert {n.rsplit(".", 1)[-1] for n in catalog["nodes"]} >= set(MARTS)
