"""The state TTL of a compiled plan: the events' state expires, the reference data and the progress are kept.

The plan below has the enricher's shape (``dp stream run enricher`` prints the same split for the real plan): orders
deduplicated by event id, payments ranked per order, the latest product per id, the joins of those, the lines
aggregated per order, an upsert sink's materializer and the progress aggregate over every source.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dp_flink.state_ttl import EVENTS, PARTITIONS, REFERENCE, StateTtl, describe, field_names, set_state_ttl

DAY_MS = 86_400_000
REFERENCE_TABLES = ["src_product", "src_customer"]


def node(
    node_id: int, kind: str, fields: str = "`k` STRING", states: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    """A plan node: its id, type, output row type and one ``"state"`` entry per name in ``states``."""
    out = {"id": node_id, "type": f"stream-exec-{kind}_1", "outputType": f"ROW<{fields}>", **extra}
    if states:
        out["state"] = [{"index": i, "ttl": "0 ms", "name": name} for i, name in enumerate(states)]
    return out


def source(node_id: int, table: str) -> dict[str, Any]:
    identifier = f"`default_catalog`.`default_database`.`{table}`"
    return node(node_id, "table-source-scan", scanTableSource={"table": {"identifier": identifier}})


PARTITION_ROW = {"type": "ROW", "fields": [{"name": "kafka_topic", "fieldType": "STRING"},
                                           {"name": "kafka_partition", "fieldType": "INT"},
                                           {"name": "records", "fieldType": "BIGINT"}]}  # fmt: skip
NODES = [
    source(1, "src_order_placed"),
    node(2, "deduplicate", states=("deduplicateState",), keepLastRow=False),
    source(3, "src_payment_processed"),
    node(4, "rank", states=("rankState",)),
    node(5, "join", states=("leftState", "rightState")),
    source(6, "src_product"),
    node(7, "calc"),
    node(8, "deduplicate", states=("deduplicateState",), keepLastRow=True),
    node(9, "exchange"),
    node(10, "join", states=("leftState", "rightState")),
    node(11, "global-group-aggregate", "`event_id` STRING", ("globalGroupAggregateState",), grouping=[0]),
    node(12, "sink", states=("sinkMaterializeState",)),
    node(13, "union"),
    node(14, "group-aggregate", "", ("groupAggregateState",), grouping=[0, 1], outputType=PARTITION_ROW),
    node(15, "sink"),
]
EDGES = [(1, 2), (3, 4), (2, 5), (4, 5), (6, 7), (7, 8), (8, 9), (5, 10), (9, 10), (10, 11), (11, 12),
         (1, 13), (6, 13), (13, 14), (14, 15)]  # fmt: skip
PLAN = json.dumps({"flinkVersion": "2.0", "nodes": NODES, "edges": [{"source": s, "target": t} for s, t in EDGES]})


def test_events_expire_while_reference_data_and_progress_are_kept() -> None:
    plan, states = set_state_ttl(PLAN, DAY_MS, REFERENCE_TABLES)
    day = DAY_MS
    assert states == [
        StateTtl(2, "stream-exec-deduplicate_1", "deduplicateState", day, EVENTS),  # orders by event id
        StateTtl(4, "stream-exec-rank_1", "rankState", day, EVENTS),  # the latest payment per order
        StateTtl(5, "stream-exec-join_1", "leftState", day, EVENTS),
        StateTtl(5, "stream-exec-join_1", "rightState", day, EVENTS),
        StateTtl(8, "stream-exec-deduplicate_1", "deduplicateState", 0, REFERENCE),  # the latest product
        StateTtl(10, "stream-exec-join_1", "leftState", day, EVENTS),  # the orders
        StateTtl(10, "stream-exec-join_1", "rightState", 0, REFERENCE),  # their products, through calc, exchange
        StateTtl(11, "stream-exec-global-group-aggregate_1", "globalGroupAggregateState", day, EVENTS),
        StateTtl(12, "stream-exec-sink_1", "sinkMaterializeState", day, EVENTS),
        StateTtl(14, "stream-exec-group-aggregate_1", "groupAggregateState", 0, PARTITIONS),  # progress
    ]
    # the plan carries them, and nothing else changed
    doc = json.loads(plan)
    ttls = {(n["id"], s["name"]): s["ttl"] for n in doc["nodes"] for s in n.get("state", [])}
    assert ttls == {(s.node, s.state): f"{s.ttl_ms} ms" for s in states}
    for n in doc["nodes"]:
        for s in n.get("state", []):
            s["ttl"] = "0 ms"
    assert doc == json.loads(PLAN)


def test_without_reference_tables_every_state_of_a_source_expires_but_progress() -> None:
    _, states = set_state_ttl(PLAN, 5000, [])
    assert {(s.node, s.state) for s in states if not s.ttl_ms} == {(14, "groupAggregateState")}
    assert {s.ttl_ms for s in states if s.ttl_ms} == {5000}


def test_describe_counts_what_expires_and_why_the_rest_is_kept() -> None:
    _, states = set_state_ttl(PLAN, DAY_MS, REFERENCE_TABLES)
    assert (
        describe(states)
        == "7 of 10 states expire after 86400 s; kept for good: 2 reference data, 1 progress per partition"
    )
    assert describe([]) == "0 of 0 states expire; kept for good: none"


@pytest.mark.parametrize(
    ("row_type", "names"),
    [
        ("ROW<`a` INT, `b` ROW<`c` STRING, `d` ARRAY<ROW<`e` INT>>>, `f` TIMESTAMP(3) WITH LOCAL TIME ZONE>",
         ["a", "b", "f"]),
        ("ROW<`it``s` BIGINT NOT NULL, `x<y` MAP<STRING, INT>> NOT NULL", ["it`s", "x<y"]),
        (PARTITION_ROW, ["kafka_topic", "kafka_partition", "records"]),
    ],
)  # fmt: skip
def test_field_names_of_both_forms_of_a_row_type(row_type: str | dict[str, Any], names: list[str]) -> None:
    assert field_names(row_type) == names
