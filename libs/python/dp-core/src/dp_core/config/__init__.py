"""Layered, typed configuration: ``config/base`` -> ``config/environments/<env>`` -> secret files -> ``DP_`` vars."""

from dp_core.config.loader import (
    DEFAULT_ENV,
    LoadedConfig,
    available_environments,
    env_name,
    find_config_dir,
    find_repo_root,
    load_settings,
)
from dp_core.config.models import (
    CatalogSettings,
    DemoSettings,
    IcebergSettings,
    KafkaSettings,
    LoggingSettings,
    PlatformSettings,
    RegistrySettings,
    ServingSettings,
    StorageSettings,
)
from dp_core.config.render import render_json, render_text

__all__ = [
    "DEFAULT_ENV",
    "CatalogSettings",
    "DemoSettings",
    "IcebergSettings",
    "KafkaSettings",
    "LoadedConfig",
    "LoggingSettings",
    "PlatformSettings",
    "RegistrySettings",
    "ServingSettings",
    "StorageSettings",
    "available_environments",
    "env_name",
    "find_config_dir",
    "find_repo_root",
    "load_settings",
    "render_json",
    "render_text",
]
