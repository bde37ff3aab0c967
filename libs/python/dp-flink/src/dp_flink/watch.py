"""Is the speed layer healthy? (``dp stream watch``, the DAG ``speed_layer_watch``): per job on the session cluster,
its state, how far its consumer group trails its topics, and how old its newest completed checkpoint is; a job that
is not running is restarted from its newest checkpoint when asked. The verdict is a pure function of what was seen."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class JobHealth:
    job: str
    name: str
    state: str  # the cluster's state of the newest job of that name, or "MISSING"
    lag: int | None  # records the group trails its topics by (None: unknown)
    checkpoint_age_s: float | None  # seconds since the newest completed checkpoint (None: none yet)
    restarted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def newest_job(jobs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The newest of the cluster's jobs named ``name`` (``/jobs/overview`` entries), or None."""
    named = [j for j in jobs if j.get("name") == name]
    return max(named, key=lambda j: j.get("start-time", 0)) if named else None


def problems(health: list[JobHealth], max_lag: int, max_checkpoint_age_s: float) -> list[str]:
    """What is wrong, one line each: a job not running (and not restarted), lag or checkpoint age past the limits."""
    found = []
    for h in health:
        if h.state != "RUNNING" and not h.restarted:
            found.append(f"{h.name}: {h.state.lower()}, not running")
        if h.lag is not None and h.lag > max_lag:
            found.append(f"{h.name}: {h.lag:,} records behind its topics (limit {max_lag:,})")
        if h.state == "RUNNING" and h.checkpoint_age_s is not None and h.checkpoint_age_s > max_checkpoint_age_s:
            found.append(
                f"{h.name}: newest checkpoint {h.checkpoint_age_s:.0f} s old (limit {max_checkpoint_age_s:.0f} s)"
            )
    return found
