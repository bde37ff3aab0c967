"""How long each operator of a speed-layer job keeps its state: a rewrite of the job's compiled plan (pure).

The events' state expires ``stream.dedup_ttl_s`` after its last write (the event ids of the deduplication, the
enricher's orders and payments in its joins, aggregates and sinks); the latest record per key of the reference
topics (products, customers) and the progress aggregates (one row per input partition) are kept for good.

Flink 2.0 offers three ways to bound Table API state; only a compiled plan (FLIP-292) reaches every operator:

* ``table.exec.state.ttl`` applies to every stateful operator at once: it would expire a product not updated for a
  day, and the aggregator's temporal join (no per-operator setting) drops the versions of such a product.
* The ``STATE_TTL`` query hint (FLIP-373) covers regular joins and group aggregates only, not the ``ROW_NUMBER``
  deduplication.
* A compiled plan (``StatementSet.compilePlan()``) lists a ``"state"`` entry per input of each stateful operator
  (deduplicate, rank, join, group aggregate, the sink's upsert materializer), ``{"index": i, "ttl": "0 ms", "name":
  ...}``; a plan edited there and run with ``TableEnvironment.loadPlan`` uses that TTL instead of the pipeline's.

Window aggregates, over aggregates and temporal joins have no such entry: their state is bounded by watermarks, by
the number of Kafka partitions, or kept (the temporal join follows ``table.exec.state.ttl``, which stays unset).
Flink's TTL is processing time, counted from the last write of each entry (``OnCreateAndWrite``) and never returns
an expired entry: a keep-first deduplication writes only on an id's first arrival, so a duplicate later than the
TTL after it passes as a new event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any, NamedTuple

#: why a state is kept or expires (:attr:`StateTtl.why`)
REFERENCE, PARTITIONS, EVENTS = "reference data", "progress per partition", "events"

_TOKEN = re.compile(r"`((?:[^`]|``)*)`|[<>]")


class StateTtl(NamedTuple):
    """One state of a compiled plan with the TTL it was given."""

    node: int
    """The operator's id in the plan."""
    operator: str
    """The operator's type, e.g. ``stream-exec-join_1``."""
    state: str
    """The state's name in the plan, e.g. ``leftState``."""
    ttl_ms: int
    """0: kept for good."""
    why: str
    """:data:`REFERENCE` or :data:`PARTITIONS` (kept) or :data:`EVENTS` (expires)."""


def field_names(row_type: str | dict[str, Any]) -> list[str]:
    """The top-level field names of a plan's row type: its JSON form (``{"type": "ROW", "fields": [...]}``) or its
    SQL text (``ROW<`a` INT, `b` ROW<`c` INT>>``)."""
    if isinstance(row_type, dict):
        return [str(f["name"]) for f in row_type.get("fields", [])]
    names, depth = [], 0
    for token in _TOKEN.finditer(row_type):
        if token.group(0) in "<>":
            depth += 1 if token.group(0) == "<" else -1
        elif depth == 1:
            names.append(token.group(1).replace("``", "`"))
    return names


def set_state_ttl(plan: str, ttl_ms: int, reference_tables: Collection[str]) -> tuple[str, list[StateTtl]]:
    """``plan`` (a compiled plan's JSON) with every state's TTL set, and the states with theirs.

    A state is kept (TTL 0) when every source upstream of its input is one of ``reference_tables`` (the source
    tables of reference topics: the latest record per key and the join input that holds it), or when its operator
    groups by ``kafka_partition`` (the progress aggregates, one row per input partition: bounded); every other
    state (events) expires ``ttl_ms`` after its last write.
    """
    doc = json.loads(plan)
    nodes = {int(n["id"]): n for n in doc["nodes"]}
    inputs: dict[int, list[int]] = {}
    for edge in doc["edges"]:  # in input order: a join's left input first
        inputs.setdefault(int(edge["target"]), []).append(int(edge["source"]))
    seen: dict[int, frozenset[str]] = {}

    def sources(node_id: int) -> frozenset[str]:
        if node_id not in seen:
            scan = nodes[node_id].get("scanTableSource")
            own = {str(scan["table"]["identifier"])} if scan else set()
            seen[node_id] = frozenset(own.union(*(sources(i) for i in inputs.get(node_id, []))))
        return seen[node_id]

    reference = tuple(f".`{t.replace('`', '``')}`" for t in reference_tables)
    states: list[StateTtl] = []
    for node_id, node in nodes.items():
        if not node.get("state"):
            continue
        keys = field_names(node["outputType"])[: len(node["grouping"])] if "grouping" in node else []
        for state in node["state"]:
            upstream = sources(inputs[node_id][int(state["index"])])
            if "kafka_partition" in keys:
                why = PARTITIONS
            elif upstream and all(s.endswith(reference) for s in upstream):
                why = REFERENCE
            else:
                why = EVENTS
            ttl = ttl_ms if why == EVENTS else 0
            state["ttl"] = f"{ttl} ms"
            states.append(StateTtl(node_id, str(node["type"]), str(state["name"]), ttl, why))
    return json.dumps(doc), states


def describe(states: list[StateTtl]) -> str:
    """One line: how many states expire after how long, and which are kept and why."""
    expiring = [s for s in states if s.ttl_ms]
    kept = [s for s in states if not s.ttl_ms]
    ttl = f" after {expiring[0].ttl_ms / 1000:.12g} s" if expiring else ""
    reasons = ", ".join(f"{sum(1 for s in kept if s.why == why)} {why}" for why in dict.fromkeys(s.why for s in kept))
    return f"{len(expiring)} of {len(states)} states expire{ttl}; kept for good: {reasons or 'none'}"
