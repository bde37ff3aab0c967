"""pytest fixtures for tests on the real local stack (loaded by the repo's root conftest.py).

``local_stack`` starts the core services when they are not running (and leaves them running for the next test
run); ``run_id`` gives each test run its own topic, namespace and key prefixes so reruns never collide.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dp_core.config import LoadedConfig, find_config_dir, load_settings
from dp_localstack.layout import Layout
from dp_localstack.stack import LocalStack


@pytest.fixture(scope="session")
def platform_config() -> LoadedConfig:
    """The effective configuration the tests run with (DP_ENV, default local)."""
    return load_settings(find_config_dir(Path.cwd(), os.environ), os.environ)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id unique to this test run, usable in topic, namespace and object names."""
    return f"t{time.strftime('%H%M%S')}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def local_stack(platform_config: LoadedConfig) -> Iterator[LocalStack]:
    """The core stack, healthy. Started here if it is not running already."""
    stack = LocalStack(platform_config.settings, Layout.from_config(platform_config), echo=print)
    stack.up(core_only=True)
    yield stack
