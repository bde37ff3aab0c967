"""`dp stream` through the root `dp` entry point (in process, isolated environment): help, the missing Flink
environment, and `status` with no cluster, a fake cluster and checkpoint folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import find_repo_root

REPO = find_repo_root(Path(__file__))
Serve = Callable[[dict[str, tuple[int, Any]]], str]  # the conftest fixture


def dp(*args: str, env: dict[str, str]) -> int:
    """Run `dp ARGS` with only ``env`` as the process environment."""
    return main(list(args), context=CliContext(environ=env, cwd=REPO))


def completed_checkpoint(runtime: Path, job: str, job_id: str, n: int) -> None:
    folder = runtime / "flink" / "checkpoints" / job / job_id / f"chk-{n}"
    folder.mkdir(parents=True)
    (folder / "_metadata").write_bytes(b"meta")


def test_stream_help_lists_the_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert dp("stream", "--help", env={}) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: dp stream [OPTIONS] COMMAND [ARGS]...")
    commands = out.split("Commands:")[1].split()
    assert [w for w in commands if w in ("run", "submit", "status")] == ["run", "status", "submit"]


def test_stream_is_a_dp_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert dp("--help", env={}) == 0
    assert "stream" in capsys.readouterr().out.split("Commands:")[1].split()


def test_run_without_the_flink_environment_says_make_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dp("stream", "run", "aggregator", env={"DP_LOCAL_RUNTIME_DIR": str(tmp_path)}) == 1
    captured = capsys.readouterr()
    python = tmp_path / "venvs" / "flink-jobs" / "bin" / "python"
    assert captured.err == f"Error: the speed layer's environment is missing ({python}): run `make install`\n"
    assert captured.out == ""
    assert "Traceback" not in captured.err


def test_unknown_job_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dp("stream", "run", "nosuch", env={"DP_LOCAL_RUNTIME_DIR": str(tmp_path)}) == 2
    err = capsys.readouterr().err
    assert "Invalid value for '{enricher|aggregator}': 'nosuch' is not one of 'enricher', 'aggregator'." in err


def test_submit_without_a_cluster_fails_before_starting_anything(
    tmp_path: Path, free_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DP_LOCAL_RUNTIME_DIR": str(tmp_path), "DP_LOCAL_FLINK__UI_PORT": str(free_port)}
    assert dp("stream", "submit", "enricher", env=env) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: no Flink session cluster answers at http://127.0.0.1:{free_port}/overview (")
    assert err.endswith("); start it with `make local-up`\n")


def test_status_json_without_a_cluster_lists_local_checkpoints(
    tmp_path: Path, free_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_checkpoint(tmp_path, "dp-aggregator-commerce", "a1", 6)
    completed_checkpoint(tmp_path, "dp-aggregator-commerce", "a1", 7)
    (tmp_path / "flink" / "checkpoints" / "dp-enricher-commerce" / "e1" / "chk-1").mkdir(parents=True)  # incomplete
    env = {"DP_LOCAL_RUNTIME_DIR": str(tmp_path), "DP_LOCAL_FLINK__UI_PORT": str(free_port)}
    assert dp("stream", "status", "--json", env=env) == 0
    shown = json.loads(capsys.readouterr().out)
    error = shown.pop("cluster_error")
    assert shown == {
        "cluster": f"127.0.0.1:{free_port}",
        "jobs": [],
        "checkpoints": {"dp-aggregator-commerce": 7, "dp-enricher-commerce": None},
    }
    assert error.startswith(f"no Flink session cluster answers at http://127.0.0.1:{free_port}/jobs/overview (")
    assert error.endswith("start it with `make local-up`")


def test_status_text_with_a_cluster(tmp_path: Path, serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [{"jid": "3f2a", "state": "RUNNING", "name": "dp-aggregator-commerce"}]
    address = serve({"/jobs/overview": (200, {"jobs": jobs})}).removeprefix("http://")
    root = tmp_path / "flink" / "checkpoints"
    assert dp("stream", "status", "--cluster", address, env={"DP_LOCAL_RUNTIME_DIR": str(tmp_path)}) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"session cluster {address}: 1 job(s)",
        "  3f2a  RUNNING    dp-aggregator-commerce",
        f"embedded jobs' checkpoints ({root}):",
        "  none",
    ]
    completed_checkpoint(tmp_path, "dp-enricher-commerce", "e1", 12)
    (root / "dp-aggregator-commerce").mkdir()
    assert dp("stream", "status", "--cluster", address, env={"DP_LOCAL_RUNTIME_DIR": str(tmp_path)}) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        f"embedded jobs' checkpoints ({root}):",
        f"  {'dp-aggregator-commerce':<40} latest checkpoint -",
        f"  {'dp-enricher-commerce':<40} latest checkpoint 12",
    ]
