"""The chaos run's pure core: the seeded schedule covers every component, and the Kafka check tells a lost or
duplicated record from a copy a resend of an unknown outcome may have written."""

from __future__ import annotations

import collections
import datetime as dt
import itertools

import httpx
import pytest

from dp_demo import chaos_plan as cp
from dp_demo.chaos import Shared, _label, _settle
from dp_demo.chaos_cli import render
from dp_simulator import SimEvent


def test_ten_rounds_kill_every_component_in_a_seeded_order() -> None:
    faults = cp.plan(7, 10, jobs=("enricher", "aggregator"))
    assert [f.round for f in faults] == list(range(1, 11))
    assert set(cp.COMPONENTS) == {f.component for f in faults}
    assert all(2.0 <= f.down_s <= 6.0 for f in faults)
    assert all(a.component != b.component for a, b in itertools.pairwise(faults))
    assert {f.target for f in faults if f.component == "flink"} <= {"enricher", "aggregator"}
    assert all(f.target for f in faults if f.component == "flink")
    assert cp.plan(7, 10, jobs=("enricher", "aggregator")) == faults
    assert cp.plan(8, 10, jobs=("enricher", "aggregator")) != faults


def test_a_subset_of_components() -> None:
    faults = cp.plan(1, 4, ("kafka", "collector"))
    assert collections.Counter(f.component for f in faults) == {"kafka": 2, "collector": 2}


@pytest.mark.parametrize(("rounds", "components"), [(0, cp.COMPONENTS), (3, ()), (3, ("kafka", "disk"))])
def test_a_plan_that_cannot_run_is_refused(rounds: int, components: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"round|component"):
        cp.plan(1, rounds, components)


def _ledger(acked: dict[int, int], unknown: dict[int, int] | None = None) -> cp.Ledger:
    ledger = cp.Ledger()
    for seq, n in acked.items():
        for _ in range(n):
            ledger.ack(seq, accepted=True)
    ledger.uncertain(seq for seq, n in (unknown or {}).items() for _ in range(n))
    return ledger


def test_each_acknowledged_event_once_is_ok() -> None:
    # seq 3 re-sends the event of seq 1 (a simulator duplicate): two acknowledged copies of one id
    sent = {1: "a", 2: "b", 3: "a"}
    check = cp.check_topic("t", sent, {"a": 2, "b": 1}, _ledger({1: 1, 2: 1, 3: 1}))
    assert check == cp.TopicCheck("t", acknowledged=3, records=3, lost=0, duplicated=0, resent=0, unexplained=0)
    assert check.ok


@pytest.mark.parametrize(
    ("found", "lost", "duplicated", "resent", "unexplained"),
    [
        ({"a": 1}, 1, 0, 0, 0),  # b acknowledged, missing
        ({"a": 2, "b": 1}, 0, 1, 0, 0),  # a acknowledged once, no unknown send: written twice
        ({"a": 1, "b": 2}, 0, 0, 1, 0),  # b was also sent once with an unknown outcome: a second copy is allowed
        ({"a": 1, "b": 3}, 0, 1, 1, 0),  # ... but not a third
        ({"a": 1, "b": 1, "z": 1}, 0, 0, 0, 1),  # a record nobody sent
    ],
)
def test_lost_duplicated_and_resent_copies(
    found: dict[str, int], lost: int, duplicated: int, resent: int, unexplained: int
) -> None:
    check = cp.check_topic("t", {1: "a", 2: "b"}, found, _ledger({1: 1, 2: 1}, {2: 1}))
    assert (check.lost, check.duplicated, check.resent, check.unexplained) == (lost, duplicated, resent, unexplained)
    assert check.ok == (lost == duplicated == unexplained == 0)


@pytest.mark.parametrize(
    ("copies", "duplicated", "rewritten"),
    [(1, 0, 0), (2, 0, 1), (3, 1, 1)],  # in flight at a Kafka kill: one extra copy is allowed, not two
)
def test_an_acknowledgement_in_flight_at_a_kafka_kill_allows_one_rewritten_copy(
    copies: int, duplicated: int, rewritten: int
) -> None:
    ledger = cp.Ledger()
    ledger.ack(1, accepted=True, at_broker_fault=True)
    ledger.ack(2, accepted=True)
    check = cp.check_topic("t", {1: "a", 2: "b"}, {"a": copies, "b": 1}, ledger)
    assert (check.lost, check.duplicated, check.resent, check.rewritten) == (0, duplicated, 0, rewritten)
    assert check.ok == (duplicated == 0)
    # the same copies of an event acknowledged with no fault are duplicates
    assert cp.check_topic("t", {1: "a", 2: "b"}, {"a": 1, "b": copies}, ledger).duplicated == copies - 1


