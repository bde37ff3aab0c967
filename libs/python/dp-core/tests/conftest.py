from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Writer = Callable[[Path, str], Path]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def write() -> Writer:
    """Write a text file, creating its folders."""
    return _write


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A small config tree with every layer, independent of the repo's own config/."""
    root = tmp_path / "config"
    _write(
        root / "base" / "kafka.yaml",
        "kafka:\n  bootstrap_servers: base:9092\n  client_id: base-client\n"
        "  producer:\n    linger.ms: 20\n    compression.type: zstd\n",
    )
    _write(root / "base" / "logging.yaml", "logging:\n  level: INFO\n  loggers:\n    py4j: WARNING\n")
    _write(root / "environments" / "local.yaml", "kafka:\n  client_id: local-client\n")
    _write(
        root / "environments" / "prod.yaml",
        "kafka:\n  bootstrap_servers: prod:9096\n  producer:\n    linger.ms: 50\n"
        "logging:\n  format: json\n  loggers:\n    kafka: ERROR\n",
    )
    return root
