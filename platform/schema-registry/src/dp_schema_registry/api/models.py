"""Response bodies, named for what they return; keys are Confluent's (camelCase where it uses it).

TypedDicts rather than pydantic models: Confluent's bodies have a key named ``schema`` (which pydantic models
reserve) and leave keys out instead of sending nulls (``schemaType`` for Avro, ``messages`` unless verbose).
"""

from __future__ import annotations

from typing import NotRequired

# pydantic (which FastAPI validates responses with) needs typing_extensions.TypedDict before Python 3.12
from typing_extensions import TypedDict


class SchemaIdResponse(TypedDict):
    """``POST /subjects/{s}/versions``: the global id of the registered schema."""

    id: int


class SubjectVersionResponse(TypedDict):
    """A version of a subject with its schema (``GET /subjects/{s}/versions/{v}``, ``POST /subjects/{s}``)."""

    subject: str
    version: int
    id: int
    schemaType: NotRequired[str]
    schema: str


class SchemaResponse(TypedDict):
    """``GET /schemas/ids/{id}``: the schema text."""

    schemaType: NotRequired[str]
    schema: str


class SubjectVersionPair(TypedDict):
    """One subject version that holds a schema id (``GET /schemas/ids/{id}/versions``)."""

    subject: str
    version: int


class CompatibilityLevelResponse(TypedDict):
    """``GET /config``, ``GET /config/{s}`` and the deletes: the level in force (or deleted)."""

    compatibilityLevel: str


class CompatibilityUpdate(TypedDict):
    """``PUT /config``, ``PUT /config/{s}``: the level set."""

    compatibility: str


class CompatibilityCheckResponse(TypedDict):
    """``POST /compatibility/...``: the verdict, with one message per problem when ``verbose=true``."""

    is_compatible: bool
    messages: NotRequired[list[str]]


class ModeResponse(TypedDict):
    """``GET /mode``, ``GET /mode/{s}``: always READWRITE."""

    mode: str


class HealthResponse(TypedDict):
    """``GET /health``: the service answers and its store does."""

    status: str
    store: str
