"""``dp chaos``: the platform under faults, reconciled exactly.

While the shop simulator sends through the HTTP collector and both layers run (the speed-layer jobs embedded, the
batch layer in a loop of ``dp batch run all``), a seeded schedule kills one component per round with SIGKILL -- a
service of the local stack (Kafka, the S3 store, PostgreSQL, the REST catalog, the schema registry), the collector,
a Flink job or the running Spark job -- leaves it down a few seconds and starts it again. Afterwards every layer is
reconciled: each event a 202 acknowledged is in Kafka once (a copy written by the resend of a request whose outcome
was unknown is allowed and counted), dead letters equal the rejected events, Silver holds each valid event once,
and the speed tables and Gold reconcile as in the demo. The collector must answer 202 or 503 while a dependency is
down -- never a 500, never no answer.

The I/O lives here; the schedule, the ledger and the checks are pure (:mod:`dp_demo.chaos_plan`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dp_contracts.model import Contract
from dp_core.config import LoadedConfig
from dp_core.config.models import StreamSettings
from dp_demo import chaos_plan as cp
from dp_demo import reconcile as rec
from dp_demo.batch import LayerRun, run_batch
from dp_demo.errors import DemoError
from dp_demo.observe import observe, read_enriched, table_names
from dp_demo.reset import reset_domain
from dp_demo.run import domain_contracts, provision_domain, topic_pairs
from dp_demo.speed import start_jobs, stop_jobs, wait_jobs
from dp_demo.workload import Workload, expected
from dp_flink.names import JOBS, ORDERS_ENRICHED, STREAM_REJECTS
from dp_simulator import SimEvent, SimulationConfig

Say = Callable[[str], None]
#: how long a client waits for an answer before it counts as no answer (the collector's own bound is shorter)
CLIENT_TIMEOUT_S = 30.0
#: the collector's wait for Kafka's acknowledgement of a request during the run
ACK_TIMEOUT_S = 10.0
#: the speed-layer jobs run on during the faults (idle a day before they stop), reporting progress every 10 s
RUN_ON = ("--until-idle", "86400")


@dataclass(frozen=True, kw_only=True)
class ChaosOptions:
    """One chaos run, as the command line asks for it."""

    seed: int
    rounds: int
    components: tuple[str, ...] = cp.COMPONENTS
    rate: float
    """Events per second the simulator sends through the collector while the faults go on."""
    late: float
    duplicates: float
    malformed: float
    domain: str
    report: Path
    settle_s: float = 8.0
    """Seconds between a component's recovery and the next fault."""
    request_events: int = 100
    stage_timeout_s: float = 900.0


