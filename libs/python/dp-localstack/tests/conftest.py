from __future__ import annotations

from pathlib import Path

import pytest

from dp_core.config import LoadedConfig, load_settings


@pytest.fixture
def tmp_config(tmp_path: Path, repo_root: Path) -> LoadedConfig:
    """The repo's local configuration with the runtime folder moved to a temp dir and unusual ports."""
    return load_settings(
        repo_root / "config",
        {
            "DP_LOCAL_RUNTIME_DIR": str(tmp_path / "runtime"),
            "DP_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092",
            "DP_ICEBERG_CATALOG__URI": "http://127.0.0.1:18181",
            "DP_LOCAL_STARTUP_TIMEOUT_S": "2",
            "DP_LOCAL_STOP_TIMEOUT_S": "3",
        },
    )
