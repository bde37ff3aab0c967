"""Bringing the stack up and down, and reporting on it: the orchestration over :mod:`dp_localstack.services`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from dp_core.config import PlatformSettings
from dp_localstack.errors import InstallError, PortInUseError, ServiceStartError
from dp_localstack.health import Health
from dp_localstack.layout import Layout
from dp_localstack.process import describe, live_process, port_holder, port_open, spawn, stop_all, tree_rss
from dp_localstack.services import ServiceSpec, all_services

State = Literal["healthy", "unhealthy", "stopped"]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    """One row of `dp local ps`."""

    name: str
    port: int
    pid: int | None
    state: State
    rss_bytes: int
    log_file: str
    detail: str


@dataclass(frozen=True)
class StartResult:
    name: str
    seconds: float
    already_running: bool


def _tail(path: str, lines: int = 15) -> str:
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


class LocalStack:
    """The services of one configuration, with their files under one runtime folder."""

    def __init__(self, settings: PlatformSettings, layout: Layout, echo: Echo = lambda _: None) -> None:
        self.settings = settings
        self.layout = layout
        self.echo = echo
        self.services = all_services(settings, layout)

    def select(self, core_only: bool) -> list[ServiceSpec]:
        return [s for s in self.services if s.group == "core" or not core_only]

    def service(self, name: str) -> ServiceSpec:
        for spec in self.services:
            if spec.name == name:
                return spec
        raise KeyError(name)

    # ------------------------------------------------------------------------------------------------------------ up

    def named(self, names: Iterable[str]) -> list[ServiceSpec]:
        """The services named (a name, or a family such as ``airflow`` for every ``airflow-*``), in start order.

        Raises:
            KeyError: a name that is neither a service nor a family."""
        wanted = set(names)
        for name in wanted:
            if not any(s.name == name or s.name.startswith(f"{name}-") for s in self.services):
                raise KeyError(name)
        return [s for s in self.services if s.name in wanted or s.name.split("-")[0] in wanted]

    def up(self, core_only: bool = True) -> list[StartResult]:
        """Start the selected services in order, each waited on until healthy; running ones are left alone."""
        return self.start(self.select(core_only))

    def start(self, services: Iterable[ServiceSpec]) -> list[StartResult]:
        """Start these services in the order given, each waited on until healthy; running ones are left alone."""
        return [self._start(spec) for spec in services]

    def _start(self, spec: ServiceSpec) -> StartResult:
        began = time.monotonic()
        pid_file, log_file = self.layout.pid(spec.name), self.layout.log(spec.name)
        proc = live_process(pid_file)
        already = proc is not None
        if proc is None:
            self._check_ports(spec)
            if spec.prepare:
                spec.prepare()
            self.echo(f"  starting {spec.name:<18} {spec.description}")
            proc = spawn(
                spec.command(),
                pid_file=pid_file,
                log_file=log_file,
                cwd=spec.cwd or self.layout.runtime,
                env=_process_env(spec),
                user=spec.user,
            )
        deadline = began + self.settings.local.startup_timeout_s
        last = Health(False, "not checked yet")
        while True:
            if not proc.is_running() or proc.status() == "zombie":
                pid_file.unlink(missing_ok=True)
                raise ServiceStartError(
                    spec.name, f"the process exited; last log lines:\n{_tail(str(log_file))}", str(log_file)
                )
            last = spec.health()
            if last.ok:
                break
            if time.monotonic() > deadline:
                raise ServiceStartError(
                    spec.name,
                    f"not healthy after {self.settings.local.startup_timeout_s:.0f} s ({last.detail})",
                    str(log_file),
                )
            time.sleep(0.25)
        if spec.bootstrap:
            self._bootstrap(spec)
        seconds = time.monotonic() - began
        verb = "already running" if already else f"healthy in {seconds:5.1f} s"
        self.echo(f"  {spec.name:<27} {verb:<20} {spec.url}")
        return StartResult(spec.name, seconds, already)

    def _bootstrap(self, spec: ServiceSpec) -> None:
        assert spec.bootstrap is not None
        for attempt in range(5):
            try:
                spec.bootstrap()
                return
            except InstallError:
                raise
            except Exception as exc:
                if attempt == 4:
                    log = str(self.layout.log(spec.name))
                    raise ServiceStartError(spec.name, f"bootstrap failed: {exc}", log) from exc
                time.sleep(1)

    def _check_ports(self, spec: ServiceSpec) -> None:
        for port in spec.ports:
            if not port:
                continue
            holder = port_holder(port)
            if holder is not None:
                raise PortInUseError(spec.name, port, describe(holder))
            if port_open(port):
                raise PortInUseError(spec.name, port, "a process this user cannot see")

    # ---------------------------------------------------------------------------------------------------------- down

    def down(self, services: Iterable[ServiceSpec] | None = None) -> list[str]:
        """Stop every running service: each is signalled (last started first), then all are waited on together;
        whatever is still alive after local.stop_timeout_s is killed."""
        began = time.monotonic()
        signalled: list[tuple[ServiceSpec, psutil.Process]] = []
        for spec in reversed(list(services if services is not None else self.services)):
            proc = live_process(self.layout.pid(spec.name))
            if proc is None:
                self.layout.pid(spec.name).unlink(missing_ok=True)
                continue
            signalled.append((spec, proc))
        results = stop_all(
            [(proc, spec.stop_signal) for spec, proc in signalled], timeout=self.settings.local.stop_timeout_s
        )
        for (spec, _), graceful in zip(signalled, results, strict=True):
            self.layout.pid(spec.name).unlink(missing_ok=True)
            self.echo(f"  {spec.name:<18} {'stopped' if graceful else 'killed after the grace period'}")
        if signalled:
            self.echo(f"  stopped in {time.monotonic() - began:.1f} s")
        return [spec.name for spec, _ in signalled]

    def clean(self) -> None:
        """Stop everything and wipe the services' data, logs and generated config (fetched artifacts stay)."""
        self.down()
        for sub in ("data", "logs", "run", "conf"):
            shutil.rmtree(self.layout.runtime / sub, ignore_errors=True)

    # ------------------------------------------------------------------------------------------------------------ ps

    def ps(self) -> list[ServiceStatus]:
        rows = []
        for spec in self.services:
            proc = live_process(self.layout.pid(spec.name))
            log = str(self.layout.log(spec.name))
            if proc is None:
                holder = port_holder(spec.port) if spec.port else None
                detail = f"port {spec.port} held by {describe(holder)}" if holder else ""
                rows.append(ServiceStatus(spec.name, spec.port, None, "stopped", 0, log, detail))
                continue
            result = spec.health()
            state: State = "healthy" if result.ok else "unhealthy"
            rows.append(ServiceStatus(spec.name, spec.port, proc.pid, state, tree_rss(proc), log, result.detail))
        return rows


def _process_env(spec: ServiceSpec) -> dict[str, str]:
    """A small, explicit environment: PATH, HOME, JAVA_HOME and locale from ours, plus the service's own."""
    import os

    keep = ("PATH", "HOME", "JAVA_HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(spec.env)
    return env