def test_figures_and_their_text() -> None:
    faults = cp.plan(3, 3, ("kafka", "collector", "spark"))
    recoveries = [cp.Recovery(f, 10.0 * f.round, f.down_s, None if f.component == "spark" else 4.0) for f in faults]
    ledger = _ledger({1: 1, 2: 1}, {2: 1})
    ledger.answer("kafka", "503")
    ledger.answer("kafka", "503")
    ledger.answer("", "202")
    checks = [cp.check_topic("t", {1: "a", 2: "b"}, {"a": 1, "b": 2}, ledger)]
    numbers = cp.figures(recoveries, checks, ledger)
    assert numbers["components"]["kafka"] == {
        "faults": 1,
        "recovered": 1,
        "recovery_s_max": 4.0,
        "recovery_s_mean": 4.0,
        "answers_while_down": {"503": 2},
    }
    assert numbers["components"]["spark"]["recovered"] == 0
    assert numbers["events"] == {
        "acknowledged": 2,
        "lost": 0,
        "duplicated": 0,
        "resent_after_unknown_outcome": 1,
        "rewritten_after_broker_fault": 0,
        "unexplained": 0,
        "unknown_outcome_sends": 1,
        "refused_400_not_json": 0,
    }
    text = "\n".join(cp.render_figures(numbers))
    assert "kafka" in text and "503: 2" in text and "lost 0, duplicated 0" in text
    report = {
        "seed": 3, "rounds": 3, "events_sent": 10, "rate_per_s": 5.0, "seconds": 12.0, "status": "PASS",
        "passed": 1, "failed": 0, "figures": numbers, "restarts_after_a_lost_dependency": {"enricher": 1},
        "batch_runs": {"completed": 2, "failed_or_killed": 1},
        "faults": [{"round": r.fault.round, "component": r.fault.component, "target": r.fault.target,
                    "at_s": r.at_s, "down_s": r.down_s, "recovery_s": r.recovery_s, "note": r.note}
                   for r in recoveries],
        "lines": [{"status": "PASS", "layer": "kafka", "subject": "t", "expected": 2, "observed": 3, "detail": "ok"}],
    }  # fmt: skip
    rendered = render(report)
    assert "enricher 1x" in rendered and "PASS: 1 line(s) reconciled" in rendered


def _events(*seqs: int) -> list[SimEvent]:
    moment = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    return [SimEvent(s, "page_view", {"event_id": f"e{s}"}, None, "valid", f"e{s}", None, moment) for s in seqs]


@pytest.mark.parametrize(
    ("status", "body", "acked", "accepted", "unknown", "again", "violations"),
    [
        # every event taken: the one listed in errors is a rejection (dead-lettered)
        (202, {"accepted": 2, "rejected": 1, "errors": [{"index": 1}]}, {1, 2, 3}, {1, 3}, set(), [], 0),
        # nothing taken: everything again
        (503, {"error": "kafka_unavailable"}, set(), set(), set(), [1, 2, 3], 0),
        # the first two taken before the producer refused one
        (503, {"error": "interrupted", "processed": 2, "errors": []}, {1, 2}, {1, 2}, set(), [3], 0),
        # ... and of those, Kafka did not acknowledge the first (ack: delivered): it is sent again with the rest
        (503, {"error": "interrupted", "processed": 2, "pending": [0]}, {2}, {2}, {1}, [1, 3], 0),
        # Kafka refused the record of the second: it may or may not be there, it is sent again
        (503, {"error": "not_delivered", "undelivered": [1], "errors": []}, {1, 3}, {1, 3}, {2}, [2], 0),
        # not acknowledged in time (one of them also refused): both again, outcome unknown
        (503, {"error": "delivery_pending", "pending": [2], "undelivered": [0]}, {2}, {2}, {1, 3}, [1, 3], 0),
        # a 500: outcome unknown, sent again, and counted as an answer the collector must never give
        (500, {"error": "internal"}, set(), set(), {1, 2, 3}, [1, 2, 3], 1),
        # a 400 to a JSON body: never taken, not sent again, a violation
        (400, {"error": "malformed_body"}, set(), set(), set(), [], 1),
    ],
)
def test_what_an_answer_took(
    status: int,
    body: dict[str, object],
    acked: set[int],
    accepted: set[int],
    unknown: set[int],
    again: list[int],
    violations: int,
) -> None:
    shared = Shared()
    answer = httpx.Response(status, json=body)
    remaining = _settle(answer, _events(1, 2, 3), shared, "kafka")
    assert [e.seq for e in remaining] == again
    assert set(shared.ledger.acked) == acked and shared.ledger.accepted == accepted
    assert set(shared.ledger.unknown) == unknown
    assert len(shared.ledger.violations) == violations
    assert _label(answer) == f"{status} {body['error']}" if "error" in body and status >= 400 else str(status)


def test_what_a_request_in_flight_at_a_kafka_kill_took_may_have_a_second_copy() -> None:
    shared = Shared()
    _settle(httpx.Response(202, json={"accepted": 3, "rejected": 0, "errors": []}), _events(1, 2, 3), shared, "", True)
    _settle(httpx.Response(202, json={"accepted": 1, "rejected": 0, "errors": []}), _events(4), shared, "")
    assert dict(shared.ledger.at_fault) == {1: 1, 2: 1, 3: 1}
    assert dict(shared.ledger.acked) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_the_run_sends_until_the_stream_spans_enough_event_time_for_windows_to_close() -> None:
    from dp_core.config.models import StreamSettings
    from dp_demo.chaos import _send_enough_event_time, sent_span_s
    from dp_demo.errors import DemoError
    from dp_simulator import SimulationConfig, simulate

    start = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    events = list(simulate(SimulationConfig(seed=3, count=9000, start=start)))
    assert sent_span_s([]) == 0.0
    assert sent_span_s(events) == (events[-1].emitted_at - events[0].emitted_at).total_seconds() > 0
    stream = StreamSettings(window_s=60, allowed_lateness_s=60)  # three windows and their lateness: 360 s
    short = [e for e in events if (e.emitted_at - events[0].emitted_at).total_seconds() < 300]
    enough = [e for e in events if (e.emitted_at - events[0].emitted_at).total_seconds() < 400]
    assert sent_span_s(enough) >= 360 > sent_span_s(short)
    said: list[str] = []
    _send_enough_event_time(Shared(sent=enough), stream, 0.0, said.append)
    assert said == []  # enough already: no wait
    with pytest.raises(DemoError, match="short of the 360 s"):
        _send_enough_event_time(Shared(sent=short), stream, 0.0, said.append)
    assert said and "360 s of event time" in said[0]
