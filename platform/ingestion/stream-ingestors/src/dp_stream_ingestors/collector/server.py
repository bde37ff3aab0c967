"""``serve``: the collector as a process -- uvicorn on ``ingest.collector.host:port`` until SIGTERM/SIGINT.

Start-up: load the contracts, build the producer, resolve every contract's schema id (the registry is needed
here, not per request), probe Kafka, claim the port. A failure raises a :class:`~dp_core.errors.PlatformError`
(the CLI prints ``Error: ...`` and exits non-zero).

Shutdown, on the first SIGTERM or SIGINT:

1. every request arriving from now on is answered 503 with ``Retry-After`` (and ``Connection: close``);
   uvicorn stops listening and lets in-flight requests finish (up to ``GRACEFUL_REQUESTS_S``, or
   ``ingest.collector.ack_timeout_s`` + 5 s if longer with ``ack: delivered``);
2. the producer is flushed until every record is acknowledged or ``ingest.delivery_timeout_ms`` (+ a margin)
   has passed -- librdkafka fails a record after that time anyway, so the wait is bounded; a second signal
   stops waiting at once;
3. a summary is logged and printed: accepted, rejected, delivered, and every record taken that Kafka did
   not acknowledge (request id, contract, event indexes, reason).

The return value is the exit code: 0 when everything taken was delivered, 1 otherwise.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType

from dp_contracts.model import contracts_dir, load_contracts
from dp_core import net
from dp_core.config import LoadedConfig
from dp_http import ServeOptions, on_stop_signals, serve_app
from dp_stream_ingestors.collector.app import create_app
from dp_stream_ingestors.collector.errors import StartupError
from dp_stream_ingestors.collector.service import Collector, Summary

log = logging.getLogger("dp_stream_ingestors.collector")
GRACEFUL_REQUESTS_S = 30
FLUSH_MARGIN_S = 5.0


def claim_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server; :class:`StartupError` when it cannot be bound."""
    return net.claim_port(
        host,
        port,
        hint="ingest.collector.port sets the port; DP_INGEST_COLLECTOR__PORT overrides it",
        error=StartupError,
    )


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve(loaded: LoadedConfig, *, echo: Callable[[str], None] = _print) -> int:
    """Run the collector until SIGTERM/SIGINT; returns the exit code (0: everything taken was delivered).

    Args:
        loaded: the effective configuration; the contracts are read from ``<repo>/schemas/avro``.
        echo: where the shutdown summary is printed (stdout by default).

    Raises:
        PlatformError: the collector could not start (no contracts, registry unreachable, port taken...).
    """
    settings = loaded.settings
    limits = settings.ingest.collector
    contracts = load_contracts(contracts_dir(loaded.repo_root))
    if not contracts:
        raise StartupError(f"no contracts under {loaded.repo_root / 'schemas' / 'avro'}")
    app = create_app(settings, contracts)
    collector: Collector = app.state.collector
    collector.warm_up()
    sock = claim_port(limits.host, limits.port)
    try:
        log.info(
            "collector listening",
            extra={
                "url": f"http://{limits.host}:{limits.port}/v1/events/<contract>",
                "contracts": ",".join(collector.contract_names),
                "kafka": settings.kafka.bootstrap_servers,
            },
        )
        # a request waiting for Kafka's acknowledgement (ack: delivered) gets its answer before uvicorn gives up
        grace = GRACEFUL_REQUESTS_S
        if limits.ack == "delivered":
            grace = max(grace, math.ceil(limits.ack_timeout_s) + 5)
        options = ServeOptions(limits.host, limits.port, lifespan="on", graceful_shutdown_s=grace)
        # the collector refuses new requests (503) the moment a stop signal arrives
        started = serve_app(app, sock, options, on_stop=collector.begin_drain)
    finally:
        sock.close()
    if not started:
        collector.drain(0)
        raise StartupError("the HTTP server did not start; see the log above")
    summary = _drain(collector, settings.ingest.delivery_timeout_ms / 1000 + FLUSH_MARGIN_S)
    _report(summary, echo)
    return 0 if summary.ok else 1


def _drain(collector: Collector, timeout_s: float) -> Summary:
    abandon = threading.Event()

    def give_up(sig: int, _: FrameType | None) -> None:
        log.warning("signal %s while flushing: not waiting for Kafka any longer", signal.Signals(sig).name)
        abandon.set()

    log.info("flushing the producer (up to %.0f s; a second signal stops waiting)", timeout_s)
    with on_stop_signals(give_up):
        return collector.drain(timeout_s, abandon)


def _report(summary: Summary, echo: Callable[[str], None]) -> None:
    lines = summary.lines()
    extra = {
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "delivered": summary.delivered,
        "dead_letters_delivered": summary.dead_letters_delivered,
        "undeliverable": summary.undeliverable_count,
    }
    if summary.ok:
        log.info("collector stopped: everything taken was delivered", extra=extra)
    else:
        log.error("collector stopped: %d record(s) taken were not delivered", summary.undeliverable_count, extra=extra)
        for line in lines[1:]:
            log.error(line.strip())
    for line in lines:
        echo(line)
