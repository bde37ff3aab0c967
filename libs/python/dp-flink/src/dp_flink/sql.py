"""Flink SQL generated from the contracts and the settings (pure: strings in, strings out).

A contract's topic becomes a ``raw``-format Kafka table whose event time is the record timestamp (the platform's
producers stamp each record with its event time), with the watermark declared on the table so that the Kafka source
tracks it per partition. A view on top adds ``ev``, the record decoded by a Python function (see
:mod:`dp_flink.wire`); timestamps inside ``ev`` are epoch microseconds.
"""

from __future__ import annotations

from dp_contracts.compiler import FlinkTypes
from dp_contracts.ir import ArrayT, FixedT, LogicalT, MapT, RecordT, TypeT
from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_flink.wire import holds_record

ERROR_FIELD = "_error"
SCHEMA_ID_FIELD = "_schema_id"


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted identifier."""
    return "`" + name.replace("`", "``") + "`"


class _BridgeTypes(FlinkTypes):
    """The Flink type a decoded value has when it crosses the Python bridge: the Flink SQL type of the contract's
    type (:class:`dp_contracts.compiler.FlinkTypes`) but for times and dates (numbers), fixed (bytes) and nullness
    (no NOT NULL), and for records inside collections (JSON, see :func:`bridge_type`)."""

    def logical(self, node: LogicalT) -> str:
        return {"date": "INT", "uuid": "STRING"}.get(node.kind, "BIGINT")

    def fixed(self, node: FixedT) -> str:
        return "BYTES"

    def array(self, node: ArrayT) -> str:
        if isinstance(node.items, RecordT):
            return "ARRAY<STRING>"
        return "STRING" if holds_record(node) else f"ARRAY<{self.visit(node.items)}>"

    def map(self, node: MapT) -> str:
        return "STRING" if holds_record(node) else f"MAP<STRING, {self.visit(node.values)}>"

    def record(self, node: RecordT) -> str:
        return "ROW<" + ", ".join(f"{ident(f.name)} {self.visit(f.type)}" for f in node.fields) + ">"


def bridge_type(node: TypeT) -> str:
    """The Flink type a decoded value has when it crosses the Python bridge (timestamps as BIGINT micros).

    PyFlink 2.0's thread mode turns a Python list of rows into an array whose elements are all the last row, so an
    array of records crosses as an array of JSON objects (``ARRAY<STRING>``: SQL takes it apart with ``UNNEST`` and
    ``JSON_VALUE``, no Python table function), any other collection holding records as one JSON text.
    """
    return _BridgeTypes().visit(node)


def decode_result_type(record: RecordT) -> str:
    """The ROW type of the decode function: the contract's fields, then the schema id and the reject reason."""
    fields = [f"{ident(f.name)} {bridge_type(f.type)}" for f in record.fields]
    fields += [f"{ident(SCHEMA_ID_FIELD)} INT", f"{ident(ERROR_FIELD)} STRING"]
    return "ROW<" + ", ".join(fields) + ">"


def decode_function(contract: Contract) -> str:
    return f"decode_{contract.domain}_{contract.name}"


def source_table(contract: Contract) -> str:
    return f"src_{contract.name}"


def kafka_connection(settings: PlatformSettings) -> dict[str, str]:
    """The ``properties.*`` every Kafka table needs to reach the brokers: addresses, security, SASL login."""
    kafka = settings.kafka
    options = {"properties.bootstrap.servers": kafka.bootstrap_servers}
    if kafka.security_protocol != "PLAINTEXT":
        options["properties.security.protocol"] = kafka.security_protocol
    if kafka.sasl_mechanism:
        options["properties.sasl.mechanism"] = kafka.sasl_mechanism
    if kafka.sasl_username and kafka.sasl_password:
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if kafka.sasl_mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        user = kafka.sasl_username.replace('"', '\\"')
        secret = kafka.sasl_password.get_secret_value().replace('"', '\\"')
        options["properties.sasl.jaas.config"] = f'{module} required username="{user}" password="{secret}";'
    return options


