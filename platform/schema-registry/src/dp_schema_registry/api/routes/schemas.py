"""``/schemas``: schemas by global id, and the schema types served."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dp_schema_registry.api.deps import MEDIA_TYPE, Deleted, RegistryDep
from dp_schema_registry.api.models import SchemaResponse, SubjectVersionPair
from dp_schema_registry.errors import SchemaNotFoundError
from dp_schema_registry.model import AVRO, page

router = APIRouter(prefix="/schemas", tags=["schemas"])


def _schema_id(raw: str) -> int:
    """A global id from the path; anything but an integer names no schema (40403)."""
    try:
        return int(raw)
    except ValueError:
        raise SchemaNotFoundError(raw) from None


@router.get("/types")
def schema_types() -> list[str]:
    """The schema types this registry serves: Avro only."""
    return [AVRO]


@router.get("/ids/{schema_id}")
def get_schema(schema_id: str, registry: RegistryDep, subject: str | None = None) -> SchemaResponse:
    """The schema with this global id (soft-deleted versions keep it readable). 40403 if unknown.

    ``subject`` is accepted as Confluent's clients send it; ids are global, so it does not narrow the lookup.
    """
    return {"schema": registry.schema(_schema_id(schema_id)).text}


@router.get("/ids/{schema_id}/schema")
def get_schema_text(schema_id: str, registry: RegistryDep, subject: str | None = None) -> Response:
    """Only the schema text."""
    return Response(content=registry.schema(_schema_id(schema_id)).text, media_type=MEDIA_TYPE)


@router.get("/ids/{schema_id}/versions")
def get_schema_versions(
    schema_id: str,
    registry: RegistryDep,
    deleted: Deleted,
    subject: str | None = None,
    offset: int = 0,
    limit: int = -1,
) -> list[SubjectVersionPair]:
    """Every subject version that holds the schema id."""
    found = registry.schema_versions(_schema_id(schema_id), deleted, subject)
    return page([{"subject": v.subject, "version": v.version} for v in found], offset, limit)


@router.get("/ids/{schema_id}/subjects")
def get_schema_subjects(
    schema_id: str,
    registry: RegistryDep,
    deleted: Deleted,
    subject: str | None = None,
    offset: int = 0,
    limit: int = -1,
) -> list[str]:
    """Every subject with a version that holds the schema id."""
    found = registry.schema_versions(_schema_id(schema_id), deleted, subject)
    return page(sorted({v.subject for v in found}), offset, limit)
