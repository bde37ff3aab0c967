"""Trino, single node: the Data API's scale-out engine (``serving.engine: trino``) and the SQL endpoint BI tools
connect to. Its Iceberg connector reads the shared REST catalog and the S3 store, as every other engine does.

The server is ``trino-server`` from Maven Central (:func:`dp_localstack.install.install_trino`), started as plain
``java -cp lib/* io.trino.server.TrinoServer`` with one ``config.properties`` and the catalog ``lake.properties``
written from the settings at each start. Trino needs Java 24+: :func:`trino_java` finds a JDK that is. The S3 keys
are not written to disk: the catalog file names environment variables (``${ENV:...}``) the process is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import InstallError, MissingToolError
from dp_localstack.layout import Layout
from dp_localstack.services.base import AWS_CHECKSUM_ENV, ServiceSpec, host_port, reveal

NAME = "trino"
#: Trino's server, from Maven Central (``io.trino:trino-server``)
TRINO_VERSION = "476"
#: the plugins the stack's Trino loads (the tarball holds ~55; the others are not kept)
TRINO_PLUGINS = ("iceberg",)
MAIN = "io.trino.server.TrinoServer"
#: the oldest Java Trino 476 runs on
MIN_JAVA = 24
JVM_ROOT = Path("/usr/lib/jvm")
KEY_ENV, SECRET_ENV = "DP_TRINO_S3_ACCESS_KEY", "DP_TRINO_S3_SECRET_KEY"


def java_major(jdk: Path) -> int | None:
    """The major version of the JDK at ``jdk`` from its ``release`` file (``JAVA_VERSION="25.0.1"``), or None."""
    release = jdk / "release"
    if not (jdk / "bin" / "java").is_file() or not release.is_file():
        return None
    found = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
    return int(found.group(1)) if found else None


def trino_java(java_home: str | None, root: Path = JVM_ROOT) -> Path:
    """The ``java`` Trino runs on: ``local.trino.java_home`` when set, else the newest JDK under ``root`` that is
    :data:`MIN_JAVA` or later. :class:`MissingToolError` saying what to install when there is none."""
    hint = (
        f"install a JDK {MIN_JAVA}+ (e.g. Temurin 25 from Debian's or Adoptium's packages) or set local.trino.java_home"
    )
    if java_home:
        major = java_major(Path(java_home))
        if major is None or major < MIN_JAVA:
            raise MissingToolError(f"java {MIN_JAVA}+", f"local.trino.java_home {java_home} is not a JDK {MIN_JAVA}+")
        return Path(java_home) / "bin" / "java"
    found = sorted(
        ((major, jdk) for jdk in (root.iterdir() if root.is_dir() else []) if (major := java_major(jdk)) is not None),
        reverse=True,
    )
    if not found or found[0][0] < MIN_JAVA:
        raise MissingToolError(f"java {MIN_JAVA}+ (Trino {TRINO_VERSION})", hint)
    return found[0][1] / "bin" / "java"


def server_properties(settings: PlatformSettings, layout: Layout, port: int) -> dict[str, str]:
    """``config.properties`` (pure): one node that is coordinator and worker, sized for a small machine."""
    memory = settings.local.trino.query_memory
    home = layout.trino_home(TRINO_VERSION)
    return {
        "node.environment": "dp_local",
        "node.id": "dp-local-trino",
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": str(port),
        "discovery.uri": f"http://127.0.0.1:{port}",
        "query.max-memory": memory,
        "query.max-memory-per-node": memory,
        "catalog.config-dir": str(layout.conf(NAME) / "catalog"),
        "plugin.dir": str(home / "plugin"),
        "task.concurrency": "2",
        "task.max-worker-threads": "4",
        "http-server.log.enabled": "false",
    }


def catalog_properties(settings: PlatformSettings) -> dict[str, str]:
    """The catalog ``serving.trino.catalog`` (pure): Iceberg on the shared REST catalog and S3 store; the keys come
    from the environment (:data:`KEY_ENV`, :data:`SECRET_ENV`), never from the file."""
    cat, storage = settings.iceberg.catalog, settings.storage
    props = {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": cat.uri,
        "iceberg.rest-catalog.warehouse": cat.warehouse,
        "fs.native-s3.enabled": "true",
        "s3.region": storage.region,
        "s3.path-style-access": str(storage.path_style_access).lower(),
    }
    if storage.endpoint_url:
        props["s3.endpoint"] = storage.endpoint_url
    if storage.access_key_id and storage.secret_access_key:
        props["s3.aws-access-key"] = "${ENV:" + KEY_ENV + "}"
        props["s3.aws-secret-key"] = "${ENV:" + SECRET_ENV + "}"
    return props


def properties_text(props: Mapping[str, str]) -> str:
    """A Java properties document of ``props`` (values never hold a line break)."""
    for key, value in props.items():
        if "\n" in value or "\r" in value:
            raise InstallError(NAME, f"the Trino property {key} holds a line break")
    lines = ["# Written by `dp local up` from config/ at each start: edits here are overwritten."]
    return "\n".join([*lines, *(f"{k}={v}" for k, v in props.items())]) + "\n"


def jvm_flags(heap: str, data: Path) -> list[str]:
    """Trino's recommended JVM flags, at the configured heap."""
    return [
        f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:G1HeapRegionSize=32M", "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError", "-XX:-OmitStackTraceInFastThrow", "-XX:ReservedCodeCacheSize=256M",
        "-XX:PerMethodRecompilationCutoff=10000", "-XX:PerBytecodeRecompilationCutoff=10000",
        "-XX:+EnableDynamicAgentLoading", "-Djdk.attach.allowAttachSelf=true", "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8", f"-Djava.io.tmpdir={data / 'tmp'}", "--enable-native-access=ALL-UNNAMED",
    ]  # fmt: skip


