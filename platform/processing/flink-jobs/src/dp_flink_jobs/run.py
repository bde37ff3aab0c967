"""Running a speed-layer job: embedded (MiniCluster) until idle for tests and the demo, or submitted to a cluster.

Each job keeps its checkpoints under ``stream.checkpoint_dir`` (default ``.runtime/flink/checkpoints/<job>``) and
always restarts from the newest completed one, so stopping it (``--until-idle``, Ctrl-C, SIGTERM or SIGKILL) and
running it again continues exactly where the last checkpoint left off: Kafka offsets, open windows, pending Iceberg
commits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig
from dp_core.errors import PlatformError
from dp_flink import names
from dp_flink.checkpoints import checkpoint_root, is_local, latest_checkpoint, local_path, reset
from dp_flink.errors import FlinkSetupError, StreamJobFailedError
from dp_flink.failure import LogWatch, root_cause
from dp_flink.lag import group_lag
from dp_flink.session import JobOptions, log_dir, register_decoders, table_environment
from dp_flink.sql import source_table
from dp_flink.state_ttl import StateTtl, describe, set_state_ttl

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment, TableResult

TERMINAL = {"FAILED", "CANCELED", "FINISHED"}


def status_name(status: object) -> str:
    """A job status as its bare name: PyFlink's ``JobStatus`` prints as ``JobStatus.FAILED``."""
    return str(status).rsplit(".", 1)[-1]


@dataclass(frozen=True)
class RunOptions:
    until_idle_s: float | None = None
    remote: str | None = None
    reset: bool = False
    domain: str | None = None
    timeout_s: float | None = None


def job_modules() -> dict[str, ModuleType]:
    from dp_flink_jobs import aggregator, enricher

    return {names.AGGREGATOR: aggregator, names.ENRICHER: enricher}


def domain_contracts(loaded: LoadedConfig, domain: str | None, needed: tuple[str, ...]) -> list[Contract]:
    """The contracts of ``domain`` (or of the one domain that has every contract the job needs)."""
    everything = load_contracts(contracts_dir(loaded.repo_root))
    domains = sorted({c.domain for c in everything})
    if domain is None:
        candidates = [d for d in domains if set(needed) <= {c.name for c in everything if c.domain == d}]
        if len(candidates) != 1:
            raise FlinkSetupError(
                f"cannot tell which domain to run on (candidates: {', '.join(candidates) or 'none'}); pass --domain"
            )
        domain = candidates[0]
    chosen = [c for c in everything if c.domain == domain]
    missing = set(needed) - {c.name for c in chosen}
    if missing:
        raise FlinkSetupError(f"domain {domain!r} lacks the contracts {', '.join(sorted(missing))}")
    return chosen


def execute(
    t_env: TableEnvironment, statements: StatementSet, ttl_s: int, inputs: list[Contract]
) -> tuple[TableResult, list[StateTtl]]:
    """Run ``statements`` from their compiled plan, each state's TTL set first (:mod:`dp_flink.state_ttl`: the
    events' state expires after ``ttl_s``, the reference topics' latest records are kept). PyFlink 2.0.2 has no
    Python API for compiled plans: they go through its Java objects."""
    from pyflink.java_gateway import get_gateway
    from pyflink.table import TableResult

    # catalog tables by identifier only: Iceberg's catalog names a table's primary key anew on each lookup, so a
    # plan holding the schema would not match it when loaded (and the plan then carries no catalog credentials)
    t_env.get_config().set("table.plan.compile.catalog-objects", "IDENTIFIER")
    compiled = statements._j_statement_set.compilePlan().asJsonString()
    reference = [source_table(c) for c in inputs if c.meta.kind == "reference"]
    plan, states = set_state_ttl(compiled, ttl_s * 1000, reference)
    t_env._before_execute()  # what StatementSet.execute does first: the pipeline's jars into the configuration
    j_plan = t_env._j_tenv.loadPlan(get_gateway().jvm.org.apache.flink.table.api.PlanReference.fromJsonString(plan))
    return TableResult(j_plan.execute()), states


def _cause(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("Caused by:")]
    return lines[-1].removeprefix("Caused by:").strip() if lines else (str(exc).splitlines() or [repr(exc)])[0]


