"""The demo's pure core: the workload's identity, what each layer must hold, and the reconciliation that says
PASS only when a layer holds exactly that (each perturbation below turns exactly its line to FAIL)."""

from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from dp_core.config import DemoSettings
from dp_demo import reconcile as rec
from dp_demo.cli import render
from dp_demo.kafka_io import TopicContents
from dp_demo.observe import Observed
from dp_demo.speed import last_json_object
from dp_demo.workload import RUN_HEADER, SEQ_HEADER, Expected, Workload, expected, parse_time, window_of
from dp_simulator import CONTRACTS, SimEvent

DAY = dt.date(2026, 11, 26)
SETTINGS = DemoSettings(events=1500, seed=5, late=0.04, duplicates=0.04, malformed=0.04)
TOPICS = {name: (f"shop.{name}.v1", f"shop.{name}.v1.dlq") for name in CONTRACTS}


@pytest.fixture(scope="module")
def workload() -> Workload:
    return Workload.from_settings(SETTINGS, DAY)


@pytest.fixture(scope="module")
def events(workload: Workload) -> list[SimEvent]:
    return list(workload.events())


@pytest.fixture(scope="module")
def wanted(workload: Workload, events: list[SimEvent]) -> Expected:
    return expected(workload, events, TOPICS, "unknown")


def test_the_same_settings_and_day_are_the_same_workload_another_day_or_size_is_not() -> None:
    one, same = Workload.from_settings(SETTINGS, DAY), Workload.from_settings(SETTINGS, DAY)
    assert one.id == same.id
    assert one.config.start == dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    assert Workload.from_settings(SETTINGS, DAY + dt.timedelta(days=1)).id != one.id
    assert Workload.from_settings(SETTINGS.model_copy(update={"events": 1501}), DAY).id != one.id
    assert Workload.from_settings(SETTINGS.model_copy(update={"rate": 5.0}), DAY).id == one.id  # pace only
    assert dict(one.headers(42)) == {RUN_HEADER: one.id.encode(), SEQ_HEADER: b"42"}


def test_expected_puts_every_event_in_exactly_one_topic(events: list[SimEvent], wanted: Expected) -> None:
    all_seqs = [seq for seqs in wanted.seqs_by_topic.values() for seq in seqs]
    assert sorted(all_seqs) == [e.seq for e in events]  # every event once, in a topic or a dead-letter topic
    for name, (topic, dlq) in TOPICS.items():
        manifest = wanted.contract(name)
        accepted = manifest["valid_unique"] + manifest["duplicates"] + manifest["updates"]
        assert len(wanted.seqs_by_topic.get(topic, ())) == accepted
        assert len(wanted.seqs_by_topic.get(dlq, ())) == manifest["malformed"]
    assert wanted.order_ids == set(wanted.contract("order_placed")["valid_ids"])
    assert len(wanted.order_numbers) == len(wanted.order_ids)
    late_sent = {e.event_id for e in events if e.kind == "late" and e.contract in ("page_view", "order_placed")}
    assert late_sent <= wanted.late_ids and wanted.late_ids
    orders = [e.payload or {} for e in events if e.contract == "order_placed" and e.kind in ("valid", "late")]
    lines_total = sum((Decimal(str(line["line_total"])) for o in orders for line in o["lines"]), Decimal(0))
    assert sum(wanted.gross_revenue.values()) == lines_total > 0


def perfect(workload: Workload, events: list[SimEvent], wanted: Expected) -> tuple[Observed, dict[str, TopicContents]]:
    """What a correct platform holds after the workload."""
    kafka = {t: TopicContents() for pair in TOPICS.values() for t in pair}
    for topic, seqs in wanted.seqs_by_topic.items():
        kafka[topic].seqs.update(seqs)
        kafka[topic].records = len(seqs)
    observed = Observed()
    for name in TOPICS:
        m = wanted.contract(name)
        observed.counts[f"bronze:{name}"] = m["valid_unique"] + m["duplicates"] + m["updates"]
        observed.counts[f"bronze_dlq:{name}"] = m["malformed"]
        observed.counts[f"rejected:{name}"] = 0
        observed.silver_ids[name] = list(m["valid_ids"])
    observed.counts["speed:stream_rejects_rt"] = 0
    observed.fct_order_ids = sorted(wanted.order_numbers)
    observed.gross_revenue = dict(wanted.gross_revenue)
    observed.enriched_ids = sorted(wanted.order_ids)
    observed.late_events = [{"contract": "page_view", "event_id": i, "window_start": None} for i in wanted.late_ids]
    return observed, kafka


