"""HTTP plumbing shared by the platform's FastAPI services: JSON errors, request ids, Prometheus text, serve.

* :mod:`dp_http.errors` -- :class:`ErrorStyle` (how a service words its error answers) and the handlers;
* :mod:`dp_http.middleware` -- :func:`install` (handlers and :class:`RequestMiddleware`: request id, gate, 499,
  last-resort answer, observer);
* :mod:`dp_http.request_id` -- the ``X-Request-Id`` of every request and :data:`RequestId` for routes;
* :mod:`dp_http.prometheus` -- the text exposition format (:class:`Exposition`, :class:`Histogram`);
* :mod:`dp_http.serve` -- :func:`serve_app`: uvicorn on a claimed socket until SIGTERM/SIGINT.
"""

from dp_http.errors import CLIENT_CLOSED_REQUEST, ErrorStyle, status_phrase, validation_problems
from dp_http.middleware import RequestHooks, RequestMiddleware, install
from dp_http.request_id import REQUEST_ID_HEADER, RequestId, request_id_of
from dp_http.serve import ServeOptions, on_stop_signals, serve_app

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "REQUEST_ID_HEADER",
    "ErrorStyle",
    "RequestHooks",
    "RequestId",
    "RequestMiddleware",
    "ServeOptions",
    "install",
    "on_stop_signals",
    "request_id_of",
    "serve_app",
    "status_phrase",
    "validation_problems",
]