def run(loaded: LoadedConfig, job_name: str, options: RunOptions, say: Callable[[str], None]) -> dict[str, Any]:
    modules = job_modules()
    if job_name not in modules:
        raise FlinkSetupError(f"unknown job {job_name!r}; jobs: {', '.join(sorted(modules))}")
    job = modules[job_name]
    settings = loaded.settings
    contracts = domain_contracts(loaded, options.domain, job.NEEDS)
    domain = contracts[0].domain
    name = names.job_name(job_name, domain)
    root = checkpoint_root(loaded, name)
    if options.reset and reset(local_path(root)):
        say(f"{name}: checkpoints reset")
    restored = latest_checkpoint(local_path(root)) if is_local(root) else None
    job_options = JobOptions(
        name=name,
        checkpoint_dir=root,
        checkpoint_interval_s=settings.stream.checkpoint_interval_s,
        restore_from=restored.uri if restored else None,
        remote=options.remote,
        parallelism=settings.stream.parallelism,
    )
    say(f"{name}: starting ({'restoring checkpoint ' + str(restored.checkpoint_id) if restored else 'no checkpoint'})")
    logs = LogWatch(Path(os.environ.get("FLINK_LOG_DIR") or log_dir(loaded)))

    def failed(what: str, exc: BaseException | None) -> StreamJobFailedError:
        """The job's failure with its root cause: from the log first (the client sees only wrappers)."""
        text, path = logs.new_text()
        cause = root_cause(text) or (_cause(exc) if exc is not None else None)
        where = f" (log: {path})" if path is not None else ""
        message = f"{name} {what}: {cause or 'no cause found'}{where}"
        if restored is not None and "Cannot map checkpoint/savepoint state" in message:
            # e.g. a checkpoint of the jobs from before they ran from a compiled plan with state TTLs (README)
            message += "; the checkpoint is of another plan of the job: run it with --reset"
        return StreamJobFailedError(message)

    try:
        t_env = table_environment(loaded, streaming=True, job=job_options)
        register_decoders(t_env, loaded, job.inputs(contracts))
        statements = job.build(t_env, loaded, contracts, name)
        started = time.monotonic()
        result, states = execute(t_env, statements, settings.stream.dedup_ttl_s, job.inputs(contracts))
        client = result.get_job_client()
    except PlatformError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a Java failure while planning or submitting: its cause, no traceback
        raise failed("could not start", exc) from None
    job_id = str(client.get_job_id())
    say(f"{name}: state TTL: {describe(states)}")
    summary: dict[str, Any] = {
        "job": name,
        "job_id": job_id,
        "checkpoints": root,
        "restored_checkpoint": restored.checkpoint_id if restored else None,
        "tables": job.outputs(settings, domain),
    }
    if options.remote:
        say(f"{name}: submitted to {options.remote} as job {job_id}")
        return summary | {"submitted": True}

    stop = {"signal": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    topics = [c.topic for c in job.inputs(contracts)]
    stream = settings.stream
    settle = stream.idle_timeout_s + 2 * stream.checkpoint_interval_s
    idle_since: float | None = None
    last_report = 0.0
    try:
        while True:
            try:
                status = status_name(client.get_job_status().result())
            except Exception as exc:  # noqa: BLE001 -- the MiniCluster shut down after the job gave up
                raise failed("failed", exc) from None
            if status in TERMINAL:
                try:
                    client.get_job_execution_result().result()
                except Exception as exc:  # noqa: BLE001 -- the Java cause is what the user needs
                    raise failed(status.lower(), exc) from None
                raise StreamJobFailedError(f"{name} stopped on its own ({status.lower()})")
            now = time.monotonic()
            if stop["signal"]:
                say(f"{name}: stopping on signal {stop['signal']} (the last checkpoint is kept)")
                break
            if options.timeout_s is not None and now - started > options.timeout_s:
                raise StreamJobFailedError(f"{name} not idle after {options.timeout_s:.0f} s")
            if options.until_idle_s is not None:
                lag = sum(group_lag(settings, name, topics).values())
                if lag == 0:
                    idle_since = idle_since or now
                    if now - idle_since >= max(options.until_idle_s, settle):
                        say(f"{name}: idle for {now - idle_since:.0f} s with everything committed; stopping")
                        break
                else:
                    idle_since = None
                if now - last_report >= 10:
                    say(f"{name}: running {now - started:.0f} s, {lag:,} records behind")
                    last_report = now
            time.sleep(1.0)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        with contextlib.suppress(Exception):  # a MiniCluster already shut down has nothing left to cancel
            if status_name(client.get_job_status().result()) not in TERMINAL:
                client.cancel().result()
    summary["seconds"] = round(time.monotonic() - started, 1)
    latest = latest_checkpoint(local_path(root)) if is_local(root) else None
    summary["last_checkpoint"] = latest.checkpoint_id if latest else None
    return summary


def main(work: Callable[[LoadedConfig], dict[str, Any]], as_json: bool, show: Callable[[dict[str, Any]], None]) -> int:
    """An entry point's frame: the settings from the working directory and ``DP_`` variables, ``work`` on them, its
    result printed as JSON or by ``show``; a platform error becomes ``Error: ...`` on stderr and exit status 1."""
    import json

    from dp_core.config import find_config_dir, load_settings

    try:
        result = work(load_settings(find_config_dir(Path.cwd(), os.environ), os.environ))
    except PlatformError as exc:
        print(f"Error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    if as_json:
        print(json.dumps(result))  # noqa: T201
    else:
        show(result)
    return 0


def main_run(job_name: str, options: RunOptions, as_json: bool) -> int:
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)  # noqa: T201 -- progress goes to stderr

    def table(summary: dict[str, Any]) -> None:
        for key, value in summary.items():
            print(f"{key:20} {value}")  # noqa: T201

    return main(lambda loaded: run(loaded, job_name, options, say), as_json, table)
