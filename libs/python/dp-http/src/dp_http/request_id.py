"""The request id: a fresh UUID per request, kept in the request's state and sent back as ``X-Request-Id``.

:class:`~dp_http.middleware.RequestMiddleware` assigns it (:func:`assign`) and stamps it on the answer
(:func:`stamp`); routes read it through :data:`RequestId`, error handlers through :func:`request_id_of`. A service
that does not use request ids (the schema registry, whose answers are Confluent's) sees ``""``.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope

REQUEST_ID_HEADER = "X-Request-Id"


def new_request_id() -> str:
    """A fresh id (a random UUID): the id a client sends is not trusted, every request gets its own."""
    return str(uuid.uuid4())


def assign(scope: Scope) -> str:
    """Give the request of ``scope`` a fresh id, kept in its state (``request.state.request_id``); returns it."""
    request_id = new_request_id()
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id


def stamp(message: Message, request_id: str) -> None:
    """Put ``X-Request-Id`` on an ``http.response.start`` message."""
    MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id


def request_id_of(request: Request) -> str:
    """The id the middleware gave ``request`` (``""`` when none was given)."""
    return str(getattr(request.state, "request_id", "") or "")


#: A route parameter holding the request's id (``request_id: RequestId``).
RequestId = Annotated[str, Depends(request_id_of)]
