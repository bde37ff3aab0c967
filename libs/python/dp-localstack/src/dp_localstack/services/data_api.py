"""The Data API (``dp serve api``, platform/serving/data-api): a Python process of this repository, started with
the same configuration as the command that starts it, after the catalog it reads."""

from __future__ import annotations

import sys

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.layout import Layout
from dp_localstack.services.base import ServiceSpec
from dp_localstack.services.schema_registry import platform_env


def data_api(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    serving = settings.serving
    url = f"http://{serving.host}:{serving.port}"
    return ServiceSpec(
        name="data-api",
        group="core",
        port=serving.port,
        description="Data API (Gold final + speed layer provisional, DuckDB over the catalog)",
        command=lambda: [sys.executable, "-m", "dp_data_api"],
        env=platform_env(layout),
        cwd=layout.repo,
        health=lambda: health.http_get(f"{url}/healthz"),
        url=f"{url}/docs",
    )
