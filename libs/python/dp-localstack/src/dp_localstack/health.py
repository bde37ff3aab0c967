"""Health checks that prove a service really works: a metadata request, ListBuckets, ``SELECT 1``, an HTTP GET."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from dp_core.config import PlatformSettings

_QUIET = logging.getLogger("dp.local.quiet")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""


def kafka_metadata(settings: PlatformSettings, timeout: float = 3.0) -> Health:
    """A metadata request through the real client: the broker answers and lists its brokers."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": settings.kafka.bootstrap_servers, "socket.connection.setup.timeout.ms": 2000},
        logger=_QUIET,
    )
    try:
        meta = admin.list_topics(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 -- any client failure means "not healthy yet"
        return Health(False, f"metadata request failed: {exc}")
    return Health(bool(meta.brokers), f"{len(meta.brokers)} broker(s), {len(meta.topics)} topic(s)")


def s3_client(settings: PlatformSettings, timeout: float = 3.0) -> Any:
    """A boto3 S3 client for the configured store (path-style, local credentials, no checksum surprises)."""
    import boto3
    from botocore.config import Config

    storage = settings.storage
    return boto3.client(
        "s3",
        endpoint_url=storage.endpoint_url,
        region_name=storage.region,
        aws_access_key_id=storage.access_key_id.get_secret_value() if storage.access_key_id else None,
        aws_secret_access_key=storage.secret_access_key.get_secret_value() if storage.secret_access_key else None,
        config=Config(
            s3={"addressing_style": "path" if storage.path_style_access else "auto"},
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def s3_list_buckets(settings: PlatformSettings) -> Health:
    try:
        buckets = s3_client(settings).list_buckets().get("Buckets", [])
    except Exception as exc:  # noqa: BLE001
        return Health(False, f"ListBuckets failed: {exc}")
    return Health(True, f"{len(buckets)} bucket(s)")


def postgres_select_one(conninfo: str) -> Health:
    import psycopg

    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            value = conn.execute("SELECT 1").fetchone()
    except psycopg.Error as exc:
        return Health(False, f"SELECT 1 failed: {' '.join(str(exc).split())}")
    return Health(value == (1,), "SELECT 1 ok")


def http_get(url: str, *, expect: str | None = None, timeout: float = 3.0) -> Health:
    """GET ``url``; healthy on 200 (and, if given, when ``expect`` occurs in the body)."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return Health(False, f"GET {url} failed: {exc}")
    if response.status_code != 200:
        return Health(False, f"GET {url} answered {response.status_code}")
    if expect is not None and expect not in response.text:
        return Health(False, f"GET {url}: {expect!r} not in the answer yet")
    return Health(True, f"GET {url} 200")


def http_json(url: str, check: Callable[[Any], Health], *, timeout: float = 3.0) -> Health:
    """GET ``url`` and judge its JSON body with ``check``."""
    try:
        response = httpx.get(url, timeout=timeout)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        return Health(False, f"GET {url} failed: {exc}")
    if body is None:
        return Health(False, f"GET {url} answered {response.status_code}")
    return check(body)