def failing(lines: list[rec.Line]) -> list[tuple[str, str, str]]:
    return [(line.layer, line.subject, line.detail) for line in lines if not line.ok]


def test_a_correct_platform_reconciles_on_every_line(
    workload: Workload, events: list[SimEvent], wanted: Expected
) -> None:
    observed, kafka = perfect(workload, events, wanted)
    lines = rec.reconcile(wanted, observed, kafka, TOPICS)
    assert failing(lines) == []
    assert len(lines) == 6 * len(TOPICS) + 6


def test_revenue_per_category_is_as_of_the_order_and_the_workload_exercises_it(
    workload: Workload, events: list[SimEvent], wanted: Expected
) -> None:
    assert len(wanted.recategorised) == SETTINGS.recategorised == 3 and wanted.contract("product")["updates"] == 3
    assert wanted.gross_revenue != wanted.latest_category_revenue
    assert sum(wanted.gross_revenue.values()) == sum(wanted.latest_category_revenue.values())
    observed, kafka = perfect(workload, events, wanted)
    [line] = [x for x in rec.reconcile(wanted, observed, kafka, TOPICS) if x.subject.endswith("as of order")]
    assert line.ok and line.observed == "3 moved"
    observed.gross_revenue = dict(wanted.latest_category_revenue)  # a Gold that ignores the products' history
    lines = rec.reconcile(wanted, observed, kafka, TOPICS)
    assert ("gold", "agg_revenue_daily category as of order", "Gold took each product's latest category") in (
        failing(lines)
    )
    still = Workload.from_settings(SETTINGS.model_copy(update={"recategorised": 0}), DAY)
    unmoved = expected(still, list(still.events()), TOPICS, "unknown")
    assert unmoved.recategorised == set() and unmoved.contract("product")["updates"] == 0
    [line] = [x for x in rec.reconcile(unmoved, observed, kafka, TOPICS) if x.subject.endswith("as of order")]
    assert line.ok and line.detail.startswith("not exercised")
    moved_rows = [k for k in wanted.gross_revenue if wanted.gross_revenue[k] != wanted.latest_category_revenue.get(k)]
    observed.gross_revenue = dict(wanted.gross_revenue) | {moved_rows[0]: Decimal("0.01")}  # neither answer
    [line] = [x for x in rec.reconcile(wanted, observed, kafka, TOPICS) if x.subject.endswith("as of order")]
    assert not line.ok and line.observed == "other"


@pytest.mark.parametrize(
    ("break_it", "layer", "detail"),
    [
        (lambda o, k: k["shop.page_view.v1"].seqs.pop(next(iter(k["shop.page_view.v1"].seqs))), "kafka", "1 missing"),
        (lambda o, k: k["shop.page_view.v1"].seqs.update([next(iter(k["shop.page_view.v1"].seqs))]), "kafka",
         "1 sent twice"),
        (lambda o, k: setattr(k["shop.product.v1"], "foreign", 2), "kafka", "2 records of other runs or sources"),
        (lambda o, k: k["shop.order_placed.v1.dlq"].seqs.clear(), "dead letters", "missing"),
        (lambda o, k: o.counts.update({"bronze:customer": o.counts["bronze:customer"] + 1}), "bronze", "+1"),
        (lambda o, k: o.counts.update({"bronze_dlq:customer": None}), "bronze", "table missing"),
        (lambda o, k: o.silver_ids["cart_updated"].append(o.silver_ids["cart_updated"][0]), "silver", "1 twice"),
        (lambda o, k: o.silver_ids["cart_updated"].append("not-an-id"), "silver", "1 not sent"),
        (lambda o, k: o.counts.update({"rejected:page_view": 1}), "rejects + dead letters", "1 quarantined"),
        (lambda o, k: o.fct_order_ids.pop(), "gold", "1 missing"),
        (lambda o, k: o.gross_revenue.update({("1999-01-01", "x", "EUR"): Decimal(1)}), "gold", "1 row(s) differ"),
        (lambda o, k: o.enriched_ids.pop(), "speed", "1 missing"),
        (lambda o, k: o.late_events.append(o.late_events[0]), "speed", "1 twice"),
        (lambda o, k: o.counts.update({"speed:stream_rejects_rt": 3}), "speed", "+3"),
    ],
)  # fmt: skip
def test_each_kind_of_loss_or_invention_fails_its_line(
    workload: Workload, events: list[SimEvent], wanted: Expected, break_it: Any, layer: str, detail: str
) -> None:
    observed, kafka = perfect(workload, events, wanted)
    break_it(observed, kafka)
    bad = failing(rec.reconcile(wanted, observed, kafka, TOPICS))
    assert len(bad) == 1, bad
    assert bad[0][0] == layer and detail in bad[0][2], bad


