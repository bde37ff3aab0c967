"""dp_http's error answers and middleware on a small app: request ids, body shapes, the last resort, hooks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Message

from dp_core.errors import PlatformError, TerminalError, TransientError
from dp_http import ErrorStyle, RequestHooks, RequestId, install, status_phrase, validation_problems
from dp_http.errors import log_answer

log = logging.getLogger("dp_http_test_service")
MEDIA_TYPE = "application/vnd.test+json"


class ServiceJSONResponse(JSONResponse):
    media_type = MEDIA_TYPE


class Refused(TransientError):
    pass


class Bad(TerminalError):
    pass


def answer(exc: BaseException, request_id: str) -> Response:
    """The test service's words: its errors by family, anything else as a 500 without internals."""
    families: dict[type[BaseException], tuple[int, str]] = {Bad: (400, "bad"), Refused: (503, "refused")}
    status, kind = families.get(type(exc), (500, "internal"))
    message = str(exc) if isinstance(exc, PlatformError) else "internal error"
    return ServiceJSONResponse({"request_id": request_id, "error": kind, "message": message}, status_code=status)


STYLE = ErrorStyle(
    answer=answer,
    http_body=lambda status, phrase, request_id: {"request_id": request_id, "http": status, "phrase": phrase},
    invalid_body=lambda problems, request_id: {"request_id": request_id, "invalid": problems},
    log=log,
    response_class=ServiceJSONResponse,
)
RAISED: dict[str, Exception] = {
    "bad": Bad("no such thing"),
    "refused": Refused("try later"),
    "bug": RuntimeError("secret internals"),
    "gone": ClientDisconnect(),
}


def make_app(hooks: RequestHooks | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/id")
    def echo_id(request_id: RequestId) -> dict[str, str]:
        return {"request_id": request_id}

    @app.get("/items/{number}")
    def item(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/raise/{what}")
    def fail(what: str) -> None:
        raise RAISED[what]

    install(app, STYLE, hooks or RequestHooks())
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_request_gets_a_fresh_id_in_the_header_and_for_its_routes(client: TestClient) -> None:
    answers = [client.get("/id", headers={"X-Request-Id": "chosen-by-the-client"}) for _ in range(3)]
    ids = [a.headers["x-request-id"] for a in answers]
    assert [a.json()["request_id"] for a in answers] == ids
    assert len(set(ids)) == 3 and all(str(uuid.UUID(i)) == i for i in ids)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/raise/bad", 400, {"error": "bad", "message": "no such thing"}),
        ("/raise/refused", 503, {"error": "refused", "message": "try later"}),
        ("/raise/bug", 500, {"error": "internal", "message": "internal error"}),
        ("/nowhere", 404, {"http": 404, "phrase": "Not Found"}),
        (
            "/items/x",
            422,
            {"invalid": "path.number: Input should be a valid integer, unable to parse string as an integer"},
        ),
    ],
    ids=["platform-error", "transient", "unexpected", "unknown-route", "invalid-parameter"],
)
def test_errors_are_answered_in_the_services_words_with_the_request_id(
    client: TestClient, path: str, status: int, body: dict[str, Any]
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.json() == {"request_id": response.headers["x-request-id"], **body}
    assert "secret internals" not in response.text


def test_a_wrong_method_is_405_in_the_services_words(client: TestClient) -> None:
    response = client.post("/id")
    assert (response.status_code, response.json()["phrase"]) == (405, "Method Not Allowed")


def test_an_unexpected_error_is_logged_with_its_traceback_and_the_service_keeps_serving(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=log.name):
        response = client.get("/raise/bug")
    [record] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert record.exc_info and record.name == log.name
    context = {key: vars(record)[key] for key in ("request_id", "method", "path")}
    assert context == {"request_id": response.headers["x-request-id"], "method": "GET", "path": "/raise/bug"}
    assert client.get("/id").status_code == 200


def test_without_request_ids_answers_carry_none() -> None:
    with TestClient(make_app(RequestHooks(request_ids=False))) as client:
        response = client.get("/raise/bad")
    assert "x-request-id" not in response.headers
    assert response.json()["request_id"] == ""


def test_a_gate_answers_in_place_of_the_app_and_the_observer_sees_every_request() -> None:
    seen: list[tuple[str, int]] = []
    closed: list[str] = []
    hooks = RequestHooks(
        gate=lambda request_id: Response("closed", status_code=503) if closed and request_id else None,
        observe=lambda path, status, seconds: seen.append((path, status)) if seconds >= 0 else None,
    )
    with TestClient(make_app(hooks), raise_server_exceptions=False) as client:
        client.get("/id")
        client.get("/raise/bug")
        closed.append("shutting down")
        refused = client.get("/id")
    assert (refused.status_code, refused.text) == (503, "closed")
    assert refused.headers["x-request-id"]
    assert seen == [("/id", 200), ("/raise/bug", 500), ("/id", 503)]


def test_a_client_gone_mid_request_is_counted_499_and_logged_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[int] = []
    app = make_app(RequestHooks(observe=lambda path, status, seconds: seen.append(status)))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/raise/gone",
        "raw_path": b"/raise/gone",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    with caplog.at_level(logging.INFO, logger=log.name):
        asyncio.run(app(scope, receive, send))
    assert seen == [499] and sent == []
    [record] = caplog.records
    assert record.levelno == logging.INFO and not record.exc_info
    assert record.getMessage() == "request cut short: the client closed the connection"


@pytest.mark.parametrize(
    ("status", "level", "message"),
    [
        (500, logging.ERROR, "request failed: boom"),
        (503, logging.DEBUG, "request refused: boom"),
        (408, logging.INFO, "request cut short: boom"),
        (499, logging.INFO, "request cut short: boom"),
        (404, None, None),
    ],
)
def test_answers_are_logged_at_the_level_their_cause_deserves(
    caplog: pytest.LogCaptureFixture, status: int, level: int | None, message: str | None
) -> None:
    with caplog.at_level(logging.DEBUG, logger=log.name):
        log_answer(log, Bad("boom"), status, {"path": "/p"})
    assert [(r.levelno, r.getMessage(), vars(r)["path"]) for r in caplog.records] == (
        [(level, message, "/p")] if level else []
    )


def test_status_phrases_and_validation_problems() -> None:
    assert status_phrase(404) == "Not Found"
    assert status_phrase(599) == "Error"
    assert validation_problems(ValueError("not a validation error")) == "not a validation error"
