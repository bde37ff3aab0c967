"""The stack's Trino: its Java (24+), its two properties files from config, the S3 keys off disk and off the
command line, and a clear error when it is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_core.config import LoadedConfig
from dp_localstack.errors import InstallError, MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.services import all_services
from dp_localstack.services.trino import (
    KEY_ENV,
    SECRET_ENV,
    TRINO_VERSION,
    catalog_properties,
    properties_text,
    server_properties,
    trino_java,
)


def jdk(root: Path, name: str, version: str | None) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    if version is not None:
        (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


def test_trino_runs_on_the_newest_jdk_that_is_24_or_later(tmp_path: Path) -> None:
    jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    jdk(tmp_path, "broken", None)
    newest = jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.1")
    jdk(tmp_path, "temurin-24-jdk-amd64", "24.0.2")
    assert trino_java(None, tmp_path) == newest / "bin" / "java"
    assert trino_java(str(newest)) == newest / "bin" / "java"
    with pytest.raises(MissingToolError, match="is not a JDK 24"):
        trino_java(str(tmp_path / "java-17-openjdk-amd64"))
    only_old = tmp_path / "old"
    jdk(only_old, "java-17-openjdk-amd64", "17.0.15")
    with pytest.raises(MissingToolError, match="install a JDK 24"):
        trino_java(None, only_old)


def test_one_node_on_the_configured_port_with_the_iceberg_catalog(tmp_config: LoadedConfig) -> None:
    layout = Layout.from_config(tmp_config)
    props = server_properties(tmp_config.settings, layout, 8088)
    assert (props["coordinator"], props["node-scheduler.include-coordinator"]) == ("true", "true")
    assert props["http-server.http.port"] == "8088"
    assert props["catalog.config-dir"] == str(layout.conf("trino") / "catalog")
    assert props["plugin.dir"] == str(layout.trino_home(TRINO_VERSION) / "plugin")
    assert props["query.max-memory-per-node"] == "512MB"
    catalog = catalog_properties(tmp_config.settings)
    assert catalog["connector.name"] == "iceberg"
    assert catalog["iceberg.catalog.type"] == "rest"
    assert catalog["iceberg.rest-catalog.uri"] == "http://127.0.0.1:18181"
    assert catalog["s3.endpoint"] == "http://127.0.0.1:9000"
    assert catalog["s3.path-style-access"] == "true"
    # the keys are read from the process's environment, never written to the file
    assert catalog["s3.aws-access-key"] == "${ENV:" + KEY_ENV + "}"
    assert "minioadmin" not in properties_text(catalog)
    with pytest.raises(InstallError, match="line break"):
        properties_text({"a": "b\nc=d"})


def test_the_service_writes_its_files_keeps_keys_in_its_env_and_needs_the_install(tmp_config: LoadedConfig) -> None:
    layout = Layout.from_config(tmp_config)
    service = {s.name: s for s in all_services(tmp_config.settings, layout)}["trino"]
    assert (service.group, service.port, service.url) == ("core", 8088, "http://127.0.0.1:8088/ui/")
    assert (service.env[KEY_ENV], service.env[SECRET_ENV]) == ("minioadmin", "minioadmin")
    assert service.prepare is not None
    stale = layout.conf("trino") / "catalog" / "old.properties"
    stale.parent.mkdir(parents=True)
    stale.write_text("connector.name=memory\n")
    service.prepare()
    assert not stale.exists()
    assert "connector.name=iceberg" in (layout.conf("trino") / "catalog" / "lake.properties").read_text()
    assert "http-server.http.port=8088" in (layout.conf("trino") / "config.properties").read_text()
    with pytest.raises(InstallError, match="run `make install`"):
        service.command()
    (layout.trino_home(TRINO_VERSION) / "lib").mkdir(parents=True)
    (layout.trino_home(TRINO_VERSION) / "lib" / "trino-main.jar").write_text("")
    if Path("/usr/lib/jvm").is_dir() and any(Path("/usr/lib/jvm").glob("temurin-2[4-9]*")):
        command = service.command()
        assert command[-1] == "io.trino.server.TrinoServer"
        assert "-Xmx1g" in command
        assert "minioadmin" not in " ".join(command)
