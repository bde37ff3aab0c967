"""``dp serve bench`` / ``make bench-api``: the Data API's latency and throughput against its engine (DuckDB, or
Trino with ``--engine trino``) queried directly.

On the local stack it writes a Gold ``agg_orders_1m`` of ``days`` days (every minute, three currencies; Gold's
watermark one day before the end) and a speed-layer ``orders_1m_rt`` for the last day into namespaces of its own,
creates a key, and starts the API (``python -m dp_data_api``) as a process on a free port. Then, each case at
``concurrency`` clients (threads with one HTTP connection each):

* ``revenue 30d/minute, not cached``: ``/v1/metrics/revenue`` over every day at minute grain for one currency, the
  answer cache off (a server with ``serving.cache_entries: 0``); **baseline**: the one statement the API runs for
  it (the merge of Gold and the speed table, each at its snapshot, and the answer's JSON, all in the engine), run on
  DuckDB directly in this process, at the same concurrency, and the same once more one at a time (the 300 ms target
  is a single client's p95);
* ``revenue 1d/hour, cached``: one answer asked again and again of a server with its cache on (requests/s);

and prints p50/p95/p99 and requests/s per case, the ratios, and the targets. Everything it wrote is dropped at the
end (tables, namespaces, the key is revoked).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa

from dp_core.config import LoadedConfig, load_settings
from dp_data_api.engine import DuckDBEngine
from dp_data_api.errors import StartupError
from dp_data_api.keys import create_key
from dp_data_api.lake import pyiceberg_metadata
from dp_data_api.params import revenue_query
from dp_data_api.server import config_of, key_store
from dp_data_api.service import DataService, Engine
from dp_data_api.trino_engine import TrinoEngine
from dp_lakehouse.pyiceberg import lake_catalog

TS = pa.timestamp("us", tz="UTC")
WINDOWS = pa.schema([
    pa.field("window_start", TS, nullable=False), pa.field("window_end", TS, nullable=False),
    pa.field("currency", pa.string(), nullable=False), pa.field("orders", pa.int64(), nullable=False),
    pa.field("revenue", pa.decimal128(18, 2), nullable=False),
])  # fmt: skip
PROGRESS = pa.schema([pa.field("kafka_topic", pa.string(), nullable=False),
                      pa.field("kafka_partition", pa.int32(), nullable=False), pa.field("watermark", TS)])  # fmt: skip
CURRENCIES = ("EUR", "USD", "GBP")
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Figures:
    case: str
    requests: int
    seconds: float
    latencies_s: list[float]

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0

    def row(self) -> str:
        p50, p95, p99 = (self.pct(q) * 1000 for q in (0.5, 0.95, 0.99))
        return f"  {self.case:<44}{self.requests:>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}{self.per_s:>10.1f}"


def hammer(call: Callable[[int], None], requests: int, concurrency: int, case: str) -> Figures:
    """``requests`` calls of ``call(worker)`` spread over ``concurrency`` threads; each call's latency."""
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(index: int) -> None:
        while True:
            with lock:
                if failures or next(counter, None) is None:
                    return
            t0 = time.perf_counter()
            try:
                call(index)
            except Exception as exc:  # noqa: BLE001 -- the first failure ends the case and is raised below
                with lock:
                    failures.append(exc)
                return
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return Figures(case, len(latencies), time.perf_counter() - began, latencies)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def api_process(loaded: LoadedConfig, env: dict[str, str], echo: Echo) -> Iterator[str]:
    """The API as a process of its own on a free port, until the block ends."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dp_data_api", "--port", str(port)], cwd=loaded.repo_root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise StartupError(f"the API did not start: {(proc.stderr.read() if proc.stderr else '')[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise StartupError("the API is not healthy after 60 s")
            time.sleep(0.2)
        echo(f"  API process {proc.pid} on {url}")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def write_tables(catalog: Any, gold: str, silver: str, domain: str, end: dt.datetime, days: int, topic: str) -> None:
    start = end - dt.timedelta(days=days)
    minutes = [start + dt.timedelta(minutes=m) for m in range(days * 1440)]
    one = dt.timedelta(minutes=1)

    def windows(times: list[dt.datetime], orders: int) -> pa.Table:
        return pa.table({
            "window_start": pa.array([t for t in times for _ in CURRENCIES], TS),
            "window_end": pa.array([t + one for t in times for _ in CURRENCIES], TS),
            "currency": pa.array([c for _ in times for c in CURRENCIES], pa.string()),
            "orders": pa.array([orders] * (len(times) * len(CURRENCIES)), pa.int64()),
            "revenue": pa.array([Decimal("12.34")] * (len(times) * len(CURRENCIES)), pa.decimal128(18, 2)),
        }, schema=WINDOWS)  # fmt: skip

    gold_t = catalog.create_table(f"{gold}.agg_orders_1m", WINDOWS)
    gold_t.append(windows(minutes, 3))
    watermark = (end - dt.timedelta(days=1)).isoformat()
    gold_t.transaction().set_properties({"dp.watermark": watermark}).commit_transaction()
    speed = catalog.create_table(f"{silver}.{domain}__orders_1m_rt", WINDOWS)
    speed.append(windows([m for m in minutes if m >= end - dt.timedelta(days=1, hours=2)], 2))
    progress = catalog.create_table(f"{silver}.{domain}__aggregator_progress_rt", PROGRESS)
    progress.append(pa.Table.from_pylist([{"kafka_topic": topic, "kafka_partition": 0, "watermark": end}], PROGRESS))


def run_bench(
    loaded: LoadedConfig, *, days: int, requests: int, concurrency: int, echo: Echo, engine_name: str = "duckdb"
) -> dict[str, Any]:
    token = secrets.token_hex(3)
    gold, silver = f"bench_api_{token}_gold", f"bench_api_{token}_silver"
    # the bench's one key may ask as fast as it can: the rate limit is not what is measured
    env = {**os.environ, "DP_TRANSFORM_NAMESPACE": gold, "DP_ICEBERG_NAMESPACES__SILVER": silver,
           "DP_CONFIG_DIR": str(loaded.config_dir), "DP_SERVING_RATE_LIMIT_PER_S": "1000000",
           "DP_SERVING_RATE_LIMIT_BURST": "1000000", "DP_SERVING_ENGINE": engine_name}  # fmt: skip
    scoped = load_settings(loaded.config_dir, env)
    config = config_of(scoped)
    catalog = lake_catalog(scoped.settings)
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    store = key_store(scoped.settings)
    key, api_key = create_key(store, f"bench {token}", ["metrics:read"])
    headers = {"X-API-Key": api_key}
    results: list[Figures] = []
    try:
        for ns in (gold, silver):
            catalog.create_namespace(ns)
        t0 = time.perf_counter()
        write_tables(catalog, gold, silver, config.domain, end, days, config.order_topic)
        echo(f"  wrote {days} days x 1,440 minutes x {len(CURRENCIES)} currencies to {gold}.agg_orders_1m and the "
             f"last 26 h to the speed table in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        wide = {"from": (end - dt.timedelta(days=days)).isoformat(), "to": end.isoformat(), "grain": "minute",
                "currency": "EUR"}  # fmt: skip
        narrow = {"from": (end - dt.timedelta(days=1)).isoformat(), "to": end.isoformat(), "grain": "hour"}

        def client_calls(url: str, params: dict[str, str]) -> Callable[[int], None]:
            clients = [httpx.Client(base_url=url, headers=headers, timeout=120) for _ in range(concurrency)]

            def call(i: int) -> None:
                answer = clients[i].get("/v1/metrics/revenue", params=params)
                if answer.status_code != 200:
                    raise StartupError(f"the API answered {answer.status_code}: {answer.text[:300]}")

            return call

        with api_process(loaded, {**env, "DP_SERVING_CACHE_ENTRIES": "0"}, echo) as url:
            call = client_calls(url, wide)
            call(0)  # warm: the engine's first read of each table
            rows = len(httpx.get(f"{url}/v1/metrics/revenue", params=wide, headers=headers, timeout=120).json()["rows"])
            echo(f"  the wide answer has {rows:,} rows")
            results.append(
                hammer(call, requests, concurrency, f"API revenue {days}d/minute, not cached, c={concurrency}")
            )
            results.append(hammer(call, max(requests // 4, 10), 1, f"API revenue {days}d/minute, not cached, c=1"))

        # the baseline: the very statement the API runs for that answer (merge and JSON in the engine), on the same
        # engine directly from this process, at the same concurrency and with one client
        engine: Engine = (
            TrinoEngine.connect(scoped.settings)
            if engine_name == "trino"
            else DuckDBEngine.connect(scoped.settings, config.query_threads)
        )
        try:
            service = DataService(config, engine, pyiceberg_metadata(catalog, 0.0))
            query = revenue_query(wide["from"], wide["to"], "minute", "EUR", None,
                                  max_range_days=config.max_range_days, max_rows=config.max_rows)  # fmt: skip
            sql, params = service.revenue_statement(query)

            def direct(_: int) -> None:
                engine.rows(sql, params)

            direct(0)
            label = "Trino" if engine_name == "trino" else "DuckDB"
            results.append(hammer(direct, requests, concurrency, f"{label} direct, same SQL, c={concurrency}"))
            results.append(hammer(direct, max(requests // 4, 10), 1, f"{label} direct, same SQL, c=1"))
        finally:
            engine.close()

        with api_process(loaded, env, echo) as url:
            call = client_calls(url, narrow)
            call(0)
            results.append(hammer(call, requests * 4, concurrency, f"API revenue 1d/hour, cached, c={concurrency}"))
    finally:
        for ns in (gold, silver):
            with contextlib.suppress(Exception):
                for identifier in catalog.list_tables(ns):
                    catalog.purge_table(identifier)
                catalog.drop_namespace(ns)
        store.revoke(key.key_id, dt.datetime.now(dt.UTC))

    api_c, api_1, direct_c, direct_1, cached = results
    figures = {
        "p95_ratio_concurrent": api_c.pct(0.95) / direct_c.pct(0.95) if direct_c.pct(0.95) else None,
        "p95_ratio_single": api_1.pct(0.95) / direct_1.pct(0.95) if direct_1.pct(0.95) else None,
        "cached_per_s": cached.per_s,
        "wide_p95_single_ms": api_1.pct(0.95) * 1000,
    }
    echo("")
    echo(f"  {'case':<44}{'requests':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>10}")
    for f in results:
        echo(f.row())
    echo("")
    echo(f"  p95 API / direct: {figures['p95_ratio_concurrent']:.2f} at c={concurrency}, "
         f"{figures['p95_ratio_single']:.2f} at c=1 (target <= 1.5)")  # fmt: skip
    echo(f"  cached answers: {figures['cached_per_s']:.0f} requests/s (target >= 500)")
    echo(f"  revenue over {days} days at minute grain, one client: p95 {figures['wide_p95_single_ms']:.0f} ms "
         "(target < 300 ms)")  # fmt: skip
    return {"cases": [{"case": f.case, "requests": f.requests, "p50_ms": f.pct(0.5) * 1000,
                       "p95_ms": f.pct(0.95) * 1000, "p99_ms": f.pct(0.99) * 1000, "per_s": f.per_s}
                      for f in results], **figures}  # fmt: skip
