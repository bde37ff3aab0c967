"""The FastAPI application: routers, the content type, and the registry's words for errors (:mod:`dp_http`).

Every error reaches the client as Confluent's ``{"error_code": N, "message": "..."}``: the registry's own
errors with their codes (:func:`~dp_schema_registry.errors.error_payload`), unknown routes and methods as
404/405, unparsable query parameters as 422, and anything unexpected as 500 with error code 50001 -- logged
with its traceback, and the service keeps serving. Answers carry no request id: they are Confluent's.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from dp_http import ErrorStyle, RequestHooks, install
from dp_schema_registry.api.deps import MEDIA_TYPE
from dp_schema_registry.api.routes import compatibility, config, mode, root, schemas, subjects
from dp_schema_registry.errors import UNPROCESSABLE_REQUEST, error_payload
from dp_schema_registry.service import Registry

log = logging.getLogger(__name__)


class RegistryJSONResponse(JSONResponse):
    """JSON with Confluent's content type."""

    media_type = MEDIA_TYPE


def error_response(exc: BaseException, request_id: str = "") -> RegistryJSONResponse:
    """Confluent's answer to an error (the registry has no request ids)."""
    status, body = error_payload(exc)
    return RegistryJSONResponse(body, status_code=status)


def http_error_body(status: int, phrase: str, request_id: str) -> dict[str, object]:
    """An unknown route or method: the HTTP status doubles as the error code, as in Confluent's registry."""
    return {"error_code": status, "message": f"HTTP {status} {phrase}"}


def invalid_request_body(problems: str, request_id: str) -> dict[str, object]:
    """A query parameter that does not parse."""
    return {"error_code": UNPROCESSABLE_REQUEST, "message": f"Unprocessable request: {problems}"}


ERROR_STYLE = ErrorStyle(
    answer=error_response,
    http_body=http_error_body,
    invalid_body=invalid_request_body,
    log=log,
    response_class=RegistryJSONResponse,
)


def create_app(registry: Registry) -> FastAPI:
    """The registry's ASGI application, serving ``registry``."""
    app = FastAPI(
        title="DTHEINFRA schema registry",
        description="The Confluent Schema Registry REST API for Avro, state in PostgreSQL.",
        default_response_class=RegistryJSONResponse,
    )
    app.state.registry = registry
    for module in (root, subjects, schemas, config, compatibility, mode):
        app.include_router(module.router)
    install(app, ERROR_STYLE, RequestHooks(request_ids=False))
    return app