class Child:
    """A child process in a process group of its own, its output appended to ``log``."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> None:
        self.name, self.args, self.cwd, self.env, self.log = name, args, cwd, dict(env), log
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> int:
        """Start it; returns the log's size before, where this start's output begins."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started = time.monotonic()
        return offset

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals, wait_s: float) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(wait_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        self.signal(signal.SIGKILL, 30)

    def stop(self) -> None:
        self.signal(signal.SIGTERM, 60)

    def output_since(self, offset: int) -> str:
        try:
            with self.log.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""


@dataclass
class Shared:
    """What the threads of a run share: the component that is down now, the children nobody may restart (held
    down by a fault), the stop flags, the ledger."""

    ledger: cp.Ledger = field(default_factory=cp.Ledger)
    down: str = ""
    kafka_kills: int = 0
    """How many times Kafka was killed so far: a request that saw this change was in flight at a broker fault."""
    held: set[str] = field(default_factory=set)
    stop_sending: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    sent: list[SimEvent] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    """Restarts a child needed besides its own faults (a dependency it lost)."""
    batch_runs: list[tuple[float, float, int]] = field(default_factory=list)
    """(start, end, exit code) of every ``dp batch run all``, monotonic seconds."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)
    """Exceptions a background thread died of."""


# ----------------------------------------------------------------------------------------------------- the client


def _post(client: httpx.Client, contract: str, events: list[SimEvent], shared: Shared, collector: Child) -> None:
    """Send ``events`` until each is taken (202) or refused (400), retrying 503s, lost connections and timeouts."""
    ledger = shared.ledger
    remaining = list(events)
    while remaining:
        body = json.dumps([e.payload for e in remaining]).encode()
        down, kills = shared.down, shared.kafka_kills
        try:
            answer = client.post(f"/v1/events/{contract}", content=body, headers={"content-type": "application/json"})
        except httpx.ConnectError:  # nothing was sent
            ledger.answer(down, "refused connection")
            time.sleep(0.5)
            continue
        except httpx.TimeoutException:
            ledger.answer(down, "no answer")
            if collector.alive() and shared.down != "collector":
                ledger.violations.append(
                    f"no answer within {CLIENT_TIMEOUT_S:.0f} s while {down or 'nothing'} was down"
                )
            ledger.uncertain(e.seq for e in remaining)
            continue
        except httpx.TransportError:  # the connection went away mid-request: the outcome is unknown
            ledger.answer(down, "connection lost")
            ledger.uncertain(e.seq for e in remaining)
            time.sleep(0.5)
            continue
        ledger.answer(down, _label(answer))
        at_fault = "kafka" in (down, shared.down) or shared.kafka_kills != kills
        remaining = _settle(answer, remaining, shared, down, at_fault)
        if remaining:
            time.sleep(0.5)


def _label(answer: httpx.Response) -> str:
    """An answer as the figures count it: its status, and for an error its kind (``503 delivery_pending``)."""
    try:
        error = answer.json().get("error") if answer.status_code >= 400 else None
    except (ValueError, AttributeError):
        error = None
    return f"{answer.status_code} {error}" if error else str(answer.status_code)


def _settle(
    answer: httpx.Response, events: list[SimEvent], shared: Shared, down: str, at_fault: bool = False
) -> list[SimEvent]:
    """Record what an answer took; the events still to be sent. ``at_fault``: the request was in flight while
    Kafka was killed (what it took may be in its topic twice)."""
    ledger = shared.ledger
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    rejected = {int(e["index"]) for e in data.get("errors", [])}
    error = str(data.get("error", ""))
    if answer.status_code == 202:
        for index, event in enumerate(events):
            ledger.ack(event.seq, index not in rejected, at_fault)
        return []
    if answer.status_code == 500 or answer.status_code not in (503, 429):
        what = error or answer.text[:120]
        ledger.violations.append(f"{answer.status_code} {what!r} while {down or 'nothing'} was down")
    if error in ("interrupted", "not_delivered", "delivery_pending"):
        # taken: [0, processed) (all of them unless interrupted), but for those Kafka refused or has not
        # acknowledged yet: their outcome is unknown, they are sent again, as is what was not taken
        processed = int(data.get("processed", len(events))) if error == "interrupted" else len(events)
        again = {int(i) for key in ("undelivered", "pending") for i in data.get(key, [])}
        for index, event in enumerate(events[:processed]):
            if index not in again:
                ledger.ack(event.seq, index not in rejected, at_fault)
        unknown = [e for i, e in enumerate(events[:processed]) if i in again]
        ledger.uncertain(e.seq for e in unknown)
        return unknown + events[processed:]
    if answer.status_code in (503, 429):  # nothing of the request was taken
        return events
    if answer.status_code < 500:  # a 4xx took nothing (and a resend would get the same answer)
        return []
    ledger.uncertain(e.seq for e in events)  # a 500: its outcome is unknown
    return events


def _send(
    client: httpx.Client, events: Iterator[SimEvent], rate: float, batch: int, shared: Shared, collector: Child
) -> None:
    """The simulator's stream at ``rate`` through the collector, per contract in requests of up to ``batch`` events
    flushed every quarter second, until ``stop_sending``; a not-JSON event goes alone (the collector refuses it)."""
    pending: dict[str, list[SimEvent]] = {}
    began = last_flush = time.monotonic()

    def flush() -> None:
        for contract, group in list(pending.items()):
            if group:
                _post(client, contract, group, shared, collector)
        pending.clear()

    for n, event in enumerate(events):
        if shared.stop_sending.is_set():
            break
        due = began + n / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        shared.sent.append(event)
        if event.raw is not None:
            flush()
            _post_raw(client, event, shared)
            continue
        group = pending.setdefault(event.contract, [])
        group.append(event)
        if len(group) >= batch or time.monotonic() - last_flush >= 0.25:
            flush()
            last_flush = time.monotonic()
    flush()


def _post_raw(client: httpx.Client, event: SimEvent, shared: Shared) -> None:
    assert event.raw is not None
    while True:
        try:
            answer = client.post(
                f"/v1/events/{event.contract}", content=event.raw, headers={"content-type": "application/json"}
            )
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        shared.ledger.answer(shared.down, "400 (not JSON)" if answer.status_code == 400 else str(answer.status_code))
        if answer.status_code == 400:
            shared.ledger.refused.add(event.seq)
            return
        if answer.status_code != 503:
            shared.ledger.violations.append(f"{answer.status_code} to a body that is not JSON (400 expected)")
            return
        time.sleep(0.5)


# ------------------------------------------------------------------------------------------------ the background


def _guarded(target: Callable[..., None], shared: Shared) -> Callable[..., None]:
    """``target`` for a thread: an exception it dies of is kept in ``shared.failures`` (raised at the end)."""

    def run(*args: Any) -> None:
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001 -- reported by finish_sending, not lost with the thread
            shared.failures.append(f"{target.__name__}: {type(exc).__name__}: {exc}")
            shared.stop_sending.set()

    return run


def _supervise(children: list[Child], shared: Shared) -> None:
    """Restart a child that died of something else than a fault (a dependency it lost), at most every 5 s."""
    while not shared.stop_all.wait(1.0):
        for child in children:
            with shared.lock:
                if child.name in shared.held or child.alive() or time.monotonic() - child.started < 5:
                    continue
                child.start()
                shared.restarts[child.name] = shared.restarts.get(child.name, 0) + 1


def _batch_loop(batch: Child, shared: Shared, pause_s: float) -> None:
    """``dp batch run all`` again and again until the run stops (a run killed by a fault is started again)."""
    while not shared.stop_all.is_set():
        with shared.lock:
            if "spark" in shared.held:
                start = None
            else:
                batch.start()
                start = batch.started
        if start is None:
            time.sleep(0.5)
            continue
        assert batch.process is not None
        batch.process.wait()  # the last run ends on its own too: a killed job has recovered once a run completes
        shared.batch_runs.append((start, time.monotonic(), int(batch.process.returncode or 0)))
        shared.stop_all.wait(pause_s)


# ---------------------------------------------------------------------------------------------------- the faults


def _healthy_collector(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout_s:
            raise DemoError(f"chaos: {what} not back after {timeout_s:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - began


def _collector_ready(url: str) -> Callable[[], bool]:
    return lambda: _healthy_collector(url)


class ChildExited(DemoError):
    """A child exited while starting."""


def _started(child: Child, ready: Callable[[], bool], offset: int = 0) -> Callable[[], bool]:
    """Whether a child that is starting is ready; a clear error with its output when it exited instead."""

    def check() -> bool:
        if ready():
            return True
        if not child.alive():
            tail = "\n".join(child.output_since(offset).splitlines()[-15:])
            raise ChildExited(f"the {child.name} exited while starting; {child.log} ends with:\n{tail}")
        return False

    return check


def _running_since(job: Child, offset: int) -> Callable[[], bool]:
    return lambda: job.alive() and ": running " in job.output_since(offset)


class Faults:
    """Kills and restarts the components of one run."""

    def __init__(self, stack: Any, layout: Any, children: dict[str, Child], collector_url: str, shared: Shared):
        self.stack, self.layout, self.children, self.url, self.shared = stack, layout, children, collector_url, shared

    def inject(self, fault: cp.Fault, began: float, say: Say) -> cp.Recovery:
        at = time.monotonic() - began
        component = fault.component
        name = fault.target if component == "flink" else component
        say(f"  round {fault.round}: kill -9 {name}, down {fault.down_s:.1f} s")
        held = component if component != "flink" else fault.target
        self.shared.down = component
        if component == "kafka":
            self.shared.kafka_kills += 1
        killed = self._kill(fault, held)  # held down: the supervisor and the batch loop leave it alone
        time.sleep(fault.down_s)
        down_s = time.monotonic() - killed
        try:
            recovery, note = self._restart(fault, held)
        finally:
            self.shared.down = ""
        say(f"    {name} back in {recovery:.1f} s{note and ' (' + note + ')'}")
        return cp.Recovery(fault, round(at, 1), round(down_s, 1), round(recovery, 1), note)

    def _kill(self, fault: cp.Fault, held: str) -> float:
        """Kill the fault's component and hold it down; when it was killed."""
        from dp_localstack.process import live_process

        if fault.component == "spark":  # a running batch job: wait for one, hold and kill it at once
            child = self.children["spark"]
            deadline = time.monotonic() + 120
            while True:
                with self.shared.lock:
                    if child.alive():
                        self.shared.held.add(held)
                        child.kill()
                        return time.monotonic()
                if time.monotonic() > deadline:
                    raise DemoError("chaos: no batch job ran within 120 s to kill")
                time.sleep(0.25)
        with self.shared.lock:
            self.shared.held.add(held)
        killed = time.monotonic()
        if fault.component in cp.STACK_SERVICES:
            proc = live_process(self.layout.pid(cp.STACK_SERVICES[fault.component]))
            if proc is None:
                raise DemoError(f"chaos: {fault.component} is not running, nothing to kill")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            _wait(lambda: not proc.is_running() or proc.status() == "zombie", 30, f"the end of {fault.component}")
        else:
            self.children[held].kill()
        return killed

    def _restart(self, fault: cp.Fault, held: str) -> tuple[float, str]:
        """Release the hold and start the component again (in one step for a child, so the supervisor cannot start
        a second copy); the seconds until it is healthy."""
        if fault.component not in ("collector", "flink"):
            with self.shared.lock:
                self.shared.held.discard(held)
        if fault.component in cp.STACK_SERVICES:
            results = self.stack.up(core_only=True)
            mine = [
                r.seconds for r in results if r.name == cp.STACK_SERVICES[fault.component] and not r.already_running
            ]
            return (mine[0] if mine else 0.0), ""
        if fault.component == "spark":
            return 0.0, "the batch loop starts the next run"
        child = self.children[held]
        with self.shared.lock:
            self.shared.held.discard(held)
            offset = child.start()
        if fault.component == "collector":
            return _wait(lambda: _healthy_collector(self.url), 120, "the collector"), ""
        return _wait(_running_since(child, offset), 300, f"the {fault.target} job"), "running again"

    def all_up(self, timeout_s: float) -> None:
        """Wait until the collector answers healthy and both speed-layer jobs run (a lost dependency may have
        stopped them; the supervisor restarts them)."""
        _wait(lambda: _healthy_collector(self.url), timeout_s, "the collector")
        for job in JOBS:
            child = self.children[job]
            _wait(child.alive, timeout_s, f"the {job} job")


# ------------------------------------------------------------------------------------------------------- the run


@dataclass
class Setup:
    """The stack and the domain a run works on."""

    stack: Any
    layout: Any
    contracts: list[Contract]
    catalog: Any
    env: dict[str, str]
    """The children's environment: this config, the collector answering once Kafka has the records."""
    dp: str


def prepare(loaded: LoadedConfig, domain: str, environ: Mapping[str, str], what: str, say: Say) -> Setup:
    """The core stack up, the domain reset (its topics, tables, checkpoints; the run owns it) and provisioned."""
    from dp_flink.launch import flink_python
    from dp_lakehouse.pyiceberg import lake_catalog
    from dp_localstack.layout import Layout
    from dp_localstack.stack import LocalStack

    settings = loaded.settings
    if settings.env != "local":
        raise DemoError(f"the {what} works on the local stack (DP_ENV=local), not on {settings.env!r}")
    flink_python(loaded)
    layout = Layout.from_config(loaded)
    stack = LocalStack(settings, layout, echo=lambda line: say("  " + line))
    stack.up(core_only=True)
    contracts = domain_contracts(loaded, domain)
    catalog = lake_catalog(settings)
    reset_domain(loaded, catalog, contracts, domain, loaded.runtime_dir / "demo" / domain, say)
    provision_domain(loaded, contracts, catalog)
    env = dict(environ) | {
        "DP_CONFIG_DIR": str(loaded.config_dir.resolve()),
        "DP_ENV": settings.env,
        "DP_INGEST_COLLECTOR__ACK": "delivered",
        "DP_INGEST_COLLECTOR__ACK_TIMEOUT_S": str(ACK_TIMEOUT_S),
    }
    return Setup(stack, layout, contracts, catalog, env, str(Path(sys.executable).parent / "dp"))


class Load:
    """The platform under load, as a context: the collector, both speed-layer jobs (restarted by a supervisor when
    they die of a lost dependency), a loop of ``dp batch run all``, and a client sending the simulator's stream
    through the collector. Leaving the context stops the client, lets the running batch job end and stops the
    children (the collector drains)."""

    def __init__(
        self, loaded: LoadedConfig, setup: Setup, domain: str, folder: Path, workload: Workload, *,
        request_events: int, batch_pause_s: float, timeout_s: float,
    ) -> None:  # fmt: skip
        settings = loaded.settings
        self.url = f"http://{settings.ingest.collector.host}:{settings.ingest.collector.port}"
        self.workload, self.request_events, self.timeout_s = workload, request_events, timeout_s
        self.batch_pause_s = batch_pause_s
        cwd, env, dp = loaded.repo_root, setup.env, setup.dp
        logs = {job: folder / f"{job}.log" for job in JOBS}
        self.children = {
            "collector": Child("collector", [dp, "ingest", "serve"], cwd, env, folder / "collector.log"),
            **{
                job: Child(job, [dp, "stream", "run", job, "--domain", domain, *RUN_ON], cwd, env, logs[job])
                for job in JOBS
            },
            "spark": Child("spark", [dp, "batch", "run", "all"], cwd, env, folder / "batch.log"),
        }
        self.shared = Shared()
        self.threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        signal.signal(signal.SIGTERM, _interrupted)  # the children are stopped on the way out
        try:
            for name in ("collector", *JOBS):
                self._start(self.children[name])
            client = httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT_S)
            supervised = [self.children[n] for n in ("collector", *JOBS)]
            batch_loop = (self.children["spark"], self.shared, self.batch_pause_s)
            sender = (client, self.workload.events(), self.workload.rate, self.request_events, self.shared,
                      self.children["collector"])  # fmt: skip
            self.threads = [
                threading.Thread(target=_guarded(_supervise, self.shared), args=(supervised, self.shared), daemon=True),
                threading.Thread(target=_guarded(_batch_loop, self.shared), args=batch_loop, daemon=True),
                threading.Thread(target=_guarded(_send, self.shared), args=sender, daemon=True),
            ]
            for thread in self.threads:
                thread.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, child: Child, attempts: int = 3) -> None:
        """Start a child and wait until it is ready; one that exits while starting (a dependency still recovering
        from an earlier fault: the catalog answers one 500 per pooled connection PostgreSQL dropped) is started
        again, at most ``attempts`` times."""
        for attempt in range(1, attempts + 1):
            offset = child.start()
            ready = _collector_ready(self.url) if child.name == "collector" else _running_since(child, offset)
            try:
                _wait(_started(child, ready, offset), self.timeout_s, f"the {child.name}")
                return
            except ChildExited:
                if attempt == attempts:
                    raise
                time.sleep(5)

    def finish_sending(self) -> None:
        """Stop the client after it placed its last requests (every event taken or refused)."""
        self.shared.stop_sending.set()
        if self.threads:
            self.threads[2].join(self.timeout_s)
            if self.threads[2].is_alive():
                raise DemoError("the client could not place its last requests")
        if self.shared.failures:
            raise DemoError("a thread of the run failed: " + "; ".join(self.shared.failures))

    def __exit__(self, *_: object) -> None:
        self.shared.stop_sending.set()
        self.shared.stop_all.set()
        for thread in self.threads[:2]:
            thread.join(self.timeout_s)
        for child in self.children.values():
            child.stop()


