"""``dp stream run|submit|status|watch|commits``: the speed layer from the main environment.

The jobs run in the speed layer's own environment (``.runtime/venvs/flink-jobs``): ``run`` and ``submit`` start
``python -m dp_flink_jobs run ...`` there; ``status`` and ``watch`` ask the session cluster's REST API (``watch``
also the jobs' consumer lag, :mod:`dp_flink.watch`).
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from typing import Any

import click

from dp_core.cli import CliContext, pass_cli
from dp_core.config import LoadedConfig
from dp_flink.checkpoints import checkpoints_base, is_local, latest_checkpoint, local_path
from dp_flink.errors import FlinkSetupError, SpeedLayerUnhealthyError, StreamJobFailedError
from dp_flink.launch import flink_python, job_args
from dp_flink.names import AGGREGATOR, ENRICHER


def cluster_address(loaded: LoadedConfig) -> str:
    return f"127.0.0.1:{loaded.settings.local.flink.ui_port}"


def _exec(cli: CliContext, args: list[str], what: str = "job") -> None:
    loaded = cli.load()
    env = dict(cli.environ)
    env.setdefault("DP_CONFIG_DIR", str(cli.config_dir()))
    if cli.env:
        env["DP_ENV"] = cli.env
    result = subprocess.run([str(flink_python(loaded)), *args], cwd=cli.cwd, env=env, check=False)
    if result.returncode != 0:
        raise StreamJobFailedError(f"the {args[3]} {what} exited with status {result.returncode} (see above)")


@click.group("stream")
def stream_group() -> None:
    """The speed layer on PyFlink: the event enricher and the real-time aggregator, exactly once into Iceberg."""


_job = click.argument("job", type=click.Choice((ENRICHER, AGGREGATOR)))
_domain = click.option("--domain", help="Contract domain (default: the one domain with the job's contracts).")
_reset = click.option("--reset", is_flag=True, help="Forget the job's checkpoints first (start from the group).")
_json = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")


@stream_group.command("run")
@_job
@click.option("--until-idle", type=click.FloatRange(min=0), metavar="SECONDS", help="Stop once caught up this long.")
@click.option("--timeout", type=click.FloatRange(min=1), metavar="SECONDS", help="Fail if not idle after this long.")
@_domain
@_reset
@_json
@pass_cli
def run_cmd(
    cli: CliContext,
    job: str,
    until_idle: float | None,
    timeout: float | None,
    domain: str | None,
    reset: bool,
    as_json: bool,
) -> None:
    """Run JOB embedded (a Flink MiniCluster in this process tree), restarting from its latest checkpoint.

    Without --until-idle it runs until Ctrl-C or SIGTERM; with it, it stops once every input record is committed
    to Iceberg and nothing new arrived for SECONDS (at least the idle timeout plus two checkpoint intervals).
    """
    args = job_args(job, domain, reset=reset, as_json=as_json)
    if until_idle is not None:
        args += ["--until-idle", str(until_idle)]
    if timeout is not None:
        args += ["--timeout", str(timeout)]
    _exec(cli, args)


@stream_group.command("submit")
@_job
@click.option("--cluster", metavar="HOST:PORT", help="Session cluster REST address (default: the local one).")
@_domain
@_reset
@_json
@pass_cli
def submit_cmd(cli: CliContext, job: str, cluster: str | None, domain: str | None, reset: bool, as_json: bool) -> None:
    """Submit JOB to the session cluster started by `make local-up` (detached; `dp stream status` follows it)."""
    address = cluster or cluster_address(cli.load())
    _get_json(f"http://{address}/overview")  # a clear error when no cluster is there
    _exec(cli, [*job_args(job, domain, reset=reset, as_json=as_json), "--remote", address])


def _get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 -- a configured local address
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FlinkSetupError(
            f"no Flink session cluster answers at {url} ({exc}); start it with `make local-up`"
        ) from None


@stream_group.command("status")
@click.option("--cluster", metavar="HOST:PORT", help="Session cluster REST address (default: the local one).")
@_json
@pass_cli
def status_cmd(cli: CliContext, cluster: str | None, as_json: bool) -> None:
    """List the session cluster's jobs, and the embedded jobs' latest checkpoints on this machine."""
    loaded = cli.load()
    base = checkpoints_base(loaded)
    root = local_path(base) if is_local(base) else None
    local = {}
    for folder in sorted(root.glob("*")) if root is not None and root.is_dir() else []:
        chk = latest_checkpoint(folder)
        local[folder.name] = chk.checkpoint_id if chk else None
    address = cluster or cluster_address(loaded)
    try:
        jobs = _get_json(f"http://{address}/jobs/overview").get("jobs", [])
    except FlinkSetupError as exc:
        jobs, cluster_error = [], str(exc)
    else:
        cluster_error = ""
    if as_json:
        click.echo(json.dumps({"cluster": address, "jobs": jobs, "cluster_error": cluster_error, "checkpoints": local}))
        return
    click.echo(f"session cluster {address}: " + (cluster_error or f"{len(jobs)} job(s)"))
    for j in jobs:
        click.echo(f"  {j.get('jid', '?')}  {j.get('state', '?'):<10} {j.get('name', '?')}")
    click.echo(f"embedded jobs' checkpoints ({root}):")
    for name, chk_id in local.items():
        click.echo(f"  {name:<40} latest checkpoint {chk_id if chk_id is not None else '-'}")
    if not local:
        click.echo("  none")


@stream_group.command("watch")
@click.option("--cluster", metavar="HOST:PORT", help="Session cluster REST address (default: the local one).")
@_domain
@click.option("--restart", is_flag=True, help="Submit a job that is not running again (from its newest checkpoint).")
@click.option("--max-lag", type=click.IntRange(min=0), help="Records a job may trail (default: orchestration.watch).")
@click.option(
    "--max-checkpoint-age-s", type=click.FloatRange(min=0), help="Seconds (default: orchestration.watch)."
)  # fmt: skip
@_json
@pass_cli
def watch_cmd(
    cli: CliContext,
    cluster: str | None,
    domain: str | None,
    restart: bool,
    max_lag: int | None,
    max_checkpoint_age_s: float | None,
    as_json: bool,
) -> None:
    """Check both speed-layer jobs on the session cluster: running, consumer lag, newest checkpoint's age.

    Exits 1 (naming each problem) when a job is not running (unless --restart submitted it again: it restores from
    its newest checkpoint), trails its topics by more than --max-lag records, or its newest completed checkpoint is
    older than --max-checkpoint-age-s. Prints one line (or JSON object) per job.
    """
    import time

    from dp_flink.lag import group_lag
    from dp_flink.names import JOB_INPUTS, job_name
    from dp_flink.watch import JobHealth, newest_job, problems

    loaded = cli.load()
    limits = loaded.settings.orchestration.watch
    address = cluster or cluster_address(loaded)
    jobs = _get_json(f"http://{address}/jobs/overview").get("jobs", [])
    chosen = domain or loaded.settings.demo.domain
    now_ms = time.time() * 1000
    report = []
    for job in (ENRICHER, AGGREGATOR):
        name = job_name(job, chosen)
        found = newest_job(jobs, name)
        state = str(found.get("state", "UNKNOWN")) if found else "MISSING"
        age = None
        if found and state == "RUNNING":
            latest = _get_json(f"http://{address}/jobs/{found['jid']}/checkpoints").get("latest", {}) or {}
            completed = latest.get("completed") or {}
            if completed.get("latest_ack_timestamp"):
                age = max(0.0, (now_ms - completed["latest_ack_timestamp"]) / 1000)
        topics = [f"{chosen}.{contract}.v1" for contract in JOB_INPUTS[job]]
        lag = sum(group_lag(loaded.settings, name, topics).values())
        restarted = False
        if state != "RUNNING" and restart:
            click.echo(f"{name} is {state.lower()}: submitting it again from its newest checkpoint", err=True)
            _exec(cli, [*job_args(job, chosen, reset=False, as_json=False), "--remote", address])
            restarted = True
        report.append(JobHealth(job, name, state, lag, age, restarted))
    for health in report:
        if as_json:
            click.echo(json.dumps(health.as_dict()))
        else:
            age_text = f"{health.checkpoint_age_s:.0f} s" if health.checkpoint_age_s is not None else "-"
            click.echo(
                f"{health.name:<40} {health.state:<10} lag {health.lag:>9,}  checkpoint age {age_text}"
                + ("  (restarted)" if health.restarted else "")
            )
    found_problems = problems(
        report,
        limits.max_consumer_lag if max_lag is None else max_lag,
        limits.max_checkpoint_age_s if max_checkpoint_age_s is None else max_checkpoint_age_s,
    )
    if found_problems:
        raise SpeedLayerUnhealthyError("the speed layer is unhealthy: " + "; ".join(found_problems))


@stream_group.command("commits")
@_job
@click.option("--last", type=click.IntRange(min=1), default=5, show_default=True, help="How many checkpoints.")
@_domain
@_json
@pass_cli
def commits_cmd(cli: CliContext, job: str, last: int, domain: str | None, as_json: bool) -> None:
    """JOB's newest checkpoints that committed: each output table's snapshot (its summary carries the checkpoint
    id) and the Kafka offsets and watermark it holds, from the job's progress table at the same checkpoint."""
    args = ["-m", "dp_flink_jobs", "commits", job, "--last", str(last)]
    if domain:
        args += ["--domain", domain]
    if as_json:
        args.append("--json")
    _exec(cli, args, "commits report")


