"""The soak verdict: a series that keeps growing after the warm-up fails, one that wobbles or grows only while
warming up does not; the text report renders the trends."""

from __future__ import annotations

import pytest

from dp_demo.chaos_cli import render_soak
from dp_demo.soak import trends
from dp_demo.soak_plan import trend


@pytest.mark.parametrize(
    ("values", "grows"),
    [
        ([100, 400, 700, 900, 905, 898, 902, 910, 899], False),  # grows while warming up, then flat
        ([900, 960, 880, 950, 870, 940, 890, 955, 885], False),  # garbage collection's wobble
        ([100, 200, 300, 400, 500, 600, 700, 800, 900], True),  # keeps growing
        ([500, 500, 500, 500, 500, 500, 560, 580, 600], True),  # starts growing late
        ([10.0], False),  # too few samples to judge
    ],
)
def test_a_series_grows_only_when_it_keeps_growing_after_the_warm_up(values: list[float], grows: bool) -> None:
    assert trend("rss", "MB", values, slack=0.0).grows is grows


def test_slack_absorbs_small_absolute_moves() -> None:
    values = [10, 10, 10, 10, 10, 10, 14, 14, 14]
    assert trend("cp", "MB", values, slack=0.0).grows
    assert not trend("cp", "MB", values, slack=5.0).grows


def _sample(minute: int, rss: float, checkpoint: float, files: int) -> dict[str, object]:
    return {
        "minute": minute,
        "events_sent": minute * 100,
        "rss_mb": {"kafka": 500.0, "enricher": rss},
        "checkpoint_mb": {"enricher": checkpoint, "aggregator": 1.0},
        "files": {"speed": files},
    }


def test_the_run_fails_on_memory_or_checkpoints_and_reports_files() -> None:
    flat = [_sample(m, 900.0, 3.0, 10 * m) for m in range(9)]
    found = {t.name: t for t in trends(flat)}
    assert not any(t.grows for t in found.values() if t.checked)
    assert found["files speed"].grows and not found["files speed"].checked
    leaking = [_sample(m, 900.0 + 100 * m, 3.0, 10 * m) for m in range(9)]
    assert {t.name for t in trends(leaking) if t.checked and t.grows} == {"resident memory enricher"}
    report = {
        "minutes": 9, "rate_per_s": 100, "state_ttl_s": 60, "events_sent": 900, "samples": leaking, "violations": [],
        "trends": [t.__dict__ | {"change": round(t.change, 3)} for t in trends(leaking)], "status": "FAIL",
        "growing": ["resident memory enricher"], "problems": ["resident memory enricher"], "seconds": 560.0,
    }  # fmt: skip
    text = render_soak(report)
    assert "resident memory enricher" in text and "GROWS" in text and "grows (reported)" in text
    assert text.endswith("FAIL: resident memory enricher; 560 s in all")
