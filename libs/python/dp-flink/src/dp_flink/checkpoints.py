"""Where a streaming job keeps its checkpoints, and which one it restarts from (pure: paths only)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from dp_core.config import LoadedConfig
from dp_flink.errors import FlinkSetupError

_CHK = re.compile(r"^chk-(\d+)$")


@dataclass(frozen=True)
class Checkpoint:
    """A completed checkpoint (its ``_metadata`` exists): the folder and its id."""

    path: Path
    """The ``chk-<id>`` folder."""
    checkpoint_id: int

    @property
    def uri(self) -> str:
        return self.path.resolve().as_uri()


def checkpoints_base(loaded: LoadedConfig) -> str:
    """The URI under which every job's checkpoints go: ``stream.checkpoint_dir`` or ``<runtime>/flink/checkpoints``.
    A plain path (no scheme) is a local folder."""
    base = loaded.settings.stream.checkpoint_dir
    if not base:
        return (loaded.runtime_dir / "flink" / "checkpoints").resolve().as_uri()
    if not urlparse(base).scheme:
        return Path(base).resolve().as_uri()
    return base.rstrip("/")


def checkpoint_root(loaded: LoadedConfig, job_name: str) -> str:
    """The URI under which ``job_name``'s checkpoints go."""
    return checkpoints_base(loaded) + "/" + job_name


def is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def local_path(uri: str) -> Path:
    """The folder of a ``file://`` URI; restarting from a checkpoint is discovered on local folders only."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise FlinkSetupError(
            f"checkpoints in {uri}: finding the latest checkpoint is supported for local folders only; "
            "pass the checkpoint to restore explicitly"
        )
    return Path(parsed.path)


def latest_checkpoint(root: Path) -> Checkpoint | None:
    """The newest completed checkpoint under ``root`` (``<job id>/chk-<n>/_metadata``), by completion time."""
    if not root.is_dir():
        return None
    found: list[tuple[float, Checkpoint]] = []
    for metadata in root.glob("*/chk-*/_metadata"):
        match = _CHK.match(metadata.parent.name)
        if match:
            found.append((metadata.stat().st_mtime, Checkpoint(metadata.parent, int(match.group(1)))))
    if not found:
        return None
    return max(found, key=lambda item: (item[0], item[1].checkpoint_id))[1]


def reset(root: Path) -> bool:
    """Forget every checkpoint of a job (it then starts from its consumer group's committed offsets)."""
    if root.is_dir():
        shutil.rmtree(root)
        return True
    return False
