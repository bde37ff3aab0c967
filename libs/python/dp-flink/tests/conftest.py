from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.config import LoadedConfig, PlatformSettings, load_settings

#: path -> (HTTP status, body); a body that is not bytes is sent as JSON
Routes = dict[str, tuple[int, Any]]
Serve = Callable[[Routes], str]


@pytest.fixture(scope="session")
def contracts(repo_root: Path) -> list[Contract]:
    """The repo's contracts (schemas/avro)."""
    return load_contracts(contracts_dir(repo_root))


@pytest.fixture(scope="session")
def settings(repo_root: Path) -> PlatformSettings:
    """The repo's local configuration, with no DP_ variables."""
    return load_settings(repo_root / "config", {}).settings


@pytest.fixture
def tmp_loaded(tmp_path: Path, repo_root: Path) -> LoadedConfig:
    """The repo's local configuration with the runtime folder in a temp dir."""
    return load_settings(repo_root / "config", {"DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime")})


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a tiny HTTP server on an ephemeral loopback port answering GETs from ``routes``; returns its base URL.

    Unknown paths answer 404. The server is stopped after the test.
    """
    servers: list[ThreadingHTTPServer] = []

    def start(routes: Routes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = routes.get(self.path, (404, {"error_code": 40403, "message": "not found"}))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
