"""dbt's command lines for ``dp transform`` (pure: options in, argument lists out).

``dp transform`` passes its options to dbt as dbt spells them: ``--select`` and ``--exclude`` with every value after
one flag (dbt takes the union), ``--full-refresh``, and a date range as the project variables ``from_date`` and
``to_date`` (``--vars '{"from_date": "2024-05-01", "to_date": "2024-05-31"}'``, ISO dates, both ends included)
that the incremental models read to recompute those days.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

#: The dbt project variables that carry a date range.
FROM_VAR, TO_VAR = "from_date", "to_date"


@dataclass(frozen=True)
class DateRange:
    """Days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"the range starts after it ends ({self.start} > {self.end})")

    def dbt_vars(self) -> dict[str, str]:
        return {FROM_VAR: self.start.isoformat(), TO_VAR: self.end.isoformat()}


@dataclass(frozen=True)
class Selection:
    """dbt's node selection: the union of ``select`` (everything when empty) minus the union of ``exclude``."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def args(self) -> list[str]:
        args = ["--select", *self.select] if self.select else []
        return args + (["--exclude", *self.exclude] if self.exclude else [])


def dbt_args(
    command: Sequence[str],
    selection: Selection | None = None,
    *,
    full_refresh: bool = False,
    dates: DateRange | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``command`` (``["build"]``, ``["source", "freshness"]``, ...) followed by its options, in a fixed order."""
    args = [*command, *(selection.args() if selection is not None else [])]
    if full_refresh:
        args.append("--full-refresh")
    if dates is not None:
        args += ["--vars", json.dumps(dates.dbt_vars())]
    return [*args, *extra]
