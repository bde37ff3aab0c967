"""Talking to the schema registry through Confluent's own client (any Confluent-compatible registry works)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from dp_contracts.errors import RegistryError, RegistryUnavailableError
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings

T = TypeVar("T")
SUBJECT_NOT_FOUND = 40401


def registry_client(settings: PlatformSettings) -> SchemaRegistryClient:
    conf: dict[str, Any] = {"url": settings.registry.url, "timeout": 10}
    if settings.registry.basic_auth_user and settings.registry.basic_auth_password:
        password = settings.registry.basic_auth_password.get_secret_value()
        conf["basic.auth.user.info"] = f"{settings.registry.basic_auth_user}:{password}"
    return SchemaRegistryClient(conf)


def call(url: str, what: str, fn: Callable[[], T]) -> T:
    """Run one registry call, turning transport failures and registry errors into platform errors."""
    try:
        return fn()
    except SchemaRegistryError as exc:
        raise RegistryError(
            f"{what}: the registry answered {exc.http_status_code} ({exc.error_code}): {exc.error_message}"
        ) from exc
    except Exception as exc:  # the client raises transport errors of several libraries
        raise RegistryUnavailableError(f"{what}: schema registry at {url} unreachable: {exc}") from exc


@dataclass(frozen=True)
class Registration:
    subject: str
    schema_id: int
    version: int


def register(client: SchemaRegistryClient, url: str, contract: Contract) -> Registration:
    """Set the subject's compatibility from the contract, then register it (idempotent: same schema, same id)."""
    subject = contract.subject
    call(
        url,
        f"set compatibility of {subject}",
        lambda: client.set_compatibility(subject, contract.meta.compatibility.value),
    )
    schema = Schema(contract.text, "AVRO")
    schema_id = call(url, f"register {subject}", lambda: client.register_schema(subject, schema))
    found = call(url, f"look up {subject}", lambda: client.lookup_schema(subject, schema))
    return Registration(subject, int(schema_id), int(found.version or 0))


def latest_text(client: SchemaRegistryClient, url: str, subject: str) -> str | None:
    """The latest registered schema of a subject, or None when the subject does not exist."""
    try:
        return str(client.get_latest_version(subject).schema.schema_str)
    except SchemaRegistryError as exc:
        if exc.error_code == SUBJECT_NOT_FOUND:
            return None
        raise RegistryError(f"latest version of {subject}: {exc.error_message}") from exc
    except Exception as exc:
        raise RegistryUnavailableError(
            f"latest version of {subject}: schema registry at {url} unreachable: {exc}"
        ) from exc


def registry_says_compatible(client: SchemaRegistryClient, url: str, contract: Contract) -> bool:
    """The registry's own verdict for the contract against the latest version of its subject."""
    schema = Schema(contract.text, "AVRO")
    return bool(
        call(
            url,
            f"test compatibility of {contract.subject}",
            lambda: client.test_compatibility(contract.subject, schema),
        )
    )
