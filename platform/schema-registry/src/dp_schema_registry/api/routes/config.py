"""``/config``: the compatibility level, global and per subject."""

from __future__ import annotations

from fastapi import APIRouter

from dp_schema_registry.api.deps import DefaultToGlobal, JsonBody, RegistryDep, Subject
from dp_schema_registry.api.models import CompatibilityLevelResponse, CompatibilityUpdate

router = APIRouter(prefix="/config", tags=["config"])


def _requested_level(body: dict[str, object]) -> object:
    # Confluent's request property is "compatibility"; accept the response's spelling too
    return body.get("compatibility", body.get("compatibilityLevel"))


@router.get("")
def get_global(registry: RegistryDep) -> CompatibilityLevelResponse:
    """The global level (``registry.default_compatibility`` until one is set)."""
    return {"compatibilityLevel": registry.global_compatibility().value}


@router.put("")
def put_global(body: JsonBody, registry: RegistryDep) -> CompatibilityUpdate:
    """Set the global level: ``{"compatibility": "FULL"}``. 42203 for an unknown level."""
    return {"compatibility": registry.set_global_compatibility(_requested_level(body)).value}


@router.delete("")
def delete_global(registry: RegistryDep) -> CompatibilityLevelResponse:
    """Reset the global level to the configured default; returns the level it had."""
    return {"compatibilityLevel": registry.delete_global_compatibility().value}


@router.get("/{subject}")
def get_subject(
    subject: Subject, registry: RegistryDep, default_to_global: DefaultToGlobal
) -> CompatibilityLevelResponse:
    """The subject's own level; 40408 if it has none, unless ``defaultToGlobal=true``."""
    return {"compatibilityLevel": registry.subject_compatibility(subject, default_to_global).value}


@router.put("/{subject}")
def put_subject(subject: Subject, body: JsonBody, registry: RegistryDep) -> CompatibilityUpdate:
    """Set the subject's level. 42203 for an unknown level."""
    return {"compatibility": registry.set_subject_compatibility(subject, _requested_level(body)).value}


@router.delete("/{subject}")
def delete_subject(subject: Subject, registry: RegistryDep) -> CompatibilityLevelResponse:
    """Drop the subject's level (it follows the global one again); returns it. 40401 if it had none."""
    return {"compatibilityLevel": registry.delete_subject_compatibility(subject).value}
