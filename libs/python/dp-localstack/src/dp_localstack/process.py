"""Starting, finding and stopping service processes, with pid files that survive the CLI that wrote them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class PidRecord:
    """What a pid file holds: the pid and its start time, so a recycled pid is never mistaken for ours."""

    pid: int
    create_time: float

    @classmethod
    def read(cls, path: Path) -> PidRecord | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(pid=int(data["pid"]), create_time=float(data["create_time"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": self.pid, "create_time": self.create_time}), encoding="utf-8")


def live_process(pid_file: Path) -> psutil.Process | None:
    """The process a pid file names, if it is still the same process and not a zombie."""
    record = PidRecord.read(pid_file)
    if record is None:
        return None
    try:
        proc = psutil.Process(record.pid)
        if abs(proc.create_time() - record.create_time) > 1.0 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except psutil.Error:
        return None


def spawn(
    command: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    cwd: Path,
    env: Mapping[str, str],
    user: str | None = None,
) -> psutil.Process:
    """Start a detached process (own session, output appended to ``log_file``) and record it in ``pid_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    # The service outlives this process on purpose and is found again through its pid file; mark the Popen as
    # settled so it does not warn that it was never waited on.
    popen.returncode = 0
    proc = psutil.Process(popen.pid)
    PidRecord(pid=proc.pid, create_time=proc.create_time()).write(pid_file)
    return proc


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes (shared pages counted once per process)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def stop_all(targets: list[tuple[psutil.Process, signal.Signals]], *, timeout: float) -> list[bool]:
    """Signal each process tree, wait for all together, kill what is left after ``timeout``.

    Returns, per target, whether its whole tree stopped before the deadline (gracefully).
    """
    families: list[list[psutil.Process]] = []
    for proc, sig in targets:
        try:
            family = [proc, *proc.children(recursive=True)]
            proc.send_signal(sig)
        except psutil.Error:
            family = []
        families.append(family)
    everyone = [p for family in families for p in family]
    _, alive = psutil.wait_procs(everyone, timeout=timeout)
    for straggler in alive:
        try:
            straggler.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=5)
    alive_pids = {p.pid for p in alive}
    return [not any(p.pid in alive_pids for p in family) for family in families]


def port_holder(port: int) -> psutil.Process | None:
    """The process listening on a TCP port on this machine, if any."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return psutil.Process(conn.pid)
            except psutil.Error:
                return None
    return None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def describe(proc: psutil.Process) -> str:
    """``pid 123 (java kafka.Kafka ...)`` for messages."""
    try:
        cmd = " ".join(proc.cmdline())[:100] or proc.name()
    except psutil.Error:
        cmd = "?"
    return f"pid {proc.pid} ({cmd})"


def is_root() -> bool:
    return os.geteuid() == 0
