"""``/mode``: this registry is always READWRITE (no IMPORT or READONLY mode)."""

from __future__ import annotations

from fastapi import APIRouter

from dp_schema_registry.api.deps import JsonBody, Subject
from dp_schema_registry.api.models import ModeResponse
from dp_schema_registry.errors import InvalidModeError
from dp_schema_registry.model import READWRITE

router = APIRouter(prefix="/mode", tags=["mode"])


def _only_readwrite(body: dict[str, object]) -> ModeResponse:
    requested = body.get("mode")
    if not isinstance(requested, str) or requested.strip().upper() != READWRITE:
        raise InvalidModeError(requested)
    return {"mode": READWRITE}


@router.get("")
def get_global_mode() -> ModeResponse:
    """The global mode: READWRITE."""
    return {"mode": READWRITE}


@router.put("")
def put_global_mode(body: JsonBody) -> ModeResponse:
    """Accepts READWRITE (a no-op); any other mode is 42204."""
    return _only_readwrite(body)


@router.get("/{subject}")
def get_subject_mode(subject: Subject) -> ModeResponse:
    """A subject's mode: READWRITE."""
    return {"mode": READWRITE}


@router.put("/{subject}")
def put_subject_mode(subject: Subject, body: JsonBody) -> ModeResponse:
    """Accepts READWRITE (a no-op); any other mode is 42204."""
    return _only_readwrite(body)
