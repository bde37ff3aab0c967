"""Introspection of the settings models: what kind of node each dotted key is, and its type in words.

The loader uses this to reject unknown keys per layer (naming the layer), to refuse secrets in YAML, to map
``DP_`` variable names onto keys, and to describe expected types in error messages.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

NodeKind = Literal["model", "mapping", "leaf"]


@dataclass(frozen=True)
class Node:
    """One key of the settings tree."""

    kind: NodeKind
    annotation: Any
    model: type[BaseModel] | None = None
    secret: bool = False
    optional: bool = False
    structured: bool = False  # list/dict values: DP_ variables carry them as JSON


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return annotation, optional
    return annotation, False


def node_for(annotation: Any) -> Node:
    """Classify a field annotation."""
    inner, optional = _strip_optional(annotation)
    origin = typing.get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return Node("model", annotation, model=inner, optional=optional)
    if origin in (dict, typing.Mapping) or inner is dict:
        return Node("mapping", annotation, optional=optional, structured=True)
    if origin in (list, tuple, set, frozenset) or inner in (list, tuple):
        return Node("leaf", annotation, optional=optional, structured=True)
    if inner is SecretStr:
        return Node("leaf", annotation, secret=True, optional=optional)
    return Node("leaf", annotation, optional=optional)


def field_node(model: type[BaseModel], key: str) -> Node | None:
    """The node for ``key`` of ``model``, or None when the model has no such key."""
    field = model.model_fields.get(key)
    return None if field is None else node_for(field.annotation)


def node_at(model: type[BaseModel], path: tuple[str, ...]) -> Node | None:
    """The node at a dotted path below ``model``; None if any part is unknown.

    Any key below a free mapping (``kafka.producer.linger.ms``) is a leaf of the mapping's value type.
    """
    current: type[BaseModel] | None = model
    node: Node | None = None
    for index, part in enumerate(path):
        if node is not None and node.kind == "mapping":
            if index != len(path) - 1:
                return None
            inner, _ = _strip_optional(node.annotation)
            args = typing.get_args(inner)
            return node_for(args[1] if len(args) == 2 else Any)
        if current is None:
            return None
        node = field_node(current, part)
        if node is None:
            return None
        current = node.model
    return node


def type_name(annotation: Any) -> str:
    """A short human description of a field type, for error messages."""
    inner, optional = _strip_optional(annotation)
    origin = typing.get_origin(inner)
    if origin is Literal:
        name = "one of " + ", ".join(repr(a) for a in typing.get_args(inner))
    elif origin in (typing.Union, types.UnionType):
        name = " or ".join(type_name(a) for a in typing.get_args(inner))
    elif origin in (dict, typing.Mapping):
        key_t, value_t = typing.get_args(inner) or (str, Any)
        name = f"mapping of {type_name(key_t)} to {type_name(value_t)}"
    elif origin in (list, tuple):
        (item_t, *_) = typing.get_args(inner) or (Any,)
        name = f"list of {type_name(item_t)}"
    elif inner is SecretStr:
        name = "secret string"
    elif isinstance(inner, type) and issubclass(inner, BaseModel):
        name = f"mapping (section {inner.__name__})"
    elif isinstance(inner, type):
        name = inner.__name__
    else:
        name = str(inner)
    return f"{name} or null" if optional else name