def order(event_id: str, at: str, currency: str, total: str) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": parse_time(at), "currency": currency, "total": Decimal(total)}


def test_speed_plus_late_equals_batch_per_window_and_the_newest_windows_are_still_open() -> None:
    w0 = dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)
    observed = Observed(
        silver_orders=[
            order("a", "2026-11-26T00:00:10Z", "EUR", "10.00"),
            order("b", "2026-11-26T00:00:50Z", "EUR", "5.50"),
            order("c", "2026-11-26T00:00:20Z", "USD", "7.00"),
            order("d", "2026-11-26T00:01:30Z", "EUR", "1.00"),  # the newest window: not closed by the speed layer
            order("e", "2026-11-25T23:10:05Z", "GBP", "3.00"),  # sent an hour late: no speed row for its window
        ],
        speed_orders=[
            {"window_start": w0, "currency": "EUR", "orders": 1, "revenue": Decimal("10.00")},
            {"window_start": w0, "currency": "USD", "orders": 1, "revenue": Decimal("7.00")},
        ],
        late_events=[
            {"contract": "order_placed", "event_id": "b", "window_start": w0},
            {"contract": "order_placed", "event_id": "e", "window_start": w0 - dt.timedelta(minutes=50)},
        ],
    )
    windows, still_open = rec.compare_windows(observed, 60)
    assert [(w.currency, w.speed_orders, w.late_orders, w.batch_orders, w.ok) for w in windows] == [
        ("GBP", 0, 1, 1, True),
        ("EUR", 1, 1, 2, True),
        ("USD", 1, 0, 1, True),
    ]
    assert windows[1].as_dict()["difference"] == {"orders": 1, "revenue": "5.50"}
    assert still_open == 1
    assert rec.windows_line(windows, still_open).ok

    observed.late_events = []  # the late orders not accounted for: those two windows no longer reconcile
    windows, _ = rec.compare_windows(observed, 60)
    line = rec.windows_line(windows, 1)
    assert not line.ok and "2 window(s) differ" in line.detail
    assert not rec.windows_line([], 0).ok  # a speed layer that closed nothing does not pass


def test_an_event_sent_late_may_be_counted_in_its_window_instead_of_the_late_table() -> None:
    line = rec.late_line({"a", "b"}, [{"contract": "page_view", "event_id": "a", "window_start": None}])
    assert line.ok and "1 of the events sent late are there once, 1 counted in their window" in line.detail


def test_page_views_speed_plus_late_equals_batch_per_window() -> None:
    w0 = dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)
    w1 = w0 + dt.timedelta(minutes=1)
    views = [w0 + dt.timedelta(seconds=s) for s in (1, 2, 3)] + [w1 + dt.timedelta(seconds=5)]
    views += [w0 - dt.timedelta(minutes=40)]  # sent late: no speed row for its window
    late: list[dict[str, Any]] = [
        {"contract": "page_view", "event_id": "x", "window_start": w0},
        {"contract": "page_view", "event_id": "y", "window_start": w0 - dt.timedelta(minutes=40)},
        {"contract": "order_placed", "event_id": "z", "window_start": w0},
    ]
    # one of w0's views came late; w1 is not closed yet
    observed = Observed(silver_page_views=views, speed_page_views={w0: 2}, late_events=late)
    line = rec.page_view_windows(observed, 60)
    assert line.ok and (line.expected, line.observed) == (2, 2) and "1 newest window(s) still open" in line.detail
    observed.late_events = late[1:]  # the late view of w0 lost: w0 no longer reconciles
    line = rec.page_view_windows(observed, 60)
    assert not line.ok and "speed 2 + late 0 vs batch 3" in line.detail
    assert not rec.page_view_windows(Observed(), 60).ok  # no speed table


