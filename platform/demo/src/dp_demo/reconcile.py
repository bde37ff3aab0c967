"""The reconciliation (pure): what every layer holds against what the simulator sent, line by line, PASS or FAIL;
the speed layer's closed windows against the batch layer's; the speed layer's event-to-queryable latency."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dp_demo.kafka_io import TopicContents
from dp_demo.observe import Observed
from dp_demo.workload import AGGREGATED, Expected, parse_time, window_of
from dp_flink.names import LATE_EVENTS, ORDERS_ENRICHED, STREAM_REJECTS


@dataclass(frozen=True)
class Line:
    """One reconciled number: ``observed`` must equal ``expected``; ``detail`` says how they differ."""

    layer: str
    subject: str
    expected: int | str
    observed: int | str | None
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "subject": self.subject,
            "expected": self.expected,
            "observed": self.observed,
            "status": "PASS" if self.ok else "FAIL",
            "detail": self.detail,
        }


def id_line(layer: str, subject: str, wanted: Collection[str], got: list[str] | None) -> Line:
    """Every wanted id exactly once, nothing else."""
    if got is None:
        return Line(layer, subject, len(wanted), None, False, "table missing")
    copies = collections.Counter(got)
    missing = len(set(wanted) - set(copies))
    extra = len(set(copies) - set(wanted))
    twice = sum(1 for n in copies.values() if n > 1)
    problems = [f"{n} {what}" for n, what in ((missing, "missing"), (extra, "not sent"), (twice, "twice")) if n]
    return Line(layer, subject, len(wanted), len(got), not problems, ", ".join(problems) or "each id once")


def kafka_line(layer: str, subject: str, wanted: set[int], found: TopicContents | None) -> Line:
    if found is None:
        return Line(layer, subject, len(wanted), None, False, "topic missing")
    missing = len(wanted - set(found.seqs))
    twice = sum(1 for n in found.seqs.values() if n > 1)
    others = found.foreign + sum(found.other_workloads.values())
    problems = [
        f"{n} {what}"
        for n, what in ((missing, "missing"), (twice, "sent twice"), (others, "records of other runs or sources"))
        if n
    ]
    return Line(layer, subject, len(wanted), found.records, not problems, ", ".join(problems) or "each record once")


def count_line(layer: str, subject: str, wanted: int, got: int | None, detail: str = "") -> Line:
    if got is None:
        return Line(layer, subject, wanted, None, False, "table missing")
    return Line(layer, subject, wanted, got, got == wanted, detail or ("" if got == wanted else f"{got - wanted:+}"))


def reconcile(
    expected: Expected,
    observed: Observed,
    kafka: dict[str, TopicContents],
    topics: dict[str, tuple[str, str]],
) -> list[Line]:
    """Every line of the report. ``topics``: contract -> (topic, dead-letter topic)."""
    lines: list[Line] = []
    for name in sorted(topics):
        topic, dlq = topics[name]
        manifest = expected.contract(name)
        accepted = manifest["valid_unique"] + manifest["duplicates"] + manifest.get("updates", 0)
        lines.append(kafka_line("kafka", topic, expected.seqs_by_topic.get(topic, set()), kafka.get(topic)))
        lines.append(kafka_line("dead letters", dlq, expected.seqs_by_topic.get(dlq, set()), kafka.get(dlq)))
        lines.append(count_line("bronze", name, accepted, observed.counts.get(f"bronze:{name}")))
        lines.append(count_line("bronze", f"{name} dead letters", manifest["malformed"],
                                observed.counts.get(f"bronze_dlq:{name}")))  # fmt: skip
        lines.append(id_line("silver", name, manifest["valid_ids"], observed.silver_ids.get(name)))
        rejected = observed.counts.get(f"rejected:{name}")
        dead = kafka[dlq].records if dlq in kafka else None
        parked = None if rejected is None or dead is None else rejected + dead
        lines.append(
            count_line("rejects + dead letters", name, manifest["malformed"], parked,
                       f"{rejected} quarantined in Silver, {dead} dead-lettered" if parked is not None else "")
        )  # fmt: skip
    lines.append(id_line("gold", "fct_orders", expected.order_numbers, observed.fct_order_ids))
    lines.append(revenue_line(expected.gross_revenue, observed.gross_revenue))
    lines.append(category_line(expected, observed.gross_revenue))
    lines.append(id_line("speed", ORDERS_ENRICHED, expected.order_ids, observed.enriched_ids))
    lines.append(late_line(expected.late_ids, observed.late_events))
    lines.append(count_line("speed", STREAM_REJECTS, 0, observed.counts.get(f"speed:{STREAM_REJECTS}")))
    return lines


def revenue_line(wanted: dict[tuple[str, str, str], Decimal], got: dict[tuple[str, str, str], Decimal] | None) -> Line:
    total = sum(wanted.values(), Decimal(0))
    if got is None:
        return Line("gold", "agg_revenue_daily gross revenue", str(total), None, False, "table missing")
    differing = sorted(k for k in set(wanted) | set(got) if wanted.get(k) != got.get(k))
    detail = f"{len(wanted)} day x category x currency rows equal"
    if differing:
        k = differing[0]
        detail = f"{len(differing)} row(s) differ, e.g. {k}: expected {wanted.get(k)}, got {got.get(k)}"
    return Line("gold", "agg_revenue_daily gross revenue", str(total), str(sum(got.values(), Decimal(0))),
                not differing, detail)  # fmt: skip


def category_line(expected: Expected, got: dict[tuple[str, str, str], Decimal] | None) -> Line:
    """Revenue per category takes each product's category as of the order: the workload moved products that had
    been ordered to another category, and on the rows the moves change Gold holds the as-of answer, not the
    latest-category one (other rows are the line above's). A workload too small for any move to change a row
    passes, saying the rule was not exercised."""
    subject = "agg_revenue_daily category as of order"
    wanted = f"{len(expected.recategorised)} moved"
    if got is None:
        return Line("gold", subject, wanted, None, False, "table missing")
    asof, latest = expected.gross_revenue, expected.latest_category_revenue
    moved = sorted(k for k in set(asof) | set(latest) if asof.get(k) != latest.get(k))
    if not moved:  # a small workload: no order of a moved product came before its move
        return Line("gold", subject, wanted, "-", True, "not exercised: no moved product was ordered before its move")
    shifted = sum((abs(asof.get(k, Decimal(0)) - latest.get(k, Decimal(0))) for k in moved), Decimal(0)) / 2
    if all(got.get(k) == asof.get(k) for k in moved):
        detail = (
            f"{shifted} of the moved products' revenue in their category at the order's time, not their latest "
            f"({len(moved)} rows)"
        )
        return Line("gold", subject, wanted, wanted, True, detail)
    if all(got.get(k) == latest.get(k) for k in moved):
        return Line("gold", subject, wanted, "latest", False, "Gold took each product's latest category")
    return Line(
        "gold", subject, wanted, "other", False, "the moved products' rows are neither as of the order nor latest"
    )


def late_line(sent_late: set[str], late_events: list[dict[str, Any]] | None) -> Line:
    """The late table holds each event at most once. An event sent late is in it, or -- when nothing had yet moved
    its Kafka partition's event time past its window (one of a partition's first events) -- counted in its window;
    the per-window lines check that each is in exactly one of the two. The table may also hold on-time events whose
    window had already closed: they are counted in those lines too."""
    if late_events is None:
        return Line("speed", LATE_EVENTS, len(sent_late), None, False, "table missing")
    copies = collections.Counter(str(r["event_id"]) for r in late_events if r["contract"] in AGGREGATED)
    twice = sum(1 for n in copies.values() if n > 1)
    held = len(sent_late & set(copies))
    detail = f"{held} of the events sent late are there once"
    if len(sent_late) > held:
        detail += f", {len(sent_late) - held} counted in their window (their partition had not passed it)"
    others = len(set(copies) - sent_late)
    if others:
        detail += f"; {others} on-time event(s) whose window had closed"
    if twice:
        detail = f"{twice} twice; " + detail
    return Line("speed", LATE_EVENTS, len(sent_late), len(copies), not twice, detail)


@dataclass(frozen=True)
class CountWindow:
    """One closed window of a count (page views): the speed layer's count plus the late events of that window
    against the batch layer's count."""

    start: dt.datetime
    speed: int
    late: int
    batch: int

    @property
    def ok(self) -> bool:
        return self.speed + self.late == self.batch