def run_chaos(loaded: LoadedConfig, options: ChaosOptions, environ: Mapping[str, str], say: Say) -> dict[str, Any]:
    """Run the chaos schedule and return the report (also written to ``options.report``)."""
    settings = loaded.settings
    began = time.monotonic()
    faults = cp.plan(options.seed, options.rounds, options.components, JOBS)
    domain = options.domain
    state_dir = loaded.runtime_dir / "chaos" / domain
    say(f"[1/5] the core stack; domain {domain!r} reset (the chaos run owns it)")
    setup = prepare(loaded, domain, environ, "chaos run", say)
    contracts, catalog = setup.contracts, setup.catalog
    if state_dir.exists():
        shutil.rmtree(state_dir)
    say("[2/5] the collector, both speed-layer jobs and the batch loop")
    load = Load(loaded, setup, domain, state_dir / "logs", _workload(options), request_events=options.request_events,
                batch_pause_s=5.0, timeout_s=options.stage_timeout_s)  # fmt: skip
    recoveries: list[cp.Recovery] = []
    with load:
        say(f"[3/5] {len(faults)} fault(s) while {options.rate:,.0f} events/s go through the collector")
        time.sleep(options.settle_s)
        injector = Faults(setup.stack, setup.layout, load.children, load.url, load.shared)
        for fault in faults:
            recoveries.append(injector.inject(fault, began, say))
            time.sleep(options.settle_s)
            injector.all_up(options.stage_timeout_s)
        _send_enough_event_time(load.shared, settings.stream, options.stage_timeout_s, say)
        load.finish_sending()
        say(f"  sent {len(load.shared.sent):,} events; stopping the collector (it drains), the running batch job ends")
    shared = load.shared
    recoveries = _spark_recoveries(recoveries, shared, began)
    dp, cwd, env = setup.dp, loaded.repo_root, setup.env

    say("[4/5] the speed layer catches up (from its checkpoints), the batch layer runs once more")
    jobs = start_jobs(Path(dp), cwd, env, domain, options.stage_timeout_s, state_dir / "final")
    try:
        summaries = wait_jobs(jobs, say)
    finally:
        stop_jobs(jobs)
    enriched_table = f"{settings.iceberg.catalog.name}.{table_names(settings, [], domain)[f'speed:{ORDERS_ENRICHED}']}"
    layers, enriched = run_batch(loaded, contracts, say, lambda spark: read_enriched(spark, enriched_table))

    say("[5/5] reconciling every layer with what the collector acknowledged")
    report = _reconcile(loaded, options, contracts, shared, recoveries, faults, catalog, enriched, layers, summaries)
    report["seconds"] = round(time.monotonic() - began, 1)
    options.report.parent.mkdir(parents=True, exist_ok=True)
    options.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report


