"""Repo-wide pytest wiring: tests without a tier marker are unit tests (as in pyiceberg)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

# The repo has a top-level platform/ folder. Under --import-mode=importlib pytest names the test modules in it
# "platform.<unit>.tests.<module>" and, finding the standard library's `platform` module without a __path__,
# replaces it in sys.modules with a namespace package -- and every later `import platform` (attrs does one, under
# confluent-kafka's schema registry client) gets an empty module. Giving the real module a __path__ that points at
# the folder lets pytest import the tests beneath it while `platform.python_version()` and friends keep working.
platform.__path__ = [str(Path(__file__).resolve().parent / "platform")]  # type: ignore[attr-defined]

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


pytest_plugins = ["dp_localstack.testing"]