def compare_counts(
    batch_times: Iterable[dt.datetime],
    speed: dict[dt.datetime, int] | None,
    late_windows: Iterable[dt.datetime],
    window_s: int,
) -> tuple[list[CountWindow], int]:
    """Every window up to the newest one the speed layer closed: its count (0 when every event of it came late)
    plus its late events, against the batch layer's events of that window; and how many newer windows the batch
    layer has (still open in the speed layer)."""
    batch = collections.Counter(window_of(t, window_s) for t in batch_times)
    late = collections.Counter(late_windows)
    speed = speed or {}
    newest_closed = max(speed, default=None)
    windows = [
        CountWindow(start, speed.get(start, 0), late[start], batch[start])
        for start in sorted(set(speed) | set(batch))
        if newest_closed is not None and start <= newest_closed
    ]
    return windows, sum(1 for start in batch if newest_closed is None or start > newest_closed)


def count_windows_line(subject: str, windows: list[CountWindow], still_open: int) -> Line:
    bad = [w for w in windows if not w.ok]
    detail = f"speed + late events = batch in every closed window; {still_open} newest window(s) still open"
    if bad:
        w = bad[0]
        example = f"{w.start.isoformat()}: speed {w.speed} + late {w.late} vs batch {w.batch}"
        detail = f"{len(bad)} window(s) differ, e.g. {example}"
    if not windows:
        detail = "the speed layer closed no window"
    return Line("speed vs batch", subject, len(windows), len(windows) - len(bad), bool(windows) and not bad, detail)