def test_the_apis_revenue_is_gold_before_the_boundary_and_the_speed_layer_after() -> None:
    w = [dt.datetime(2026, 11, 26, 0, m, tzinfo=dt.UTC) for m in range(6)]
    observed = Observed(
        silver_orders=[order(f"e{m}", w[m].isoformat(), "EUR", "2.00") for m in range(6)]
        + [order("late", (w[3] + dt.timedelta(seconds=5)).isoformat(), "EUR", "1.00")],
        speed_orders=[{"window_start": w[m], "currency": "EUR", "orders": 1, "revenue": Decimal("2.00")}
                      for m in (2, 3)],  # the speed layer wrote minutes 2-3 (the late order not in its window)
    )  # fmt: skip
    for o in observed.silver_orders:
        o["occurred_at"] = parse_time(o["occurred_at"])

    def row(m: int, orders: int, revenue: str, status: str) -> rec.ServedRow:
        return rec.ServedRow(w[m], "EUR", orders, Decimal(revenue), status)

    right = [row(0, 1, "2.00", "final"), row(1, 1, "2.00", "final"),  # Gold up to the boundary
             row(2, 1, "2.00", "provisional"), row(3, 1, "2.00", "provisional"),  # the speed layer's span
             row(4, 1, "2.00", "provisional"), row(5, 1, "2.00", "provisional")]  # after it: Gold's rows  # fmt: skip
    line = rec.served_line(right, w[2], observed, 60)
    assert line.ok, line.detail
    assert (line.expected, line.observed) == (6, 6)
    assert line.detail == f"2 final up to {w[2].isoformat()}, 4 provisional"
    batch_in_speed_span = [*right[:3], row(3, 2, "3.00", "provisional"), *right[4:]]  # minute 3 double-sourced
    assert not rec.served_line(batch_in_speed_span, w[2], observed, 60).ok
    missing = right[1:]
    bad = rec.served_line(missing, w[2], observed, 60)
    assert (
        not bad.ok
        and "1 differ, first 2026-11-26T00:00:00+00:00 EUR: API None != (1, Decimal('2.00'), 'final')" in bad.detail
    )
    wrong_status = [row(0, 1, "2.00", "provisional"), *right[1:]]
    assert not rec.served_line(wrong_status, w[2], observed, 60).ok


def test_the_reconciliation_store_is_each_sides_numbers_per_closed_minute() -> None:
    w = [dt.datetime(2026, 11, 26, 0, m, tzinfo=dt.UTC) for m in range(4)]
    observed = Observed(
        silver_orders=[order("e0", w[0].isoformat(), "EUR", "2.00"),
                       order("e1", (w[0] + dt.timedelta(seconds=40)).isoformat(), "EUR", "3.00"),  # came late
                       order("e2", w[1].isoformat(), "USD", "1.00"), order("e3", w[3].isoformat(), "EUR", "9.00")],
        speed_orders=[{"window_start": w[0], "currency": "EUR", "orders": 1, "revenue": Decimal("2.00")},
                      {"window_start": w[1], "currency": "USD", "orders": 1, "revenue": Decimal("1.00")}],
        late_events=[{"contract": "order_placed", "event_id": "e1", "window_start": w[0]},
                     {"contract": "page_view", "event_id": "e0", "window_start": w[0]}],
    )  # fmt: skip
    for o in observed.silver_orders:
        o["occurred_at"] = parse_time(o["occurred_at"])
    watermark = w[2] + dt.timedelta(seconds=30)  # minutes 0 and 1 closed, 3 not

    def row(m: int, currency: str, *sides: object) -> dict[str, object]:
        names = ("batch_orders", "batch_revenue", "speed_orders", "speed_revenue", "late_orders", "late_revenue")
        return {"window_start": w[m].isoformat(), "currency": currency, **dict(zip(names, sides, strict=True))}

    right = [row(0, "EUR", 2, "5.00", 1, "2.00", 1, "3.00"), row(1, "USD", 1, "1.00", 1, "1.00", 0, "0.00")]
    line = rec.reconciliation_line(right, watermark, observed)
    assert line.ok, line.detail
    assert (line.expected, line.observed) == (2, 2)
    assert line.detail == "1 minute(s) corrected by the batch layer, 2 of 2 explained by late events"
    assert not rec.reconciliation_line(right[:1], watermark, observed).ok  # a closed minute missing
    unexplained = [row(0, "EUR", 2, "5.00", 1, "2.00", 0, "0.00"), right[1]]  # the late event not counted
    assert not rec.reconciliation_line(unexplained, watermark, observed).ok
    still_open = [*right, row(3, "EUR", 1, "9.00", 0, "0.00", 0, "0.00")]
    assert not rec.reconciliation_line(still_open, watermark, observed).ok
    assert rec.reconciliation_line([], None, observed).ok  # the speed layer closed nothing: nothing to reconcile


