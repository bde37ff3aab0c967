"""``/subjects``: list subjects, register and look up schemas, read and delete versions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dp_schema_registry.api.deps import MEDIA_TYPE, Deleted, DeletedOnly, Permanent, RegistryDep, Subject, Submission
from dp_schema_registry.api.models import SchemaIdResponse, SubjectVersionResponse
from dp_schema_registry.model import SubjectVersion, page

router = APIRouter(prefix="/subjects", tags=["subjects"])


def subject_version(found: SubjectVersion, text: str) -> SubjectVersionResponse:
    return {"subject": found.subject, "version": found.version, "id": found.schema_id, "schema": text}


@router.get("")
def list_subjects(
    registry: RegistryDep,
    deleted: Deleted,
    deleted_only: DeletedOnly,
    subjectPrefix: str = "",  # Confluent's parameter name
    offset: int = 0,
    limit: int = -1,
) -> list[str]:
    """Subjects with a live version; ``deleted=true`` adds soft-deleted ones, ``deletedOnly=true`` lists only them."""
    return page(registry.subjects(deleted, deleted_only, subjectPrefix), offset, limit)


@router.get("/{subject}/versions")
def list_versions(
    subject: Subject,
    registry: RegistryDep,
    deleted: Deleted,
    deleted_only: DeletedOnly,
    offset: int = 0,
    limit: int = -1,
) -> list[int]:
    """The subject's live version numbers, ascending (``deleted=true``: soft-deleted ones too). 40401 if none."""
    return page(registry.versions(subject, deleted, deleted_only), offset, limit)


@router.post("/{subject}/versions")
def register(subject: Subject, submission: Submission, registry: RegistryDep) -> SchemaIdResponse:
    """Register a schema; the same schema again returns its id. 409 if incompatible, 42201 if invalid."""
    return {"id": registry.register(subject, submission).schema_id}


@router.get("/{subject}/versions/{version}")
def get_version(subject: Subject, version: str, registry: RegistryDep, deleted: Deleted) -> SubjectVersionResponse:
    """A version (a number or ``latest``) with its schema. 40401 / 40402 / 42202."""
    return subject_version(*registry.version(subject, version, deleted))


@router.get("/{subject}/versions/{version}/schema")
def get_version_schema(subject: Subject, version: str, registry: RegistryDep, deleted: Deleted) -> Response:
    """Only the schema text of a version."""
    _, text = registry.version(subject, version, deleted)
    return Response(content=text, media_type=MEDIA_TYPE)


@router.delete("/{subject}/versions/{version}")
def delete_version(subject: Subject, version: str, registry: RegistryDep, permanent: Permanent) -> int:
    """Soft-delete a version; ``permanent=true`` removes a soft-deleted one. Returns the version number."""
    return registry.delete_version(subject, version, permanent)


@router.post("/{subject}")
def lookup(subject: Subject, submission: Submission, registry: RegistryDep, deleted: Deleted) -> SubjectVersionResponse:
    """Whether a schema is registered under the subject: its version and id, else 40403 (40401: no subject)."""
    return subject_version(*registry.lookup(subject, submission, deleted))


@router.delete("/{subject}")
def delete_subject(subject: Subject, registry: RegistryDep, permanent: Permanent) -> list[int]:
    """Soft-delete the subject's versions; ``permanent=true`` removes a soft-deleted subject. Returns versions."""
    return registry.delete_subject(subject, permanent)