def page_view_windows(observed: Observed, window_s: int) -> Line:
    """Page views per closed window: speed + late = batch (Silver)."""
    if observed.speed_page_views is None:
        return Line("speed vs batch", "page views per 1-minute window", 0, None, False, "table missing")
    late = [e["window_start"] for e in observed.late_events or [] if e["contract"] == "page_view"]
    windows, still_open = compare_counts(observed.silver_page_views, observed.speed_page_views, late, window_s)
    return count_windows_line("page views per 1-minute window", windows, still_open)


@dataclass(frozen=True)
class Window:
    """One closed 1-minute window of orders in one currency: the speed layer's row against the batch layer's."""

    start: dt.datetime
    currency: str
    speed_orders: int
    speed_revenue: Decimal
    late_orders: int
    late_revenue: Decimal
    batch_orders: int
    batch_revenue: Decimal

    @property
    def ok(self) -> bool:
        return (self.speed_orders + self.late_orders, self.speed_revenue + self.late_revenue) == (
            self.batch_orders,
            self.batch_revenue,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_start": self.start.isoformat(),
            "currency": self.currency,
            "speed": {"orders": self.speed_orders, "revenue": str(self.speed_revenue)},
            "batch": {"orders": self.batch_orders, "revenue": str(self.batch_revenue)},
            "difference": {
                "orders": self.batch_orders - self.speed_orders,
                "revenue": str(self.batch_revenue - self.speed_revenue),
            },
            "late": {"orders": self.late_orders, "revenue": str(self.late_revenue)},
            "status": "PASS" if self.ok else "FAIL",
        }