def sent_span_s(sent: list[SimEvent]) -> float:
    """Seconds of event time (the simulated clock) between the first and the last event sent."""
    return (sent[-1].emitted_at - sent[0].emitted_at).total_seconds() if sent else 0.0


def _send_enough_event_time(shared: Shared, stream: StreamSettings, timeout_s: float, say: Say) -> None:
    """Keep sending until the stream spans three windows plus their lateness of event time, so the speed layer
    closes windows the batch layer can be compared with, however slowly the machine let the faults' rounds send
    (a round under load once sent 1,324 events, 66 s of event time: no window closed)."""
    needed = 3 * (stream.window_s + stream.allowed_lateness_s)
    if sent_span_s(shared.sent) >= needed:
        return
    say(f"  sending on until the stream spans {needed} s of event time (so the speed layer closes windows)")
    deadline = time.monotonic() + timeout_s
    while sent_span_s(shared.sent) < needed:
        if shared.failures:
            return  # finish_sending reports them
        if time.monotonic() > deadline:
            raise DemoError(f"chaos: the stream spans {sent_span_s(shared.sent):.0f} s of event time after "
                            f"{timeout_s:.0f} s more sending, short of the {needed} s the windows need")  # fmt: skip
        time.sleep(0.5)


def _interrupted(signum: int, _frame: Any) -> None:
    raise DemoError(f"chaos: stopped by signal {signum}")


