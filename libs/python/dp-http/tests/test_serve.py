"""serve_app and its parts: uvicorn's configuration, the stop hook, the signal handlers, a real stop by signal."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import httpx
import pytest
from fastapi import FastAPI

from dp_core.net import claim_port
from dp_http.serve import (
    STOP_SIGNALS,
    ServeOptions,
    StoppableServer,
    drop_color_message,
    on_stop_signals,
    serve_app,
    uvicorn_config,
)


def app_with_health() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_uvicorn_logs_through_the_services_logging_and_takes_the_options() -> None:
    app = app_with_health()
    config = uvicorn_config(app, ServeOptions("127.0.0.1", 8123, lifespan="on", graceful_shutdown_s=30))
    assert (config.app, config.host, config.port) == (app, "127.0.0.1", 8123)
    assert (config.log_config, config.access_log) == (None, False)
    assert (config.lifespan, config.timeout_graceful_shutdown) == ("on", 30)
    defaults = uvicorn_config(app, ServeOptions("::1", 80))
    assert (defaults.lifespan, defaults.timeout_graceful_shutdown) == ("auto", None)
    assert (config.http, config.loop) == ("httptools", "uvloop")
    config.load()  # fails when the C parser is not installed
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"


def test_a_stop_signal_calls_the_stop_hook_then_uvicorns_shutdown() -> None:
    stopped: list[bool] = []
    server = StoppableServer(
        uvicorn_config(app_with_health(), ServeOptions("127.0.0.1", 1)), lambda: stopped.append(True)
    )
    server.handle_exit(signal.SIGTERM, None)
    assert stopped == [True] and server.should_exit


def test_stop_signal_handlers_are_installed_for_the_block_in_the_main_thread_only() -> None:
    def handler(sig: int, frame: object) -> None:
        pass

    def not_installed(sig: int, frame: object) -> None:
        pass

    before = [signal.getsignal(sig) for sig in STOP_SIGNALS]
    with on_stop_signals(handler):
        assert [signal.getsignal(sig) for sig in STOP_SIGNALS] == [handler, handler]
        elsewhere: list[object] = []

        def in_a_thread() -> None:
            with on_stop_signals(not_installed):  # no signal.signal outside the main thread: it would raise
                elsewhere.extend(signal.getsignal(sig) for sig in STOP_SIGNALS)

        thread = threading.Thread(target=in_a_thread)
        thread.start()
        thread.join()
        assert elsewhere == [handler, handler]
    assert [signal.getsignal(sig) for sig in STOP_SIGNALS] == before


def test_uvicorns_coloured_copy_of_a_message_is_dropped() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", None, None)
    record.color_message = "\x1b[32mStarted\x1b[0m"
    assert drop_color_message(record) is True
    assert not hasattr(record, "color_message")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_app_serves_until_a_stop_signal_then_returns(stop: signal.Signals) -> None:
    sock = claim_port("127.0.0.1", 0, hint="test")
    port = sock.getsockname()[1]
    stopped: list[bool] = []
    answers: list[int] = []

    def ask_then_signal() -> None:
        deadline = time.monotonic() + 20
        while not answers and time.monotonic() < deadline:
            try:
                answers.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code)
            except httpx.TransportError:
                time.sleep(0.05)
        os.kill(os.getpid(), stop)  # uvicorn's handler in the main thread; after its shutdown, the no-op one

    before = signal.getsignal(stop)
    client = threading.Thread(target=ask_then_signal)
    client.start()
    try:
        started = serve_app(
            app_with_health(), sock, ServeOptions("127.0.0.1", port), on_stop=lambda: stopped.append(True)
        )
    finally:
        client.join()
        sock.close()
    assert started and answers == [200] and stopped == [True]
    assert signal.getsignal(stop) == before
