"""The real service (``python -m dp_schema_registry``) on the real PostgreSQL, driven by Confluent's own client.

Each run gets a database of its own (``sr_it_<run id>``, dropped at the end), so reruns never collide and the
numbers are exact: ids are global and consecutive, versions start at 1 in every subject. Behaviour goes through
``SchemaRegistryClient`` and ``AvroSerializer``/``AvroDeserializer`` only (a fresh client whenever a cached
answer could hide the server's); bad input goes through raw HTTP, as no client would send it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from psycopg import sql

from dp_core.config import LoadedConfig, find_repo_root
from dp_localstack.testing import run_command

pytestmark = pytest.mark.integration

REPO = find_repo_root(Path(__file__))
CT = "application/vnd.schemaregistry.v1+json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def avro(*fields: Mapping[str, Any], name: str = "Order", doc: str | None = None) -> Schema:
    body: dict[str, Any] = {"type": "record", "name": name, "namespace": "com.acme.it", "fields": list(fields)}
    if doc:
        body["doc"] = doc
    return Schema(json.dumps(body), "AVRO")


ID = {"name": "id", "type": "long"}
NOTE = {"name": "note", "type": "string", "default": ""}
REQUIRED_NOTE = {"name": "note", "type": "string"}


class RegistryProcess:
    """The service as a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.url = env["DP_REGISTRY_URL"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dp_schema_registry"], cwd=REPO, env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the registry exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the registry did not answer within {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise


def _admin_conninfo(config: LoadedConfig, dbname: str) -> str:
    pg = config.settings.postgres
    password = pg.password.get_secret_value() if pg.password else None
    return psycopg.conninfo.make_conninfo(host=pg.host, port=pg.port, user=pg.user, password=password, dbname=dbname)


@pytest.fixture(scope="module")
def database(request: pytest.FixtureRequest, platform_config: LoadedConfig, run_id: str) -> Iterator[str]:
    """A fresh database for this run (the local stack is started first if PostgreSQL does not answer)."""
    name = f"sr_it_{run_id}"
    admin = _admin_conninfo(platform_config, "postgres")
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError:
        request.getfixturevalue("local_stack")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def registry(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    env = {
        **os.environ,
        "DP_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
        "DP_POSTGRES_DATABASES__REGISTRY": database,
    }
    service = RegistryProcess(env, tmp_path_factory.mktemp("registry") / "registry.log")
    service.start()
    yield service
    service.stop()


@pytest.fixture
def client(registry: RegistryProcess) -> Callable[[], SchemaRegistryClient]:
    """Makes a new client (its caches empty) for every call."""
    return lambda: SchemaRegistryClient({"url": registry.url})


@pytest.fixture
def subject(request: pytest.FixtureRequest, run_id: str) -> str:
    """A subject of this test alone (parametrized cases each get their own)."""
    case = hashlib.sha1(request.node.name.encode()).hexdigest()[:6]
    return f"it-{run_id}-{request.node.originalname.removeprefix('test_')}-{case}-value"


def text_of(schema: Schema) -> Any:
    """A schema's JSON, parsed."""
    assert schema.schema_str is not None
    return json.loads(schema.schema_str)


def sr_error(call: Callable[[], object]) -> tuple[int, int, str]:
    with pytest.raises(SchemaRegistryError) as caught:
        call()
    return caught.value.http_status_code, caught.value.error_code, caught.value.error_message


def test_register_fetch_by_id_and_list_versions(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    first = client().register_schema(subject, avro(ID))
    second = client().register_schema(subject, avro(ID, NOTE))
    assert second == first + 1
    fetched = client().get_schema(second)
    assert text_of(fetched) == text_of(avro(ID, NOTE))
    assert fetched.schema_type == "AVRO"
    assert client().get_versions(subject) == [1, 2]
    latest = client().get_latest_version(subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 2, second)
    assert client().get_version(subject, 1).schema_id == first
    assert subject in client().get_subjects()
    assert client().get_schema_types() == ["AVRO"]


def test_reregistering_returns_the_existing_id(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    schema_id = client().register_schema(subject, avro(ID, doc="re-registered"))
    body = text_of(avro(ID, doc="re-registered"))
    reformatted = Schema(json.dumps(dict(reversed(list(body.items()))), indent=4), "AVRO")
    assert client().register_schema(subject, avro(ID, doc="re-registered")) == schema_id
    assert client().register_schema(subject, reformatted) == schema_id
    assert client().get_versions(subject) == [1]
    found = client().lookup_schema(subject, reformatted)
    assert (found.schema_id, found.version) == (schema_id, 1)
    assert sr_error(lambda: client().lookup_schema(subject, avro(ID, NOTE, doc="re-registered"))) == (
        404,
        40403,
        "Schema not found",
    )


def test_one_schema_under_two_subjects_shares_its_id(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    other = subject.replace("-value", "-key")
    schema_id = client().register_schema(subject, avro(ID, doc="shared"))
    assert client().register_schema(other, avro(ID, doc="shared")) == schema_id
    pairs = {(v.subject, v.version) for v in client().get_schema_versions(schema_id)}
    assert pairs == {(subject, 1), (other, 1)}
    assert sorted(client().get_subjects_by_schema_id(schema_id)) == sorted([subject, other])


def test_compatibility_verdicts(
    client: Callable[[], SchemaRegistryClient], registry: RegistryProcess, subject: str
) -> None:
    client().register_schema(subject, avro(ID))
    assert client().test_compatibility(subject, avro(ID, NOTE)) is True
    assert client().test_compatibility(subject, avro(ID, REQUIRED_NOTE), verbose=True) is False
    # the client keeps only the verdict of a verbose check; the messages are on the wire
    verbose = httpx.post(
        f"{registry.url}/compatibility/subjects/{subject}/versions/latest?verbose=true",
        json={"schema": avro(ID, REQUIRED_NOTE).schema_str},
        headers={"Content-Type": CT},
    )
    assert verbose.json() == {
        "is_compatible": False,
        "messages": [
            "new schema cannot read data written with version 1: "
            "reader_field_missing_default_value: note (at /fields/1)"
        ],
    }
    status, code, message = sr_error(lambda: client().register_schema(subject, avro(ID, REQUIRED_NOTE)))
    assert (status, code) == (409, 409)
    assert message == (
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}" '
        "(compatibility BACKWARD), details: [new schema cannot read data written with version 1: "
        "reader_field_missing_default_value: note (at /fields/1)]"
    )
    assert client().get_versions(subject) == [1]


def test_config_per_subject_and_global(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    assert client().get_compatibility() == "BACKWARD"
    answer: object = client().set_compatibility(subject, "FORWARD")  # typed str, but the client returns the body
    assert answer == {"compatibility": "FORWARD"}
    assert client().get_compatibility(subject) == "FORWARD"
    client().register_schema(subject, avro(ID))
    # adding a required field is FORWARD compatible (version 1 ignores it), though not BACKWARD...
    added = client().register_schema(subject, avro(ID, REQUIRED_NOTE))
    assert client().get_latest_version(subject).schema_id == added
    # ...and dropping one is not: version 2 could not read records without it
    assert sr_error(lambda: client().register_schema(subject, avro(REQUIRED_NOTE)))[:2] == (409, 409)
    assert client().delete_config(subject).compatibility_level == "FORWARD"
    assert sr_error(lambda: client().get_compatibility(subject))[:2] == (404, 40408)
    global_answer: object = client().set_compatibility(level="FULL")
    assert global_answer == {"compatibility": "FULL"}
    try:
        assert client().get_config().compatibility_level == "FULL"
    finally:
        assert client().delete_config().compatibility_level == "FULL"
    assert client().get_compatibility() == "BACKWARD"


def test_transitive_mode_checks_every_version(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    client().set_compatibility(subject, "BACKWARD_TRANSITIVE")
    client().register_schema(subject, avro(ID))
    client().register_schema(subject, avro(ID, NOTE))
    only_note = avro(REQUIRED_NOTE)  # reads version 2's records, not version 1's
    assert client().test_compatibility(subject, only_note, version=2) is True
    assert client().test_compatibility(subject, only_note) is False
    assert sr_error(lambda: client().register_schema(subject, only_note))[:2] == (409, 409)
    client().set_compatibility(subject, "BACKWARD")
    client().register_schema(subject, only_note)
    assert client().get_versions(subject) == [1, 2, 3]


def test_soft_and_hard_delete(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    first = client().register_schema(subject, avro(ID, doc="deleted"))
    second = client().register_schema(subject, avro(ID, NOTE, doc="deleted"))
    assert sr_error(lambda: client().delete_version(subject, 1, permanent=True))[:2] == (404, 40407)
    assert client().delete_version(subject, 2) == 2
    assert client().get_versions(subject) == [1]
    assert client().get_versions(subject, deleted=True) == [1, 2]
    assert client().get_latest_version(subject).version == 1
    assert client().get_schema(second).schema_str  # a soft-deleted schema stays readable by id
    assert client().delete_version(subject, 2, permanent=True) == 2
    assert client().get_versions(subject, deleted=True) == [1]
    assert sr_error(lambda: client().get_schema(second)) == (404, 40403, f"Schema {second} not found")

    assert sr_error(lambda: client().delete_subject(subject, permanent=True)) == (
        404,
        40405,
        f"Subject '{subject}' was not deleted first before being permanently deleted",
    )
    assert client().delete_subject(subject) == [1]
    assert subject not in client().get_subjects()
    assert subject in client().get_subjects(deleted=True)
    assert sr_error(lambda: client().get_versions(subject)) == (404, 40401, f"Subject '{subject}' not found.")
    assert sr_error(lambda: client().delete_subject(subject))[:2] == (404, 40404)
    assert client().delete_subject(subject, permanent=True) == [1]
    assert subject not in client().get_subjects(deleted=True)
    assert sr_error(lambda: client().get_schema(first))[:2] == (404, 40403)
    # registered again, the schema keeps its id and the subject starts again at version 1
    assert client().register_schema(subject, avro(ID, doc="deleted")) == first
    assert client().get_versions(subject) == [1]


def test_state_survives_a_restart(
    client: Callable[[], SchemaRegistryClient], registry: RegistryProcess, subject: str
) -> None:
    schema_id = client().register_schema(subject, avro(ID, doc="before restart"))
    client().set_compatibility(subject, "NONE")
    assert registry.stop() == 0
    registry.start()
    after = client()
    assert text_of(after.get_schema(schema_id)) == text_of(avro(ID, doc="before restart"))
    assert after.get_versions(subject) == [1]
    assert after.get_compatibility(subject) == "NONE"
    assert after.register_schema(subject, avro(ID, doc="before restart")) == schema_id
    assert after.register_schema(subject, avro(ID, doc="after restart")) == schema_id + 1


def _race(count: int, work: Callable[[int], int]) -> list[int]:
    """Run ``work(i)`` in ``count`` threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list[int | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_concurrent_registrations_of_one_schema_yield_one_id(
    client: Callable[[], SchemaRegistryClient], subject: str
) -> None:
    same_subject = _race(16, lambda _: client().register_schema(subject, avro(ID, doc="raced")))
    assert len(set(same_subject)) == 1
    assert client().get_versions(subject) == [1]

    subjects = [f"{subject}-{i}" for i in range(16)]
    across = _race(16, lambda i: client().register_schema(subjects[i], avro(ID, doc="raced across subjects")))
    assert len(set(across)) == 1
    assert across[0] == same_subject[0] + 1  # no id was burnt by the races
    for name in subjects:
        assert client().get_versions(name) == [1]


def test_concurrent_registrations_in_one_subject_get_consecutive_versions(
    client: Callable[[], SchemaRegistryClient], subject: str
) -> None:
    client().set_compatibility(subject, "NONE")
    ids = _race(16, lambda i: client().register_schema(subject, avro(ID, doc=f"version {i}")))
    assert sorted(ids) == list(range(min(ids), min(ids) + 16))
    assert client().get_versions(subject) == list(range(1, 17))
    held = [client().get_version(subject, v).schema_id for v in range(1, 17)]
    assert sorted(i for i in held if i is not None) == sorted(ids)


ORDER_PLACED = json.dumps(
    {
        "type": "record",
        "name": "OrderPlaced",
        "namespace": "com.acme.it",
        "doc": "An order, as the integration test produces it.",
        "fields": [
            {"name": "order_id", "type": "long", "doc": "The order."},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
                "doc": "Total.",
            },
            {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-micros"}, "doc": "When."},
            {"name": "coupon", "type": ["null", "string"], "default": None, "doc": "Coupon code, if any."},
        ],
    }
)


def test_produce_and_consume_through_kafka(
    client: Callable[[], SchemaRegistryClient], platform_config: LoadedConfig, run_id: str
) -> None:
    bootstrap = platform_config.settings.kafka.bootstrap_servers
    topic = f"it.{run_id}.registry.orders"
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept referenced until the topic exists
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sent = [
        {
            "order_id": i,
            "amount": Decimal(f"{i}.25"),
            "placed_at": start + timedelta(seconds=i),
            "coupon": None if i % 2 else f"C{i}",
        }
        for i in range(10)
    ]
    serialize = AvroSerializer(client(), ORDER_PLACED)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for record in sent:
        payload = serialize(record, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, value=payload)
    assert producer.flush(30) == 0

    registered = client().get_latest_version(f"{topic}-value")
    assert registered.version == 1
    deserialize = AvroDeserializer(client())
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{run_id}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    received: list[dict[str, Any]] = []
    frames: set[bytes] = set()
    deadline = time.monotonic() + 60
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            value = message.value()
            assert value is not None
            frames.add(value[:5])
            received.append(deserialize(value, SerializationContext(topic, MessageField.VALUE)))
    finally:
        consumer.close()
    assert received == sent
    assert registered.schema_id is not None
    assert frames == {b"\x00" + registered.schema_id.to_bytes(4, "big")}


@pytest.fixture
def http(registry: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=registry.url, headers={"Content-Type": CT}, timeout=10) as session:
        yield session


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/subjects/{s}/versions", '{"schema": "{\\"type\\": \\"nope\\"}"}', (422, 42201)),
        ("POST", "/subjects/{s}/versions", '{"schema": "not json"}', (422, 42201)),
        ("GET", "/subjects/{s}-unknown/versions", None, (404, 40401)),
        ("GET", "/subjects/{s}/versions/7", None, (404, 40402)),
        ("GET", "/subjects/{s}/versions/0", None, (422, 42202)),
        ("GET", "/schemas/ids/987654", None, (404, 40403)),
        ("POST", "/subjects/{s}/versions", "this is not JSON", (422, 422)),
        ("POST", "/subjects/{s}/versions", '{"schemaType": "AVRO"}', (422, 422)),
        ("PUT", "/config/{s}", '{"compatibility": "SIDEWAYS"}', (422, 42203)),
        # issue 15: were 500s (RecursionError, UnicodeEncodeError, PostgreSQL refusing NUL)
        (
            "POST",
            "/subjects/{s}/versions",
            json.dumps(
                {"schema": '{"type": "enum", "name": "E", "symbols": ["A"], "dp.x": ' + "[" * 2000 + "]" * 2000 + "}"}
            ),
            (422, 42201),
        ),
        (
            "POST",
            "/subjects/{s}/versions",
            json.dumps({"schema": '{"type": "enum", "name": "E", "symbols": ["A"], "doc": "\\ud800"}'}),
            (422, 42201),
        ),
        ("POST", "/subjects/{s}%00/versions", json.dumps({"schema": '"long"'}), (422, 42208)),
        ("PUT", "/config/{s}%00", '{"compatibility": "NONE"}', (422, 42208)),
    ],
)
def test_bad_input_gets_confluents_error_and_the_service_keeps_answering(
    http: httpx.Client, subject: str, method: str, path: str, body: str | None, expected: tuple[int, int]
) -> None:
    http.post(f"/subjects/{subject}/versions", json={"schema": avro(ID).schema_str})
    response = http.request(method, path.format(s=subject), content=body)
    assert (response.status_code, response.json()["error_code"]) == expected
    assert response.headers["content-type"] == CT
    assert isinstance(response.json()["message"], str) and response.json()["message"]
    assert http.get("/").status_code == 200
    assert http.get(f"/subjects/{subject}/versions").json() == [1]


def test_a_nul_in_a_schema_string_is_stored(client: Callable[[], SchemaRegistryClient], subject: str) -> None:
    # a zero byte is a valid bytes default; PostgreSQL takes it as the JSON escape the registry stores
    schema = avro(ID, {"name": "b", "type": "bytes", "default": "\x00"}, doc="a\x00b")
    schema_id = client().register_schema(subject, schema)
    assert text_of(client().get_schema(schema_id)) == text_of(schema)


def test_error_messages_name_what_was_missing(http: httpx.Client, subject: str) -> None:
    assert http.get(f"/subjects/{subject}/versions").json() == {
        "error_code": 40401,
        "message": f"Subject '{subject}' not found.",
    }
    assert http.get("/schemas/ids/987654").json() == {"error_code": 40403, "message": "Schema 987654 not found"}
    invalid = http.post(f"/subjects/{subject}/versions", json={"schema": '{"type": "record", "name": "R"}'}).json()
    assert invalid == {
        "error_code": 42201,
        "message": "Invalid schema: invalid Avro schema: Record schema requires a non-empty fields property.",
    }


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "UP", "store": "UP"})


def _run_service(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_command([sys.executable, "-m", "dp_schema_registry", *args], REPO, os.environ | env_overrides, 60)


def test_a_taken_port_stops_the_start_with_an_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _run_service({"DP_REGISTRY_URL": f"http://127.0.0.1:{port}"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(registry.url sets the port; DP_REGISTRY_URL overrides it)"
    )


def test_an_unreachable_postgres_stops_the_start_with_an_error(database: str, platform_config: LoadedConfig) -> None:
    pg_port = free_port()
    result = _run_service(
        {
            "DP_REGISTRY_URL": f"http://127.0.0.1:{free_port()}",
            "DP_POSTGRES_PORT": str(pg_port),
            "DP_POSTGRES_DATABASES__REGISTRY": database,
        },
        "--wait-for-store",
        "1",
    )
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    host = platform_config.settings.postgres.host
    assert last.startswith(f"Error: PostgreSQL at {host}:{pg_port}/{database} is unreachable after 1 s (")
    assert last.endswith("is the local stack up (`dp local up --core`)?")


def test_a_missing_database_stops_the_start_at_once(run_id: str, platform_config: LoadedConfig) -> None:
    began = time.monotonic()
    result = _run_service(
        {"DP_REGISTRY_URL": f"http://127.0.0.1:{free_port()}", "DP_POSTGRES_DATABASES__REGISTRY": f"sr_none_{run_id}"}
    )
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]
    pg = platform_config.settings.postgres
    assert last.startswith(
        f"Error: cannot connect to PostgreSQL at {pg.host}:{pg.port}/sr_none_{run_id}: OperationalError"
    )
    assert last.endswith(f'database "sr_none_{run_id}" does not exist')
    assert time.monotonic() - began < 10  # no waiting for a database that is not there
