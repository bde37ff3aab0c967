"""Fixtures of the cross-unit integration tests."""

from __future__ import annotations

import pytest
from pyiceberg.catalog import Catalog

from dp_core.config import LoadedConfig
from dp_lakehouse.pyiceberg import lake_catalog as open_lake_catalog
from dp_localstack.stack import LocalStack


@pytest.fixture(scope="session")
def lake_catalog(local_stack: LocalStack, platform_config: LoadedConfig) -> Catalog:
    """The shared REST catalog as pyiceberg sees it, reading and writing the S3 store."""
    return open_lake_catalog(platform_config.settings)
