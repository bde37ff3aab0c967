"""Flink SQL generated from the contracts and the settings: bridge types, the Kafka source table with its watermark,
the window arithmetic and the late-event test."""

from __future__ import annotations

from pathlib import Path

import pytest

from dp_contracts.ir import (
    ArrayT,
    DecimalT,
    EnumT,
    FieldT,
    FixedT,
    LogicalKind,
    LogicalT,
    MapT,
    Primitive,
    PrimitiveT,
    RecordT,
    TypeT,
)
from dp_contracts.model import Contract, find_contract
from dp_core.config import find_repo_root, load_settings
from dp_flink.sql import (
    bridge_type,
    decode_function,
    decode_result_type,
    decoded_select,
    epoch_seconds,
    ident,
    json_fields,
    kafka_options,
    late_condition,
    quote,
    source_ddl,
    source_table,
    window_end_ms,
)

REPO = find_repo_root(Path(__file__))
GROUP = "dp-aggregator-commerce"
#: the repo's local settings with the stream values these tests assert pinned (the defaults may change)
SETTINGS = load_settings(
    REPO / "config", {"DP_STREAM_IDLE_TIMEOUT_S": "5", "DP_STREAM_ALLOWED_LATENESS_S": "60"}
).settings


def test_quoting() -> None:
    assert quote("it's") == "'it''s'"
    assert ident("a`b") == "`a``b`"


#: Avro primitive and logical type -> the bridge type of its values
PRIMITIVE_BRIDGE: dict[Primitive, str] = {"boolean": "BOOLEAN", "int": "INT", "long": "BIGINT", "float": "FLOAT"}
PRIMITIVE_BRIDGE |= {"double": "DOUBLE", "bytes": "BYTES", "string": "STRING"}
LOGICAL_BRIDGE: dict[LogicalKind, str] = {"date": "INT", "uuid": "STRING", "timestamp-micros": "BIGINT"}
LOGICAL_BRIDGE |= {"timestamp-millis": "BIGINT", "local-timestamp-micros": "BIGINT", "time-millis": "BIGINT"}


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        *((PrimitiveT(name), bridge) for name, bridge in PRIMITIVE_BRIDGE.items()),
        *((LogicalT(name), bridge) for name, bridge in LOGICAL_BRIDGE.items()),
        (DecimalT(12, 2), "DECIMAL(12, 2)"),
        (FixedT("Md5", 16), "BYTES"),
        (EnumT("Device", ("DESKTOP", "MOBILE")), "STRING"),
        (ArrayT(PrimitiveT("string"), True, None), "ARRAY<STRING>"),
        (MapT(LogicalT("timestamp-micros"), False, None, None), "MAP<STRING, BIGINT>"),
        (
            RecordT("R", (FieldT("at", LogicalT("timestamp-micros"), True), FieldT("n", PrimitiveT("int"), False))),
            "ROW<`at` BIGINT, `n` INT>",
        ),
        # records inside collections: an array of them as JSON objects, anything deeper as one JSON text
        (ArrayT(RecordT("R", (FieldT("n", PrimitiveT("int"), False),)), False, None), "ARRAY<STRING>"),
        (ArrayT(ArrayT(RecordT("R", ()), False, None), False, None), "STRING"),
        (MapT(RecordT("R", ()), False, None, None), "STRING"),
    ],
)
def test_bridge_types(node: TypeT, expected: str) -> None:
    assert bridge_type(node) == expected


def test_decode_result_type_of_an_order_carries_its_lines_as_json(contracts: list[Contract]) -> None:
    # an array of records crosses the bridge as JSON objects: thread mode repeats the last row in arrays of rows
    order = find_contract(contracts, "order_placed")
    assert decode_result_type(order.record) == (
        "ROW<`event_id` STRING, `order_id` STRING, `session_id` STRING, `customer_id` STRING, "
        "`lines` ARRAY<STRING>, "
        "`subtotal` DECIMAL(12, 2), `shipping` DECIMAL(12, 2), `tax` DECIMAL(12, 2), `total` DECIMAL(12, 2), "
        "`currency` STRING, `shipping_country` STRING, `attributes` MAP<STRING, STRING>, `occurred_at` BIGINT, "
        "`_schema_id` INT, `_error` STRING>"
    )


def test_decode_result_type_of_a_reference_record(contracts: list[Contract]) -> None:
    customer = find_contract(contracts, "customer")
    assert decode_result_type(customer.record) == (
        "ROW<`customer_id` STRING, `email` STRING, `full_name` STRING, `country` STRING, `segment` STRING, "
        "`signup_date` INT, `marketing_opt_in` BOOLEAN, `updated_at` BIGINT, `_schema_id` INT, `_error` STRING>"
    )


