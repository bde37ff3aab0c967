"""``dp soak``: the platform at a steady rate for a long time, sampled once a minute, to show its state is bounded.

The same load as the chaos run (:class:`dp_demo.chaos.Load`: the collector, both speed-layer jobs, a loop of
``dp batch run all``, the simulator sending through the collector), without faults. Every sample records each
process's resident memory (the stack's services and the run's children, whole process trees), each Flink job's
checkpoint size (its newest completed checkpoint and the files it shares with older ones) and the data and delete
files of each layer's tables. The verdict (:mod:`dp_demo.soak_plan`): memory and checkpoint sizes must be flat
after the first third. File counts are reported, not judged: without table maintenance (compaction, snapshot
expiry) every checkpoint and every batch run adds files.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dp_core.config import LoadedConfig
from dp_demo.chaos import Load, Say, Setup, prepare
from dp_demo.errors import DemoError
from dp_demo.observe import table_names
from dp_demo.soak_plan import Trend, verdict
from dp_demo.workload import Workload
from dp_flink.names import JOBS, job_name
from dp_simulator import SimulationConfig

STACK = ("kafka", "s3", "postgres", "catalog", "registry")
MB = 1024 * 1024
#: what a flat series may wobble by: memory moves with garbage collection, checkpoints with the open windows
RSS_SLACK_MB = 64.0
CHECKPOINT_SLACK_MB = 2.0
#: the verdict needs samples after the warm-up third, two halves of them
MIN_SAMPLES = 6


@dataclass(frozen=True, kw_only=True)
class SoakOptions:
    minutes: float
    rate: float
    sample_s: float = 60.0
    state_ttl_s: int = 300
    """The speed layer's ``stream.dedup_ttl_s`` for the run: short enough that its state reaches its bound within
    the warm-up (with the default day, state would grow for a day by design)."""
    seed: int
    domain: str
    report: Path
    stage_timeout_s: float = 900.0


def _tree_mb(pid: int | None) -> float | None:
    import psutil

    from dp_localstack.process import tree_rss

    if pid is None:
        return None
    try:
        return tree_rss(psutil.Process(pid)) / MB
    except psutil.Error:
        return None


def _checkpoint_mb(loaded: LoadedConfig, domain: str, job: str) -> float:
    """The newest completed checkpoint of ``job`` and the shared files of its run, in MB (0 before the first)."""
    from dp_flink.checkpoints import checkpoint_root, is_local, latest_checkpoint, local_path

    root = checkpoint_root(loaded, job_name(job, domain))
    if not is_local(root):
        return 0.0
    latest = latest_checkpoint(local_path(root))
    if latest is None:
        return 0.0
    folders = [latest.path, latest.path.parent / "shared"]
    return sum(f.stat().st_size for folder in folders if folder.is_dir() for f in folder.rglob("*") if f.is_file()) / MB


def _files(setup: Setup, loaded: LoadedConfig, domain: str) -> dict[str, int]:
    """Data + delete files of the current snapshots, per layer (bronze, silver, speed, gold)."""
    from pyiceberg.exceptions import NoSuchTableError

    per: dict[str, int] = {}
    for role, name in table_names(loaded.settings, setup.contracts, domain).items():
        layer = {"bronze_dlq": "bronze", "rejected": "silver"}.get(role.split(":")[0], role.split(":")[0])
        try:
            snapshot = setup.catalog.load_table(name).current_snapshot()
        except NoSuchTableError:
            continue
        summary = snapshot.summary if snapshot is not None else None
        count = 0
        if summary is not None:
            count = int(summary.get("total-data-files", 0) or 0) + int(summary.get("total-delete-files", 0) or 0)
        per[layer] = per.get(layer, 0) + count
    return per


def _sample(load: Load, setup: Setup, loaded: LoadedConfig, domain: str, began: float) -> dict[str, Any]:
    from dp_localstack.process import live_process

    rss: dict[str, float | None] = {}
    for service in STACK:
        proc = live_process(setup.layout.pid(service))
        rss[service] = _tree_mb(proc.pid if proc else None)
    for name in ("collector", *JOBS):
        child = load.children[name]
        rss[name] = _tree_mb(child.process.pid if child.alive() and child.process else None)
    return {
        "minute": round((time.monotonic() - began) / 60, 2),
        "events_sent": len(load.shared.sent),
        "rss_mb": {k: None if v is None else round(v, 1) for k, v in rss.items()},
        "checkpoint_mb": {job: round(_checkpoint_mb(loaded, domain, job), 2) for job in JOBS},
        "files": _files(setup, loaded, domain),
    }


def trends(samples: list[dict[str, Any]]) -> list[Trend]:
    """The series of a run's samples and their verdict."""
    series: dict[str, tuple[str, list[float], float, bool]] = {}
    for name in samples[0]["rss_mb"] if samples else ():
        values = [s["rss_mb"][name] for s in samples if s["rss_mb"].get(name) is not None]
        series[f"resident memory {name}"] = ("MB", values, RSS_SLACK_MB, True)
    for job in JOBS:
        values = [s["checkpoint_mb"][job] for s in samples]
        series[f"checkpoint size {job}"] = ("MB", values, CHECKPOINT_SLACK_MB, True)
    layers = sorted({layer for s in samples for layer in s["files"]})
    for layer in layers:
        values = [float(s["files"].get(layer, 0)) for s in samples]
        series[f"files {layer}"] = ("files", values, 0.0, False)
    return verdict(series)


