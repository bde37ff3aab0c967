"""Running the platform's own commands from a task: ``dp ...`` as a process, its output in the task's log, a clear
failure (exit code and the last lines) when it fails."""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from collections import deque
from collections.abc import Mapping
from typing import Any

from dp_orchestration.platform import dp_executable

log = logging.getLogger("dtheinfra.commands")


class PlatformCommandError(RuntimeError):
    """A ``dp`` command a task started exited non-zero."""


def dp_command(*args: str) -> list[str]:
    return [dp_executable(), *args]


def run_dp(*args: str, env: Mapping[str, str] | None = None, tail: int = 20) -> str:
    """Run ``dp ARGS``; its output (stdout and stderr) goes to the task's log line by line as it comes. Returns the
    output; raises :class:`PlatformCommandError` with the exit code and the last ``tail`` lines when it fails."""
    command = dp_command(*args)
    log.info("running %s", " ".join(command))
    last: deque[str] = deque(maxlen=tail)
    lines: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env) if env else None
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            log.info("%s", line)
            last.append(line)
            lines.append(line)
        code = proc.wait()
    if code != 0:
        raise PlatformCommandError(failure(args, code, list(last)))
    return "\n".join(lines)


def failure(args: tuple[str, ...], code: int, tail: list[str]) -> str:
    """What a failed command said: its ``Error:`` line first (what an alert's first lines show), then its tail."""
    reason = next((line for line in reversed(tail) if line.startswith("Error:")), "")
    head = f"`dp {' '.join(args)}` exited {code}" + (f": {reason.removeprefix('Error:').strip()}" if reason else "")
    return head + "\n" + "\n".join(tail)


def run_dp_json(*args: str, env: Mapping[str, str] | None = None) -> Any:
    """Run ``dp ARGS --json``: stderr to the task's log, stdout parsed as JSON (one document, or one per line);
    raises :class:`PlatformCommandError` when it fails."""
    code, data, error = run_dp_json_result(*args, env=env)
    if code != 0:
        raise PlatformCommandError(error)
    return data


def run_dp_json_result(*args: str, env: Mapping[str, str] | None = None) -> tuple[int, Any, str]:
    """Run ``dp ARGS --json`` whatever its exit: (exit code, its JSON output, the failure's text or "")."""
    command = dp_command(*args, "--json")
    log.info("running %s", " ".join(command))
    with tempfile.TemporaryFile(mode="w+") as errors:
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, check=False, env=dict(env) if env else None
        )
        errors.seek(0)
        err_lines = errors.read().splitlines()
    for line in err_lines:
        log.info("%s", line)
    error = failure((*args, "--json"), result.returncode, err_lines[-20:]) if result.returncode else ""
    text = result.stdout.strip()
    try:
        data = json.loads(text) if text else None
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    return result.returncode, data, error