def kafka_options(settings: PlatformSettings, topic: str, group_id: str) -> dict[str, str]:
    """Options of a Kafka table reading ``topic`` as the consumer group ``group_id`` (offsets live in checkpoints;
    the group's committed offsets follow each completed checkpoint and are where a job without a checkpoint starts)."""
    kafka, stream = settings.kafka, settings.stream
    connection = kafka_connection(settings)
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": connection.pop("properties.bootstrap.servers"),
        "properties.group.id": group_id,
        "properties.client.id.prefix": f"{kafka.client_id}-{group_id}",
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "scan.watermark.idle-timeout": f"{int(stream.idle_timeout_s * 1000)} ms",
        "scan.watermark.emit.strategy": "on-event",
        "format": "raw",
    }
    return options | connection


def with_clause(options: dict[str, str]) -> str:
    return "WITH (\n  " + ",\n  ".join(f"{quote(k)} = {quote(v)}" for k, v in options.items()) + "\n)"


#: reference data is sparse: a reference partition silent this long stops holding joins back (a restored job may
#: read nothing more from it at all)
REFERENCE_IDLE_MS = 1000


def source_options(contract: Contract, settings: PlatformSettings, group_id: str) -> dict[str, str]:
    """:func:`kafka_options` for ``contract``'s topic; reference topics are released as idle after one second."""
    options = kafka_options(settings, contract.topic, group_id)
    if contract.meta.kind == "reference":
        options["scan.watermark.idle-timeout"] = f"{REFERENCE_IDLE_MS} ms"
    return options


def source_ddl(contract: Contract, settings: PlatformSettings, group_id: str) -> str:
    """A temporary Kafka table for ``contract``'s topic: raw value, Kafka coordinates and ``event_time``, the record
    timestamp, which the platform's producers set to the event time. The watermark is
    declared on it so the Kafka source itself tracks it per partition (and aligns the inputs); it trails the newest
    event time by ``stream.allowed_lateness_s``. Decoding (:func:`decoded_select`) happens in a view on top: a Python
    function in a computed column would keep the watermark out of the source."""
    lateness = settings.stream.allowed_lateness_s
    return (
        f"CREATE TEMPORARY TABLE {ident(source_table(contract))} (\n"
        "  `value` BYTES,\n"
        "  `kafka_topic` STRING METADATA FROM 'topic' VIRTUAL,\n"
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,\n"
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,\n"
        "  `event_time` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,\n"
        f"  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '{lateness}' SECOND\n"
        f") {with_clause(source_options(contract, settings, group_id))}"
    )


def epoch_seconds(ts: str) -> str:
    """Whole seconds since the epoch of a TIMESTAMP_LTZ expression (the session time zone is UTC)."""
    return f"CAST(TIMESTAMPDIFF(SECOND, TO_TIMESTAMP_LTZ(0, 0), {ts}) AS BIGINT)"


def decoded_select(contract: Contract) -> str:
    """``SELECT *, decode(value) AS ev FROM <source>``: the source's columns plus the decoded record ``ev``."""
    fn = ident(decode_function(contract))
    return f"SELECT *, {fn}(`value`) AS `ev` FROM {ident(source_table(contract))}"


def window_end_ms(ts: str, window_s: int) -> str:
    """The end (epoch ms, exclusive) of the epoch-aligned tumbling window a TIMESTAMP_LTZ expression falls in."""
    sec = epoch_seconds(ts)
    return f"(({sec} - MOD({sec}, {window_s}) + {window_s}) * 1000)"


def late_condition(ts: str, window_s: int, lateness_s: int, partition_max: str = "`partition_max`") -> str:
    """True when the event is late: its window ended more than ``lateness_s`` before ``partition_max`` (the newest
    event time read so far from the event's Kafka partition), or its window has already fired (window end - 1 ms <=
    the current watermark: the test Flink's window operator drops records by, on the watermark it sees)."""
    end = window_end_ms(ts, window_s)
    last = f"TO_TIMESTAMP_LTZ({end} - 1, 3)"
    return (
        f"({last} <= TIMESTAMPADD(SECOND, -{lateness_s}, {partition_max}) "
        f"OR COALESCE({last} <= CURRENT_WATERMARK({ts}), FALSE))"
    )