def compare_windows(observed: Observed, window_s: int) -> tuple[list[Window], int]:
    """Every (window, currency) up to the newest window the speed layer closed, its row (none when all its orders
    came late) against Silver's orders of the same window and currency; and how many (window, currency) pairs the
    batch layer has after that (still open in the speed layer)."""
    batch: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(lambda: [0, Decimal(0)])
    by_id: dict[str, dict[str, Any]] = {}
    for order in observed.silver_orders:
        key = (window_of(order["occurred_at"], window_s), str(order["currency"]))
        batch[key][0] += 1
        batch[key][1] += Decimal(order["total"])
        by_id[str(order["event_id"])] = order
    late: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(lambda: [0, Decimal(0)])
    for event in observed.late_events or []:
        late_order = by_id.get(str(event["event_id"])) if event["contract"] == "order_placed" else None
        if late_order is not None:
            late[(event["window_start"], str(late_order["currency"]))][0] += 1
            late[(event["window_start"], str(late_order["currency"]))][1] += Decimal(late_order["total"])
    speed = {(row["window_start"], str(row["currency"])): row for row in observed.speed_orders or []}
    newest_closed = max((start for start, _ in speed), default=None)
    windows = []
    for key in sorted(set(speed) | set(batch)):
        if newest_closed is None or key[0] > newest_closed:
            continue  # the speed layer has not closed this window yet
        row = speed.get(key, {"orders": 0, "revenue": Decimal("0.00")})  # a window whose every order came late
        windows.append(
            Window(
                key[0], key[1], int(row["orders"]), Decimal(row["revenue"]), late[key][0], late[key][1],
                batch[key][0], batch[key][1],
            )
        )  # fmt: skip
    still_open = sum(1 for k in batch if newest_closed is None or k[0] > newest_closed)
    return sorted(windows, key=lambda w: (w.start, w.currency)), still_open


def windows_line(windows: list[Window], still_open: int) -> Line:
    bad = [w for w in windows if not w.ok]
    detail = (
        f"speed + late events = batch in every closed window; {still_open} newest (window, currency) pair(s) "
        "still open in the speed layer"
    )
    if bad:
        w = bad[0]
        detail = (
            f"{len(bad)} window(s) differ, e.g. {w.start.isoformat()} {w.currency}: speed {w.speed_orders} + late "
            f"{w.late_orders} vs batch {w.batch_orders}"
        )
    if not windows:
        detail = "the speed layer closed no window"
    return Line("speed vs batch", "orders per 1-minute window", len(windows), len(windows) - len(bad),
                bool(windows) and not bad, detail)  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def latency(handoffs: dict[str, float], visible_at: dict[str, float], ids: Iterable[str]) -> dict[str, Any]:
    """Event-to-queryable latency of the enriched orders: hand-off to the producer -> commit of the first Iceberg
    snapshot showing the order (seconds)."""
    values = [visible_at[i] - handoffs[i] for i in ids if i in handoffs and i in visible_at]
    if not values:
        return {"orders_measured": 0}
    return {
        "orders_measured": len(values),
        "p50_s": round(percentile(values, 0.50), 2),
        "p95_s": round(percentile(values, 0.95), 2),
        "max_s": round(max(values), 2),
    }


@dataclass(frozen=True)
class ServedRow:
    """One row of the Data API's revenue answer at minute grain."""

    start: dt.datetime
    currency: str
    orders: int
    revenue: Decimal
    status: str


def served_line(rows: list[ServedRow], boundary: dt.datetime | None, observed: Observed, window_s: int) -> Line:
    """The Data API's revenue per minute against both layers: a window that ends at or before the boundary is
    ``final`` with the batch layer's numbers (Silver's orders, which other lines tie to the simulator); a later one
    is ``provisional`` with the speed layer's row where the speed layer has written that window's span, else with
    the batch layer's numbers (Gold's rows past its watermark); none missing, none extra."""
    batch: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(lambda: [0, Decimal(0)])
    for order in observed.silver_orders:
        key = (window_of(order["occurred_at"], window_s), str(order["currency"]))
        batch[key][0] += 1
        batch[key][1] += Decimal(order["total"])
    speed = {(r["window_start"], str(r["currency"])): (int(r["orders"]), Decimal(r["revenue"]))
             for r in observed.speed_orders or []}  # fmt: skip
    width = dt.timedelta(seconds=window_s)
    span = (min(k[0] for k in speed), max(k[0] for k in speed) + width) if speed else None
    wanted: dict[tuple[dt.datetime, str], tuple[int, Decimal, str]] = {}
    for key in set(batch) | set(speed):
        start = key[0]
        if boundary is not None and start + width <= boundary:
            if key in batch:
                wanted[key] = (batch[key][0], batch[key][1], "final")
        elif span is not None and span[0] <= start < span[1]:
            if key in speed:
                wanted[key] = (*speed[key], "provisional")
        elif key in batch:
            wanted[key] = (batch[key][0], batch[key][1], "provisional")
    got = {(r.start, r.currency): (r.orders, r.revenue, r.status) for r in rows}
    bad = sorted(k for k in set(wanted) | set(got) if wanted.get(k) != got.get(k))
    final = sum(1 for v in got.values() if v[2] == "final")
    edge = boundary.isoformat() if boundary else "no Gold watermark"
    detail = f"{final} final up to {edge}, {len(got) - final} provisional"
    if bad:
        first = bad[0]
        when = f"{first[0].isoformat()} {first[1]}"
        detail += f"; {len(bad)} differ, first {when}: API {got.get(first)} != {wanted.get(first)}"
    return Line("api", "revenue per minute final + provisional", len(wanted), len(wanted) - len(bad), not bad, detail)