def _workload(options: ChaosOptions) -> Workload:
    """The simulator's stream from 00:00 UTC today, sized far beyond what a run sends (it stops after the faults)."""
    today = dt.datetime.now(dt.UTC).date()
    config = SimulationConfig(
        seed=options.seed,
        count=10_000_000,
        start=dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC),
        late=options.late,
        duplicates=options.duplicates,
        malformed=options.malformed,
    )
    return Workload(config=config, rate=options.rate)


def _spark_recoveries(recoveries: list[cp.Recovery], shared: Shared, began: float) -> list[cp.Recovery]:
    """A killed Spark job has recovered when the next ``dp batch run all`` after it completed (``began``: the run's
    start, what the recoveries' times count from)."""
    out = []
    for r in recoveries:
        if r.fault.component != "spark":
            out.append(r)
            continue
        released = r.at_s + r.down_s
        done = [end - began for start, end, code in shared.batch_runs if code == 0 and start - began >= released]
        out.append(
            cp.Recovery(r.fault, r.at_s, r.down_s, round(min(done) - released, 1) if done else None,
                        "the next batch run completed" if done else "no batch run completed after it")
        )  # fmt: skip
    return out


def _kafka_found(loaded: LoadedConfig, contracts: list[Contract]) -> dict[str, dict[str, int]]:
    """Per topic: identity -> copies (an event topic by its id field, a dead-letter topic by its payload)."""
    from dp_ingest.codec import ContractCodec
    from dp_ingest.readback import read_to_end

    by_topic = {c.topic: c for c in contracts}
    found: dict[str, dict[str, int]] = {t: {} for c in contracts for t in (c.topic, c.dlq_topic)}
    codecs = {c.topic: ContractCodec(c, 0) for c in contracts}
    back = read_to_end(loaded.settings, list(found), 180.0, group_prefix="dp-chaos-readback")
    for msg in back.records:
        topic, value = str(msg.topic()), msg.value() or b""
        if topic in by_topic:
            codec = codecs[topic]
            identity = str(codec.decode(value)[codec.id_field])
        else:
            letter = json.loads(value)
            identity = _payload_identity(letter.get("payload", letter.get("payload_base64")))
        found[topic][identity] = found[topic].get(identity, 0) + 1
    return found


