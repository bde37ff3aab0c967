"""The shared Iceberg catalog as pyiceberg sees it (table creation, schema evolution, snapshot summaries)."""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import RESTError

from dp_lakehouse.properties import pyiceberg_properties as catalog_properties
from dp_lakehouse.pyiceberg import lake_catalog

__all__ = ["CATALOG_ERRORS", "catalog_properties", "lake_catalog", "latest_summary"]

#: what the catalog raises when it cannot answer (OSError: requests' connection errors)
CATALOG_ERRORS = (RESTError, OSError)


def latest_summary(catalog: Catalog, identifier: str) -> dict[str, str]:
    """The summary of the table's current snapshot ({} for a table without snapshots)."""
    table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return {}
    return {k: str(v) for k, v in snapshot.summary.additional_properties.items()}
