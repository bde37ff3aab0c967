"""The soak run's verdict (pure): does a sampled series keep growing after the warm-up?

A series (a process's resident memory, a job's checkpoint size, a layer's file count) is sampled once a minute.
The first third of the run is warm-up (JVMs size their heaps, windows and joins fill). After it, the samples are
split into two halves; the series *grows* when the later half's mean exceeds the earlier half's by more than a
relative tolerance plus an absolute slack (memory and checkpoint sizes move with garbage collection and with the
windows that happen to be open: a flat series wobbles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: relative growth of the later half over the earlier one that counts as growing
TOLERANCE = 0.10


@dataclass(frozen=True)
class Trend:
    """One series after the warm-up: the means of its two halves, and whether it grows."""

    name: str
    unit: str
    first: float
    last: float
    samples: int
    grows: bool
    checked: bool = True
    """False: reported, not judged (see the caller's reason)."""

    @property
    def change(self) -> float:
        return (self.last - self.first) / self.first if self.first else 0.0


def trend(name: str, unit: str, values: Sequence[float], slack: float, checked: bool = True) -> Trend:
    """``values`` in sampling order; ``slack`` in the series' unit (what a flat series may wobble by)."""
    after = list(values[len(values) // 3 :])
    if len(after) < 2:
        return Trend(name, unit, 0.0, 0.0, len(after), False, checked)
    half = len(after) // 2
    first = sum(after[:half]) / half
    last = sum(after[half:]) / (len(after) - half)
    return Trend(name, unit, round(first, 1), round(last, 1), len(after), last > first * (1 + TOLERANCE) + slack,
                 checked)  # fmt: skip


def verdict(series: Mapping[str, tuple[str, Sequence[float], float, bool]]) -> list[Trend]:
    """Every series: name -> (unit, values, slack, checked)."""
    return [trend(name, unit, values, slack, checked) for name, (unit, values, slack, checked) in series.items()]


def render_trends(trends: Sequence[Trend]) -> list[str]:
    out = [f"  {'series':<34}{'unit':<7}{'after warm-up: first half':>27}{'second half':>13}{'change':>9}  verdict"]
    for t in trends:
        judged = ("GROWS" if t.grows else "flat") if t.checked else ("grows" if t.grows else "flat") + " (reported)"
        out.append(f"  {t.name:<34}{t.unit:<7}{t.first:>27,.1f}{t.last:>13,.1f}{t.change:>+9.0%}  {judged}")
    return out
