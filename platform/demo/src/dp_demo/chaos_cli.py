"""``dp chaos``: kill -9 the platform's components one by one under load, then reconcile every layer exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dp_core.cli import CliContext, pass_cli
from dp_demo.chaos_plan import COMPONENTS, render_figures
from dp_demo.cli import emit, render_lines

F = TypeVar("F", bound=Callable[..., Any])


def report_options(run: str) -> Callable[[F], F]:
    """``--report`` (default ``<runtime>/<run>/report.json``) and ``--json``."""

    def decorate(command: F) -> F:
        command = click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")(
            command
        )
        return click.option(
            "--report",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Where the JSON report goes (default: <runtime>/{run}/report.json).",
        )(command)

    return decorate


def report_path(cli: CliContext, report: Path | None, default: Path) -> Path:
    if report is None:
        return default
    return report if report.is_absolute() else cli.cwd / report


def render(report: dict[str, Any]) -> str:
    out = [
        f"DTHEINFRA chaos run -- seed {report['seed']}, {report['rounds']} round(s), {report['events_sent']:,} events "
        f"sent at {report['rate_per_s']:,.0f}/s through the collector",
        "",
        "Faults (kill -9, then a restart)",
        f"  {'round':>5}  {'component':<22}{'at s':>8}{'down s':>8}{'back in s':>11}  note",
    ]
    for f in report["faults"]:
        name = f["component"] + (f" ({f['target']})" if f["target"] else "")
        back = "-" if f["recovery_s"] is None else f"{f['recovery_s']:.1f}"
        out.append(f"  {f['round']:>5}  {name:<22}{f['at_s']:>8.1f}{f['down_s']:>8.1f}{back:>11}  {f['note']}")
    out += ["", "Per component", *render_figures(report["figures"])]
    restarts = report["restarts_after_a_lost_dependency"]
    if restarts:
        out.append("  restarted after losing a dependency: " + ", ".join(f"{k} {v}x" for k, v in restarts.items()))
    b = report["batch_runs"]
    out.append(f"  batch runs during the faults: {b['completed']} completed, {b['failed_or_killed']} failed or killed")
    out += ["", "Reconciliation (what the collector acknowledged, observed in each layer)"]
    out += render_lines(report["lines"], subject=48, number=10)
    out += ["", f"{report['status']}: {report['passed']} line(s) reconciled, {report['failed']} failed; "
            f"{report['seconds']:.0f} s in all"]  # fmt: skip
    return "\n".join(out)


@click.command("chaos")
@click.option("--rounds", type=click.IntRange(min=1), default=10, show_default=True, help="Faults to inject.")
@click.option("--seed", type=int, help="Seeds the fault order and the simulator (default: demo.seed).")
@click.option("--rate", type=click.FloatRange(min=1), default=150.0, show_default=True, help="Events per second.")
@click.option(
    "--components",
    default=",".join(COMPONENTS),
    show_default=True,
    help="Comma-separated components the rounds kill, each once per pass in a seeded order.",
)
@click.option("--settle", type=click.FloatRange(min=0), default=8.0, show_default=True,
              help="Seconds between a component's recovery and the next fault.")  # fmt: skip
@report_options("chaos")
@pass_cli
def chaos_cmd(
    cli: CliContext,
    rounds: int,
    seed: int | None,
    rate: float,
    components: str,
    settle: float,
    report: Path | None,
    as_json: bool,
) -> None:
    """Kill -9 the platform's components under load, one per round, and reconcile every layer exactly.

    Resets the demo domain (demo.domain: its topics, tables, checkpoints), starts the core stack if needed, the
    HTTP collector, both speed-layer jobs and a loop of `dp batch run all`, and sends the shop simulator's stream
    through the collector. Each round kills one of kafka, s3, postgres, catalog, registry, collector, flink (a job)
    or spark (the running batch job) with SIGKILL, restarts it after 2-6 s and waits until it is healthy. Then the
    speed layer catches up, the batch layer runs once more and the report checks: every event a 202 acknowledged is
    in Kafka exactly once, dead letters and rejects equal the malformed events, Silver holds each valid event once,
    the speed tables and Gold reconcile, and the collector never answered 500 or not at all.

    Exits 0 when every line reconciles, 3 when one does not, 1 when the run itself fails.
    """
    from dp_demo.chaos import ChaosOptions, run_chaos

    loaded = cli.load()
    demo = loaded.settings.demo
    path = report_path(cli, report, loaded.runtime_dir / "chaos" / "report.json")
    try:
        options = ChaosOptions(
            seed=demo.seed if seed is None else seed,
            rounds=rounds,
            components=tuple(c.strip() for c in components.split(",") if c.strip()),
            rate=rate,
            late=demo.late,
            duplicates=demo.duplicates,
            malformed=demo.malformed,
            domain=demo.domain,
            report=path,
            settle_s=settle,
            stage_timeout_s=demo.stage_timeout_s,
        )
        from dp_demo.chaos_plan import plan

        plan(options.seed, options.rounds, options.components)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--components") from None
    result = run_chaos(loaded, options, dict(cli.environ), lambda line: click.echo(line, err=True))
    emit(result, path, render(result), as_json, f"{result['failed']} line(s) of the chaos report do not reconcile")


def render_soak(report: dict[str, Any]) -> str:
    from dp_demo.soak_plan import Trend, render_trends

    trends = [Trend(**{k: v for k, v in t.items() if k != "change"}) for t in report["trends"]]
    out = [
        f"DTHEINFRA soak run -- {report['minutes']:g} minute(s) at {report['rate_per_s']:,.0f} events/s "
        f"(state TTL {report['state_ttl_s']} s), "
        f"{report['events_sent']:,} events sent, {len(report['samples'])} sample(s)",
        "",
        "After the warm-up (the first third): each series' mean over the first and the second half",
        *render_trends(trends),
        "",
        "Files are reported, not judged: without table maintenance every checkpoint and batch run adds files.",
    ]
    if report["violations"]:
        out.append(f"collector answers it must never give: {len(report['violations'])}")
    verdict = "every judged series flat" if report["status"] == "PASS" else "; ".join(report["problems"])
    out.append(f"{report['status']}: {verdict}; {report['seconds']:.0f} s in all")
    return "\n".join(out)


@click.command("soak")
@click.option("--minutes", type=click.FloatRange(min=1), default=30.0, show_default=True, help="How long to run.")
@click.option("--rate", type=click.FloatRange(min=1), default=100.0, show_default=True, help="Events per second.")
@click.option("--sample", "sample_s", type=click.FloatRange(min=5), default=60.0, show_default=True,
              help="Seconds between two samples.")  # fmt: skip
@click.option("--state-ttl", "state_ttl_s", type=click.IntRange(min=1), default=300, show_default=True,
              help="The speed layer's state TTL (stream.dedup_ttl_s) for the run, in seconds.")  # fmt: skip
@click.option("--seed", type=int, help="Simulator seed (default: demo.seed).")
@report_options("soak")
@pass_cli
def soak_cmd(
    cli: CliContext,
    minutes: float,
    rate: float,
    sample_s: float,
    state_ttl_s: int,
    seed: int | None,
    report: Path | None,
    as_json: bool,
) -> None:
    """Run the platform at a steady rate and show that its state stays bounded.

    Resets the demo domain (demo.domain), starts the core stack if needed, the HTTP collector, both speed-layer
    jobs and a loop of `dp batch run all` (a run a minute), and sends the simulator's stream through the collector.
    Every --sample seconds it records each process's resident memory, each Flink job's checkpoint size and the
    files of each layer's tables. The speed layer runs with a short state TTL (--state-ttl) so that its state
    reaches its bound within the warm-up. After the first third, memory and checkpoint sizes must stay flat: the
    second half's mean at most 10 % above the first half's (plus 64 MB of memory, 2 MB of checkpoint). File counts
    are reported.

    Exits 0 when every judged series is flat, 3 when one grows, the collector answered 500 or not at all, or a
    process died and was restarted; 1 when the run fails (or is too short for 6 samples).
    """
    from dp_demo.soak import SoakOptions, run_soak

    loaded = cli.load()
    demo = loaded.settings.demo
    path = report_path(cli, report, loaded.runtime_dir / "soak" / "report.json")
    options = SoakOptions(
        minutes=minutes,
        rate=rate,
        sample_s=sample_s,
        state_ttl_s=state_ttl_s,
        seed=demo.seed if seed is None else seed,
        domain=demo.domain,
        report=path,
        stage_timeout_s=demo.stage_timeout_s,
    )
    result = run_soak(loaded, options, dict(cli.environ), lambda line: click.echo(line, err=True))
    emit(result, path, render_soak(result), as_json, "the soak run failed: " + "; ".join(result["problems"]))
