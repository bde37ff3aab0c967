"""The simulated clock counts integer microseconds since the epoch; these turn them into what contracts carry."""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
MINUTE_US = 60_000_000


def to_micros(when: dt.datetime) -> int:
    """Microseconds since the epoch of a tz-aware datetime."""
    return (when - EPOCH) // _MICROSECOND


def to_datetime(micros: int) -> dt.datetime:
    """The UTC datetime of a clock reading."""
    return EPOCH + dt.timedelta(microseconds=micros)


class TimestampFormatter:
    """RFC 3339 in UTC with microseconds and ``Z`` (``2026-11-25T10:15:00.123456Z``), cached per second.

    Consecutive events mostly fall in the same second, so the date part is formatted once per second.
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second: int | None = None
        self._prefix = ""

    def __call__(self, micros: int) -> str:
        second, fraction = divmod(micros, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = (_EPOCH_NAIVE + dt.timedelta(seconds=second)).isoformat()
        return f"{self._prefix}.{fraction:06d}Z"
