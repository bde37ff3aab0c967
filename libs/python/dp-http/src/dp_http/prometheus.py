"""The Prometheus text exposition format (version 0.0.4), written by hand: no client library, no global registry.

A service keeps its own numbers (plain ints and :class:`Histogram` objects, under its own lock) and renders them
for ``GET /metrics`` with an :class:`Exposition`: a ``# HELP`` and a ``# TYPE`` line per family, then its samples,
``name{label="value",...} number``. Label values are escaped (backslash, newline, double quote); integral numbers
are written without a decimal point (``3``, ``10``), others as Python's shortest repr (``0.005``); a histogram's
sum always as a float (``0.0``). Serve the text with :data:`CONTENT_TYPE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The labels of one sample, in the order they are written.
Labels = Mapping[str, str]
#: The samples of a family: ``(labels, value)`` pairs, or one value without labels.
Samples = Iterable[tuple[Labels, float]] | float


def escape(value: str) -> str:
    """A label value as the text format quotes it."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(labels: Labels) -> str:
    """``{name="value",...}``, or nothing for no labels."""
    body = ",".join(f'{name}="{escape(value)}"' for name, value in labels.items())
    return "{" + body + "}" if body else ""


def format_number(value: float) -> str:
    """``3`` for an integral value, else the shortest repr (``0.25``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class Histogram:
    """Observations against fixed upper bounds: how many were at most each bound, their sum and their count.

    Not thread-safe: the owner updates it under its own lock.
    """

    bounds: tuple[float, ...]
    counts: list[int] = field(init=False)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1


class Exposition:
    """The exposition text, built family by family in the order they are added."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        """The ``# HELP`` and ``# TYPE`` lines that open a family (``kind``: counter, gauge, histogram...)."""
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, labels: Labels | None = None) -> None:
        self._lines.append(f"{name}{format_labels(labels or {})} {format_number(value)}")

    def counter(self, name: str, help_text: str, samples: Samples) -> None:
        self._samples(name, "counter", help_text, samples)

    def gauge(self, name: str, help_text: str, samples: Samples) -> None:
        self._samples(name, "gauge", help_text, samples)

    def histogram(self, name: str, help_text: str, series: Iterable[tuple[Labels, Histogram]]) -> None:
        """A histogram family: per series the cumulative ``_bucket`` lines (``le``, ``+Inf``), ``_sum``, ``_count``."""
        self.family(name, "histogram", help_text)
        for labels, histogram in series:
            for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
                self.sample(f"{name}_bucket", count, {**labels, "le": format_number(bound)})
            self.sample(f"{name}_bucket", histogram.count, {**labels, "le": "+Inf"})
            self._lines.append(f"{name}_sum{format_labels(labels)} {float(histogram.total)!r}")
            self.sample(f"{name}_count", histogram.count, labels)

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"

    def _samples(self, name: str, kind: str, help_text: str, samples: Samples) -> None:
        self.family(name, kind, help_text)
        for labels, value in [({}, samples)] if isinstance(samples, int | float) else samples:
            self.sample(name, value, labels)
