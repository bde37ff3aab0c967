"""The Apache Iceberg REST catalog: JDBC on PostgreSQL, S3FileIO on the object store, the namespaces created at
bootstrap. Configured through ``CATALOG_*`` environment variables, as the server reads them.
"""

from __future__ import annotations

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import InstallError
from dp_localstack.layout import Layout
from dp_localstack.services.base import AWS_CHECKSUM_ENV, ServiceSpec, host_port, java_command, jvm_options, reveal


def catalog(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    cat, pg, storage = settings.iceberg.catalog, settings.postgres, settings.storage
    _, port = host_port(cat.uri, 8181)
    env = {
        "CATALOG_CATALOG_NAME": cat.name,
        "CATALOG_URI": f"jdbc:postgresql://{pg.host}:{pg.port}/{pg.databases.catalog}",
        "CATALOG_JDBC_USER": pg.user,
        "CATALOG_JDBC_PASSWORD": reveal(pg.password) or "",
        "CATALOG_REST_PORT": str(port),
        "CATALOG_WAREHOUSE": cat.warehouse,
        "CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
        "CATALOG_S3_PATH__STYLE__ACCESS": str(storage.path_style_access).lower(),
        "CATALOG_CLIENT_REGION": storage.region,
        **AWS_CHECKSUM_ENV,
    }
    if storage.endpoint_url:
        env["CATALOG_S3_ENDPOINT"] = storage.endpoint_url
    key, secret = reveal(storage.access_key_id), reveal(storage.secret_access_key)
    if key and secret:
        env["CATALOG_S3_ACCESS__KEY__ID"] = key
        env["CATALOG_S3_SECRET__ACCESS__KEY"] = secret

    def command() -> list[str]:
        options = jvm_options("64m", settings.local.catalog.heap, "-XX:+UseSerialGC")
        options += [
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
        ]
        jars = layout.jars("iceberg-rest")
        return java_command(jars, "Iceberg REST catalog", options, "org.apache.iceberg.rest.RESTCatalogServer")

    def bootstrap() -> None:
        import httpx

        base = cat.uri.rstrip("/")
        for ns in settings.iceberg.namespaces.model_dump().values():
            response = httpx.post(f"{base}/v1/namespaces", json={"namespace": [ns], "properties": {}}, timeout=10)
            if response.status_code not in (200, 409):
                raise InstallError(f"namespace {ns}", f"POST /v1/namespaces answered {response.status_code}")

    return ServiceSpec(
        name="catalog",
        group="core",
        port=port,
        description="Apache Iceberg REST catalog (JDBC on PostgreSQL, S3FileIO)",
        command=command,
        health=lambda: health.http_get(f"{cat.uri.rstrip('/')}/v1/config"),
        env=env,
        bootstrap=bootstrap,
        url=cat.uri,
    )
