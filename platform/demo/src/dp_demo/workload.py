"""The demo's workload and what every layer must hold after it (pure: no Kafka, no tables, no clock).

A workload is the simulator's seeded event stream: the same seed, size, fractions and start give the same events,
ids and sequence numbers, so a demo killed half-way and run again resumes the same workload instead of starting a
new one. Its id (a short hash of the simulator's config) travels with every record the demo sends, as a header.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dp_core.config import DemoSettings
from dp_simulator import ManifestBuilder, SimEvent, SimulationConfig, simulate

#: Kafka headers on every record the demo sends: the workload it belongs to and its simulator sequence number
RUN_HEADER = "dp-demo-run"
SEQ_HEADER = "dp-demo-seq"
#: contracts the real-time aggregator reads (its late table holds late events of these only)
AGGREGATED = ("page_view", "cart_updated", "order_placed")

WindowKey = tuple[dt.datetime, str]  # (window start, currency)
RevenueKey = tuple[str, str, str]  # (order day, category, currency)


@dataclass(frozen=True)
class Workload:
    """What the demo sends: the simulator's config plus the pace (the pace does not change the events)."""

    config: SimulationConfig
    rate: float

    @classmethod
    def from_settings(cls, demo: DemoSettings, day: dt.date) -> Workload:
        """The configured workload on ``day``: its events start at 00:00 UTC, so a rerun the same day resumes it."""
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        config = SimulationConfig(
            seed=demo.seed,
            count=demo.events,
            start=start,
            late=demo.late,
            duplicates=demo.duplicates,
            malformed=demo.malformed,
            recategorised=demo.recategorised,
        )
        return cls(config=config, rate=demo.rate)

    @property
    def id(self) -> str:
        text = json.dumps(self.config.as_dict(), sort_keys=True, default=str)
        return "w" + hashlib.sha256(text.encode()).hexdigest()[:12]

    def events(self) -> Iterator[SimEvent]:
        return simulate(self.config)

    def headers(self, seq: int) -> list[tuple[str, str | bytes | None]]:
        return [(RUN_HEADER, self.id.encode()), (SEQ_HEADER, str(seq).encode())]


def window_of(moment: dt.datetime, window_s: int) -> dt.datetime:
    epoch = int(moment.astimezone(dt.UTC).timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % window_s, dt.UTC)


def parse_time(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass
class Expected:
    """Everything the layers must hold for a workload, derived from the simulator's own events.

    Attributes:
        manifest: the simulator's manifest (per contract: sent, valid unique, duplicates, late, malformed, ids).
        seqs_by_topic: sequence numbers of the records each topic (and each dead-letter topic) must hold.
        order_ids: event ids of the valid unique orders (each once in Silver and in the enriched table).
        order_numbers: their ``order_id`` (each once in ``gold.fct_orders``).
        late_ids: ids of the events the simulator sent late, of the contracts the aggregator reads.
        gross_revenue: gross revenue per (order day, product category, currency) of the valid orders, each line in
            the category its product had at the order's time (``unknown`` before its first version).
        latest_category_revenue: the same with each line in its product's latest category (``unknown`` before its
            first version too): what a Gold that ignored the products' moves would hold (differs from
            ``gross_revenue`` when a product moved with orders on both sides of the move).
        recategorised: the products that changed category during the workload.
    """

    manifest: dict[str, Any]
    seqs_by_topic: dict[str, set[int]] = field(default_factory=dict)
    order_ids: set[str] = field(default_factory=set)
    order_numbers: set[str] = field(default_factory=set)
    late_ids: set[str] = field(default_factory=set)
    gross_revenue: dict[RevenueKey, Decimal] = field(default_factory=dict)
    latest_category_revenue: dict[RevenueKey, Decimal] = field(default_factory=dict)
    recategorised: set[str] = field(default_factory=set)

    def contract(self, name: str) -> dict[str, Any]:
        return dict(self.manifest["contracts"][name])


def expected(
    workload: Workload, events: Iterable[SimEvent], topics: dict[str, tuple[str, str]], unknown_category: str
) -> Expected:
    """What every layer must hold. ``topics``: contract name -> (topic, dead-letter topic)."""
    builder = ManifestBuilder(workload.config)
    seqs: dict[str, set[int]] = collections.defaultdict(set)
    history: dict[str, list[tuple[dt.datetime, str]]] = collections.defaultdict(list)
    orders: dict[str, dict[str, Any]] = {}
    late: set[str] = set()
    for event in events:
        builder.add(event)
        topic, dlq = topics[event.contract]
        if event.kind == "malformed":
            seqs[dlq].add(event.seq)
            continue
        seqs[topic].add(event.seq)
        payload = event.payload or {}
        if event.kind == "late" and event.contract in AGGREGATED and event.event_id is not None:
            late.add(event.event_id)
        if event.kind == "duplicate":
            continue
        if event.contract == "product":
            history[str(payload["product_id"])].append((parse_time(payload["updated_at"]), str(payload["category"])))
        elif event.contract == "order_placed":
            orders[str(payload["event_id"])] = payload

    def category_at(product: str, moment: dt.datetime, latest: bool = False) -> str:
        """The product's category at ``moment``, or (``latest``) its latest one; ``unknown`` before its first
        version either way."""
        versions = sorted(history.get(product, []))
        known = [category for since, category in versions if since <= moment]
        if not known:
            return unknown_category
        return versions[-1][1] if latest else known[-1]

    gross: dict[RevenueKey, Decimal] = collections.defaultdict(Decimal)
    latest: dict[RevenueKey, Decimal] = collections.defaultdict(Decimal)
    for order in orders.values():
        moment = parse_time(order["occurred_at"])
        day, currency = moment.astimezone(dt.UTC).date().isoformat(), str(order["currency"])
        for line in order["lines"]:
            product, amount = str(line["product_id"]), Decimal(str(line["line_total"]))
            gross[(day, category_at(product, moment), currency)] += amount
            latest[(day, category_at(product, moment, latest=True), currency)] += amount
    return Expected(
        manifest=builder.to_dict(),
        seqs_by_topic=dict(seqs),
        order_ids=set(orders),
        order_numbers={str(o["order_id"]) for o in orders.values()},
        late_ids=late,
        gross_revenue=dict(gross),
        latest_category_revenue=dict(latest),
        recategorised={p for p, versions in history.items() if len({c for _, c in versions}) > 1},
    )
