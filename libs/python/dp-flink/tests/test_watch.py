"""The speed layer's health verdict (`dp stream watch`, DAG speed_layer_watch)."""

from __future__ import annotations

from dp_flink.watch import JobHealth, newest_job, problems


def test_the_newest_job_of_a_name_is_the_one_judged() -> None:
    jobs = [
        {"jid": "a", "name": "dp-enricher-shop", "state": "FAILED", "start-time": 1},
        {"jid": "b", "name": "dp-enricher-shop", "state": "RUNNING", "start-time": 5},
        {"jid": "c", "name": "dp-aggregator-shop", "state": "RUNNING", "start-time": 9},
    ]
    assert newest_job(jobs, "dp-enricher-shop") == jobs[1]
    assert newest_job(jobs, "dp-enricher-other") is None


def test_a_dead_job_lag_and_an_old_checkpoint_are_each_a_problem() -> None:
    healthy = JobHealth("enricher", "dp-enricher-shop", "RUNNING", 10, 30.0)
    assert problems([healthy], max_lag=100, max_checkpoint_age_s=600) == []
    found = problems(
        [
            JobHealth("enricher", "dp-enricher-shop", "FAILED", 500, None),
            JobHealth("aggregator", "dp-aggregator-shop", "RUNNING", 0, 900.0),
        ],
        max_lag=100,
        max_checkpoint_age_s=600,
    )
    assert found == [
        "dp-enricher-shop: failed, not running",
        "dp-enricher-shop: 500 records behind its topics (limit 100)",
        "dp-aggregator-shop: newest checkpoint 900 s old (limit 600 s)",
    ]
    # submitted again: not a problem of this run (its lag still is)
    restarted = JobHealth("enricher", "dp-enricher-shop", "MISSING", 0, None, restarted=True)
    assert problems([restarted], max_lag=100, max_checkpoint_age_s=600) == []
