"""Fixtures the Spark job tests share: a module's configuration on namespaces of its own, its Spark session, the
catalog, and a look at the object store under a table.

A module whose tests write tables names their namespaces in a ``namespaces`` fixture (layer -> namespace, unique to
the run); ``config`` is then the platform's configuration with those namespaces, created up front -- except Gold's,
which Gold's build creates itself. Each module gets a Spark session of its own, stopped after its last test; a module
overrides ``config`` (or ``catalog``) where it needs another one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from pyarrow import fs
from pyiceberg.catalog import Catalog
from pyspark.sql import SparkSession

from dp_core.config import LoadedConfig, load_settings
from dp_localstack.stack import LocalStack
from dp_spark.session import build_session
from dp_spark_jobs.catalog import lake_catalog

#: layer -> namespace to a configuration with those namespaces
Namespaced = Callable[[Mapping[str, str]], LoadedConfig]
#: (catalog, table identifier) -> a listing of every object under the table's data folder
DataFiles = Callable[[Catalog, str], Callable[[], set[str]]]


def _namespaced(base: LoadedConfig, namespaces: Mapping[str, str]) -> LoadedConfig:
    overrides = {f"DP_ICEBERG_NAMESPACES__{layer.upper()}": name for layer, name in namespaces.items()}
    loaded = load_settings(base.config_dir, {**os.environ, **overrides})
    catalog = lake_catalog(loaded.settings)
    for layer, name in namespaces.items():
        if layer != "gold":  # Gold's build creates its namespace
            catalog.create_namespace_if_not_exists(name)
    return loaded


@pytest.fixture(scope="session")
def namespaced(local_stack: LocalStack, platform_config: LoadedConfig) -> Namespaced:
    """The platform's configuration with the given namespaces (all but Gold's created), for a test that needs
    namespaces besides its module's."""
    return lambda namespaces: _namespaced(platform_config, namespaces)


@pytest.fixture(scope="module")
def namespaces() -> dict[str, str]:
    """The namespaces of the module's tables by layer (``{"bronze": "it_<run>_bronze"}``); none by default."""
    return {}


@pytest.fixture(scope="module")
def config(namespaced: Namespaced, namespaces: dict[str, str]) -> LoadedConfig:
    """The configuration the module's tests run with: its namespaces, on the local stack."""
    return namespaced(namespaces)


@pytest.fixture(scope="module")
def spark(config: LoadedConfig, request: pytest.FixtureRequest) -> Iterator[SparkSession]:
    """A Spark session on the module's configuration (application ``it-<module>``), stopped after the module."""
    module = Path(str(request.node.path)).stem.removeprefix("test_").replace("_", "-")
    session = build_session(config, f"it-{module}")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def catalog(config: LoadedConfig) -> Catalog:
    """A pyiceberg client of the shared catalog."""
    return lake_catalog(config.settings)


def _data_files(catalog: Catalog, identifier: str) -> Callable[[], set[str]]:
    table = catalog.load_table(identifier)
    props = table.io.properties
    s3 = fs.S3FileSystem(
        access_key=props["s3.access-key-id"],
        secret_key=props["s3.secret-access-key"],
        endpoint_override=props["s3.endpoint"],
        region=props.get("s3.region", "us-east-1"),
        scheme="http" if props["s3.endpoint"].startswith("http:") else "https",
    )
    root = table.location().removeprefix("s3://") + "/data"

    def listing() -> set[str]:
        infos = s3.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True))
        return {f"s3://{i.path}" for i in infos if i.is_file}

    return listing


@pytest.fixture(scope="session")
def data_files() -> DataFiles:
    """What lists every object under a table's data folder in the object store, committed or not (a killed write
    leaves files no snapshot lists)."""
    return _data_files