def _payload_identity(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def _reconcile(
    loaded: LoadedConfig,
    options: ChaosOptions,
    contracts: list[Contract],
    shared: Shared,
    recoveries: list[cp.Recovery],
    faults: list[cp.Fault],
    catalog: Any,
    enriched: Any,
    layers: list[LayerRun],
    summaries: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    settings = loaded.settings
    ledger = shared.ledger
    topics = topic_pairs(contracts)
    sent = list(shared.sent)
    wanted = expected(_workload(options), sent, topics, "unknown")
    seen = observe(catalog, settings, contracts, options.domain)
    seen.enriched_ids, seen.enriched_visible_at = enriched.ids, enriched.visible_at
    found = _kafka_found(loaded, contracts)
    checks: list[cp.TopicCheck] = []
    lines: list[rec.Line] = []
    for contract in contracts:
        mine = [e for e in sent if e.contract == contract.name and e.payload is not None]
        id_field = contract.meta.event_id or contract.meta.key
        events = {e.seq: str(e.payload[id_field]) for e in mine if e.seq in ledger.accepted and e.payload}
        letters = {e.seq: _payload_identity(e.payload) for e in mine if e.seq in ledger.rejected}
        for topic, sent_to in ((contract.topic, events), (contract.dlq_topic, letters)):
            check = cp.check_topic(topic, sent_to, found[topic], ledger)
            checks.append(check)
            lines.append(_topic_line(check))
        records = sum(found[contract.topic].values())
        letters_found = sum(found[contract.dlq_topic].values())
        lines.append(rec.count_line("bronze", contract.name, records, seen.counts.get(f"bronze:{contract.name}"),
                                    "= the records in Kafka"))  # fmt: skip
        lines.append(rec.count_line("bronze", f"{contract.name} dead letters", letters_found,
                                    seen.counts.get(f"bronze_dlq:{contract.name}")))  # fmt: skip
        lines.append(rec.id_line("silver", contract.name, wanted.contract(contract.name)["valid_ids"],
                                 seen.silver_ids.get(contract.name)))  # fmt: skip
        malformed = sum(1 for e in sent if e.contract == contract.name and e.kind == "malformed" and e.raw is None)
        quarantined = seen.counts.get(f"rejected:{contract.name}")
        parked = None if quarantined is None else quarantined + len(found[contract.dlq_topic])
        lines.append(rec.count_line("rejects + dead letters", contract.name, malformed, parked,
                                    f"{quarantined} quarantined in Silver, {len(found[contract.dlq_topic])} distinct "
                                    "dead letters (events that are not JSON are refused with 400)"))  # fmt: skip
    lines.append(rec.id_line("gold", "fct_orders", wanted.order_numbers, seen.fct_order_ids))
    lines.append(rec.revenue_line(wanted.gross_revenue, seen.gross_revenue))
    lines.append(rec.id_line("speed", ORDERS_ENRICHED, wanted.order_ids, seen.enriched_ids))
    lines.append(rec.late_line(wanted.late_ids, seen.late_events))
    lines.append(rec.count_line("speed", STREAM_REJECTS, 0, seen.counts.get(f"speed:{STREAM_REJECTS}")))
    windows, still_open = rec.compare_windows(seen, settings.stream.window_s)
    lines.append(rec.windows_line(windows, still_open))
    lines.append(rec.page_view_windows(seen, settings.stream.window_s))
    refused = sum(1 for e in sent if e.raw is not None)
    lines.append(
        rec.count_line("collector", "events that are not JSON, refused with 400", refused, len(ledger.refused))
    )
    lines.append(rec.Line("collector", "answers it must never give (500, no answer, 400 to JSON)", 0,
                          len(ledger.violations), not ledger.violations, "; ".join(ledger.violations[:3])))  # fmt: skip
    unrecovered = [r for r in recoveries if r.recovery_s is None]
    back = len(faults) - len(unrecovered)
    lines.append(rec.Line("faults", "components back after their fault", len(faults), back, not unrecovered,
                          ", ".join(f"{r.fault.component}: {r.note}" for r in unrecovered)))  # fmt: skip
    numbers = cp.figures(recoveries, checks, ledger)
    ok = all(line.ok for line in lines)
    return {
        "status": "PASS" if ok else "FAIL",
        "passed": sum(line.ok for line in lines),
        "failed": sum(not line.ok for line in lines),
        "seed": options.seed,
        "rounds": options.rounds,
        "rate_per_s": options.rate,
        "events_sent": len(sent),
        "faults": [
            {
                "round": r.fault.round,
                "component": r.fault.component,
                "target": r.fault.target,
                "at_s": r.at_s,
                "down_s": r.down_s,
                "recovery_s": r.recovery_s,
                "note": r.note,
            }
            for r in recoveries
        ],
        "figures": numbers,
        "restarts_after_a_lost_dependency": dict(shared.restarts),
        "batch_runs": {
            "completed": sum(1 for *_, code in shared.batch_runs if code == 0),
            "failed_or_killed": sum(1 for *_, code in shared.batch_runs if code != 0),
        },
        "final_batch": {
            layer.layer: {"rows_read": layer.rows_read, "rows_written": layer.rows_written} for layer in layers
        },
        "speed_layer": {
            job: {"last_checkpoint": s.get("last_checkpoint"), "restored_checkpoint": s.get("restored_checkpoint")}
            for job, s in summaries.items()
        },
        "lines": [line.as_dict() for line in lines],
    }


def _topic_line(check: cp.TopicCheck) -> rec.Line:
    problems = [
        f"{n} {what}"
        for n, what in ((check.lost, "lost"), (check.duplicated, "duplicated"), (check.unexplained, "not sent"))
        if n
    ]
    detail = ", ".join(problems) or "each acknowledged event there"
    if check.resent:
        detail += f"; {check.resent} written again by a resend after an unknown outcome"
    if check.rewritten:
        detail += f"; {check.rewritten} in flight at a Kafka kill written twice by the producer"
    return rec.Line("kafka", check.topic, check.acknowledged, check.records, check.ok, detail)
