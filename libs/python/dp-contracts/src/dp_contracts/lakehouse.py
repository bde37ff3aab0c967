"""The shared Iceberg catalog as pyiceberg sees it: one client for every Python unit (batch jobs, benches, tests)."""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog import Catalog, load_catalog

from dp_core.config import PlatformSettings


def catalog_properties(settings: PlatformSettings) -> dict[str, Any]:
    cat, storage = settings.iceberg.catalog, settings.storage
    props: dict[str, Any] = {"type": cat.type, "uri": cat.uri, "warehouse": cat.warehouse, **cat.properties}
    if storage.endpoint_url:
        props["s3.endpoint"] = storage.endpoint_url
    props["s3.path-style-access"] = str(storage.path_style_access).lower()
    props["s3.region"] = storage.region
    if storage.access_key_id and storage.secret_access_key:
        props["s3.access-key-id"] = storage.access_key_id.get_secret_value()
        props["s3.secret-access-key"] = storage.secret_access_key.get_secret_value()
    if cat.token:
        props["token"] = cat.token.get_secret_value()
    if cat.credential:
        props["credential"] = cat.credential.get_secret_value()
    return props


def lake_catalog(settings: PlatformSettings) -> Catalog:
    """A pyiceberg client of the catalog every engine shares."""
    return load_catalog(settings.iceberg.catalog.name, **catalog_properties(settings))
