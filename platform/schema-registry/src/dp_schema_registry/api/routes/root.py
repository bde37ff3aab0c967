"""``GET /`` (Confluent answers ``{}``) and ``GET /health`` (the service and its store answer)."""

from __future__ import annotations

from fastapi import APIRouter

from dp_schema_registry.api.deps import RegistryDep
from dp_schema_registry.api.models import HealthResponse

router = APIRouter(tags=["root"])


@router.get("/")
def root() -> dict[str, object]:
    """An empty object, as Confluent's registry answers at its root."""
    return {}


@router.get("/health")
def health(registry: RegistryDep) -> HealthResponse:
    """200 when PostgreSQL answers; 500 with error code 50001 when it does not."""
    registry.ping()
    return {"status": "UP", "store": "UP"}