def test_names_of_the_decode_function_and_the_source(contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    assert decode_function(order) == "decode_commerce_order_placed"
    assert source_table(order) == "src_order_placed"
    assert decoded_select(order) == "SELECT *, `decode_commerce_order_placed`(`value`) AS `ev` FROM `src_order_placed`"


def test_kafka_options_of_the_local_settings() -> None:
    options = kafka_options(SETTINGS, "commerce.order_placed.v1", GROUP)
    assert options == {
        "connector": "kafka",
        "topic": "commerce.order_placed.v1",
        "properties.bootstrap.servers": "127.0.0.1:9092",
        "properties.group.id": GROUP,
        "properties.client.id.prefix": f"dtheinfra-{GROUP}",
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "scan.watermark.idle-timeout": "5000 ms",
        "scan.watermark.emit.strategy": "on-event",
        "format": "raw",
    }


def test_stream_settings_reach_the_options() -> None:
    env = {"DP_STREAM_IDLE_TIMEOUT_S": "0.5", "DP_KAFKA_BOOTSTRAP_SERVERS": "k:19092", "DP_KAFKA_CLIENT_ID": "x"}
    options = kafka_options(load_settings(REPO / "config", env).settings, "t", "g")
    assert options["scan.watermark.idle-timeout"] == "500 ms"
    assert options["properties.bootstrap.servers"] == "k:19092"
    assert options["properties.client.id.prefix"] == "x-g"


def test_security_options_only_when_configured() -> None:
    local = kafka_options(SETTINGS, "t", "g")
    assert not [k for k in local if "security" in k or "sasl" in k]
    prod = kafka_options(load_settings(REPO / "config", {}, env="prod").settings, "t", "g")
    assert prod["properties.security.protocol"] == "SASL_SSL"
    assert prod["properties.sasl.mechanism"] == "SCRAM-SHA-512"
    assert prod["properties.client.id.prefix"] == "dtheinfra-prod-g"
    ssl = kafka_options(load_settings(REPO / "config", {"DP_KAFKA_SECURITY_PROTOCOL": "SSL"}).settings, "t", "g")
    assert ssl["properties.security.protocol"] == "SSL" and "properties.sasl.mechanism" not in ssl


def test_source_ddl(contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    ddl = source_ddl(order, SETTINGS, GROUP)
    head, _, options = ddl.partition(") WITH (\n")
    assert head == (
        "CREATE TEMPORARY TABLE `src_order_placed` (\n"
        "  `value` BYTES,\n"
        "  `kafka_topic` STRING METADATA FROM 'topic' VIRTUAL,\n"
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,\n"
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,\n"
        "  `event_time` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,\n"
        "  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '60' SECOND\n"
    )
    lines = options.splitlines()
    assert lines[-1] == ")"
    stripped = [ln.strip().removesuffix(",") for ln in lines[:-1]]
    assert stripped == [f"'{k}' = '{v}'" for k, v in kafka_options(SETTINGS, order.topic, GROUP).items()]
    for expected in (
        "'connector' = 'kafka'",
        "'format' = 'raw'",
        "'topic' = 'commerce.order_placed.v1'",
        f"'properties.group.id' = '{GROUP}'",
        "'scan.startup.mode' = 'group-offsets'",
        "'scan.watermark.idle-timeout' = '5000 ms'",
        "'scan.watermark.emit.strategy' = 'on-event'",
    ):
        assert expected in stripped


def test_source_ddl_lateness_follows_the_settings(contracts: list[Contract]) -> None:
    settings = load_settings(REPO / "config", {"DP_STREAM_ALLOWED_LATENESS_S": "0"}).settings
    ddl = source_ddl(find_contract(contracts, "page_view"), settings, "g")
    assert "  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0' SECOND\n" in ddl
    assert "'topic' = 'commerce.page_view.v1'" in ddl


def test_epoch_and_window_expressions() -> None:
    sec = "CAST(TIMESTAMPDIFF(SECOND, TO_TIMESTAMP_LTZ(0, 0), ts) AS BIGINT)"
    assert epoch_seconds("ts") == sec
    assert window_end_ms("ts", 60) == f"(({sec} - MOD({sec}, 60) + 60) * 1000)"
    assert window_end_ms("ts", 300) == f"(({sec} - MOD({sec}, 300) + 300) * 1000)"


def test_late_condition_is_the_partition_test_or_the_window_operators_drop_test() -> None:
    sec = "CAST(TIMESTAMPDIFF(SECOND, TO_TIMESTAMP_LTZ(0, 0), ts) AS BIGINT)"
    last_ms = f"TO_TIMESTAMP_LTZ((({sec} - MOD({sec}, 60) + 60) * 1000) - 1, 3)"
    assert late_condition("ts", 60, 30) == (
        f"({last_ms} <= TIMESTAMPADD(SECOND, -30, `partition_max`) "
        f"OR COALESCE({last_ms} <= CURRENT_WATERMARK(ts), FALSE))"
    )
    assert "TIMESTAMPADD(SECOND, -0, pm)" in late_condition("ts", 60, 0, partition_max="pm")


def test_json_fields_cast_each_line_field_to_its_bridge_type(contracts: list[Contract]) -> None:
    order = find_contract(contracts, "order_placed")
    lines = next(f.type for f in order.record.fields if f.name == "lines")
    assert isinstance(lines, ArrayT) and isinstance(lines.items, RecordT)
    assert json_fields("l.`line`", lines.items, ("product_id", "quantity", "line_total")) == (
        "JSON_VALUE(l.`line`, '$.product_id') AS `product_id`, "
        "CAST(JSON_VALUE(l.`line`, '$.quantity') AS INT) AS `quantity`, "
        "CAST(JSON_VALUE(l.`line`, '$.line_total') AS DECIMAL(12, 2)) AS `line_total`"
    )
    with pytest.raises(KeyError, match="no field 'sku'"):
        json_fields("x", lines.items, ("sku",))


def test_collections_cross_the_bridge_empty_never_null(contracts: list[Contract]) -> None:
    from dp_flink.session import empty_collections

    order = next(c for c in contracts if c.name == "order_placed")
    fields = [f.name for f in order.record.fields]
    empties = empty_collections(order.record)
    assert {fields[i]: make() for i, make in empties.items()} == {"lines": [], "attributes": {}}
    product = next(c for c in contracts if c.name == "product")
    assert empty_collections(product.record) == {}
