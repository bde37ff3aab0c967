"""A table's history as the metadata log and the snapshot log tell it: which metadata version was current when."""

from __future__ import annotations

import datetime as dt

from dp_data_api.lake import History

T = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def at(s: int) -> dt.datetime:
    return T + dt.timedelta(seconds=s)


# v1 creates the table, v2 commits snapshot 1, v3 sets its watermark, v4 commits snapshot 2, v5 sets its watermark
HISTORY = History(
    versions=((at(0), "v1"), (at(10), "v2"), (at(11), "v3"), (at(20), "v4"), (at(21), "v5")),
    snapshots=((at(10), 1), (at(20), 2)),
)


def test_the_version_current_at_a_time() -> None:
    assert HISTORY.version_at(at(-1)) is None
    assert HISTORY.version_at(at(0)) == "v1"
    assert HISTORY.version_at(at(15)) == "v3"
    assert HISTORY.version_at(at(20)) == "v4"
    assert HISTORY.version_at(at(999)) == "v5"


def test_the_last_version_of_a_snapshot_carries_the_properties_set_after_its_commit() -> None:
    assert HISTORY.last_version_of(1) == "v3"  # the watermark dbt set after the build, not the commit alone
    assert HISTORY.last_version_of(2) == "v5"  # the current snapshot: the current version
    assert HISTORY.last_version_of(3) is None


def test_a_snapshot_current_twice_takes_its_last_time() -> None:
    history = History(
        versions=((at(0), "v1"), (at(10), "v2"), (at(20), "v3"), (at(30), "v4")),
        snapshots=((at(0), 1), (at(10), 2), (at(20), 1), (at(30), 3)),  # a rollback to 1, then 3
    )
    assert history.last_version_of(1) == "v3"
    assert history.last_version_of(2) == "v2"
