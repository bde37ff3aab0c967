"""Sending the workload: every event not yet in Kafka, at the configured rate, through the platform's producer
(contract validation, Confluent wire format, dead letters), each record tagged with the workload id and its
sequence number. The hand-off time of each order is kept so the speed layer's latency can be measured later."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_demo.errors import DemoError
from dp_demo.workload import Workload
from dp_ingest.dlq import Source
from dp_ingest.errors import FieldError
from dp_ingest.producer import EventProducer


@dataclass(frozen=True)
class ProduceResult:
    sent: int  # records sent by this run (events and dead letters)
    already_in_kafka: int  # events of the workload found in Kafka before this run (a resumed or repeated demo)
    dead_lettered: int  # of ``sent``: rejected by the producer, into the dead-letter topics
    seconds: float

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def load_handoffs(path: Path) -> dict[str, float]:
    """order event id -> wall-clock time it was handed to the producer (the first time, over resumed runs)."""
    found: dict[str, float] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill
            found.setdefault(str(row["id"]), float(row["t"]))
    return found


def send_missing(
    settings: PlatformSettings,
    contracts: list[Contract],
    workload: Workload,
    delivered: Collection[int],
    handoff_file: Path,
    say: Callable[[str], None],
) -> ProduceResult:
    """Send each event of the workload whose sequence number is not in ``delivered``, in order, at the rate."""
    producer = EventProducer(settings, contracts)
    handoff_file.parent.mkdir(parents=True, exist_ok=True)
    pending: list[str] = []
    sent = skipped = dead = 0
    began = last_say = time.monotonic()
    total = workload.config.count or 0
    with handoff_file.open("a", encoding="utf-8") as handoffs:
        for event in workload.events():
            if event.seq in delivered:
                skipped += 1
                continue
            ahead = sent / workload.rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
            source = Source("demo", {"workload": workload.id, "seq": event.seq})
            headers = workload.headers(event.seq)
            if event.raw is not None:
                errors: tuple[FieldError, ...] = (FieldError("", "not_json", "the body is not JSON"),)
                producer.reject(event.contract, list(errors), source, raw=event.raw, headers=headers)
            else:
                errors = producer.send(event.contract, event.payload, source, headers=headers)
                if event.contract == "order_placed" and not errors and event.kind != "duplicate":
                    pending.append(json.dumps({"id": event.event_id, "t": round(time.time(), 3)}))
            dead += bool(errors)
            sent += 1
            if sent % 500 == 0:
                producer.poll(0)
                handoffs.write("".join(p + "\n" for p in pending))
                handoffs.flush()
                pending.clear()
            now = time.monotonic()
            if now - last_say >= 5:
                last_say = now
                say(
                    f"  sent {sent + skipped:,}/{total:,} ({sent / (now - began):,.0f}/s), "
                    f"{producer.stats.delivered + producer.stats.dead_letters_delivered:,} delivered"
                )
        handoffs.write("".join(p + "\n" for p in pending))
    remaining = producer.flush(120)
    stats = producer.stats
    if remaining or stats.failed:
        raise DemoError(
            f"{stats.failed} record(s) failed and {remaining} were still undelivered after 120 s: "
            + "; ".join(stats.failures[:3])
            + " (run the demo again: it sends only what is missing)"
        )
    return ProduceResult(sent=sent, already_in_kafka=skipped, dead_lettered=dead, seconds=time.monotonic() - began)
