"""Repo-wide pytest wiring: tests without a tier marker are unit tests (as in pyiceberg)."""

from __future__ import annotations

import pytest

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


pytest_plugins = ["dp_localstack.testing"]