def run_soak(loaded: LoadedConfig, options: SoakOptions, environ: Mapping[str, str], say: Say) -> dict[str, Any]:
    if options.minutes * 60 / options.sample_s < MIN_SAMPLES:
        raise DemoError(
            f"{options.minutes:g} minute(s) with a sample every {options.sample_s:g} s give fewer than {MIN_SAMPLES} "
            "samples: run longer or sample more often"
        )
    began = time.monotonic()
    domain = options.domain
    say(f"[1/3] the core stack; domain {domain!r} reset (the soak run owns it)")
    setup = prepare(loaded, domain, environ, "soak run", say)
    setup.env["DP_STREAM_DEDUP_TTL_S"] = str(options.state_ttl_s)
    folder = loaded.runtime_dir / "soak" / domain
    say("[2/3] the collector, both speed-layer jobs and the batch loop")
    today = dt.datetime.now(dt.UTC).date()
    config = SimulationConfig(seed=options.seed, count=100_000_000,
                              start=dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC))  # fmt: skip
    load = Load(loaded, setup, domain, folder / "logs", Workload(config=config, rate=options.rate),
                request_events=100, batch_pause_s=60.0, timeout_s=options.stage_timeout_s)  # fmt: skip
    samples: list[dict[str, Any]] = []
    with load:
        pace = f"{options.rate:,.0f} events/s, a sample every {options.sample_s:g} s"
        say(f"[3/3] {options.minutes:g} minute(s) at {pace}")
        started = time.monotonic()
        end = started + options.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(options.sample_s, max(0.0, end - time.monotonic())))
            sample = _sample(load, setup, loaded, domain, started)
            samples.append(sample)
            rss = sum(v for v in sample["rss_mb"].values() if v is not None)
            say(f"  minute {sample['minute']:5.1f}: {sample['events_sent']:,} events sent, resident memory "
                f"{rss:,.0f} MB in all, checkpoints {sample['checkpoint_mb']}, files {sample['files']}")  # fmt: skip
        load.finish_sending()
    found = trends(samples)
    growing = [t.name for t in found if t.checked and t.grows]
    problems = list(growing)
    if load.shared.ledger.violations:
        problems.append(f"{len(load.shared.ledger.violations)} collector answer(s) it must never give")
    if load.shared.restarts:
        problems.append("process(es) that died and were restarted: " + ", ".join(sorted(load.shared.restarts)))
    if len(samples) < MIN_SAMPLES:
        problems.append(f"{len(samples)} sample(s), fewer than {MIN_SAMPLES}")
    report = {
        "status": "FAIL" if problems else "PASS",
        "growing": growing,
        "problems": problems,
        "minutes": options.minutes,
        "rate_per_s": options.rate,
        "state_ttl_s": options.state_ttl_s,
        "events_sent": len(load.shared.sent),
        "violations": list(load.shared.ledger.violations),
        "restarts_after_a_lost_dependency": dict(load.shared.restarts),
        "trends": [t.__dict__ | {"change": round(t.change, 3)} for t in found],
        "samples": samples,
        "seconds": round(time.monotonic() - began, 1),
    }
    options.report.parent.mkdir(parents=True, exist_ok=True)
    options.report.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report
