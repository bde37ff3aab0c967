"""What every service definition shares: the :class:`ServiceSpec` record and the helpers to build one.

Address parsing, secrets, the JVM command line over a folder of fetched jars, one-time tool runs during
preparation, a counting health check, and environments computed only when a service starts.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlparse

from dp_localstack import health
from dp_localstack.errors import InstallError, MissingToolError

Group = Literal["core", "full"]
#: The S3 SDKs inside the JVM services send checksums some S3-compatible servers reject; ask only when required.
AWS_CHECKSUM_ENV = {
    "AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED",
    "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED",
}


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the stack."""

    name: str
    group: Group
    port: int
    description: str
    command: Callable[[], list[str]]
    health: Callable[[], health.Health]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    extra_ports: tuple[int, ...] = ()
    prepare: Callable[[], None] | None = None
    bootstrap: Callable[[], None] | None = None
    url: str = ""

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host:port`` or a URL -> (host, port)."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


class Secret(Protocol):
    """A configured secret (``pydantic.SecretStr``): false when empty, its value only on request."""

    def get_secret_value(self) -> str: ...


def reveal(secret: Secret | None) -> str | None:
    """The value of a configured secret, ``None`` when it is unset or empty."""
    return secret.get_secret_value() if secret else None


def java() -> str:
    path = shutil.which("java")
    if path is None:
        raise MissingToolError("java", "install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)")
    return path


def jvm_options(xms: str, xmx: str, *gc: str) -> list[str]:
    """Heap bounds and collector of a service JVM, which exits (and so shows as failed) when out of memory."""
    return [f"-Xms{xms}", f"-Xmx{xmx}", *gc, "-XX:+ExitOnOutOfMemoryError"]


def java_command(jars: Path, what: str, options: Sequence[str], main: str, *args: str) -> list[str]:
    """``java <options> -cp <jars>/* <main> <args>``: a JVM program from a folder of fetched jars."""
    return [java(), *options, "-cp", classpath(jars, what), main, *args]


def classpath(jars_dir: Path, what: str) -> str:
    if not any(jars_dir.glob("*.jar")):
        raise InstallError(what, f"no jars in {jars_dir}: run `make install`")
    return f"{jars_dir}/*"


def run(cmd: list[str], what: str, user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run a one-time tool (a storage format, ``initdb``) to its end; its output, or :class:`InstallError`."""
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        user=user,
        group=user,
        extra_groups=[] if user else None,
        env=dict(env) if env is not None else None,
        timeout=300,
    )
    if result.returncode != 0:
        raise InstallError(what, (result.stderr or result.stdout).strip()[-2000:])
    return result.stdout


def at_least_one(url: str, key: str, what: str) -> Callable[[], health.Health]:
    """A health check: the JSON object at ``url`` counts one or more ``key`` (live workers, taskmanagers)."""
    return lambda: health.http_json(url, lambda b: health.Health(b.get(key, 0) >= 1, f"{b.get(key, 0)} {what}"))


class LazyEnv(Mapping[str, str]):
    """An environment computed when the service starts (so listing services never needs the engine installed)."""

    def __init__(self, factory: Callable[[], dict[str, str]]) -> None:
        self._factory = factory
        self._value: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._value is None:
            self._value = self._factory()
        return self._value

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())
