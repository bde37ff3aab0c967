"""The platform as the DAGs see it: the same layered configuration as ``dp`` (``config/`` of the checkout these
DAGs are in, or ``DP_CONFIG_DIR``; ``DP_`` variables over it), and where the platform's executables are."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dp_core.config import LoadedConfig, PlatformSettings, find_config_dir, find_repo_root, load_settings

#: the checkout these DAGs ship with: its main environment runs every `dp` command a task starts
REPO = find_repo_root(Path(__file__))
#: Gold's dbt project, and the name its profile has (dp_transform writes ``profiles.yml`` with it)
DBT_PROJECT = REPO / "platform" / "transformation" / "dbt" / "project"
DBT_PROFILE = "dtheinfra"


@functools.cache
def loaded() -> LoadedConfig:
    """The effective configuration, read once per process (a DAG file parse, a task)."""
    return load_settings(find_config_dir(REPO, os.environ), os.environ)


def settings() -> PlatformSettings:
    return loaded().settings


def dp_executable() -> str:
    """The ``dp`` of this checkout's main environment (``DTHEINFRA_DP`` overrides it)."""
    return os.environ.get("DTHEINFRA_DP") or str(REPO / ".venv" / "bin" / "dp")


def dbt_shim() -> Path:
    """The ``dbt`` cosmos starts: ``dp transform dbt`` (profile and secrets from the platform settings)."""
    return REPO / "platform" / "orchestration" / "airflow" / "bin" / "dbt"


def dbt_manifest() -> Path:
    """The parsed dbt project the DAGs render Gold from (``dp transform dbt parse --target-path`` this folder; the
    local stack's DAG processor writes it when it starts)."""
    return loaded().runtime_dir / "airflow" / "dbt" / "manifest.json"


def dbt_profiles() -> Path:
    """The ``profiles.yml`` ``dp transform`` writes (and rewrites before every dbt command it starts)."""
    return loaded().runtime_dir / "dbt" / "profiles.yml"


def gold_marts() -> list[str]:
    """Gold's marts (``models/marts/*.sql`` of the dbt project): the tables the batch DAGs publish as assets."""
    return sorted(path.stem for path in (DBT_PROJECT / "models" / "marts").glob("*.sql"))


def gold_namespace() -> str:
    s = settings()
    return s.transform.namespace or s.iceberg.namespaces.gold
