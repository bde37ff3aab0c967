"""Schema compatibility under the Confluent modes, decided by Avro's own reader/writer resolution rules.

The rules are those of the Avro specification ("Schema Resolution"), as implemented by the Apache Avro package's
``ReaderWriterCompatibilityChecker`` (a port of Java's ``SchemaCompatibility``):

* BACKWARD: the new schema can read data written with the latest registered one;
* FORWARD: the latest registered schema can read data written with the new one;
* FULL: both; the ``_TRANSITIVE`` variants check against every registered version, not only the latest;
* NONE: anything goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from dp_contracts.errors import InvalidSchemaError


class CompatibilityMode(StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


@dataclass(frozen=True)
class Verdict:
    """The answer of a compatibility check, with one message per incompatibility found."""

    compatible: bool
    messages: tuple[str, ...] = ()


def _qualify_aliases(node: Any, namespace: str | None) -> Any:
    """Spell every alias of a named type in full, as the spec reads a relative one (``Order`` in ``dp.test`` is
    ``dp.test.Order``); Avro's Python checker compares the alias text with the writer's full name as is."""
    if isinstance(node, list):
        return [_qualify_aliases(n, namespace) for n in node]
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if out.get("type") in ("record", "error", "enum", "fixed") and "name" in out:
        name = str(out["name"])
        ns = name.rpartition(".")[0] if "." in name else out.get("namespace", namespace)
        aliases = out.get("aliases")
        if isinstance(aliases, list) and ns:
            out["aliases"] = [a if not isinstance(a, str) or "." in a else f"{ns}.{a}" for a in aliases]
        namespace = ns
    for key in ("fields", "items", "values", "type"):
        if key in out and not isinstance(out[key], str):
            out[key] = _qualify_aliases(out[key], namespace)
    return out


def parse_schema(text: str | dict[str, object] | list[object]) -> avro.schema.Schema:
    """Parse an Avro schema (JSON text or parsed JSON); raise :class:`InvalidSchemaError` with the reason."""
    try:
        parsed = json.loads(text) if isinstance(text, str) else text
        return avro.schema.parse(json.dumps(_qualify_aliases(parsed, None)))
    except (avro.errors.AvroException, json.JSONDecodeError, TypeError, ValueError, KeyError) as exc:
        raise InvalidSchemaError(f"invalid Avro schema: {exc}") from exc


def reader_writer_problems(reader: avro.schema.Schema, writer: avro.schema.Schema) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty when it can)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)  # type: ignore[no-untyped-call]
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    # the Python port keeps kinds, messages and locations as separate collections
    kinds = ", ".join(sorted({i.name for i in result.incompatibilities}))
    messages = "; ".join(sorted(result.messages))
    locations = ", ".join(sorted(result.locations))
    problems = [f"{kinds}: {messages} (at {locations})"]
    return problems or ["incompatible"]


def check_compatibility(
    candidate: avro.schema.Schema | str,
    previous: Sequence[avro.schema.Schema | str],
    mode: CompatibilityMode | str,
) -> Verdict:
    """Whether ``candidate`` may follow ``previous`` (oldest first) under ``mode``.

    Messages name the direction and the version they concern (1-based position in ``previous``).
    """
    mode = CompatibilityMode(mode)
    if mode is CompatibilityMode.NONE or not previous:
        return Verdict(True)
    new = parse_schema(candidate) if isinstance(candidate, str) else candidate
    olds = [parse_schema(p) if isinstance(p, str) else p for p in previous]
    indexed = list(enumerate(olds, start=1))
    targets = indexed if mode.transitive else indexed[-1:]
    messages: list[str] = []
    for version, old in targets:
        if mode.checks_backward:
            for problem in reader_writer_problems(new, old):
                messages.append(f"new schema cannot read data written with version {version}: {problem}")
        if mode.checks_forward:
            for problem in reader_writer_problems(old, new):
                messages.append(f"version {version} cannot read data written with the new schema: {problem}")
    return Verdict(not messages, tuple(messages))
