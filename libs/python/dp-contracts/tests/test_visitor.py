"""Every walk of the type tree is a TypeVisitor: a kind of node no visitor knows fails loudly in each of them."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dp_contracts.compiler import to_flink_columns, to_iceberg, to_json_schema, to_spark
from dp_contracts.errors import ContractError, UnknownNodeError
from dp_contracts.ir import VISITOR_METHODS, FieldT, PrimitiveT, RecordT, TypeT, TypeVisitor


@dataclass(frozen=True)
class SetT:
    """A kind of node the visitors do not know (as one added to the tree would be, until each visitor has it)."""

    items: TypeT


def with_new_kind() -> RecordT:
    """A record whose second field, nested in a record, is of the new kind."""
    new: Any = SetT(PrimitiveT("string"))
    inner = RecordT("Inner", (FieldT("tags", new, True, field_id=3),))
    return RecordT(
        "Outer", (FieldT("id", PrimitiveT("long"), True, field_id=1), FieldT("inner", inner, True, field_id=2))
    )


def test_every_kind_of_node_has_its_abstract_method() -> None:
    assert set(VISITOR_METHODS) == set(typing.get_args(TypeT))
    assert set(VISITOR_METHODS.values()) == TypeVisitor.__abstractmethods__


@pytest.mark.parametrize("emit", [to_iceberg, to_spark, to_flink_columns, to_json_schema])
def test_a_new_kind_of_node_fails_loudly_in_every_emitter(emit: Callable[[RecordT], object]) -> None:
    with pytest.raises(UnknownNodeError, match="SetT is not a kind of contract type node"):
        emit(with_new_kind())


def test_the_error_is_a_contract_error_and_a_type_error() -> None:
    assert issubclass(UnknownNodeError, ContractError) and issubclass(UnknownNodeError, TypeError)


def test_a_visitor_without_the_method_of_a_kind_cannot_be_created() -> None:
    class NoRecords(TypeVisitor[str]):
        def _scalar(self, node: Any) -> str:
            return "scalar"

        primitive = logical = decimal = fixed = enum = array = map = _scalar

    with pytest.raises(TypeError, match="record"):
        NoRecords()  # type: ignore[abstract]
