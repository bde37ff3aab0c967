"""``/compatibility``: would this schema be accepted next to the subject's versions?"""

from __future__ import annotations

from fastapi import APIRouter

from dp_schema_registry.api.deps import RegistryDep, Subject, Submission, Verbose
from dp_schema_registry.api.models import CompatibilityCheckResponse

router = APIRouter(prefix="/compatibility", tags=["compatibility"])


def _answer(compatible: bool, messages: list[str], verbose: bool) -> CompatibilityCheckResponse:
    return {"is_compatible": compatible, "messages": messages} if verbose else {"is_compatible": compatible}


@router.post("/subjects/{subject}/versions/{version}")
def check_version(
    subject: Subject, version: str, submission: Submission, registry: RegistryDep, verbose: Verbose
) -> CompatibilityCheckResponse:
    """Against one version, or ``latest`` (then exactly the check a registration runs, transitive modes included)."""
    return _answer(*registry.test_compatibility(subject, version, submission, verbose), verbose)


@router.post("/subjects/{subject}/versions")
def check_subject(
    subject: Subject, submission: Submission, registry: RegistryDep, verbose: Verbose
) -> CompatibilityCheckResponse:
    """Against the subject as a registration would check it."""
    return _answer(*registry.test_compatibility(subject, None, submission, verbose), verbose)
