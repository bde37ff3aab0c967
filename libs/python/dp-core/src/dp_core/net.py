"""Listening sockets for the platform's HTTP services."""

from __future__ import annotations

import errno
import socket

from dp_core.errors import PlatformError


def claim_port(host: str, port: int, *, hint: str, error: type[PlatformError] = PlatformError) -> socket.socket:
    """A socket bound to ``host:port``, handed to the server (so nothing can take the port in between).

    Args:
        hint: how the user changes the port, appended to the message (e.g. which config key and variable).
        error: the service's own error class to raise.

    Raises:
        error: the port is taken or the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no obstacle
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise error(f"cannot listen on {host}:{port}: {reason} ({hint})") from exc
    return sock
