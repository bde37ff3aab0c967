"""``/schemas``: schemas by global id, and the schema types served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from dp_schema_registry.api.deps import MEDIA_TYPE, Deleted, RegistryDep
from dp_schema_registry.api.models import SchemaResponse, SubjectVersionPair
from dp_schema_registry.errors import SchemaNotFoundError
from dp_schema_registry.model import AVRO, SubjectVersion, page
from dp_schema_registry.service import Registry

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


@dataclass(frozen=True)
class Holders:
    """The query of ``/ids/{schema_id}/versions`` and ``/subjects``: the holders of which id, which page of them.

    ``subject``, sent by Confluent's clients, narrows the holders to that subject.
    """

    schema_id: str
    deleted: bool
    subject: str | None
    offset: int
    limit: int

    def find(self, registry: Registry) -> list[SubjectVersion]:
        """The subject versions that hold the id (40403 for an id that is not an integer)."""
        return registry.schema_versions(_schema_id(self.schema_id), self.deleted, self.subject)


def holders(schema_id: str, deleted: Deleted, subject: str | None = None, offset: int = 0, limit: int = -1) -> Holders:
    """Parses only: the lookup runs in the route, once every parameter is valid (a bad ``offset`` is a 422)."""
    return Holders(schema_id, deleted, subject, offset, limit)


HoldersQuery = Annotated[Holders, Depends(holders)]


@router.get("/ids/{schema_id}/versions")
def get_schema_versions(query: HoldersQuery, registry: RegistryDep) -> list[SubjectVersionPair]:
    """Every subject version that holds the schema id."""
    return page([{"subject": v.subject, "version": v.version} for v in query.find(registry)], query.offset, query.limit)


@router.get("/ids/{schema_id}/subjects")
def get_schema_subjects(query: HoldersQuery, registry: RegistryDep) -> list[str]:
    """Every subject with a version that holds the schema id."""
    return page(sorted({v.subject for v in query.find(registry)}), query.offset, query.limit)
