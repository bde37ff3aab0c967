"""The S3-compatible object store: versitygw over a posix folder, the warehouse bucket created on first start."""

from __future__ import annotations

from dp_core.config import PlatformSettings
from dp_localstack import health
from dp_localstack.errors import InstallError
from dp_localstack.layout import Layout
from dp_localstack.services.base import ServiceSpec, host_port


def s3(settings: PlatformSettings, layout: Layout) -> ServiceSpec:
    if settings.storage.endpoint_url is None:
        raise InstallError("S3 store", "storage.endpoint_url is null: the local stack needs a local endpoint")
    host, port = host_port(settings.storage.endpoint_url, 9000)
    console = settings.local.storage.console_port
    data = layout.data("s3")
    key, secret = settings.storage.access_key_id, settings.storage.secret_access_key
    if key is None or secret is None:
        raise InstallError("S3 store", "storage.access_key_id / secret_access_key are not set (config/secrets/local)")

    def prepare() -> None:
        (data / "buckets").mkdir(parents=True, exist_ok=True)
        (data / "meta").mkdir(parents=True, exist_ok=True)

    def command() -> list[str]:
        binary = layout.bin / "versitygw"
        if not binary.exists():
            raise InstallError("versitygw", f"{binary} is missing: run `make install`")
        webui = ["--webui", f"{host}:{console}", "--webui-no-tls"] if console else []
        return [
            str(binary),
            *("--port", f"{host}:{port}"),
            *webui,
            *("--region", settings.storage.region),
            "--quiet",
            "posix",
            *("--sidecar", str(data / "meta")),
            str(data / "buckets"),
        ]

    def bootstrap() -> None:
        client = health.s3_client(settings)
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if settings.storage.warehouse_bucket not in names:
            client.create_bucket(Bucket=settings.storage.warehouse_bucket)

    return ServiceSpec(
        name="s3",
        group="core",
        port=port,
        extra_ports=(console,) if console else (),
        description="S3-compatible object store (versitygw, posix backend)",
        command=command,
        # credentials go through the environment, not the command line that `ps` shows
        env={"ROOT_ACCESS_KEY_ID": key.get_secret_value(), "ROOT_SECRET_ACCESS_KEY": secret.get_secret_value()},
        health=lambda: health.s3_list_buckets(settings),
        prepare=prepare,
        bootstrap=bootstrap,
        url=settings.storage.endpoint_url,
    )
