"""``dp demo``: the whole Lambda flow on the local stack, with a reconciliation report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from dp_core.cli import CliContext, pass_cli
from dp_demo.errors import ReconciliationFailed


def render_lines(lines: list[dict[str, Any]], *, subject: int, number: int) -> list[str]:
    """The PASS/FAIL lines of a report as a table (column widths of the subject and of the numbers)."""
    out = [f"  {'':6}{'layer':<24}{'subject':<{subject}}{'expected':>{number}}{'observed':>{number}}  detail"]
    for line in lines:
        observed = "-" if line["observed"] is None else line["observed"]
        out.append(
            f"  {line['status']:<6}{line['layer']:<24}{line['subject']:<{subject}}{line['expected']!s:>{number}}"
            f"{observed!s:>{number}}  {line['detail']}"
        )
    return out


def render(report: dict[str, Any]) -> str:
    """The report as text: what was sent, every reconciled line, the windows, throughput, latency, where to look."""
    out: list[str] = []
    w = report["workload"]
    out.append(
        f"DTHEINFRA demo -- workload {w['id']} (seed {w['seed']}, {w['count']:,} events from {w['start']}, "
        f"{w['rate_per_s']:,.0f}/s), domain {w['domain']}"
    )
    out.append("")
    out.append("Sent (the simulator's manifest)")
    out.append(f"  {'contract':<20}{'sent':>8}{'valid':>8}{'dups':>8}{'late':>8}{'malformed':>11}")
    for name, c in sorted(report["sent"].items()):
        out.append(
            f"  {name:<20}{c['sent']:>8,}{c['valid_unique']:>8,}{c['duplicates']:>8,}{c['late']:>8,}"
            f"{c['malformed']:>11,}"
        )
    out.append("")
    out.append("Reconciliation (expected from the manifest, observed in each layer)")
    out += render_lines(report["lines"], subject=40, number=12)
    windows = report["windows"]
    out.append("")
    out.append("Speed layer vs batch layer: orders per closed 1-minute window (difference = batch - speed)")
    out.append(f"  {'window (UTC)':<27}{'cur':<5}{'speed':>7}{'batch':>7}{'diff':>6}{'late':>6}"
               f"{'speed revenue':>15}{'batch revenue':>15}{'diff':>10}")  # fmt: skip
    shown = windows if len(windows) <= 12 else [*windows[:6], None, *windows[-5:]]
    for win in shown:
        if win is None:
            out.append(f"  ... {len(windows) - 11} more windows in the JSON report")
            continue
        out.append(
            f"  {win['window_start'][:19]:<27}{win['currency']:<5}{win['speed']['orders']:>7}"
            f"{win['batch']['orders']:>7}{win['difference']['orders']:>6}{win['late']['orders']:>6}{win['speed']['revenue']:>15}"
            f"{win['batch']['revenue']:>15}{win['difference']['revenue']:>10}  {win['status']}"
        )
    t = report["throughput"]
    out.append("")
    out.append("Throughput")
    p = t["producer"]
    out.append(
        f"  producer      {p['records_sent_this_run']:>8,} records in {p['seconds']:>6.1f} s  "
        f"({p['records_per_s']:,}/s; {p['already_in_kafka']:,} already in Kafka)"
    )
    for job, s in t["speed_layer"].items():
        out.append(
            f"  {job:<13} ran {s['seconds']:>6.1f} s until caught up and idle (checkpoint {s['last_checkpoint']})"
        )
    for layer, s in t["batch_layer"].items():
        out.append(
            f"  {layer:<13} {s['rows_read']:>8,} rows read in {s['seconds']:>6.1f} s ({s['rows_read_per_s']:,}/s), "
            f"{s['tables_committed']} table(s) committed"
        )
    lat = report["latency"]
    out.append("")
    if lat.get("orders_measured"):
        out.append(
            f"Speed-layer latency (event -> queryable in Iceberg, {lat['orders_measured']:,} orders): "
            f"p50 {lat['p50_s']} s, p95 {lat['p95_s']} s, max {lat['max_s']} s "
            f"(checkpoint interval {lat['checkpoint_interval_s']} s)"
        )
    else:
        out.append("Speed-layer latency: no order sent by this workload has a recorded hand-off time")
    served = report.get("serving", {})
    fresh = served.get("freshness") or {}
    if fresh:
        out.append("")
        out.append(
            f"Data API ({served['url']}): revenue final up to {fresh.get('boundary') or '-'} (Gold watermark "
            f"{fresh.get('gold_watermark') or '-'}), provisional up to the speed watermark "
            f"{fresh.get('speed_watermark') or '-'}"
        )
    look = report["where_to_look"]
    out.append("")
    out.append("Where to look next")
    for kind, tables in look["tables"].items():
        out.append(f"  {kind:<11} {', '.join(tables)}")
    out.append(f"  dead letters {', '.join(look['dead_letter_topics'])}")
    for name, address in look["services"].items():
        out.append(f"  {name:<28} {address}")
    for command in look["commands"]:
        out.append(f"  {command}")
    out.append("")
    out.append(
        f"{report['status']}: {report['passed']} line(s) reconciled, {report['failed']} failed; "
        f"{report['seconds']:.0f} s in all"
    )
    return "\n".join(out)


@click.command("demo")
@click.option("--events", type=click.IntRange(min=100), help="Events to send (default: demo.events).")
@click.option("--rate", type=click.FloatRange(min=1), help="Events per second (default: demo.rate).")
@click.option("--seed", type=int, help="Simulator seed (default: demo.seed).")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="UTC day the events start on (default: today); the same day, seed and size resume the same workload.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DEMO_REPORT",
    help="Where the JSON report goes (default: demo.report; env DEMO_REPORT).",
)
@click.option("--reset", is_flag=True, help="First clear the demo domain's topics, tables and checkpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
@pass_cli
def demo_cmd(
    cli: CliContext,
    events: int | None,
    rate: float | None,
    seed: int | None,
    day: dt.datetime | None,
    report: Path | None,
    reset: bool,
    as_json: bool,
) -> None:
    """The whole Lambda flow on the local stack, reconciled: start the core stack if needed, create topics,
    contracts and namespaces, start the speed layer (PyFlink enricher and aggregator), send a seeded simulator
    workload (with late, duplicate and malformed events), run the batch layer (Bronze -> Silver -> Gold), then
    reconcile every layer with what was sent and print the report (also written as JSON).

    Exits 0 when every line reconciles, 3 when one does not, 1 when a stage fails. Running it again resumes or
    repeats the same workload (the same day, seed and size): only what Kafka lacks is sent. It owns the
    demo.domain topics and tables on the local stack; --reset clears them.
    """
    from dp_demo.run import DemoOptions, run_demo
    from dp_demo.workload import Workload

    loaded = cli.load()
    demo = loaded.settings.demo
    overrides = {k: v for k, v in (("events", events), ("rate", rate), ("seed", seed)) if v is not None}
    demo = demo.model_copy(update=overrides)
    the_day = day.date() if day else dt.datetime.now(dt.UTC).date()
    if report is not None:
        path = report if report.is_absolute() else cli.cwd / report
    else:
        path = Path(demo.report) if Path(demo.report).is_absolute() else loaded.repo_root / demo.report
    options = DemoOptions(
        workload=Workload.from_settings(demo, the_day),
        domain=demo.domain,
        report=path,
        reset=reset,
        stage_timeout_s=demo.stage_timeout_s,
    )
    result = run_demo(loaded, options, dict(cli.environ), lambda line: click.echo(line, err=True))
    emit(result, path, render(result), as_json, f"{result['failed']} line(s) of the report do not reconcile")


def emit(result: dict[str, Any], path: Path, text: str, as_json: bool, failure: str) -> None:
    """Print a run's report (JSON or ``text``), say where its file is; exit 3 with ``failure`` unless it passed."""
    click.echo(json.dumps(result, indent=2, default=str) if as_json else text)
    click.echo(f"report written to {path}", err=True)
    if result["status"] != "PASS":
        raise ReconciliationFailed(failure)
