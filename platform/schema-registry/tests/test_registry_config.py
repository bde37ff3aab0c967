"""The service's settings come from the platform settings; the port of registry.url; a taken port is refused."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dp_core.config import load_settings
from dp_core.errors import ConfigError
from dp_schema_registry.cli import claim_port
from dp_schema_registry.config import port_of, service_config
from dp_schema_registry.errors import StartupError


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://127.0.0.1:8081", 8081), ("http://registry:18081/", 18081), ("http://r", 80), ("https://r", 443)],
)
def test_port_of_the_registry_url(url: str, port: int) -> None:
    assert port_of(url) == port


@pytest.mark.parametrize("url", ["127.0.0.1:8081", "http://:8081", "http://h:99999", "ftp://h"])
def test_a_url_without_a_usable_port_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"registry\.url"):
        port_of(url)


def test_service_config_from_the_local_settings(repo_root: Path) -> None:
    settings = load_settings(
        repo_root / "config",
        {"DP_REGISTRY_URL": "http://127.0.0.1:18181", "DP_POSTGRES_DATABASES__REGISTRY": "sr_unit"},
    ).settings
    config = service_config(settings)
    assert (config.host, config.port, config.database_where) == ("127.0.0.1", 18181, "127.0.0.1:5432/sr_unit")
    assert config.default_compatibility.value == "BACKWARD"
    assert "dbname=sr_unit" in config.conninfo and "user=dataplatform" in config.conninfo
    password = settings.postgres.password
    assert password is not None
    assert password.get_secret_value() not in repr(config)


def test_a_taken_port_is_a_startup_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(StartupError) as caught:
            claim_port("127.0.0.1", port)
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(registry.url sets the port; DP_REGISTRY_URL overrides it)"
    )
