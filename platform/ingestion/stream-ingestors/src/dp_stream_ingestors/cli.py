"""`dp ingest topics|simulate|replay|serve`."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import click

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.cli import CliContext, pass_cli
from dp_core.config import LoadedConfig
from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.producer import DeliveryStats, EventProducer
from dp_ingest.topics import provision, topic_specs
from dp_stream_ingestors.errors import IngestRunError


def _contracts(loaded: LoadedConfig) -> list[Contract]:
    return load_contracts(contracts_dir(loaded.repo_root))


class Progress:
    """A status line on a terminal (rewritten in place), a line every few seconds otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.began = time.monotonic()
        self.last = 0.0

    def update(self, sent: int, stats: DeliveryStats, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        rate = sent / max(now - self.began, 1e-9)
        line = (
            f"{self.label}: {sent:,} sent ({rate:,.0f}/s), {stats.accepted:,} accepted, {stats.rejected:,} "
            f"dead-lettered, {stats.delivered + stats.dead_letters_delivered:,} delivered"
        )
        click.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)


def _finish(producer: EventProducer, label: str, timeout: float = 120.0) -> DeliveryStats:
    remaining = producer.flush(timeout)
    stats = producer.stats
    if remaining or stats.failed:
        details = "; ".join(stats.failures[:5])
        raise IngestRunError(
            f"{label}: {stats.failed} record(s) failed and {remaining} still undelivered after {timeout:.0f} s"
            + (f": {details}" if details else "")
        )
    return stats


@click.group("ingest")
def ingest_group() -> None:
    """The front door to Kafka: topics from the contracts, the shop simulator, file replay, the HTTP collector."""


@ingest_group.command("topics")
@pass_cli
def topics(cli: CliContext) -> None:
    """Create the topic of every contract and its <topic>.dlq (idempotent): partitions and retention from config,
    reference data compacted."""
    settings = cli.settings
    specs = topic_specs(_contracts(cli.load()), settings)
    result = provision(settings, specs)
    for spec in specs:
        state = "created" if spec.name in result.created else "exists"
        click.echo(f"{spec.name:<42} {spec.role:<13} partitions {spec.partitions}  {state}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@ingest_group.command("simulate")
@click.option("--count", type=click.IntRange(min=1), help="Events to send (all kinds together).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Seconds to run (instead of --count).")
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), help="Events per second (default: as fast as possible)."
)
@click.option("--seed", type=int, required=True, help="The same seed (and --start) gives the same events and ids.")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
    help="Event time of the first event (default: now, UTC, whole seconds).",
)
@click.option("--late", type=click.FloatRange(0, 1), default=0.0, show_default=True, help="Fraction sent late.")
@click.option(
    "--duplicates",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction that are exact re-sends.",
)
@click.option(
    "--malformed",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction that break their contract (they go to the dead-letter topics).",
)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), help="Write the manifest (JSON) here.")
@pass_cli
def simulate_cmd(
    cli: CliContext,
    count: int | None,
    duration: float | None,
    rate: float | None,
    seed: int,
    start: dt.datetime | None,
    late: float,
    duplicates: float,
    malformed: float,
    manifest: Path | None,
) -> None:
    """Send believable shop sessions (browse -> cart -> order -> payment, with abandonment) to Kafka."""
    from dp_simulator import ManifestBuilder, SimulationConfig, simulate, write_manifest

    if (count is None) == (duration is None):
        raise click.UsageError("give exactly one of --count and --duration")
    if late + duplicates + malformed > 1:
        raise click.UsageError("--late, --duplicates and --malformed add up to more than 1")
    loaded = cli.load()
    settings = cli.settings
    when = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    config = SimulationConfig(seed=seed, count=count, start=when, late=late, duplicates=duplicates, malformed=malformed)
    producer = EventProducer(settings, _contracts(loaded))
    builder = ManifestBuilder(config)
    progress = Progress("simulate")
    began = time.monotonic()
    deadline = began + duration if duration else None
    sent, mismatches = 0, []
    for event in simulate(config):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if rate is not None:
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        source = Source("simulator", {"seq": event.seq})
        if event.raw is not None:
            producer.reject(event.contract, [FieldError("", "not_json", "the body is not JSON")], source, raw=event.raw)
            errors: tuple[FieldError, ...] = (FieldError("", "not_json", ""),)
        else:
            errors = producer.send(event.contract, event.payload, source)
        if bool(errors) != (event.kind == "malformed"):
            mismatches.append(f"seq {event.seq} ({event.contract}, {event.kind}): {errors or 'accepted'}")
        builder.add(event)
        sent += 1
        if sent % 1024 == 0:
            producer.poll(0)
            progress.update(sent, producer.stats)
    progress.update(sent, producer.stats, force=True)
    progress.done()
    stats = _finish(producer, "simulate")
    elapsed = time.monotonic() - began
    if manifest is not None:
        write_manifest(manifest, builder)
    summary = {
        "sent": sent,
        "accepted": stats.accepted,
        "dead_lettered": stats.rejected,
        "delivered": stats.delivered,
        "dead_letters_delivered": stats.dead_letters_delivered,
        "seconds": round(elapsed, 2),
        "events_per_second": round(sent / elapsed) if elapsed else None,
        "manifest": str(manifest) if manifest else None,
    }
    click.echo(json.dumps(summary))
    if mismatches:
        raise IngestRunError(
            f"{len(mismatches)} event(s) were judged differently than the simulator meant: " + "; ".join(mismatches[:5])
        )


