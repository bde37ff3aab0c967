"""Request parsing shared by the routes: the registry, the subject name, boolean query flags and the JSON body.

Confluent clients send ``application/vnd.schemaregistry.v1+json``; ``application/vnd.schemaregistry+json``,
``application/json``, ``application/octet-stream`` and no content type at all are read as JSON too. Any other
content type is refused with 415; a body that is not a JSON object, or a schema request without a string
``schema``, with 422 and error code 422 (Confluent's "unprocessable entity"). Every route with a ``{subject}`` in
its path reads it through :data:`Subject`, which refuses control characters (NUL included) with 422 / 42208.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from dp_schema_registry.errors import MalformedRequestError, UnsupportedMediaTypeError
from dp_schema_registry.model import AVRO, parse_flag, parse_subject
from dp_schema_registry.service import Registry, SchemaSubmission

#: The content type of every answer.
MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
JSON_MEDIA_TYPES = frozenset(
    {
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
        "application/json",
        "application/octet-stream",
    }
)
#: Request properties that change what a schema means and that this registry does not implement.
_UNSUPPORTED_PROPERTIES = ("metadata", "ruleSet")


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def subject_name(subject: str) -> str:
    """The ``{subject}`` path parameter, validated (see :func:`~dp_schema_registry.model.parse_subject`)."""
    return parse_subject(subject)


def query_flag(name: str) -> Callable[[Request], bool]:
    """A dependency reading the boolean query parameter ``name`` (``true`` in any case; absent is false)."""

    def read(request: Request) -> bool:
        return parse_flag(request.query_params.get(name))

    return read


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(media_type)
    raw = await request.body()
    if not raw.strip():
        raise MalformedRequestError("the body is empty; expected a JSON object")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequestError(f"the body is not valid JSON ({exc})") from exc
    except RecursionError:
        raise MalformedRequestError("the body is nested too deeply to be read") from None
    if not isinstance(data, dict):
        raise MalformedRequestError(f"the body must be a JSON object, not {type(data).__name__}")
    return data


def submission_of(data: dict[str, Any]) -> SchemaSubmission:
    """A schema submission from a request body: ``schema`` (required), ``schemaType``, ``references``."""
    schema = data.get("schema")
    if not isinstance(schema, str):
        raise MalformedRequestError('"schema" is required and must be a string holding the schema as JSON text')
    schema_type = data.get("schemaType") or AVRO
    if not isinstance(schema_type, str):
        raise MalformedRequestError('"schemaType" must be a string')
    references = data.get("references") or []
    if not isinstance(references, list):
        raise MalformedRequestError('"references" must be a list')
    extras = tuple(name for name in _UNSUPPORTED_PROPERTIES if data.get(name))
    return SchemaSubmission(schema, schema_type, references, extras)


async def schema_submission(request: Request) -> SchemaSubmission:
    return submission_of(await json_object(request))


RegistryDep = Annotated[Registry, Depends(get_registry)]
Subject = Annotated[str, Depends(subject_name)]
JsonBody = Annotated[dict[str, Any], Depends(json_object)]
Submission = Annotated[SchemaSubmission, Depends(schema_submission)]
Deleted = Annotated[bool, Depends(query_flag("deleted"))]
Permanent = Annotated[bool, Depends(query_flag("permanent"))]
Verbose = Annotated[bool, Depends(query_flag("verbose"))]
DefaultToGlobal = Annotated[bool, Depends(query_flag("defaultToGlobal"))]


def deleted_only(request: Request) -> bool:
    """Confluent's ``deletedOnly``; the Python client spells it ``deleted_only``."""
    return parse_flag(request.query_params.get("deletedOnly")) or parse_flag(request.query_params.get("deleted_only"))


DeletedOnly = Annotated[bool, Depends(deleted_only)]
