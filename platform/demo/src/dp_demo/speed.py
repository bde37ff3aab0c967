"""The speed layer during the demo: both PyFlink jobs run embedded (``dp stream run JOB --until-idle``) as child
processes while the workload is sent, and stop on their own once everything they read is committed.

Each job runs in a process group of its own, recorded in a pid file: a demo that was killed leaves its jobs
running, and the next demo stops them (they restart from their last checkpoint) before it starts its own, so two
copies of a job never write the same tables.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dp_core.scratch import pid_alive
from dp_demo.errors import DemoError
from dp_flink.names import JOBS


@dataclass
class RunningJob:
    job: str
    process: subprocess.Popen[bytes]
    stdout: Path
    log: Path
    started: float


def stop_leftovers(pid_file: Path, say: Callable[[str], None]) -> None:
    """Kill the job process groups an earlier, interrupted demo left running."""
    if not pid_file.exists():
        return
    for line in pid_file.read_text(encoding="utf-8").split():
        if not line.isdigit():
            continue
        pgid = int(line)
        if not pid_alive(pgid):
            continue
        say(f"  stopping a speed-layer job left running by an interrupted demo (process group {pgid})")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 15
        while pid_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
    pid_file.unlink(missing_ok=True)


def start_jobs(
    dp: Path, cwd: Path, env: Mapping[str, str], domain: str, timeout_s: float, folder: Path
) -> list[RunningJob]:
    """Start both jobs; their progress goes to ``folder/<job>.log``, their JSON summary to ``<job>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    running = []
    for job in JOBS:
        stdout, log = folder / f"{job}.json", folder / f"{job}.log"
        args = [str(dp), "stream", "run", job, "--until-idle", "1", "--timeout", f"{timeout_s:.0f}"]
        args += ["--domain", domain, "--json"]
        with stdout.open("wb") as out, log.open("wb") as err:
            process = subprocess.Popen(args, cwd=cwd, env=dict(env), stdout=out, stderr=err, start_new_session=True)
        running.append(RunningJob(job, process, stdout, log, time.monotonic()))
    with (folder / "jobs.pid").open("w", encoding="utf-8") as pids:
        pids.write("".join(f"{r.process.pid}\n" for r in running))
    return running


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object: the job's summary (the embedded JVM may log to stdout while
    it shuts down, after the summary)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return None


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_jobs(running: list[RunningJob]) -> None:
    for r in running:
        if r.process.poll() is None:
            try:
                os.killpg(r.process.pid, signal.SIGTERM)
                r.process.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(r.process.pid, signal.SIGKILL)
                r.process.wait()


def wait_running(running: list[RunningJob], timeout_s: float, say: Callable[[str], None]) -> None:
    """Wait until every job is executing (its first progress line, "running N s, ..."), so that the latency measured
    afterwards is the pipeline's, not the jobs' start-up."""
    deadline = time.monotonic() + timeout_s
    waiting = list(running)
    while waiting:
        for r in list(waiting):
            code = r.process.poll()
            if code is not None:
                raise DemoError(f"the speed layer's {r.job} stopped while starting (exit {code}):\n{_tail(r.log)}")
            if ": running " in _tail(r.log, 5):
                say(f"  {r.job}: running after {time.monotonic() - r.started:.0f} s")
                waiting.remove(r)
        if waiting and time.monotonic() > deadline:
            raise DemoError(
                f"the speed layer's {waiting[0].job} did not start in {timeout_s:.0f} s; see {waiting[0].log}"
            )
        time.sleep(0.5)


def wait_jobs(running: list[RunningJob], say: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Wait for both jobs to stop on their own (caught up and idle); their summaries by job."""
    summaries: dict[str, dict[str, Any]] = {}
    last_say = time.monotonic()
    pending = list(running)
    while pending:
        for r in list(pending):
            code = r.process.poll()
            if code is None:
                continue
            pending.remove(r)
            if code != 0:
                stop_jobs(pending)
                raise DemoError(
                    f"the speed layer's {r.job} failed (exit {code}); its log {r.log} ends with:\n{_tail(r.log)}"
                )
            summary = last_json_object(r.stdout.read_text(encoding="utf-8", errors="replace"))
            if summary is None:
                raise DemoError(f"the {r.job} job printed no summary; see {r.stdout} and {r.log}")
            summaries[r.job] = summary | {"wall_seconds": time.monotonic() - r.started}
            say(f"  {r.job}: caught up and stopped after {time.monotonic() - r.started:.0f} s")
        if pending and time.monotonic() - last_say >= 15:
            last_say = time.monotonic()
            for r in pending:
                say(f"  {r.job}: {_tail(r.log, 1).strip() or 'starting'}")
        time.sleep(0.5)
    return summaries
