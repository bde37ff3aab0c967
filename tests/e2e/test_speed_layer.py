"""Simulator -> Kafka -> PyFlink speed layer -> Iceberg on the real stack.

* The aggregator's closed windows equal an independent computation from the simulator's own events, window by
  window (every unique valid event is in its window or in the late table, never both, never neither), and every
  event the simulator sent minutes late is in the late table.
* A run SIGKILLed mid-stream and restarted from its checkpoint ends with exactly the tables of an uninterrupted run.
* The enricher, SIGKILLed mid-stream and restarted, writes one row per valid order event, with the latest product
  and customer attributes and the order's latest payment, and the same in its compacted topic.
* With a state TTL of seconds, both jobs forget an order (a duplicate past the TTL passes as new: written again by
  the enricher, in the late table of the aggregator) but keep the reference data (a product last changed before the
  TTL still enriches a new order).
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import psutil
import pytest
from confluent_kafka import Consumer

from dp_contracts.model import contracts_dir, load_contracts
from dp_core.config import LoadedConfig, load_settings
from dp_demo.speed import last_json_object
from dp_flink import names
from dp_flink.checkpoints import checkpoint_root, latest_checkpoint, local_path
from dp_flink.lag import group_lag
from dp_flink.progress import Commit, commits_of_table, job_watermark, progress_for
from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.kafka import client_conf
from dp_ingest.producer import EventProducer
from dp_ingest.readback import read_to_end
from dp_localstack.stack import LocalStack
from dp_localstack.testing import DP, clean_environ, run_dp, scratch_checkout, simulate_args
from dp_simulator import SimEvent, SimulationConfig, simulate
from dp_spark_jobs.catalog import lake_catalog

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 11, 24, 22, 0, tzinfo=dt.UTC)
COUNT, SEED = 8000, 33
FRACTIONS = {"late": 0.04, "duplicates": 0.04, "malformed": 0.02}
WINDOW_S = 60
#: fast checkpoints so the tests settle sooner
STREAM_ENV = {"DP_STREAM_CHECKPOINT_INTERVAL_S": "2"}


class Checkout:
    """A scratch checkout with its own contract domain (own topics, tables, consumer groups, checkpoints)."""

    def __init__(self, repo: Path, root: Path, domain: str, runtime: Path) -> None:
        self.root, self.domain = root, domain
        scratch_checkout(repo, root, domain)
        self.env = clean_environ() | STREAM_ENV | {"DP_LOCAL_RUNTIME_DIR": str(runtime)}
        self.loaded: LoadedConfig = load_settings(root / "config", self.env)
        self.order_schema = fastavro.parse_schema(
            json.loads((contracts_dir(root) / domain / "order_placed.avsc").read_text())
        )

    def dp(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = run_dp(self.root, *args, env=self.env, timeout=timeout)
        assert result.returncode == 0, f"dp {' '.join(args)}:\n{result.stderr[-3000:]}"
        return result

    def simulate_args(self) -> list[str]:
        return simulate_args(COUNT, SEED, START, fractions=FRACTIONS)

    def decode_order(self, value: bytes) -> dict[str, Any]:
        record = fastavro.schemaless_reader(io.BytesIO(value[5:]), self.order_schema, self.order_schema)
        assert isinstance(record, dict)
        return record

    def simulate(self) -> None:
        self.dp("ingest", "topics")
        self.dp(*self.simulate_args())

    def stream(self, job: str, *extra: str) -> dict[str, Any]:
        result = self.dp("stream", "run", job, "--until-idle", "1", "--timeout", "480", "--json", *extra)
        summary = last_json_object(result.stdout)  # the embedded JVM may log to stdout after the summary
        assert summary is not None, result.stdout[-2000:]
        return summary

    def table(self, name: str) -> list[dict[str, Any]]:
        lake = lake_catalog(self.loaded.settings)
        ns = self.loaded.settings.iceberg.namespaces.silver
        return list(lake.load_table(f"{ns}.{names.table(self.domain, name)}").scan().to_arrow().to_pylist())


def sim_events() -> list[SimEvent]:
    config = SimulationConfig(
        seed=SEED,
        count=COUNT,
        start=START,
        late=FRACTIONS["late"],
        duplicates=FRACTIONS["duplicates"],
        malformed=FRACTIONS["malformed"],
    )
    return list(simulate(config))


def window_of(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    moment = moment.astimezone(dt.UTC)
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % WINDOW_S, dt.UTC)


def unique_valid(events: list[SimEvent], contract: str) -> dict[str, dict[str, Any]]:
    """event id -> payload of every valid (on time or late) event of ``contract``, each once."""
    return {
        str(e.payload["event_id"]): e.payload
        for e in events
        if e.contract == contract and e.kind in ("valid", "late") and e.payload is not None
    }


def utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def check_aggregates(checkout: Checkout, events: list[SimEvent]) -> None:
    orders, views = unique_valid(events, "order_placed"), unique_valid(events, "page_view")
    late = checkout.table(names.LATE_EVENTS)
    late_ids = collections.Counter(r["event_id"] for r in late)
    assert [i for i, n in late_ids.items() if n > 1] == []  # each late event once

    # orders per window and currency: the window's row plus the late ones of that window = the simulator's events
    expected: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(lambda: [0, Decimal(0), set()])
    for payload in orders.values():
        key = (window_of(payload["occurred_at"]), str(payload["currency"]))
        expected[key][0] += 1
        expected[key][1] += Decimal(str(payload["total"]))
        expected[key][2].add(payload["session_id"])
    got: dict[tuple[dt.datetime, str], list[Any]] = collections.defaultdict(lambda: [0, Decimal(0), set()])
    rows = checkout.table(names.window_table("orders", WINDOW_S))
    for r in rows:
        key = (utc(r["window_start"]), r["currency"])
        assert got[key][0] == 0, f"window {key} written twice"
        got[key][0], got[key][1] = r["orders"], r["revenue"]
        assert utc(r["window_end"]) - utc(r["window_start"]) == dt.timedelta(seconds=WINDOW_S)
    for r in late:
        if r["contract"] == "order_placed":
            record = checkout.decode_order(r["value"])
            key = (utc(r["window_start"]), str(record["currency"]))
            assert window_of(record["occurred_at"]) == key[0]
            got[key][0] += 1
            got[key][1] += record["total"]
    closed = {w for w, _ in got}
    assert closed, "no window closed"
    for key in sorted(k for k in expected if k[0] in closed):
        assert (got[key][0], got[key][1]) == (expected[key][0], expected[key][1]), f"orders window {key}"
    # every window the stream is past is closed: only the newest (still open) windows may be missing
    newest = max(window_of(p["occurred_at"]) for p in orders.values())
    assert {w for w, _ in expected if w not in closed} <= {newest - dt.timedelta(seconds=s) for s in (0, WINDOW_S)}

    # revenue per window, category and currency: rows plus the lines of late orders, against the simulator's lines
    categories = {
        str(e.payload["product_id"]): str(e.payload["category"])
        for e in events
        if e.contract == "product" and e.payload is not None and e.kind != "malformed"
    }
    Key3 = tuple[dt.datetime, str, str]
    rev_expected: dict[Key3, list[Any]] = collections.defaultdict(lambda: [set(), 0, Decimal(0)])
    for payload in orders.values():
        for line in payload["lines"]:
            category = categories.get(line["product_id"], "unknown")
            key3 = (window_of(payload["occurred_at"]), category, payload["currency"])
            rev_expected[key3][0].add(payload["event_id"])
            rev_expected[key3][1] += int(line["quantity"])
            rev_expected[key3][2] += Decimal(str(line["line_total"]))
    rev_got: dict[Key3, list[Any]] = collections.defaultdict(lambda: [0, 0, Decimal(0)])
    for r in checkout.table(names.window_table("revenue", WINDOW_S)):
        key3 = (utc(r["window_start"]), r["category"], r["currency"])
        rev_got[key3] = [r["orders"], r["units"], r["revenue"]]
    for r in late:
        if r["contract"] == "order_placed":
            record = checkout.decode_order(r["value"])
            seen: set[Key3] = set()
            for line in record["lines"]:
                key3 = (utc(r["window_start"]), categories.get(line["product_id"], "unknown"), record["currency"])
                rev_got[key3][0] += 0 if key3 in seen else 1
                seen.add(key3)
                rev_got[key3][1] += line["quantity"]
                rev_got[key3][2] += line["line_total"]
    assert rev_got
    for key3 in sorted(k for k in rev_expected if k[0] in closed):
        want = [len(rev_expected[key3][0]), rev_expected[key3][1], rev_expected[key3][2]]
        assert rev_got[key3] == want, f"revenue window {key3}"

    # page views per window: the row's count plus late page views = the simulator's page views of that window
    pv_expected = collections.Counter(window_of(p["occurred_at"]) for p in views.values())
    pv_late = collections.Counter(utc(r["window_start"]) for r in late if r["contract"] == "page_view")
    pv_rows = {
        utc(r["window_start"]): r["page_views"] for r in checkout.table(names.window_table("page_views", WINDOW_S))
    }
    assert pv_rows
    for window, n in pv_rows.items():
        assert n + pv_late[window] == pv_expected[window], f"page views window {window}"

    # every event the simulator sent late (5 to 120 minutes behind) is in the late table, and nothing else is
    sent_late = {str(e.payload["event_id"]) for e in events if e.kind == "late" and e.payload is not None}
    streamed = {i for c in ("order_placed", "page_view", "cart_updated") for i in unique_valid(events, c)}
    sent_late_streamed = sent_late & streamed
    assert set(late_ids) == sent_late_streamed


@pytest.fixture(scope="module")
def steady(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory, run_id: str, repo_root: Path) -> Checkout:
    """The simulator's events through one uninterrupted aggregator run: checked against the simulator by one test,
    the reference of the killed run in another (one run of the job for both: the e2e tier's time is budgeted)."""
    checkout = Checkout(repo_root, tmp_path_factory.mktemp("steady"), f"rs{run_id}", local_stack.layout.runtime)
    checkout.simulate()
    summary = checkout.stream(names.AGGREGATOR)
    assert summary["restored_checkpoint"] is None
    return checkout


def test_aggregator_windows_equal_the_simulators_events(steady: Checkout) -> None:
    checkout = steady
    check_aggregates(checkout, sim_events())
    assert checkout.table(names.STREAM_REJECTS) == []  # the ingestor dead-lettered every malformed event
    # what its last checkpoints committed, and up to which offsets (the progress table, read with Flink)
    report = last_json_object(checkout.dp("stream", "commits", names.AGGREGATOR, "--last", "2", "--json").stdout)
    assert report is not None and report["job"] == names.job_name(names.AGGREGATOR, checkout.domain)
    newest = report["checkpoints"][0]
    assert newest["progress_checkpoint_id"] <= newest["checkpoint_id"]
    check_final_progress(checkout, ("page_view", "cart_updated", "order_placed", "product"), newest["partitions"])
    lateness = dt.timedelta(seconds=checkout.loaded.settings.stream.allowed_lateness_s)
    events = {f"{checkout.domain}.{c}.v1" for c in ("page_view", "cart_updated", "order_placed")}
    newest_event = min(max(moment(p["max_event_time"]) for p in newest["partitions"] if p["kafka_topic"] == t)
                       for t in events)  # fmt: skip
    assert set(newest["topic_watermarks"]) == {*events, f"{checkout.domain}.product.v1"}
    assert newest["watermark"] is None or moment(newest["watermark"]) <= newest_event - lateness
    committed = {o["table"] for c in report["checkpoints"] for o in c["outputs"]}
    assert committed and committed <= {"orders", "revenue", "page_views", "funnel", "late", "rejects"}
    text = checkout.dp("stream", "commits", names.AGGREGATOR, "--last", "1").stdout
    assert f"checkpoint {newest['checkpoint_id']}" in text and "last offset" in text
    # a second run restarts from the checkpoint and has nothing to add
    tables = (*(names.window_table(m, WINDOW_S) for m in names.METRICS), names.LATE_EVENTS)
    before = {t: len(checkout.table(t)) for t in tables}
    again = checkout.stream(names.AGGREGATOR)
    assert again["restored_checkpoint"] is not None
    assert {t: len(checkout.table(t)) for t in before} == before


class Feeder:
    """Sends the simulator's events (the same ones, in the same order, as ``dp ingest simulate`` with the same
    arguments) to a checkout's topics from this process, a chunk at a time, so a test decides what Kafka holds when."""

    def __init__(self, checkout: Checkout) -> None:
        self.events = sim_events()
        self.sent = 0
        self.producer = EventProducer(checkout.loaded.settings, load_contracts(contracts_dir(checkout.root)))

    @property
    def done(self) -> bool:
        return self.sent == len(self.events)

    def send(self, count: int) -> None:
        """The next ``count`` events (fewer at the end), each delivered before this returns."""
        for event in self.events[self.sent : self.sent + count]:
            source = Source("simulator", {"seq": event.seq})
            if event.raw is not None:
                self.producer.reject(event.contract, [FieldError("", "not_json", "")], source, raw=event.raw)
            else:
                errors = self.producer.send(event.contract, event.payload, source)
                assert bool(errors) == (event.kind == "malformed"), (event, errors)
            self.sent += 1
        assert self.producer.flush(60) == 0 and self.producer.stats.failed == 0

    def rest(self) -> None:
        self.send(len(self.events))


def kill_mid_stream(checkout: Checkout, job: str, topics: list[str], feeder: Feeder, checkpoints: int = 3) -> None:
    """Start ``job`` and feed it a chunk of events after each checkpoint it completes; once ``checkpoints``
    checkpoints completed and it committed some input, SIGKILL its whole process tree (the embedded MiniCluster and
    Python workers included). Part of the input is unread then by construction: the feeder has not sent it yet."""
    name = f"dp-{job}-{checkout.domain}"
    process = subprocess.Popen(
        [DP, "stream", "run", job],
        cwd=checkout.root,
        env=checkout.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        fed_at = 0
        while time.monotonic() < deadline:
            done = latest_checkpoint(local_path(checkpoint_root(checkout.loaded, name)))
            if done is not None and done.checkpoint_id > fed_at:
                behind = sum(group_lag(checkout.loaded.settings, name, topics).values())
                total = sum(group_lag(checkout.loaded.settings, f"{name}-never", topics).values())
                if done.checkpoint_id >= checkpoints and behind < total:
                    assert not feeder.done, "every event was sent before the kill: not mid-stream"
                    return
                feeder.send(len(feeder.events) // 40)
                fed_at = done.checkpoint_id
            assert process.poll() is None, "the job stopped on its own"
            time.sleep(0.2)
        pytest.fail(f"no checkpoint {checkpoints} with committed input within 300 s")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_aggregator_killed_mid_stream_equals_an_uninterrupted_run(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path, steady: Checkout
) -> None:
    killed = Checkout(repo_root, tmp_path / "killed", f"rk{run_id}", local_stack.layout.runtime)
    killed.dp("ingest", "topics")
    feeder = Feeder(killed)
    feeder.send(len(feeder.events) // 8)
    topics = [f"{killed.domain}.{c}.v1" for c in ("page_view", "cart_updated", "order_placed", "product")]
    kill_mid_stream(killed, names.AGGREGATOR, topics, feeder)
    feeder.rest()
    summary = killed.stream(names.AGGREGATOR)
    assert summary["restored_checkpoint"] is not None

    def rows(checkout: Checkout, table: str, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        return sorted(tuple((k, v) for k, v in sorted(r.items()) if k not in drop) for r in checkout.table(table))

    for table in (names.window_table(m, WINDOW_S) for m in names.METRICS):
        assert rows(killed, table) == rows(steady, table), table
    coordinates = ("kafka_topic", "watermark")  # topics differ by domain; the watermark seen may differ
    assert rows(killed, names.LATE_EVENTS, coordinates) == rows(steady, names.LATE_EVENTS, coordinates)
    check_aggregates(killed, sim_events())


def read_topic(checkout: Checkout, topic: str) -> dict[int, list[tuple[int, bytes, int]]]:
    """partition -> [(offset, value, timestamp ms)] of every record in ``topic``, read to its end."""
    out: dict[int, list[tuple[int, bytes, int]]] = collections.defaultdict(list)
    for message in read_to_end(checkout.loaded.settings, [topic], missing_ok=False).records:
        out[message.partition()].append((message.offset(), message.value() or b"", message.timestamp()[1]))
    return dict(out)


def check_snapshots_hold_their_recorded_offsets(checkout: Checkout, spark: Any, tables: dict[str, str]) -> None:
    """Every snapshot of the enriched table holds exactly the orders read up to the offsets the job recorded for its
    checkpoint (the progress table's snapshot of the same checkpoint), and the last progress is the topics' end."""
    lake = lake_catalog(checkout.loaded.settings)

    def commits(key: str) -> list[Commit]:
        return commits_of_table(key, lake.load_table(tables[key].split(".", 1)[1]))

    def at(key: str, snapshot_id: int) -> Any:
        return spark.read.option("versionAsOf", snapshot_id).table(tables[key])

    order_topic = f"{checkout.domain}.order_placed.v1"
    orders = {
        p: [(o, str(checkout.decode_order(v)["event_id"])) for o, v, _ in rs]
        for p, rs in read_topic(checkout, order_topic).items()
    }
    enriched, progress = commits("enriched"), commits("progress")
    assert len(enriched) >= 3 and len(progress) >= 3  # several checkpoints, before and after the kill
    for commit in enriched:
        recorded = progress_for(commit, progress)
        assert recorded is not None, commit
        upto = {r["kafka_partition"]: r["last_offset"] for r in at("progress", recorded.snapshot_id).collect()
                if r["kafka_topic"] == order_topic}  # fmt: skip
        expected = {i for p, rs in orders.items() for o, i in rs if o <= upto.get(p, -1)}
        held = {r["event_id"] for r in at("enriched", commit.snapshot_id).select("event_id").collect()}
        assert held == expected, f"snapshot {commit.snapshot_id} (checkpoint {commit.checkpoint_id})"

    # the newest progress: every input partition read to its end; records counted once across the kill
    last = [r.asDict() for r in at("progress", progress[-1].snapshot_id).collect()]
    check_final_progress(checkout, ("order_placed", "product", "customer", "payment_processed"), last)
    assert {r["watermark"] for r in last} == {None}  # no event-time watermark in the enricher (mini-batches)


def check_final_progress(checkout: Checkout, contracts: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """``rows`` (a job's progress after it consumed everything) name each non-empty input partition once, with the
    offset of its last record, its record count and its newest record timestamp; each watermark trails the latter."""
    expected = {}
    for contract in contracts:
        topic = f"{checkout.domain}.{contract}.v1"
        for p, rs in read_topic(checkout, topic).items():
            if rs:
                newest = dt.datetime.fromtimestamp(max(ms for _, _, ms in rs) / 1000, dt.UTC)
                expected[(topic, p)] = (rs[-1][0], len(rs), newest)
    got = {(r["kafka_topic"], r["kafka_partition"]): (r["last_offset"], r["records"], moment(r["max_event_time"]))
           for r in rows}  # fmt: skip
    assert got == expected
    # a source's watermark trails the newest event time it read by the allowed lateness (partitions fallen idle
    # are left out of it, so it may pass an idle partition's own newest event)
    lateness = dt.timedelta(seconds=checkout.loaded.settings.stream.allowed_lateness_s)
    per_topic, _ = job_watermark(rows, set())
    for topic, watermark in per_topic.items():
        newest = max(moment(r["max_event_time"]) for r in rows if r["kafka_topic"] == topic)
        assert watermark is None or moment(watermark) <= newest - lateness, topic


def moment(value: Any) -> dt.datetime:
    """A timestamp from Spark (datetime) or from `dp stream commits --json` (ISO text), in UTC."""
    return utc(value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value)))


def test_enricher_killed_and_restarted_one_row_per_order_with_latest_reference_data(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    from dp_spark.session import build_session

    checkout = Checkout(repo_root, tmp_path, f"re{run_id}", local_stack.layout.runtime)
    checkout.dp("ingest", "topics")
    # The enricher's inputs are small (orders, payments, reference data): it would commit them all at its first
    # checkpoints. So the events are sent while it runs, slowly, and it is SIGKILLed (whole process tree) after two
    # checkpoints, mid-stream; then restarted from the last checkpoint once everything is sent. The checks below
    # are exact, so a lost or repeated order (or a half-written Kafka transaction) would fail them.
    name = names.job_name(names.ENRICHER, checkout.domain)
    log = tmp_path / "enricher.log"
    with log.open("w") as err:
        job = subprocess.Popen(
            # --until-idle: it then prints "running N s, ..." lines (and never goes idle for 600 s here)
            [DP, "stream", "run", names.ENRICHER, "--until-idle", "600"], cwd=checkout.root, env=checkout.env,
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )  # fmt: skip
    feeder = None
    try:
        deadline = time.monotonic() + 300
        while ": running " not in log.read_text():
            assert job.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        feeder = subprocess.Popen(
            [DP, *checkout.simulate_args(), "--rate", "200"], cwd=checkout.root, env=checkout.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        while True:
            done = latest_checkpoint(local_path(checkpoint_root(checkout.loaded, name)))
            if done is not None and done.checkpoint_id >= 2:
                break
            assert job.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert feeder.poll() is None, "the events were all sent before the kill: not mid-stream"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(timeout=30)
        if feeder is not None:
            assert feeder.wait(timeout=300) == 0
    summary = checkout.stream(names.ENRICHER)
    assert summary["restored_checkpoint"] is not None
    events = sim_events()
    orders = unique_valid(events, "order_placed")
    products: dict[str, dict[str, Any]] = {}
    customers: dict[str, dict[str, Any]] = {}
    payments: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for e in events:  # the latest valid record per key, in sending order
        if e.kind in ("valid", "late", "duplicate") and e.payload is not None:
            if e.contract == "product":
                products[str(e.payload["product_id"])] = e.payload
            elif e.contract == "customer":
                customers[str(e.payload["customer_id"])] = e.payload
            elif e.contract == "payment_processed":
                payments[str(e.payload["order_id"])].append(e.payload)

    spark = build_session(checkout.loaded, "speed-layer-enricher-check")
    try:
        name = checkout.loaded.settings.iceberg.catalog.name
        table = f"{name}.{summary['tables']['enriched'].split('.', 1)[1]}"
        got = {r["event_id"]: r.asDict(recursive=True) for r in spark.table(table).collect()}
        check_snapshots_hold_their_recorded_offsets(checkout, spark, summary["tables"])
    finally:
        spark.stop()
    assert sorted(got) == sorted(orders)  # one row per valid order event, no more, no less
    for event_id, row in got.items():
        order = orders[event_id]
        customer = customers.get(str(order["customer_id"]))
        assert row["customer_known"] is (customer is not None)
        if customer is not None:
            assert (row["customer_country"], row["customer_segment"]) == (customer["country"], customer["segment"])
        lines = sorted(row["lines"], key=lambda line: line["line_number"])
        assert [line["product_id"] for line in lines] == [line["product_id"] for line in order["lines"]]
        assert row["line_count"] == len(order["lines"])
        for line in lines:
            product = products.get(line["product_id"])
            assert line["product_known"] is (product is not None)
            if product is not None:
                assert (line["product_name"], line["category"]) == (product["name"], product["category"])
        assert row["missing_products"] == sum(1 for line in lines if not line["product_known"])
        assert row["total"] == Decimal(str(order["total"]))
        # the order's latest payment by event time (a duplicate arriving later does not win), null without one
        paid = payments.get(str(order["order_id"]), [])
        newest = max((p["occurred_at"] for p in paid), default=None)
        latest_payments = {p["event_id"]: p for p in paid if p["occurred_at"] == newest}
        if not paid:
            assert (row["payment_status"], row["payment_event_id"], row["payment_amount"]) == (None, None, None)
        else:
            assert row["payment_event_id"] in latest_payments, (row["payment_event_id"], paid)
            chosen = latest_payments[row["payment_event_id"]]
            assert (row["payment_status"], row["payment_method"]) == (chosen["status"], chosen["method"])
            assert row["payment_amount"] == Decimal(str(chosen["amount"]))
    assert {r["payment_status"] for r in got.values()} >= {"AUTHORISED", "DECLINED", None}  # this seed has all three

    # the compacted output topic: the latest record of each key is that order's enriched row
    consumer = Consumer(
        client_conf(checkout.loaded.settings)
        | {"group.id": f"check-{run_id}", "isolation.level": "read_committed", "auto.offset.reset": "earliest"}
    )
    latest: dict[str, dict[str, Any]] = {}
    try:
        consumer.subscribe([summary["tables"]["topic"]])
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 5:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            quiet_since = time.monotonic()
            key, value = message.key(), message.value()
            assert key is not None
            latest[json.loads(key)["event_id"]] = json.loads(value) if value is not None else {}
    finally:
        consumer.close()
    assert sorted(latest) == sorted(orders)
    for event_id, record in latest.items():
        assert record["order_id"] == got[event_id]["order_id"]
        assert record["missing_products"] == got[event_id]["missing_products"]
        assert record["customer_known"] is got[event_id]["customer_known"]


def test_submit_runs_the_aggregator_on_the_session_cluster(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    import urllib.request

    extra = local_stack.named(["flink"])  # the session cluster only (not Spark's, not Airflow)
    checkout = Checkout(repo_root, tmp_path, f"rc{run_id}", local_stack.layout.runtime)
    checkout.simulate()
    job_id = None
    address = f"http://127.0.0.1:{checkout.loaded.settings.local.flink.ui_port}"
    try:
        local_stack.start(extra)
        submitted = last_json_object(checkout.dp("stream", "submit", names.AGGREGATOR, "--json").stdout)
        assert submitted is not None
        job_id = submitted["job_id"]
        assert submitted["submitted"] is True
        deadline = time.monotonic() + 300
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            status = json.loads(checkout.dp("stream", "status", "--json").stdout)
            states = {j["jid"]: j["state"] for j in status["jobs"]}
            assert states.get(job_id) in ("CREATED", "INITIALIZING", "RUNNING"), states
            try:
                rows = checkout.table(names.window_table("orders", WINDOW_S))
            except Exception:  # noqa: BLE001 -- the table appears with the first commit
                rows = []
            if rows:
                break
            time.sleep(3)
        assert rows, "no window committed by the job on the session cluster within 300 s"
        # the job is still running (its tables may be mid-commit): every committed window holds simulator orders
        placed = unique_valid(sim_events(), "order_placed").values()
        expected = collections.Counter((window_of(p["occurred_at"]), str(p["currency"])) for p in placed)
        for r in rows:
            assert 0 < r["orders"] <= expected[(utc(r["window_start"]), r["currency"])], r
    finally:
        if job_id is not None:
            request = urllib.request.Request(f"{address}/jobs/{job_id}?mode=cancel", method="PATCH")
            urllib.request.urlopen(request, timeout=10).close()
        local_stack.down([s for s in local_stack.services if s.group == "full"])
        shutil.rmtree(
            local_stack.layout.runtime / "flink" / "checkpoints" / names.job_name(names.AGGREGATOR, checkout.domain),
            True,
        )
    assert extra


#: the state TTL test: events forgotten after a few seconds, fast checkpoints, a partition idle after a second
TTL_ENV = {"DP_STREAM_DEDUP_TTL_S": "10", "DP_STREAM_CHECKPOINT_INTERVAL_S": "1", "DP_STREAM_IDLE_TIMEOUT_S": "1",
           "DP_STREAM_JVM_HEAP_MB": "768"}  # fmt: skip
#: the topics each job reads (its consumer group's lag says when it has read and committed everything)
JOB_INPUTS = {
    names.ENRICHER: ("order_placed", "product", "customer", "payment_processed"),
    names.AGGREGATOR: ("page_view", "cart_updated", "order_placed", "product"),
}


class Shop:
    """Hand-made events of one customer and its orders, sent one at a time; event times are seconds from ``start``."""

    CUSTOMER = "C-TTL-1"

    def __init__(self, checkout: Checkout, start: dt.datetime) -> None:
        self.start = start
        self.producer = EventProducer(checkout.loaded.settings, load_contracts(contracts_dir(checkout.root)))

    def at(self, seconds: float) -> str:
        return (self.start + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def send(self, contract: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.producer.send(contract, payload, Source("test", {})) == ()
        assert self.producer.flush(30) == 0 and self.producer.stats.failed == 0
        return payload

    def product(self, product_id: str, category: str, seconds: float) -> None:
        self.send("product", {"product_id": product_id, "name": f"{product_id} ({category})", "category": category,
                              "brand": None, "price": "10.00", "currency": "EUR", "active": True,
                              "updated_at": self.at(seconds)})  # fmt: skip

    def customer(self, seconds: float) -> None:
        self.send("customer", {"customer_id": self.CUSTOMER, "email": "ttl@example.com", "full_name": "T. Tl",
                               "country": "NL", "segment": "VIP", "signup_date": "2020-01-01",
                               "marketing_opt_in": False, "updated_at": self.at(seconds)})  # fmt: skip

    def order(self, product_id: str, seconds: float) -> dict[str, Any]:
        line = {"line_number": 1, "product_id": product_id, "quantity": 1, "unit_price": "10.00", "line_total": "10.00"}
        return self.send("order_placed", {
            "event_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()),
            "customer_id": self.CUSTOMER, "lines": [line], "subtotal": "10.00", "shipping": "0.00", "tax": "0.00",
            "total": "10.00", "currency": "EUR", "shipping_country": "NL", "attributes": {},
            "occurred_at": self.at(seconds),
        })  # fmt: skip


def wait_for(what: str, check: Any, timeout_s: float = 120) -> Any:
    """``check()`` once it returns something true, polled every second; fails the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (got := check()):
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:.0f} s"
        time.sleep(1)
    return got


def job_started(process: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether the job ``dp stream run`` runs has been submitted (it printed its state TTL), or fail if it exited."""
    assert process.poll() is None, log.read_text()[-3000:]
    return ": state TTL: " in log.read_text()


def caught_up(checkout: Checkout) -> None:
    """Both jobs have read and committed every input record (plus two checkpoints for the sinks' commits)."""
    settings, domain = checkout.loaded.settings, checkout.domain

    def lag(job: str) -> int:
        topics = [f"{domain}.{c}.v1" for c in JOB_INPUTS[job]]
        return sum(group_lag(settings, names.job_name(job, domain), topics).values())

    wait_for("caught-up jobs", lambda: all(lag(job) == 0 for job in JOB_INPUTS))
    time.sleep(2 * settings.stream.checkpoint_interval_s)


def enriched_records(checkout: Checkout) -> dict[str, list[dict[str, Any]]]:
    """event id -> every committed record of the enriched topic for it, oldest first."""
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    topic = names.enriched_topic(checkout.loaded.settings, checkout.domain)
    for message in read_to_end(checkout.loaded.settings, [topic]).records:  # read_committed: librdkafka's default
        out[json.loads(message.key())["event_id"]].append(json.loads(message.value() or b"{}"))
    return dict(out)


def line_category(record: dict[str, Any]) -> tuple[bool, str | None]:
    (line,) = record["lines"]
    return line["product_known"], line["category"]


def test_state_ttl_forgets_events_and_keeps_reference_data(
    local_stack: LocalStack, tmp_path: Path, run_id: str, repo_root: Path
) -> None:
    """Both jobs with a TTL of seconds: past it, an order no longer follows its product's changes and a duplicate of
    it passes as a new event (the enricher writes its row again, the aggregator counts it in the late table, its
    window being written), while a product last changed before the TTL still enriches a new order."""
    checkout = Checkout(repo_root, tmp_path, f"st{run_id}", local_stack.layout.runtime)
    checkout.env |= TTL_ENV
    checkout.loaded = load_settings(checkout.root / "config", checkout.env)
    ttl_s = checkout.loaded.settings.stream.dedup_ttl_s
    checkout.dp("ingest", "topics")
    now = dt.datetime.now(dt.UTC)
    shop = Shop(checkout, now.replace(second=0, microsecond=0) - dt.timedelta(hours=1))  # a window's start
    started: dict[str, subprocess.Popen[bytes]] = {}
    logs = {job: tmp_path / f"{job}.log" for job in JOB_INPUTS}
    try:
        for job, log in logs.items():
            with log.open("w") as err:
                started[job] = subprocess.Popen(  # each with a Flink log of its own
                    [DP, "stream", "run", job], cwd=checkout.root, stdout=subprocess.DEVNULL, stderr=err,
                    env=checkout.env | {"FLINK_LOG_DIR": str(tmp_path / job)}, start_new_session=True,
                )  # fmt: skip
        for job, log in logs.items():
            wait_for(f"start of {job}", lambda job=job, log=log: job_started(started[job], log))
            # stream.jvm_heap_mb bounds the JVM the job (its embedded cluster) runs in
            javas = [p.cmdline() for p in psutil.Process(started[job].pid).children(recursive=True)
                     if p.name().startswith("java")]  # fmt: skip
            assert [c for c in javas if "-Xmx768m" in c] and not [c for c in javas if "-Xmx768m" not in c], javas
        # the reference data and an order in the first window; once its partition is idle, an order five minutes
        # on that closes that window (sent together, both partitions could fall idle at once: no watermark then)
        shop.product("SKU-A", "a-1", -600)
        shop.product("SKU-B", "b-1", -600)
        shop.customer(-600)
        first = shop.order("SKU-A", 1)
        caught_up(checkout)
        closer = shop.order("SKU-B", 300)

        def first_enriched() -> list[dict[str, Any]] | None:
            records = enriched_records(checkout)
            mine = records.get(first["event_id"], [])
            done = mine and line_category(mine[-1]) == (True, "a-1") and mine[-1]["customer_known"]
            return mine if done and closer["event_id"] in records else None

        before = wait_for("enriched first order", first_enriched)
        orders_table = names.window_table("orders", WINDOW_S)
        wait_for("first window", lambda: checkout.table(orders_table))
        time.sleep(ttl_s + 2)  # every state of the first order was last written before its row was committed

        # past the TTL the order's join state is gone: a change of its product no longer reaches its row
        shop.product("SKU-A", "a-2", 360)
        caught_up(checkout)
        assert enriched_records(checkout)[first["event_id"]] == before
        # a duplicate of the first order (its deduplication state expired) and a new order for product B (last
        # changed before the TTL: reference data is kept), then an order that closes the windows of both
        shop.send("order_placed", first)
        second = shop.order("SKU-B", 420)
        caught_up(checkout)
        last = shop.order("SKU-B", 1200)
        wait_for("closed windows", lambda: len(checkout.table(orders_table)) == 3)
        caught_up(checkout)
    finally:
        for job, process in started.items():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            shutil.rmtree(local_path(checkpoint_root(checkout.loaded, names.job_name(job, checkout.domain))), True)
    for job, log in logs.items():  # the split of the real plans (see dp_flink.state_ttl)
        split = {names.ENRICHER: "11 of 16 states expire after 10 s; kept for good: 4 reference data, 1 progress "
                 "per partition", names.AGGREGATOR: "9 of 11 states expire after 10 s; kept for good: 1 progress "
                 "per partition, 1 reference data"}[job]  # fmt: skip
        assert f"state TTL: {split}" in log.read_text()

    # the enricher: one more record for the duplicate, enriched with the product as it is now, from its own offset
    records = enriched_records(checkout)
    assert sorted(records) == sorted(o["event_id"] for o in (first, closer, second, last))
    again = records[first["event_id"]]
    assert again[:-1] == before and line_category(again[-1]) == (True, "a-2")
    duplicate_offset = max(o for p, rs in read_topic(checkout, f"{checkout.domain}.order_placed.v1").items()
                           for o, v, _ in rs if p == again[-1]["kafka_partition"]
                           and str(checkout.decode_order(v)["event_id"]) == first["event_id"])  # fmt: skip
    assert again[-1]["kafka_offset"] == duplicate_offset > before[-1]["kafka_offset"]
    # product B was last changed more than the TTL before the new order: still known, with its category
    (new,) = records[second["event_id"]]
    assert line_category(new) == (True, "b-1") and new["customer_known"] and new["customer_country"] == "NL"

    # the aggregator: each order once in its window; the duplicate, its window written, in the late table
    window = shop.start
    counts = {utc(r["window_start"]): r["orders"] for r in checkout.table(orders_table)}
    minutes = {window + dt.timedelta(minutes=m): 1 for m in (0, 5, 7)}
    assert counts == minutes
    late = checkout.table(names.LATE_EVENTS)
    assert [(r["event_id"], utc(r["window_start"])) for r in late] == [(first["event_id"], window)]
    categories = {(utc(r["window_start"]), r["category"]): r["orders"]
                  for r in checkout.table(names.window_table("revenue", WINDOW_S))}  # fmt: skip
    assert categories == {(window, "a-1"): 1, (window + dt.timedelta(minutes=5), "b-1"): 1,
                          (window + dt.timedelta(minutes=7), "b-1"): 1}  # fmt: skip
