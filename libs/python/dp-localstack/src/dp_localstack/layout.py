"""Where the local stack keeps its files: one git-ignored runtime folder, one sub-folder per kind of thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dp_core.config import LoadedConfig


@dataclass(frozen=True)
class Layout:
    """Paths of the runtime folder (``local.runtime_dir``) and of the repo's local/ definitions."""

    repo: Path
    runtime: Path

    @classmethod
    def from_config(cls, loaded: LoadedConfig) -> Layout:
        return cls(repo=loaded.repo_root, runtime=loaded.runtime_dir)

    @property
    def definitions(self) -> Path:
        """``local/runtime/<name>/``: the pinned artifact lists (Maven POMs) committed to the repo."""
        return self.repo / "local" / "runtime"

    def jars(self, name: str) -> Path:
        return self.runtime / "jars" / name

    def trino_home(self, version: str) -> Path:
        """Trino's unpacked server (``lib/``, ``plugin/``) of ``version``."""
        return self.runtime / "trino" / f"trino-server-{version}"

    @property
    def bin(self) -> Path:
        return self.runtime / "bin"

    def data(self, service: str) -> Path:
        return self.runtime / "data" / service

    def conf(self, service: str) -> Path:
        return self.runtime / "conf" / service

    def log(self, service: str) -> Path:
        return self.runtime / "logs" / f"{service}.log"

    def pid(self, service: str) -> Path:
        return self.runtime / "run" / f"{service}.pid"

    @property
    def run(self) -> Path:
        return self.runtime / "run"

    @property
    def stamps(self) -> Path:
        return self.runtime / "stamps"

    def venv(self, name: str) -> Path:
        return self.runtime / "venvs" / name
