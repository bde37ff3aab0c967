"""The middleware around every request of a service, and :func:`install`, which sets up a service's error answers.

:class:`RequestMiddleware`, outermost of the application's own layers:

* gives the request its id and stamps it on the answer (``X-Request-Id``; see :mod:`dp_http.request_id`);
* lets a ``gate`` answer in place of the application (the collector refuses every request while it drains);
* ends a request whose client went away (Starlette's ``ClientDisconnect``) without an answer, counted as 499 and
  logged at INFO, without a traceback;
* answers anything no handler took through ``style.answer`` and logs it with its traceback: Starlette's own
  last-resort handler answers and then re-raises into the server, this one ends the request and the service keeps
  serving (an exception after the answer began is only logged: the server closes the connection);
* tells an ``observe`` hook the path, the status and the duration of every request (the latency metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dp_http import request_id as ids
from dp_http.errors import CLIENT_CLOSED_REQUEST, ErrorStyle, install_error_handlers, log_context

#: ``request id -> answer, or None to let the request through``.
Gate = Callable[[str], Response | None]
#: ``(path, status, seconds)``, called once per request, whatever its outcome.
Observer = Callable[[str, int, float], None]


@dataclass(frozen=True)
class RequestHooks:
    """What a service adds around each of its requests, besides the error answers.

    Attributes:
        request_ids: give every request an id (``X-Request-Id``, and the ``request_id`` the error bodies get); a
            service whose answers must not change (Confluent's API) turns it off.
        gate: may answer a request in place of the application, given its id (None: let it through).
        observe: told ``(path, status, seconds)`` of every request, whatever its outcome.
    """

    request_ids: bool = True
    gate: Gate | None = None
    observe: Observer | None = None


class RequestMiddleware:
    """Around every HTTP request: its id, the gate, the last-resort answer and the observer (see the module)."""

    def __init__(self, app: ASGIApp, style: ErrorStyle, hooks: RequestHooks = RequestHooks()) -> None:
        self.app = app
        self.style = style
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hooks = self.hooks
        request_id = ids.assign(scope) if hooks.request_ids else ""
        started = time.monotonic()
        status = 500
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                if request_id:
                    ids.stamp(message, request_id)
            await send(message)

        try:
            refusal = hooks.gate(request_id) if hooks.gate is not None else None
            if refusal is not None:
                await refusal(scope, receive, tracking_send)
                return
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
            self.style.log.info(
                "request cut short: the client closed the connection", extra=log_context(scope, request_id)
            )
        except Exception as exc:
            self.style.log.exception("unexpected error", extra=log_context(scope, request_id))
            if not response_started:  # else too late for an error body; the server closes the connection
                await self.style.answer(exc, request_id)(scope, receive, tracking_send)
        finally:
            if hooks.observe is not None:
                hooks.observe(scope["path"], status, time.monotonic() - started)


def install(app: FastAPI, style: ErrorStyle, hooks: RequestHooks = RequestHooks()) -> None:
    """Give ``app`` its error answers in ``style`` and the :class:`RequestMiddleware` (once, after the routes)."""
    install_error_handlers(app, style)
    app.add_middleware(RequestMiddleware, style=style, hooks=hooks)
