"""The Data API's settings, built once at the entry point from the platform's (``serving.*`` and the names of the
tables it reads: Gold's namespace, the speed layer's tables in Silver)."""

from __future__ import annotations

from dataclasses import dataclass

from dp_core.config import PlatformSettings
from dp_data_api.errors import StartupError
from dp_data_api.merge import GRAINS
from dp_flink import names


@dataclass(frozen=True)
class Tables:
    """``namespace.table`` of every table the API reads."""

    orders_1m: str  # Gold: orders and revenue per minute and currency (final up to the watermark)
    revenue_daily: str  # Gold: revenue per day, category and currency
    orders_rt: str  # speed layer: orders and revenue per window and currency
    revenue_rt: str  # speed layer: revenue per window, category and currency
    progress_rt: str  # the aggregator's progress per Kafka partition (its watermark)
    orders: str  # Gold: one row per order (fct_orders)
    order_lines: str  # Gold: one row per order line (fct_order_lines)
    orders_enriched: str  # speed layer: the enricher's orders with their lines, upserted
    funnel_daily: str  # Gold: sessions per day at each step of the funnel
    funnel_rt: str  # speed layer: sessions per window at each step
    reconciliation: str  # Gold: batch vs speed (and the late events) per minute and currency, after each build


@dataclass(frozen=True)
class ApiConfig:
    host: str
    port: int
    domain: str
    gold_namespace: str
    silver_namespace: str
    bronze_namespace: str
    tables: Tables
    order_topic: str
    window_s: int
    max_range_days: int
    max_rows: int
    cache_entries: int
    metadata_ttl_s: float
    query_threads: int
    auth: bool
    key_cache_s: float
    rate_limit_per_s: float
    rate_limit_burst: int


def api_config(settings: PlatformSettings, *, order_topic: str, host: str | None = None) -> ApiConfig:
    """The API's settings; the speed layer's windows must tile a minute (the finest grain the API answers)."""
    serving, stream = settings.serving, settings.stream
    if GRAINS["minute"] % stream.window_s:
        raise StartupError(
            f"stream.window_s is {stream.window_s}: the Data API merges windows that tile a minute (1-60 s dividing 60)"
        )
    gold = settings.transform.namespace or settings.iceberg.namespaces.gold
    silver = settings.iceberg.namespaces.silver
    domain = serving.domain

    def speed(metric: names.Metric) -> str:
        return f"{silver}.{names.table(domain, names.window_table(metric, stream.window_s))}"

    return ApiConfig(
        host=host or serving.host,
        port=serving.port,
        domain=domain,
        gold_namespace=gold,
        silver_namespace=silver,
        bronze_namespace=settings.iceberg.namespaces.bronze,
        tables=Tables(
            orders_1m=f"{gold}.agg_orders_1m",
            revenue_daily=f"{gold}.agg_revenue_daily",
            orders_rt=speed("orders"),
            revenue_rt=speed("revenue"),
            progress_rt=f"{silver}.{names.progress_table(names.AGGREGATOR, domain)}",
            orders=f"{gold}.fct_orders",
            order_lines=f"{gold}.fct_order_lines",
            orders_enriched=f"{silver}.{names.table(domain, names.ORDERS_ENRICHED)}",
            funnel_daily=f"{gold}.agg_funnel_daily",
            funnel_rt=speed("funnel"),
            reconciliation=f"{gold}.reconciliation_1m",
        ),
        order_topic=order_topic,
        window_s=stream.window_s,
        max_range_days=serving.max_range_days,
        max_rows=serving.max_rows,
        cache_entries=serving.cache_entries,
        metadata_ttl_s=serving.metadata_ttl_s,
        query_threads=serving.query_threads,
        auth=serving.auth,
        key_cache_s=serving.key_cache_s,
        rate_limit_per_s=serving.rate_limit_per_s,
        rate_limit_burst=serving.rate_limit_burst,
    )
