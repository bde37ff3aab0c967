"""The HTTP API over the in-memory store: Confluent's routes, bodies, error codes and content type.

The integration tests run the same behaviour through Confluent's own client against the real service on
PostgreSQL; these pin down the wire format and every error path quickly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dp_schema_registry.api import create_app
from dp_schema_registry.errors import StoreError
from dp_schema_registry.service import Registry
from dp_schema_registry.store import MemoryStore

CT = "application/vnd.schemaregistry.v1+json"
HEADERS = {"Content-Type": CT}


def schema(*fields: Mapping[str, object], name: str = "Order") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "com.acme", "fields": list(fields)})


ID = {"name": "id", "type": "long"}
NOTE = {"name": "note", "type": "string", "default": ""}
REQUIRED_NOTE = {"name": "note", "type": "string"}
V1, V2 = schema(ID), schema(ID, NOTE)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def api(store: MemoryStore) -> Iterator[TestClient]:
    with TestClient(create_app(Registry(store, "BACKWARD")), raise_server_exceptions=False) as client:
        yield client


def post(api: TestClient, path: str, body: Any) -> Any:
    return api.post(path, content=json.dumps(body), headers=HEADERS)


def register(api: TestClient, subject: str, text: str) -> int:
    response = post(api, f"/subjects/{subject}/versions", {"schema": text})
    assert response.status_code == 200, response.text
    schema_id: int = response.json()["id"]
    return schema_id


def error(response: Any) -> tuple[int, int, str]:
    body = response.json()
    return response.status_code, body["error_code"], body["message"]


def test_root_types_and_mode(api: TestClient) -> None:
    assert api.get("/").json() == {}
    assert api.get("/schemas/types").json() == ["AVRO"]
    assert api.get("/mode").json() == {"mode": "READWRITE"}
    assert api.get("/mode/any-subject").json() == {"mode": "READWRITE"}
    assert api.get("/health").json() == {"status": "UP", "store": "UP"}


def test_every_answer_has_confluents_content_type(api: TestClient) -> None:
    for response in (api.get("/"), api.get("/subjects"), api.get("/subjects/nope/versions"), api.get("/nope")):
        assert response.headers["content-type"] == CT


def test_register_fetch_and_list(api: TestClient) -> None:
    assert register(api, "orders-value", V1) == 1
    assert register(api, "orders-value", V2) == 2
    assert api.get("/subjects").json() == ["orders-value"]
    assert api.get("/subjects/orders-value/versions").json() == [1, 2]
    latest = api.get("/subjects/orders-value/versions/latest").json()
    assert latest == {
        "subject": "orders-value",
        "version": 2,
        "id": 2,
        "schema": json.dumps(json.loads(V2), separators=(",", ":")),
    }
    assert api.get("/subjects/orders-value/versions/1").json()["id"] == 1
    assert json.loads(api.get("/subjects/orders-value/versions/1/schema").text) == json.loads(V1)
    assert json.loads(api.get("/schemas/ids/2").json()["schema"]) == json.loads(V2)
    assert json.loads(api.get("/schemas/ids/2/schema").text) == json.loads(V2)
    assert api.get("/schemas/ids/1/versions").json() == [{"subject": "orders-value", "version": 1}]
    assert api.get("/schemas/ids/1/subjects").json() == ["orders-value"]


def test_reregistering_returns_the_same_id_whatever_the_formatting(api: TestClient) -> None:
    first = register(api, "orders-value", V1)
    reformatted = json.dumps(dict(reversed(list(json.loads(V1).items()))), indent=3)
    assert register(api, "orders-value", reformatted) == first
    assert api.get("/subjects/orders-value/versions").json() == [1]


def test_one_schema_under_two_subjects_shares_the_id(api: TestClient) -> None:
    assert register(api, "a-value", V1) == register(api, "b-value", V1) == 1
    assert api.get("/schemas/ids/1/versions").json() == [
        {"subject": "a-value", "version": 1},
        {"subject": "b-value", "version": 1},
    ]


def test_lookup(api: TestClient) -> None:
    register(api, "orders-value", V1)
    found = post(api, "/subjects/orders-value", {"schema": V1}).json()
    assert (found["subject"], found["version"], found["id"]) == ("orders-value", 1, 1)
    assert error(post(api, "/subjects/orders-value", {"schema": V2})) == (404, 40403, "Schema not found")
    assert error(post(api, "/subjects/other", {"schema": V1})) == (404, 40401, "Subject 'other' not found.")


def test_incompatible_registration_is_409_with_the_reasons(api: TestClient) -> None:
    register(api, "orders-value", V1)
    status, code, message = error(post(api, "/subjects/orders-value/versions", {"schema": schema(ID, REQUIRED_NOTE)}))
    assert (status, code) == (409, 409)
    assert message == (
        'Schema being registered is incompatible with an earlier schema for subject "orders-value" '
        "(compatibility BACKWARD), details: [new schema cannot read data written with version 1: "
        "reader_field_missing_default_value: note (at /fields/1)]"
    )
    assert api.get("/subjects/orders-value/versions").json() == [1]


def test_compatibility_endpoint(api: TestClient) -> None:
    register(api, "orders-value", V1)
    bad = {"schema": schema(ID, REQUIRED_NOTE)}
    assert post(api, "/compatibility/subjects/orders-value/versions/latest", {"schema": V2}).json() == {
        "is_compatible": True
    }
    assert post(api, "/compatibility/subjects/orders-value/versions/latest", bad).json() == {"is_compatible": False}
    verbose = post(api, "/compatibility/subjects/orders-value/versions/1?verbose=true", bad).json()
    assert verbose == {
        "is_compatible": False,
        "messages": [
            "new schema cannot read data written with version 1: reader_field_missing_default_value: note "
            "(at /fields/1)"
        ],
    }
    assert post(api, "/compatibility/subjects/orders-value/versions?verbose=True", {"schema": V2}).json() == {
        "is_compatible": True,
        "messages": [],
    }
    assert post(api, "/compatibility/subjects/new-subject/versions/latest", bad).json() == {"is_compatible": True}
    assert error(post(api, "/compatibility/subjects/orders-value/versions/9", bad))[:2] == (404, 40402)
    assert error(post(api, "/compatibility/subjects/nothing/versions/1", bad))[:2] == (404, 40401)
    invalid = post(api, "/compatibility/subjects/orders-value/versions/latest?verbose=true", {"schema": "{}"}).json()
    assert invalid == {
        "is_compatible": False,
        "messages": ['Invalid schema: invalid Avro schema: No "type" property: {}'],
    }
    assert error(post(api, "/compatibility/subjects/orders-value/versions/latest", {"schema": "{}"}))[:2] == (
        422,
        42201,
    )


def test_transitive_mode_checks_every_live_version(api: TestClient) -> None:
    assert api.put(
        "/config/orders-value", content='{"compatibility": "BACKWARD_TRANSITIVE"}', headers=HEADERS
    ).json() == {"compatibility": "BACKWARD_TRANSITIVE"}
    register(api, "orders-value", V1)
    register(api, "orders-value", V2)
    only_note = {"schema": schema(REQUIRED_NOTE)}  # reads v2's data, not v1's
    assert post(api, "/compatibility/subjects/orders-value/versions/2", only_note).json() == {"is_compatible": True}
    assert post(api, "/compatibility/subjects/orders-value/versions/latest", only_note).json() == {
        "is_compatible": False
    }
    assert error(post(api, "/subjects/orders-value/versions", only_note))[:2] == (409, 409)
    api.put("/config/orders-value", content='{"compatibility": "BACKWARD"}', headers=HEADERS)
    assert register(api, "orders-value", schema(REQUIRED_NOTE)) == 3


def test_config_global_and_per_subject(api: TestClient) -> None:
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert api.put("/config", content='{"compatibility": "full"}', headers=HEADERS).json() == {"compatibility": "FULL"}
    assert api.get("/config").json() == {"compatibilityLevel": "FULL"}
    assert error(api.get("/config/s")) == (
        404,
        40408,
        "Subject 's' does not have subject-level compatibility configured",
    )
    assert api.get("/config/s?defaultToGlobal=true").json() == {"compatibilityLevel": "FULL"}
    assert api.put("/config/s", content='{"compatibility": "NONE"}', headers=HEADERS).json() == {
        "compatibility": "NONE"
    }
    assert api.get("/config/s").json() == {"compatibilityLevel": "NONE"}
    assert api.delete("/config/s").json() == {"compatibilityLevel": "NONE"}
    assert error(api.delete("/config/s"))[:2] == (404, 40401)
    assert api.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert api.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert error(api.put("/config", content='{"compatibility": "SIDEWAYS"}', headers=HEADERS))[:2] == (422, 42203)
    assert error(api.put("/config/s", content="{}", headers=HEADERS))[:2] == (422, 42203)


def test_soft_and_permanent_delete_of_a_subject(api: TestClient) -> None:
    register(api, "orders-value", V1)
    register(api, "orders-value", V2)
    assert error(api.delete("/subjects/orders-value?permanent=true")) == (
        404,
        40405,
        "Subject 'orders-value' was not deleted first before being permanently deleted",
    )
    assert api.delete("/subjects/orders-value").json() == [1, 2]
    assert api.get("/subjects").json() == []
    assert api.get("/subjects?deleted=true").json() == ["orders-value"]
    assert api.get("/subjects?deletedOnly=true").json() == ["orders-value"]
    assert error(api.get("/subjects/orders-value/versions"))[:2] == (404, 40401)
    assert api.get("/subjects/orders-value/versions?deleted=true").json() == [1, 2]
    assert api.get("/subjects/orders-value/versions/2?deleted=true").json()["id"] == 2
    assert api.get("/schemas/ids/2").status_code == 200  # soft-deleted schemas stay readable by id
    assert error(api.delete("/subjects/orders-value"))[:2] == (404, 40404)
    assert api.delete("/subjects/orders-value?permanent=true").json() == [1, 2]
    assert error(api.get("/schemas/ids/2")) == (404, 40403, "Schema 2 not found")
    assert error(api.delete("/subjects/orders-value"))[:2] == (404, 40401)
    assert register(api, "orders-value", V1) == 1  # versions start again; the id of the same schema is kept
    assert api.get("/subjects/orders-value/versions").json() == [1]


def test_soft_and_permanent_delete_of_a_version(api: TestClient) -> None:
    register(api, "orders-value", V1)
    register(api, "orders-value", V2)
    assert error(api.delete("/subjects/orders-value/versions/1?permanent=true"))[:2] == (404, 40407)
    assert api.delete("/subjects/orders-value/versions/latest").json() == 2
    assert api.get("/subjects/orders-value/versions").json() == [1]
    assert api.get("/subjects/orders-value/versions/latest").json()["version"] == 1
    assert error(api.delete("/subjects/orders-value/versions/2")) == (
        404,
        40406,
        "Subject 'orders-value' Version 2 was soft deleted.Set permanent=true to delete permanently",
    )
    assert api.delete("/subjects/orders-value/versions/2?permanent=true").json() == 2
    assert error(api.get("/subjects/orders-value/versions/2?deleted=true"))[:2] == (404, 40402)
    assert error(api.delete("/subjects/orders-value/versions/9"))[:2] == (404, 40402)
    assert error(api.delete("/subjects/nothing/versions/1"))[:2] == (404, 40401)
    assert error(api.delete("/subjects/orders-value/versions/zero"))[:2] == (422, 42202)


def test_reregistering_a_soft_deleted_schema_makes_a_new_version(api: TestClient) -> None:
    register(api, "orders-value", V1)
    register(api, "orders-value", V2)
    api.delete("/subjects/orders-value/versions/1")
    assert register(api, "orders-value", V1) == 1
    # as Confluent does, the older soft-deleted version of the same schema is gone for good
    assert api.get("/subjects/orders-value/versions?deleted=true").json() == [2, 3]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/subjects/nothing/versions", (404, 40401, "Subject 'nothing' not found.")),
        ("/subjects/nothing/versions/1", (404, 40401, "Subject 'nothing' not found.")),
        ("/subjects/orders-value/versions/7", (404, 40402, "Version 7 not found.")),
        ("/subjects/orders-value/versions/0", (422, 42202, None)),
        ("/schemas/ids/99", (404, 40403, "Schema 99 not found")),
        ("/schemas/ids/abc", (404, 40403, "Schema abc not found")),
        ("/schemas/ids/99/versions", (404, 40403, "Schema 99 not found")),
        ("/no/such/route", (404, 404, "HTTP 404 Not Found")),
        ("/subjects?offset=x", (422, 422, None)),
    ],
)
def test_misses_get_confluents_codes(api: TestClient, path: str, expected: tuple[int, int, str | None]) -> None:
    register(api, "orders-value", V1)
    status, code, message = error(api.get(path))
    assert (status, code) == expected[:2]
    if expected[2] is not None:
        assert message == expected[2]


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        ("not json", CT, (422, 422)),
        ("", CT, (422, 422)),
        ("[1, 2]", CT, (422, 422)),
        ('{"schemaType": "AVRO"}', CT, (422, 422)),
        ('{"schema": 42}', CT, (422, 422)),
        ('{"schema": "{}", "references": "x"}', "application/json", (422, 422)),
        ('{"schema": "{\\"type\\": \\"nope\\"}"}', "application/octet-stream", (422, 42201)),
        ('{"schema": "\\"string\\"", "schemaType": "PROTOBUF"}', CT, (422, 42201)),
        ('{"schema": "\\"string\\"", "references": [{"name": "x", "subject": "y", "version": 1}]}', CT, (422, 42201)),
        ('{"schema": "\\"string\\"", "ruleSet": {"domainRules": []}}', CT, (422, 42201)),
        ('{"schema": "\\"string\\""}', "text/plain", (415, 415)),
    ],
)
def test_bad_bodies_are_refused_and_the_service_keeps_answering(
    api: TestClient, content: str, content_type: str, expected: tuple[int, int]
) -> None:
    response = api.post("/subjects/s/versions", content=content, headers={"Content-Type": content_type})
    assert error(response)[:2] == expected
    assert api.get("/subjects").json() == []


def test_a_body_without_content_type_is_read_as_json(api: TestClient) -> None:
    response = api.post("/subjects/s/versions", content=json.dumps({"schema": V1}).encode())
    assert response.json() == {"id": 1}


def test_mode_other_than_readwrite_is_refused(api: TestClient) -> None:
    assert api.put("/mode", content='{"mode": "READWRITE"}', headers=HEADERS).json() == {"mode": "READWRITE"}
    assert error(api.put("/mode/s", content='{"mode": "IMPORT"}', headers=HEADERS))[:2] == (422, 42204)


def test_a_store_failure_is_500_50001_and_the_service_recovers(api: TestClient, store: MemoryStore) -> None:
    store.fail_with = StoreError("listing subjects", "OperationalError: connection refused")
    assert error(api.get("/subjects")) == (
        500,
        50001,
        "Error in the backend datastore while listing subjects: OperationalError: connection refused",
    )
    assert error(api.get("/health"))[:2] == (500, 50001)
    store.fail_with = None
    assert api.get("/subjects").json() == []


def test_an_unexpected_exception_is_500_50001_and_logged(
    api: TestClient, store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.fail_with = RuntimeError("a bug")
    assert error(api.get("/subjects")) == (500, 50001, "Internal server error: RuntimeError")
    assert any(r.message == "unexpected error" and r.exc_info for r in caplog.records)
    store.fail_with = None
    assert register(api, "s", V1) == 1


def test_a_failed_registration_leaves_no_trace(api: TestClient, store: MemoryStore) -> None:
    register(api, "s", V1)
    assert error(post(api, "/subjects/s/versions", {"schema": schema(REQUIRED_NOTE)}))[:2] == (409, 409)
    assert register(api, "t", V2) == 2  # the refused schema did not take an id


# --- input that PostgreSQL or the recursive schema code cannot take: 4xx with a Confluent body, never 500 ---

SCHEMA_ROUTES = ("/subjects/s/versions", "/subjects/s", "/compatibility/subjects/s/versions/latest")


def nested_records(depth: int) -> str:
    """A record whose field is a record whose field is a record ... ``depth`` records deep."""
    text = '"long"'
    for level in range(depth):
        text = f'{{"type": "record", "name": "R{level}", "fields": [{{"name": "f", "type": {text}}}]}}'
    return text


def deep_attribute(depth: int) -> str:
    """A valid record but for a custom attribute of ``depth`` nested JSON arrays."""
    return schema({"name": "id", "type": "long", "dp.x": "DEEP"}).replace('"DEEP"', "[" * depth + "]" * depth)


def with_doc(doc: str) -> str:
    """The schema V1 with ``doc`` spliced in as JSON text (so ``\\ud800`` stays a JSON escape)."""
    return V1.replace('"fields"', f'"doc": "{doc}", "fields"')


@pytest.mark.parametrize("route", SCHEMA_ROUTES)
@pytest.mark.parametrize(
    "text",
    [nested_records(400), nested_records(34), "[" * 400 + '"string"' + "]" * 400, deep_attribute(2000)],
    ids=["records-400", "records-34", "unions-400", "attribute-2000"],
)
def test_a_schema_nested_too_deeply_is_42201(api: TestClient, route: str, text: str) -> None:
    register(api, "s", V1)
    status, code, message = error(post(api, route, {"schema": text}))
    assert (status, code) == (422, 42201)
    assert (
        message
        == "Invalid schema: the schema is nested too deeply (the limit is 100 levels of JSON objects and arrays)"
    )
    assert api.get("/subjects/s/versions").json() == [1]


def test_a_schema_at_the_depth_limit_is_served(api: TestClient) -> None:
    assert register(api, "deep", nested_records(33)) == 1  # 99 levels of JSON objects and arrays
    assert register(api, "deep", nested_records(33)) == 1  # the compatibility check of the same schema again
    assert post(api, "/subjects/deep", {"schema": nested_records(33)}).json()["id"] == 1


def test_a_recursion_error_in_schema_code_is_42201_not_500(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(*args: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    register(api, "s", V1)
    monkeypatch.setattr("dp_schema_registry.compatibility.reader_writer_problems", too_deep)
    assert error(post(api, "/subjects/s/versions", {"schema": V2}))[:2] == (422, 42201)
    monkeypatch.setattr("dp_schema_registry.canonical.parse_schema", too_deep)
    status, code, message = error(post(api, "/subjects/s/versions", {"schema": V2}))
    assert (status, code) == (422, 42201)
    assert "nested too deeply" in message


@pytest.mark.parametrize("route", SCHEMA_ROUTES)
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        # "\ud800" as a JSON escape in the schema text
        (json.dumps({"schema": with_doc("bad \\ud800 doc")}), "a lone UTF-16 surrogate (U+D800), which is not valid"),
        # the schema text itself holds the lone surrogate (escaped only in the request body)
        (json.dumps({"schema": with_doc("bad \udfff doc")}), "a lone UTF-16 surrogate (U+DFFF), which is not valid"),
        # in a key (a custom attribute's name)
        (json.dumps({"schema": json.dumps({**json.loads(V1), "dp.\udc80": 1})}), "(U+DC80), which is not valid"),
    ],
    ids=["surrogate-escape", "surrogate-char", "surrogate-in-key"],
)
def test_a_lone_surrogate_in_a_schema_string_is_42201(api: TestClient, route: str, body: str, problem: str) -> None:
    register(api, "s", V1)
    status, code, message = error(api.post(route, content=body, headers=HEADERS))
    assert (status, code) == (422, 42201)
    assert message.startswith("Invalid schema: a string in the schema is not valid text: it contains ")
    assert problem in message
    assert api.get("/subjects/s/versions").json() == [1]


def test_a_nul_in_a_schema_string_is_valid_avro_and_kept_escaped(api: TestClient) -> None:
    # a zero byte as a bytes default, a NUL in a doc: valid Avro; the stored JSON escapes it (PostgreSQL takes that)
    text = schema({"name": "b", "type": "bytes", "default": "\x00"}).replace('"fields"', '"doc": "a\\u0000b", "fields"')
    assert register(api, "s", text) == 1
    stored = api.get("/schemas/ids/1").json()["schema"]
    assert "\x00" not in stored and stored.count("\\u0000") == 2
    assert json.loads(stored)["doc"] == "a\x00b"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/subjects/a%00b/versions"),
        ("POST", "/subjects/a%00b"),
        ("GET", "/subjects/a%00b/versions"),
        ("GET", "/subjects/a%00b/versions/latest"),
        ("GET", "/subjects/a%00b/versions/1/schema"),
        ("DELETE", "/subjects/a%00b/versions/1"),
        ("DELETE", "/subjects/a%00b"),
        ("POST", "/compatibility/subjects/a%00b/versions"),
        ("POST", "/compatibility/subjects/a%00b/versions/latest"),
        ("GET", "/config/a%00b"),
        ("PUT", "/config/a%00b"),
        ("DELETE", "/config/a%00b"),
        ("GET", "/mode/a%00b"),
        ("PUT", "/mode/a%00b"),
    ],
)
def test_a_nul_in_a_subject_is_42208_on_every_route(api: TestClient, method: str, path: str) -> None:
    body = {"schema": V1, "compatibility": "NONE", "mode": "READWRITE"}
    response = api.request(method, path, content=json.dumps(body), headers=HEADERS)
    assert error(response) == (
        422,
        42208,
        "The specified subject 'a\\x00b' is not valid: it contains a NUL character (U+0000), which cannot be stored",
    )
    assert api.get("/subjects?deleted=true").json() == []


def test_other_control_characters_in_a_subject_are_42208(api: TestClient) -> None:
    status, code, message = error(post(api, "/subjects/a%1Fb/versions", {"schema": V1}))
    assert (status, code) == (422, 42208)
    assert message.endswith("it contains the control character U+001F")
    assert register(api, "ünïcode subject ✓", V1) == 1  # printable non-ASCII is fine


def test_a_request_body_nested_too_deeply_is_422(api: TestClient) -> None:
    deep = "[" * 5000 + "]" * 5000
    for path, body in (("/subjects/s/versions", f'{{"schema": "\\"long\\"", "x": {deep}}}'), ("/config", deep)):
        response = api.request("PUT" if path == "/config" else "POST", path, content=body, headers=HEADERS)
        assert error(response) == (422, 422, "Unprocessable request body: the body is nested too deeply to be read")