def trino_ready(url: str) -> health.Health:
    """Healthy once ``/v1/info`` says the server has finished starting (it answers before its catalogs load)."""

    def check(info: object) -> health.Health:
        starting = isinstance(info, dict) and info.get("starting", True)
        version = info.get("nodeVersion", {}).get("version") if isinstance(info, dict) else None
        return health.Health(not starting, f"Trino {version} {'starting' if starting else 'up'}")

    return health.http_json(f"{url}/v1/info", check)


def trino(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    url = settings.serving.trino.url.rstrip("/")
    _, port = host_port(url, 8088)
    conf, data, home = layout.conf(NAME), layout.data(NAME), layout.trino_home(TRINO_VERSION)
    config_file = conf / "config.properties"

    def prepare() -> None:
        for folder in (conf / "catalog", data / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        config_file.write_text(properties_text(server_properties(settings, layout, port)), encoding="utf-8")
        catalog = conf / "catalog" / f"{settings.serving.trino.catalog}.properties"
        for stale in (conf / "catalog").glob("*.properties"):
            if stale != catalog:
                stale.unlink()
        catalog.write_text(properties_text(catalog_properties(settings)), encoding="utf-8")

    def command() -> list[str]:
        if not any((home / "lib").glob("*.jar")):
            raise InstallError(f"trino-server {TRINO_VERSION}", f"not installed in {home}: run `make install`")
        java = trino_java(settings.local.trino.java_home)
        return [str(java), *jvm_flags(settings.local.trino.heap, data), f"-Dconfig={config_file}",
                "-cp", f"{home / 'lib'}/*", MAIN]  # fmt: skip

    env = {**AWS_CHECKSUM_ENV}
    key, secret = reveal(settings.storage.access_key_id), reveal(settings.storage.secret_access_key)
    if key and secret:
        env.update({KEY_ENV: key, SECRET_ENV: secret})
    return ServiceSpec(
        name=NAME,
        group="core",
        port=port,
        description=f"Trino {TRINO_VERSION} (Iceberg on the shared catalog; the Data API's scale-out engine, BI's SQL)",
        command=command,
        env=env,
        cwd=home,
        prepare=prepare,
        health=lambda: trino_ready(url),
        url=f"{url}/ui/",
    )
