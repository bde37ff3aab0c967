"""The services of the local stack as data: how each starts, where it listens, how its health is proven.

Every address, port and credential comes from the platform settings (the ``local`` environment by default), so
the stack and the platform code agree by construction. One module per service or family (:mod:`.kafka_broker`,
:mod:`.s3_store`, :mod:`.postgres_server`, :mod:`.iceberg_rest`, :mod:`.schema_registry`, :mod:`.spark_thrift`,
:mod:`.trino`, :mod:`.data_api`, :mod:`.spark_cluster`, :mod:`.flink_cluster`,
:mod:`.airflow`) over what they share
(:mod:`.base`); this package lists them in start order.
"""

from __future__ import annotations

from collections.abc import Callable

from dp_core.config import PlatformSettings
from dp_localstack.layout import Layout
from dp_localstack.services.airflow import airflow_env, airflow_services
from dp_localstack.services.base import AWS_CHECKSUM_ENV, Group, ServiceSpec, host_port, java
from dp_localstack.services.data_api import data_api
from dp_localstack.services.flink_cluster import FLINK_ENV, flink_jobmanager, flink_taskmanager, pyflink_home
from dp_localstack.services.iceberg_rest import catalog
from dp_localstack.services.kafka_broker import kafka, kafka_server_properties
from dp_localstack.services.postgres_server import (
    POSTGRES_OS_USER,
    postgres,
    postgres_bin_dir,
    postgres_socket_dir,
    postgres_superuser,
)
from dp_localstack.services.s3_store import s3
from dp_localstack.services.schema_registry import registry
from dp_localstack.services.spark_cluster import spark_home, spark_master, spark_worker
from dp_localstack.services.spark_thrift import spark_thrift
from dp_localstack.services.trino import trino

__all__ = [
    "AWS_CHECKSUM_ENV",
    "FLINK_ENV",
    "POSTGRES_OS_USER",
    "SERVICE_BUILDERS",
    "Group",
    "ServiceSpec",
    "airflow_env",
    "airflow_services",
    "all_services",
    "catalog",
    "data_api",
    "flink_jobmanager",
    "flink_taskmanager",
    "host_port",
    "java",
    "kafka",
    "kafka_server_properties",
    "postgres",
    "postgres_bin_dir",
    "postgres_socket_dir",
    "postgres_superuser",
    "pyflink_home",
    "registry",
    "s3",
    "spark_home",
    "spark_master",
    "spark_thrift",
    "spark_worker",
    "trino",
]

SERVICE_BUILDERS: tuple[Callable[[PlatformSettings, Layout], ServiceSpec], ...] = (
    kafka,
    s3,
    postgres,
    catalog,
    registry,
    spark_thrift,
    trino,
    data_api,
    spark_master,
    spark_worker,
    flink_jobmanager,
    flink_taskmanager,
)


def all_services(settings: PlatformSettings, layout: Layout) -> list[ServiceSpec]:
    """Every service in start order (core first; Airflow's four processes last)."""
    return [*(build(settings, layout) for build in SERVICE_BUILDERS), *airflow_services(settings, layout)]