def silver_table(settings: PlatformSettings, name: str) -> str:
    """``catalog.silver.name``, quoted: where the speed layer's tables live."""
    return f"{ident(settings.iceberg.catalog.name)}.{ident(settings.iceberg.namespaces.silver)}.{ident(name)}"


def progress_ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of a job's progress table (``table`` fully qualified and quoted): one row per
    input Kafka partition, upserted by the job and committed at each checkpoint with its outputs."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (`kafka_topic` STRING NOT NULL, `kafka_partition` INT NOT NULL, "
        "`last_offset` BIGINT NOT NULL, `records` BIGINT NOT NULL, `max_event_time` TIMESTAMP_LTZ(3), "
        "`watermark` TIMESTAMP_LTZ(3), PRIMARY KEY (`kafka_topic`, `kafka_partition`) NOT ENFORCED) "
        "WITH ('format-version' = '2', 'write.upsert.enabled' = 'true', 'write.parquet.compression-codec' = 'zstd')"
    )


def progress_insert(table: str, contracts: list[Contract], *, watermark: bool = True) -> str:
    """The job's progress per input partition, as of each checkpoint barrier: the offset of the last record read
    (everything up to it is in the outputs committed at that checkpoint), how many records were read, the newest
    record timestamp (event time) and the source's watermark when that record was read.

    It reads the same source tables as the job's views (the planner reuses one Kafka source per topic), so the
    figures committed at checkpoint N are exactly the positions Flink stored in checkpoint N. ``watermark=False``
    for a job with processing-time mini-batches: their assigner replaces the sources' event-time watermarks with
    its own, so there is none to record (the column stays null)."""
    wm = "CURRENT_WATERMARK(`event_time`)" if watermark else "CAST(NULL AS TIMESTAMP_LTZ(3))"
    parts = [
        f"SELECT `kafka_topic`, `kafka_partition`, `kafka_offset`, `event_time`, {wm} AS `wm` "
        f"FROM {ident(source_table(c))}"
        for c in contracts
    ]
    return (
        f"INSERT INTO {table} SELECT `kafka_topic`, `kafka_partition`, MAX(`kafka_offset`), COUNT(*), "
        f"MAX(`event_time`), MAX(`wm`) FROM ({' UNION ALL '.join(parts)}) GROUP BY `kafka_topic`, `kafka_partition`"
    )


def select_at_snapshot(table: str, columns: tuple[str, ...], snapshot_id: int, as_text: tuple[str, ...] = ()) -> str:
    """A batch read of an Iceberg table (fully qualified, quoted) as of one snapshot; the ``as_text`` columns are
    cast to STRING (PyFlink 2.0's ``collect`` cannot return ``TIMESTAMP_LTZ`` values)."""
    picked = ", ".join(f"CAST({ident(c)} AS STRING) AS {ident(c)}" if c in as_text else ident(c) for c in columns)
    return f"SELECT {picked} FROM {table} /*+ OPTIONS('snapshot-id'='{int(snapshot_id)}') */"


def json_fields(alias: str, record: RecordT, fields: tuple[str, ...]) -> str:
    """``fields`` of ``record`` out of the JSON object ``alias`` (an element of an unnested array of records, see
    :func:`bridge_type`), each cast to its bridge type: ``CAST(JSON_VALUE(alias, '$.f') AS INT) AS `f`, ...``."""
    types = {f.name: f.type for f in record.fields}
    out = []
    for name in fields:
        if name not in types:
            raise KeyError(f"{record.name} has no field {name!r}")
        target = bridge_type(types[name])
        value = f"JSON_VALUE({alias}, {quote('$.' + name)})"
        out.append(f"{value if target == 'STRING' else f'CAST({value} AS {target})'} AS {ident(name)}")
    return ", ".join(out)
