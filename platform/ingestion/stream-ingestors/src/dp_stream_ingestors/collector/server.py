"""``serve``: the collector as a process -- uvicorn on ``ingest.collector.host:port`` until SIGTERM/SIGINT.

Start-up: load the contracts, build the producer, resolve every contract's schema id (the registry is needed
here, not per request), probe Kafka, claim the port. A failure raises a :class:`~dp_core.errors.PlatformError`
(the CLI prints ``Error: ...`` and exits non-zero).

Shutdown, on the first SIGTERM or SIGINT:

1. every request arriving from now on is answered 503 with ``Retry-After`` (and ``Connection: close``);
   uvicorn stops listening and lets in-flight requests finish (up to ``GRACEFUL_REQUESTS_S``);
2. the producer is flushed until every record is acknowledged or ``ingest.delivery_timeout_ms`` (+ a margin)
   has passed -- librdkafka fails a record after that time anyway, so the wait is bounded; a second signal
   stops waiting at once;
3. a summary is logged and printed: accepted, rejected, delivered, and every record answered 202 that Kafka did
   not acknowledge (request id, contract, event indexes, reason).

The return value is the exit code: 0 when everything taken was delivered, 1 otherwise.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from dp_contracts.model import load_contracts
from dp_core import net
from dp_core.config import LoadedConfig
from dp_stream_ingestors.collector.app import create_app
from dp_stream_ingestors.collector.errors import StartupError
from dp_stream_ingestors.collector.service import Collector, Summary

log = logging.getLogger("dp_stream_ingestors.collector")
GRACEFUL_REQUESTS_S = 30
FLUSH_MARGIN_S = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def claim_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server; :class:`StartupError` when it cannot be bound."""
    return net.claim_port(
        host,
        port,
        hint="ingest.collector.port sets the port; DP_INGEST_COLLECTOR__PORT overrides it",
        error=StartupError,
    )


class _Server(uvicorn.Server):
    """uvicorn, telling the collector to refuse new requests the moment a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, collector: Collector) -> None:
        super().__init__(config)
        self.collector = collector

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.collector.begin_drain()
        super().handle_exit(sig, frame)


@contextmanager
def _on_stop_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Install ``handler`` for SIGINT/SIGTERM (main thread only; elsewhere signals are not ours to take)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _drop_color_message(record: logging.LogRecord) -> bool:
    # uvicorn attaches an ANSI-coloured copy of some messages, which our formatters would print as an extra
    record.__dict__.pop("color_message", None)
    return True


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
    contracts = load_contracts(loaded.repo_root / "schemas" / "avro")
    if not contracts:
        raise StartupError(f"no contracts under {loaded.repo_root / 'schemas' / 'avro'}")
    app = create_app(settings, contracts)
    collector: Collector = app.state.collector
    collector.warm_up()
    sock = claim_port(limits.host, limits.port)
    try:
        logging.getLogger("uvicorn.error").addFilter(_drop_color_message)
        server = _Server(
            uvicorn.Config(
                app,
                host=limits.host,
                port=limits.port,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=GRACEFUL_REQUESTS_S,
            ),
            collector,
        )
        log.info(
            "collector listening",
            extra={
                "url": f"http://{limits.host}:{limits.port}/v1/events/<contract>",
                "contracts": ",".join(collector.contract_names),
                "kafka": settings.kafka.bootstrap_servers,
            },
        )
        # after its graceful shutdown uvicorn re-raises the stop signal to the handler it found: make that a no-op
        with _on_stop_signals(lambda *_: None):
            server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
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
    with _on_stop_signals(give_up):
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
        log.error(
            "collector stopped: %d record(s) answered 202 were not delivered", summary.undeliverable_count, extra=extra
        )
        for line in lines[1:]:
            log.error(line.strip())
    for line in lines:
        echo(line)
