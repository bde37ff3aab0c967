"""The canonical form of an Avro schema: what the registry compares and fingerprints.

Two submissions are the same schema when they parse to the same Avro schema, whatever their whitespace, JSON key
order or spelling of names (``"string"`` and ``{"type": "string"}``; ``Inner`` and ``com.acme.Inner`` in the
namespace ``com.acme``). The canonical form is Avro's own JSON rendering of the parsed schema with the keys put in
one fixed order and no whitespace; the fingerprint is the SHA-256 of it. Unlike Avro's *Parsing Canonical Form*,
nothing that matters to readers is dropped: docs, defaults, aliases, ``order``, logical types and custom
attributes (``dp.*``) all take part, so a schema that only gains a default is a new schema.

What the registry stores and hands back is the first submission of a schema, without its whitespace: the JSON a
producer sent is the JSON a consumer gets (as with Confluent, which returns its compact rendering).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import avro.schema

from dp_contracts.compat import parse_schema
from dp_contracts.errors import InvalidSchemaError as ContractInvalidSchemaError
from dp_schema_registry.errors import InvalidSchemaError
from dp_schema_registry.model import text_problem

#: The deepest nesting of JSON objects and arrays a schema may have. A record whose field is a record costs three
#: levels (the record, its ``fields`` array, the field), an optional one four (the union too), so this allows some
#: 25 to 30 levels of nested records -- far more than real schemas use, and far less than parsing, canonicalising
#: and comparing schemas (all recursive) can take.
MAX_SCHEMA_DEPTH = 100
TOO_DEEP = f"the schema is nested too deeply (the limit is {MAX_SCHEMA_DEPTH} levels of JSON objects and arrays)"

# Keys of a schema object and of a record field, in the order the canonical text lists them; other keys (custom
# attributes) follow in alphabetical order.
_SCHEMA_KEYS = (
    "type",
    "name",
    "namespace",
    "doc",
    "aliases",
    "logicalType",
    "precision",
    "scale",
    "size",
    "symbols",
    "default",
    "items",
    "values",
    "fields",
)
_FIELD_KEYS = ("name", "type", "doc", "default", "order", "aliases")
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class CanonicalSchema:
    """A parsed schema: its text as submitted (compact), its canonical form and fingerprint."""

    text: str
    canonical: str
    fingerprint: str
    parsed: avro.schema.Schema


def canonicalize(text: str) -> CanonicalSchema:
    """Parse ``text`` as an Avro schema and give its canonical form.

    Raises:
        InvalidSchemaError: the text is not a valid Avro schema, is nested deeper than :data:`MAX_SCHEMA_DEPTH`,
            has a string with a lone surrogate, or a field default does not match its type (error code 42201).
    """
    try:
        return _canonicalize(text)
    except RecursionError:  # a safety net: the depth limit is meant to stop such schemas before any recursion
        raise InvalidSchemaError(TOO_DEEP) from None


def _canonicalize(text: str) -> CanonicalSchema:
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None  # parse_schema words the syntax error
    problem = document_problem(document)
    if problem is not None:
        raise InvalidSchemaError(problem)
    try:
        parsed = parse_schema(text)
    except ContractInvalidSchemaError as exc:
        raise InvalidSchemaError(str(exc)) from exc
    problems = default_problems(parsed)
    if problems:
        raise InvalidSchemaError("; ".join(problems))
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    canonical = json.dumps(_schema(parsed.to_json()), separators=(",", ":"), ensure_ascii=False)
    return CanonicalSchema(compact, canonical, hashlib.sha256(canonical.encode("utf-8")).hexdigest(), parsed)


def document_problem(document: Any) -> str | None:
    """Why a parsed schema JSON cannot be served, before anything recursive reads it; None when it can.

    It may not nest objects and arrays deeper than :data:`MAX_SCHEMA_DEPTH`, and no string in it (key or value)
    may hold a lone surrogate, which has no UTF-8 form to store or fingerprint. (A NUL may: ``"\\u0000"`` is a
    valid ``bytes`` default, and the texts stored are JSON, which escapes it.) The walk is iterative.
    """
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_SCHEMA_DEPTH:
                return TOO_DEEP
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(node, str):
            problem = text_problem(node)
            if problem is not None:
                return f"a string in the schema is not valid text: {problem}"
    return None


def _ordered(obj: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    return [k for k in known if k in obj] + sorted(k for k in obj if k not in known)


def _schema(node: Any) -> Any:
    """A schema node (name, union list or object) with its keys in canonical order."""
    if isinstance(node, list):
        return [_schema(branch) for branch in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key in _ordered(node, _SCHEMA_KEYS):
        value = node[key]
        if key in ("items", "values"):
            out[key] = _schema(value)
        elif key == "fields":
            out[key] = [_field(f) for f in value]
        else:
            out[key] = _plain(value)
    return out


def _field(node: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _schema(node[key]) if key == "type" else _plain(node[key]) for key in _ordered(node, _FIELD_KEYS)}


def _plain(value: Any) -> Any:
    """A JSON value that is not a schema (a default, a custom attribute): objects get sorted keys."""
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def default_problems(schema: avro.schema.Schema) -> list[str]:
    """Every record field whose default does not match the field's type, as ``Record.field: reason``.

    The Avro package does not check defaults; Java Avro (and so Confluent's registry) rejects a schema whose
    defaults cannot be read. A union default may match any branch (Avro 1.12 relaxed the first-branch rule).
    """
    problems: list[str] = []
    _walk(schema, problems, set())
    return problems


def _walk(schema: avro.schema.Schema, problems: list[str], seen: set[str]) -> None:
    if isinstance(schema, avro.schema.RecordSchema):
        if schema.fullname in seen:
            return
        seen.add(schema.fullname)
        for field in schema.fields:
            if field.has_default and not default_matches(field.type, field.default):
                problems.append(
                    f"{schema.fullname}.{field.name}: default {json.dumps(field.default)} is not a valid "
                    f"{_type_name(field.type)}"
                )
            _walk(field.type, problems, seen)
    elif isinstance(schema, avro.schema.ArraySchema):
        _walk(schema.items, problems, seen)
    elif isinstance(schema, avro.schema.MapSchema):
        _walk(schema.values, problems, seen)
    elif isinstance(schema, avro.schema.UnionSchema):
        for branch in schema.schemas:
            _walk(branch, problems, seen)


def _type_name(schema: avro.schema.Schema) -> str:
    if isinstance(schema, avro.schema.UnionSchema):
        return "[" + ", ".join(_type_name(s) for s in schema.schemas) + "]"
    return str(getattr(schema, "fullname", None) or schema.type)


def default_matches(schema: avro.schema.Schema, value: Any) -> bool:
    """Whether the JSON ``value`` is a valid default for ``schema`` (the JSON encoding of the Avro spec)."""
    if isinstance(schema, avro.schema.FixedSchema):
        return isinstance(value, str) and len(value) == schema.size
    if isinstance(schema, avro.schema.EnumSchema):
        return isinstance(value, str) and value in schema.symbols
    if isinstance(schema, avro.schema.ArraySchema):
        return isinstance(value, list) and all(default_matches(schema.items, v) for v in value)
    if isinstance(schema, avro.schema.MapSchema):
        return isinstance(value, dict) and all(default_matches(schema.values, v) for v in value.values())
    if isinstance(schema, avro.schema.UnionSchema):
        return any(default_matches(branch, value) for branch in schema.schemas)
    if isinstance(schema, avro.schema.RecordSchema):
        return isinstance(value, dict) and all(
            default_matches(f.type, value[f.name]) if f.name in value else f.has_default for f in schema.fields
        )
    return _primitive_default_matches(schema.type, value)


def _primitive_default_matches(kind: str, value: Any) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return kind in ("string", "bytes") and isinstance(value, str)
