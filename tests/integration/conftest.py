"""Fixtures of the cross-unit integration tests."""

from __future__ import annotations

import pytest
from pyiceberg.catalog import Catalog, load_catalog

from dp_core.config import LoadedConfig
from dp_localstack.stack import LocalStack


def iceberg_catalog(config: LoadedConfig) -> Catalog:
    """The shared REST catalog as pyiceberg sees it, reading and writing the S3 store."""
    settings = config.settings
    storage = settings.storage
    assert storage.access_key_id is not None and storage.secret_access_key is not None
    return load_catalog(
        settings.iceberg.catalog.name,
        type="rest",
        uri=settings.iceberg.catalog.uri,
        warehouse=settings.iceberg.catalog.warehouse,
        **{
            "s3.endpoint": storage.endpoint_url or "",
            "s3.path-style-access": "true",
            "s3.access-key-id": storage.access_key_id.get_secret_value(),
            "s3.secret-access-key": storage.secret_access_key.get_secret_value(),
            "s3.region": storage.region,
        },
    )


@pytest.fixture(scope="session")
def lake_catalog(local_stack: LocalStack, platform_config: LoadedConfig) -> Catalog:
    return iceberg_catalog(platform_config)
