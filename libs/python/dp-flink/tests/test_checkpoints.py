"""Where checkpoints go and which one a job restarts from, on temp folders laid out as Flink writes them:
``<root>/<job id>/chk-<n>/_metadata``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dp_core.config import LoadedConfig, load_settings
from dp_flink.checkpoints import Checkpoint, checkpoint_root, latest_checkpoint, local_path, reset
from dp_flink.errors import FlinkSetupError


def checkpoint(root: Path, job_id: str, n: int, mtime: float | None = None, complete: bool = True) -> Path:
    """A checkpoint folder as Flink leaves it; ``complete`` writes its ``_metadata`` (last, as Flink does)."""
    folder = root / job_id / f"chk-{n}"
    folder.mkdir(parents=True)
    (folder / "some-operator-state").write_bytes(b"state")
    if complete:
        metadata = folder / "_metadata"
        metadata.write_bytes(b"meta")
        if mtime is not None:
            os.utime(metadata, (mtime, mtime))
    return folder


def test_default_root_is_under_the_runtime_folder(tmp_loaded: LoadedConfig, tmp_path: Path) -> None:
    expected = (tmp_path / "runtime" / "flink" / "checkpoints" / "dp-aggregator-commerce").resolve()
    root = checkpoint_root(tmp_loaded, "dp-aggregator-commerce")
    assert root == expected.as_uri()
    assert local_path(root) == expected


def test_configured_root(tmp_path: Path, repo_root: Path) -> None:
    s3 = load_settings(repo_root / "config", {"DP_STREAM_CHECKPOINT_DIR": "s3://bucket/checkpoints/"})
    assert checkpoint_root(s3, "dp-enricher-commerce") == "s3://bucket/checkpoints/dp-enricher-commerce"
    local = load_settings(repo_root / "config", {"DP_STREAM_CHECKPOINT_DIR": (tmp_path / "chk").as_uri()})
    assert local_path(checkpoint_root(local, "job")) == tmp_path / "chk" / "job"


def test_local_path_refuses_remote_stores() -> None:
    with pytest.raises(FlinkSetupError, match="supported for local folders only") as exc:
        local_path("s3://bucket/checkpoints/job")
    assert "s3://bucket/checkpoints/job" in str(exc.value)
    assert local_path("/plain/folder") == Path("/plain/folder")


def test_no_checkpoint(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path / "missing") is None
    assert latest_checkpoint(tmp_path) is None
    checkpoint(tmp_path, "a" * 32, 1, complete=False)
    assert latest_checkpoint(tmp_path) is None


def test_newest_completed_checkpoint_wins_by_completion_time(tmp_path: Path) -> None:
    # job 1 ran first and got to chk-9; job 2 restored from it and got to chk-3 later: chk-3 is the newest state
    checkpoint(tmp_path, "job1", 8, mtime=1_000)
    checkpoint(tmp_path, "job1", 9, mtime=2_000)
    newest = checkpoint(tmp_path, "job2", 3, mtime=3_000)
    checkpoint(tmp_path, "job2", 4, complete=False)  # in progress: no _metadata yet
    (tmp_path / "job2" / "shared").mkdir()
    (tmp_path / "job2" / "taskowned").mkdir()
    got = latest_checkpoint(tmp_path)
    assert got == Checkpoint(newest, 3)
    assert got is not None and got.uri == newest.resolve().as_uri()


def test_folders_not_named_chk_n_are_ignored(tmp_path: Path) -> None:
    checkpoint(tmp_path, "job", 2, mtime=1_000)
    odd = tmp_path / "job" / "chk-x"
    odd.mkdir()
    (odd / "_metadata").write_bytes(b"meta")
    savepoint = tmp_path / "job" / "savepoint-1"
    savepoint.mkdir()
    (savepoint / "_metadata").write_bytes(b"meta")
    assert latest_checkpoint(tmp_path) == Checkpoint(tmp_path / "job" / "chk-2", 2)


def test_reset_forgets_every_checkpoint(tmp_path: Path) -> None:
    root = tmp_path / "dp-aggregator-commerce"
    checkpoint(root, "job1", 1)
    checkpoint(root, "job2", 2)
    assert reset(root) is True
    assert not root.exists()
    assert latest_checkpoint(root) is None
    assert reset(root) is False
