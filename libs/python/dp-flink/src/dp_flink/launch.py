"""Starting a speed-layer job from the main environment: the jobs run in the speed layer's own environment
(``.runtime/venvs/flink-jobs``) as ``python -m dp_flink_jobs run JOB ...``, which ``dp stream`` and its benchmark
both launch."""

from __future__ import annotations

from pathlib import Path

from dp_core.config import LoadedConfig
from dp_flink.errors import FlinkSetupError

FLINK_ENV = "flink-jobs"


def flink_python(loaded: LoadedConfig) -> Path:
    """The speed layer's interpreter; :class:`FlinkSetupError` when its environment is not installed."""
    python = loaded.runtime_dir / "venvs" / FLINK_ENV / "bin" / "python"
    if not python.exists():
        raise FlinkSetupError(f"the speed layer's environment is missing ({python}): run `make install`")
    return python


def job_args(job: str, domain: str | None, *, reset: bool = False, as_json: bool = False) -> list[str]:
    """The interpreter's arguments that run ``job`` (on ``domain``, else the one domain with its contracts)."""
    args = ["-m", "dp_flink_jobs", "run", job]
    if domain:
        args += ["--domain", domain]
    if reset:
        args.append("--reset")
    if as_json:
        args.append("--json")
    return args
