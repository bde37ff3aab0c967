"""Serving an ASGI application with uvicorn, on a socket the service claimed, until SIGTERM or SIGINT.

The service claims its port first (:func:`dp_core.net.claim_port`: a taken port fails the start with the service's
own error and hint) and hands the socket to :func:`serve_app`, which runs uvicorn on it:

* logging goes through the process's logging configuration (:func:`dp_core.logs.configure_logging`): no uvicorn
  log config, no access log, and uvicorn's ANSI-coloured copy of some messages dropped;
* on the first SIGTERM or SIGINT uvicorn stops listening and lets the requests in flight finish (up to
  ``ServeOptions.graceful_shutdown_s``); ``on_stop`` runs at that moment (the collector refuses new requests from
  then on);
* after its graceful shutdown uvicorn re-raises the signal to the handler it found: :func:`serve_app` makes that a
  no-op, so the service goes on (to flush, close its store, print a summary) and ends with its own exit code
  instead of being killed by the signal (exit -15) or interrupted by ``KeyboardInterrupt``.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SignalHandler = Callable[[int, FrameType | None], None]


@dataclass(frozen=True)
class ServeOptions:
    """Where a service listens and how it starts and stops.

    Attributes:
        host: the interface of the claimed socket (for uvicorn's messages).
        port: its port (idem).
        lifespan: run the application's lifespan: ``on`` (a failure stops the start), ``auto`` (if it has one).
        graceful_shutdown_s: how long requests in flight may take to finish after a stop signal (None: no limit).
    """

    host: str
    port: int
    lifespan: Literal["auto", "on", "off"] = "auto"
    graceful_shutdown_s: int | None = None


def uvicorn_config(app: ASGIApp, options: ServeOptions) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` (nothing is bound or started)."""
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        # the C parser and event loop (dependencies of this package): pure-Python h11 and asyncio answered about a
        # quarter of the requests per core
        http="httptools",
        loop="uvloop",
        lifespan=options.lifespan,
        timeout_graceful_shutdown=options.graceful_shutdown_s,
    )


class StoppableServer(uvicorn.Server):
    """uvicorn, calling ``on_stop`` the moment a stop signal arrives (before its graceful shutdown begins)."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.on_stop = on_stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.on_stop is not None:
            self.on_stop()
        super().handle_exit(sig, frame)


@contextmanager
def on_stop_signals(handler: SignalHandler) -> Iterator[None]:
    """Install ``handler`` for SIGINT/SIGTERM, restoring the previous ones at the end.

    In the main thread only: elsewhere signals are not ours to take, and nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def drop_color_message(record: logging.LogRecord) -> bool:
    """A log filter: uvicorn attaches an ANSI-coloured copy of some messages, which formatters print as an extra."""
    record.__dict__.pop("color_message", None)
    return True


def _ignore(sig: int, frame: FrameType | None) -> None:
    """The stop signal uvicorn re-raises after its graceful shutdown: the service ends its run by itself."""


def serve_app(
    app: ASGIApp, sock: socket.socket, options: ServeOptions, *, on_stop: Callable[[], None] | None = None
) -> bool:
    """Serve ``app`` on ``sock`` until SIGTERM/SIGINT (see the module); the socket stays the caller's to close.

    Returns:
        Whether the server started (False: it failed during its start-up, the lifespan for one; uvicorn logged why).
    """
    logging.getLogger("uvicorn.error").addFilter(drop_color_message)
    server = StoppableServer(uvicorn_config(app, options), on_stop)
    with on_stop_signals(_ignore):
        server.run(sockets=[sock])
    return bool(server.started)
