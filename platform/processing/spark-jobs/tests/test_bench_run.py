"""`dp batch bench` around its measurement: what it checks first, and that it drops its data afterwards -- after a
failure too, without hiding that failure -- unless told to keep it (the measurement and the drop stubbed out)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from dp_core.config import LoadedConfig, find_repo_root, load_settings
from dp_spark_jobs import bench
from dp_transform.errors import TransformSetupError

REPO = find_repo_root(Path(__file__))


class Calls:
    def __init__(self) -> None:
        self.measured: list[str] = []
        self.dropped: list[tuple[str, tuple[str, ...]]] = []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    record = Calls()

    def measure(loaded: LoadedConfig, contracts: list[Any], domain: str, *args: Any) -> dict[str, Any]:
        record.measured.append(domain)
        assert {c.domain for c in contracts} == {domain}
        assert loaded.settings.iceberg.namespaces.gold == f"{domain}_gold"
        if domain.endswith("fail"):
            raise RuntimeError("bronze failed")
        return {"events": 1000}

    def drop(loaded: LoadedConfig, contracts: list[Any], domain: str, gold: tuple[str, ...], **kw: Any) -> list[str]:
        record.dropped.append((domain, gold))
        kw["on_error"]("bench-batch: could not drop the topics (Kafka down)")
        return []

    monkeypatch.setattr(bench, "_measure", measure)
    monkeypatch.setattr(bench, "drop_bench_data", drop)
    return record


def loaded(**env: str) -> LoadedConfig:
    return load_settings(REPO / "config", {"DP_TRANSFORM_TARGET": "session", **env})


def test_the_bench_drops_its_data_unless_kept(calls: Calls) -> None:
    said: list[str] = []
    assert bench.run(loaded(), 1000, 3, say=said.append) == {"events": 1000}
    [domain] = calls.measured
    assert domain.startswith("bench") and len(domain) == len("bench") + 10 + 4
    assert calls.dropped == [(domain, (f"{domain}_gold", f"{domain}_sql"))]
    assert said == [
        f"bench-batch: dropping domain {domain}'s topics and tables (--keep leaves them)",
        "bench-batch: could not drop the topics (Kafka down)",
        "bench-batch: dropped 0 topics, tables, views and namespaces",
    ]

    bench.run(loaded(), 1000, 3, keep=True, say=said.append)
    assert len(calls.dropped) == 1
    assert said[-1].startswith(f"bench-batch: kept {calls.measured[-1]}'s topics and tables")


def test_a_failed_bench_still_drops_its_data_and_fails_with_its_own_error(
    calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("secrets.token_hex", lambda _: "fail")
    with pytest.raises(RuntimeError, match="bronze failed"):
        bench.run(loaded(), 1000, 3, say=lambda _: None)
    assert [domain for domain, _ in calls.dropped] == calls.measured
    assert calls.measured[0].endswith("fail")


def test_two_benches_started_in_the_same_second_have_domains_of_their_own(calls: Calls) -> None:
    for _ in range(2):
        bench.run(loaded(), 1000, 3, say=lambda _: None)
    assert len(set(calls.measured)) == 2


def test_a_thrift_target_that_does_not_answer_stops_the_bench_before_any_work(calls: Calls) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    env = {"DP_TRANSFORM_TARGET": "thrift", "DP_TRANSFORM_THRIFT__HOST": "127.0.0.1"}
    with pytest.raises(TransformSetupError, match=re.escape(f"127.0.0.1:{port} does not answer")):
        bench.run(loaded(**env, DP_TRANSFORM_THRIFT__PORT=str(port)), 1000, 3, say=lambda _: None)
    assert calls.measured == [] and calls.dropped == []