def test_window_of_and_latency_percentiles() -> None:
    assert window_of(dt.datetime(2026, 11, 26, 0, 1, 59, tzinfo=dt.UTC), 60) == dt.datetime(
        2026, 11, 26, 0, 1, tzinfo=dt.UTC
    )
    handoffs = {str(i): 100.0 for i in range(100)}
    visible = {str(i): 100.0 + i / 10 for i in range(100)}
    got = rec.latency(handoffs, visible, [str(i) for i in range(100)] + ["never-sent"])
    assert got == {"orders_measured": 100, "p50_s": 5.0, "p95_s": 9.4, "max_s": 9.9}
    assert rec.latency({}, visible, ["1"]) == {"orders_measured": 0}


def test_the_text_report_shows_every_line_and_the_verdict(
    workload: Workload, events: list[SimEvent], wanted: Expected
) -> None:
    observed, kafka = perfect(workload, events, wanted)
    lines = rec.reconcile(wanted, observed, kafka, TOPICS)
    lines[0] = rec.Line("kafka", "shop.x.v1", 3, 2, False, "1 missing")
    sent = {n: {k: c[k] for k in ("sent", "valid_unique", "duplicates", "late", "malformed")}
            for n, c in wanted.manifest["contracts"].items()}  # fmt: skip
    report: dict[str, Any] = {
        "status": "FAIL",
        "passed": sum(x.ok for x in lines),
        "failed": 1,
        "seconds": 12.0,
        "workload": {
            "id": workload.id,
            "seed": 5,
            "count": 1500,
            "start": "2026-11-26T00:00:00Z",
            "rate_per_s": 10.0,
            "domain": "shop",
        },
        "sent": sent,
        "lines": [x.as_dict() for x in lines],
        "windows": [],
        "throughput": {
            "producer": {"records_sent_this_run": 1500, "seconds": 1.0, "records_per_s": 1500, "already_in_kafka": 0},
            "speed_layer": {},
            "batch_layer": {},
        },
        "latency": {"orders_measured": 0},
        "where_to_look": {
            "tables": {"silver": ["silver.shop__page_view"]},
            "dead_letter_topics": [],
            "services": {},
            "commands": [],
        },
    }
    text = render(report)
    assert "  FAIL  kafka" in text and "1 missing" in text
    assert text.count("  PASS  ") == len(lines) - 1
    assert text.splitlines()[-1].startswith("FAIL: ")
    assert collections.Counter(x["status"] for x in report["lines"])["FAIL"] == 1


def test_the_jobs_summary_is_found_among_the_jvms_late_log_lines() -> None:
    text = '{"job": "dp-enricher-x", "last_checkpoint": 15}\n2026-11-26 01:51:25,952 INFO  CodecPool [] - {zstd}\n'
    assert last_json_object(text) == {"job": "dp-enricher-x", "last_checkpoint": 15}
    assert last_json_object("starting\nINFO {not json\n") is None


def test_both_engines_must_give_every_answer_equal_but_for_the_lag() -> None:
    from types import SimpleNamespace
    from typing import cast

    from dp_data_api.errors import UnavailableError
    from dp_data_api.service import DataService
    from dp_demo.serving import comparable, engines_line

    def service(answers: dict[str, object]) -> DataService:
        engine = SimpleNamespace(close=lambda: None)
        return cast(DataService, SimpleNamespace(answers=answers, engine=engine))

    fresh = {"boundary": "2026-12-07T12:00:00Z", "gold_lag_s": 1.5, "speed_lag_s": 0.2, "snapshots": {"t": 1}}
    assert comparable({"rows": [1], "freshness": fresh}) == {
        "rows": [1], "freshness": {"boundary": "2026-12-07T12:00:00Z", "snapshots": {"t": 1}}}  # fmt: skip
    asked = {name: (lambda n: lambda s: s.answers[n])(name) for name in ("revenue", "order")}
    duck = service({"revenue": {"rows": [1], "freshness": fresh}, "order": {"id": "o1"}})
    later = {**fresh, "gold_lag_s": 9.0}  # asked a moment later: only the lag moved
    same = engines_line(duck, lambda: service({"revenue": {"rows": [1], "freshness": later}, "order": {"id": "o1"}}),
                        asked)  # fmt: skip
    assert same.ok and (same.expected, same.observed) == (2, 2)
    other = engines_line(duck, lambda: service({"revenue": {"rows": [2], "freshness": fresh}, "order": {"id": "o1"}}),
                         asked)  # fmt: skip
    assert not other.ok and other.detail == "1 differ: revenue"

    def down() -> DataService:
        raise UnavailableError("Trino at http://127.0.0.1:8088 failed: connection refused")

    refused = engines_line(duck, down, asked)
    assert not refused.ok and refused.detail.startswith("Trino cannot answer: Trino at")
