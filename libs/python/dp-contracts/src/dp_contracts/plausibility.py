"""Plausibility of an event's time: the one rule that every layer applies the same way.

A timestamp can be valid RFC 3339 and valid Avro and still break a later layer: ``0001-01-01T00:00:00+01:00`` is
before year 1 in UTC, which fastavro cannot decode and Spark cannot turn into a Python date. So an event time must
fall in ``[contracts.oldest_event_time, now + contracts.max_future_skew_s]``. The producer core dead-letters an
event outside it; Silver quarantines one that reached Kafka another way. The rule lives here once so that both say
the same thing in the same words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dp_core.config import PlatformSettings

RULE = "range"


@dataclass(frozen=True)
class EventTimeBounds:
    """The plausible range of event times, the newest end relative to a clock."""

    oldest: dt.datetime
    max_future_skew: dt.timedelta

    @classmethod
    def from_settings(cls, settings: PlatformSettings) -> EventTimeBounds:
        rules = settings.contracts
        return cls(rules.oldest_event_time, dt.timedelta(seconds=rules.max_future_skew_s))

    def newest(self, now: dt.datetime) -> dt.datetime:
        return now + self.max_future_skew

    def problem(self, value: dt.datetime, now: dt.datetime) -> str | None:
        """Why ``value`` (aware, or naive meaning UTC) is implausible at ``now``, or None."""
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        if moment < self.oldest:
            return f"{_text(moment)} is before the oldest accepted event time {_text(self.oldest)}"
        if moment > self.newest(now):
            skew = int(self.max_future_skew.total_seconds())
            return f"{_text(moment)} is more than {skew} s ahead of the clock ({_text(now)})"
        return None


def _text(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