@stream_group.command("bench")
@click.option("--rate", type=click.FloatRange(min=1), default=5000, show_default=True, help="Orders per second.")
@click.option("--seconds", type=click.FloatRange(min=5), default=60, show_default=True, help="Measured seconds.")
@click.option("--warmup", type=click.FloatRange(min=0), default=15, show_default=True, help="Unmeasured seconds first.")
@click.option(
    "--checkpoint-interval", type=click.FloatRange(min=0.5), help="Seconds (default: stream.checkpoint_interval_s)."
)
@click.option("--keep", is_flag=True, help="Leave the bench's topics and tables in place afterwards.")
@_json
@pass_cli
def bench_cmd(
    cli: CliContext,
    rate: float,
    seconds: float,
    warmup: float,
    checkpoint_interval: float | None,
    keep: bool,
    as_json: bool,
) -> None:
    """Orders at RATE/s through the event enricher: throughput and event-to-queryable latency (p50/p95/p99) next to
    the checkpoint interval. Uses topics and tables of its own (dropped afterwards unless --keep); needs the core
    stack (`make local-up-core`)."""
    from dp_flink.bench import run

    def say(line: str) -> None:
        click.echo(line, err=True)

    result = run(cli.load(), rate, seconds, warmup, checkpoint_interval, say, dict(cli.environ), keep)
    if as_json:
        click.echo(json.dumps(result))
        return
    for key, value in result.items():
        click.echo(f"{key:32} {value}")
