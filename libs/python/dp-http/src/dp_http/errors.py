"""Error answers: the platform's errors, routing errors and unparsable parameters as JSON, in each service's words.

A service describes its answers once, in an :class:`ErrorStyle`: the body shapes and the status codes are its own
(the schema registry answers Confluent's ``{"error_code", "message"}``, the collector ``{"request_id", "error",
"message", ...}``). :func:`install_error_handlers` then maps

* every :class:`~dp_core.errors.PlatformError` to ``style.answer`` (which picks the status and the headers), logged
  by status (:func:`log_answer`);
* Starlette's HTTP errors (an unknown route 404, a wrong method 405...) to ``style.http_body(status, phrase,
  request_id)``, with that status;
* request validation errors (a path or query parameter that does not parse) to a 422 with
  ``style.invalid_body(problems, request_id)``.

Anything else reaches :class:`~dp_http.middleware.RequestMiddleware`, the last resort, which answers it through
``style.answer`` too (the service turns it into a 500 that shows no internals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from dp_core.errors import PlatformError
from dp_http.request_id import request_id_of

#: The status counted for a request whose client went away before it could be answered (nginx's 499).
CLIENT_CLOSED_REQUEST = 499
#: ``(exception, request id) -> answer``: a service's error translator.
Answer = Callable[[BaseException, str], Response]
#: ``(status, phrase, request id) -> JSON body`` of a routing error.
HttpBody = Callable[[int, str, str], Mapping[str, Any]]
#: ``(problems, request id) -> JSON body`` of a 422 for parameters that do not parse.
InvalidBody = Callable[[str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class ErrorStyle:
    """How one service answers errors; dp_http decides when each answer is given, and logs.

    Attributes:
        answer: the answer to one of the platform's errors, or to any unexpected exception (then a 500 that
            shows no internals), given the request id (``""`` for a service without request ids).
        http_body: the JSON body of a routing error, given its status, the status's phrase and the request id.
        invalid_body: the JSON body of a 422 for a parameter that does not parse, given the problems and the
            request id.
        log: the service's logger: the answers and the last-resort errors are logged there, under its name.
        response_class: the class of the routing and 422 answers (a service's own JSON media type).
    """

    answer: Answer
    http_body: HttpBody
    invalid_body: InvalidBody
    log: logging.Logger
    response_class: type[JSONResponse] = JSONResponse


def status_phrase(status: int) -> str:
    """The reason phrase of an HTTP status (``Not Found``), ``Error`` for a status without one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def validation_problems(exc: Exception) -> str:
    """Every problem of a request validation error as ``loc.of.field: message; ...`` (else the error's text)."""
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in problems)
    return where or str(exc)


def log_context(scope: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """The extras of a log record about a request: its id (when it has one), method and path."""
    where = {"method": scope.get("method"), "path": scope.get("path")}
    return {"request_id": request_id, **where} if request_id else where


def log_answer(log: logging.Logger, exc: BaseException, status: int, context: Mapping[str, Any]) -> None:
    """Log an error answered with ``status``, at the level its cause deserves.

    A failure of the service (5xx but 503) at ERROR; a refusal (503: shutting down, overloaded, a dependency
    down -- counted in the service's metrics, its cause logged once by whatever noticed it) at DEBUG; a request the
    client cut short (408, 499) at INFO, without a traceback; the client's mistakes (other 4xx) not at all.
    """
    if status >= 500 and status != 503:
        log.error("request failed: %s", exc, extra=context)
    elif status == 503:
        log.debug("request refused: %s", exc, extra=context)
    elif status in (408, CLIENT_CLOSED_REQUEST):
        log.info("request cut short: %s", exc, extra=context)


def install_error_handlers(app: FastAPI, style: ErrorStyle) -> None:
    """Answer the platform's errors, routing errors and validation errors of ``app`` in ``style``."""

    async def platform_error(request: Request, exc: Exception) -> Response:
        request_id = request_id_of(request)
        response = style.answer(exc, request_id)
        log_answer(style.log, exc, response.status_code, log_context(request.scope, request_id))
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        body = style.http_body(status, status_phrase(status), request_id_of(request))
        return style.response_class(body, status_code=status)

    async def validation_error(request: Request, exc: Exception) -> Response:
        body = style.invalid_body(validation_problems(exc), request_id_of(request))
        return style.response_class(body, status_code=422)

    app.add_exception_handler(PlatformError, platform_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