def expected_reconciliation(
    observed: Observed, speed_watermark: dt.datetime | None
) -> dict[tuple[dt.datetime, str], tuple[int, Decimal, int, Decimal, int, Decimal]]:
    """What Gold's reconciliation store must hold, computed here from what each layer holds: per minute and currency
    (every minute the speed layer closed: it ends at or before the aggregator's watermark), the batch layer's orders
    and revenue (Silver's), the speed layer's (its windows rolled up to the minute) and the late orders' (the late
    events of order_placed, priced from Silver)."""
    if speed_watermark is None:
        return {}
    minute = 60
    sides: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(
        lambda: [0, Decimal(0), 0, Decimal(0), 0, Decimal(0)]
    )
    by_id = {str(o["event_id"]): o for o in observed.silver_orders}
    for order in observed.silver_orders:
        row = sides[(window_of(order["occurred_at"], minute), str(order["currency"]))]
        row[0], row[1] = row[0] + 1, row[1] + Decimal(order["total"])
    for speed in observed.speed_orders or []:
        row = sides[(window_of(speed["window_start"], minute), str(speed["currency"]))]
        row[2], row[3] = row[2] + int(speed["orders"]), row[3] + Decimal(speed["revenue"])
    for event in observed.late_events or []:
        late = by_id.get(str(event["event_id"])) if event["contract"] == "order_placed" else None
        if late is not None:
            row = sides[(window_of(late["occurred_at"], minute), str(late["currency"]))]
            row[4], row[5] = row[4] + 1, row[5] + Decimal(late["total"])
    closed = speed_watermark - dt.timedelta(seconds=minute)
    return {key: (r[0], r[1], r[2], r[3], r[4], r[5]) for key, r in sides.items() if key[0] <= closed}


def reconciliation_line(rows: list[dict[str, Any]], speed_watermark: dt.datetime | None, observed: Observed) -> Line:
    """The Data API's ``/v1/reconciliation`` (Gold's ``reconciliation_1m``) against :func:`expected_reconciliation`:
    every closed minute once, with each side's numbers; and how many of them the late events explain."""
    wanted = expected_reconciliation(observed, speed_watermark)
    got = {
        (parse_time(r["window_start"]), str(r["currency"])): (
            int(r["batch_orders"]), Decimal(r["batch_revenue"]), int(r["speed_orders"]), Decimal(r["speed_revenue"]),
            int(r["late_orders"]), Decimal(r["late_revenue"]),
        )
        for r in rows
    }  # fmt: skip
    bad = sorted(k for k in set(wanted) | set(got) if wanted.get(k) != got.get(k))
    corrected = sum(1 for v in got.values() if (v[0], v[1]) != (v[2], v[3]))
    explained = sum(1 for v in got.values() if (v[0], v[1]) == (v[2] + v[4], v[3] + v[5]))
    detail = f"{corrected} minute(s) corrected by the batch layer, {explained} of {len(got)} explained by late events"
    if speed_watermark is None:
        detail = "the speed layer closed no window"
    if bad:
        first = bad[0]
        detail += (
            f"; {len(bad)} differ, first {first[0].isoformat()} {first[1]}: {got.get(first)} != {wanted.get(first)}"
        )
    return Line("api", "reconciliation per minute (gold)", len(wanted), len(wanted) - len(bad), not bad, detail)
