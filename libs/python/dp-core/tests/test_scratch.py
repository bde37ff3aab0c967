"""Per-process JVM scratch folders: a dead process's folder goes, a live one's stays."""

from __future__ import annotations

import os
from pathlib import Path

from dp_core.scratch import scratch_dir, sweep


def _dead_pid() -> int:
    """A pid no process can have: above the kernel's largest (a finished child's pid could be reused meanwhile)."""
    return int(Path("/proc/sys/kernel/pid_max").read_text(encoding="utf-8")) + 1


def test_scratch_dir_is_per_process_under_the_runtime_folder(tmp_path: Path) -> None:
    path = scratch_dir(tmp_path, "spark")
    assert path == tmp_path / "tmp" / "spark" / str(os.getpid())
    assert path.is_dir()
    assert scratch_dir(tmp_path, "spark") == path  # idempotent: the same folder, kept


def test_the_folders_of_dead_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    parent = tmp_path / "tmp" / "flink"
    dead = parent / str(_dead_pid())
    (dead / "spark-1" / "userFiles").mkdir(parents=True)
    (dead / "spark-1" / "userFiles" / "big.jar").write_bytes(b"x" * 1024)
    live = parent / str(os.getppid())
    live.mkdir(parents=True)
    other = parent / "not-a-pid"
    other.mkdir()

    mine = scratch_dir(tmp_path, "flink")

    assert not dead.exists()
    assert live.is_dir() and other.is_dir() and mine.is_dir()
    assert sweep(parent) == []  # nothing left to remove
