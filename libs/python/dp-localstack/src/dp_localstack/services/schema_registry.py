"""The platform's schema registry (``dp_schema_registry``, Confluent API): a Python process of this repository,
started with the same configuration as the command that starts it.
"""

from __future__ import annotations

import os
import sys

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.layout import Layout
from dp_localstack.services.base import ServiceSpec, host_port


def platform_env(layout: Layout) -> dict[str, str]:
    """What a platform service written in Python needs to build the same settings as this process."""
    env = {k: v for k, v in os.environ.items() if k.startswith("DP_")}
    env.setdefault("DP_CONFIG_DIR", str(layout.repo / "config"))
    return env


def registry(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    url = settings.registry.url.rstrip("/")
    _, port = host_port(url, 8081)
    return ServiceSpec(
        name="registry",
        group="core",
        port=port,
        description="Schema registry (Confluent API, state in PostgreSQL)",
        command=lambda: [sys.executable, "-m", "dp_schema_registry"],
        env=platform_env(layout),
        cwd=layout.repo,
        health=lambda: health.http_get(f"{url}/subjects"),
        url=url,
    )