@ingest_group.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contract", help="Every line is an event of this contract (else lines are {contract, event}).")
@pass_cli
def replay_cmd(cli: CliContext, file: Path, contract: str | None) -> None:
    """Send a JSON-lines FILE through the same parsing, validation and dead-letter rules as the collector; a bad
    line (not JSON, too deep, too large, breaking its contract) is dead-lettered and reported by line number."""
    from dp_stream_ingestors.replay import replay

    loaded = cli.load()
    producer = EventProducer(cli.settings, _contracts(loaded))
    if contract is not None:
        producer.contract(contract)  # unknown contract: a clear error before reading the file
    progress = Progress("replay")
    try:
        report = replay(producer, file, contract, progress=lambda r: progress.update(r.lines, producer.stats))
    except IngestRunError:
        # Kafka or the registry failed part-way: what was handed to the producer still goes out before the error
        progress.done()
        producer.flush(120.0)
        raise
    progress.done()
    _finish(producer, "replay")
    for number, reason in report.rejected:
        click.echo(f"{file}:{number}: dead-lettered: {reason}", err=True)
    for number, reason in report.unroutable:
        click.echo(f"{file}:{number}: not sent: {reason}", err=True)
    click.echo(
        json.dumps(
            {
                "lines": report.lines,
                "accepted": report.accepted,
                "dead_lettered": len(report.rejected),
                "not_sent": len(report.unroutable),
            }
        )
    )
    if report.unroutable:
        raise IngestRunError(f"{len(report.unroutable)} line(s) could not be routed to a contract (see above)")


@ingest_group.command("serve")
@pass_cli
def serve_cmd(cli: CliContext) -> None:
    """Run the HTTP collector: POST /v1/events/{contract} (JSON array or NDJSON), /healthz, /metrics."""
    from dp_stream_ingestors.collector import serve

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    code = serve(cli.load())
    if code:
        raise SystemExit(code)


@ingest_group.command("bench")
@click.option("--events", type=click.IntRange(min=1000), default=200_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON only.")
@pass_cli
def bench_cmd(cli: CliContext, events: int, seed: int, as_json: bool) -> None:
    """Events/s of the simulator through the producer core vs Kafka's ProducerPerformance, same broker and size."""
    from dp_stream_ingestors.bench import run

    cli.settings  # noqa: B018 -- builds the settings and configures logging once
    figures = run(cli.load(), events, seed)
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(f"events per run            {figures['events']:>12,}   (record size {figures['record_bytes']} bytes)")
    click.echo(f"python simulate+send      {figures['python_pipeline_per_s']:>12,} /s")
    click.echo(f"python send (pregenerated){figures['python_send_per_s']:>12,} /s")
    click.echo(f"java ProducerPerformance  {figures['java_per_s']:>12,} /s")
    click.echo(
        f"ratio python/java          {figures['ratio_pipeline_to_java']:>11}"
        f" (send only {figures['ratio_send_to_java']})"
    )
    target = figures["target_per_s"]
    click.echo(
        f"target {target:,} validated, Avro-encoded events/s: send {figures['python_send_per_s'] / target:.0%},"
        f" simulate+send {figures['python_pipeline_per_s'] / target:.0%}"
    )
