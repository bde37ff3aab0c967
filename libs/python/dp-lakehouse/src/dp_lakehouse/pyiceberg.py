"""The shared Iceberg catalog as pyiceberg sees it: one client for every Python unit (batch jobs, benches, tests).

The one module of this lib that imports pyiceberg (the lib's ``pyiceberg`` extra); the properties come from
:func:`dp_lakehouse.properties.pyiceberg_properties`.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog, load_catalog

from dp_core.config import PlatformSettings
from dp_lakehouse.properties import pyiceberg_properties


def lake_catalog(settings: PlatformSettings) -> Catalog:
    """A pyiceberg client of the catalog every engine shares."""
    return load_catalog(settings.iceberg.catalog.name, **pyiceberg_properties(settings))
