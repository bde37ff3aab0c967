"""The speed layer's walks of a contract's type tree (bridge types, decoders) fail loudly on a kind of node they do
not know, wherever in the tree it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dp_contracts.errors import UnknownNodeError
from dp_contracts.ir import ArrayT, FieldT, RecordT
from dp_flink.sql import bridge_type, decode_result_type
from dp_flink.wire import holds_record, record_converter


@dataclass(frozen=True)
class Interval:
    """Not a kind of node of dp_contracts.ir."""

    months: int


UNKNOWN: Any = Interval(3)
ROW = RecordT("Row", (FieldT("span", UNKNOWN, True),))
#: an array of records: the decoder turns its elements into JSON objects, walking the record's fields
ROWS = RecordT("Rows", (FieldT("rows", ArrayT(ROW, True, None), True),))
WALKS: list[Callable[[], object]] = [
    lambda: bridge_type(UNKNOWN),
    lambda: holds_record(UNKNOWN),
    lambda: decode_result_type(ROW),
    lambda: record_converter(ROW, tuple),
    lambda: record_converter(ROWS, tuple),
]


@pytest.mark.parametrize("walk", WALKS)
def test_an_unknown_kind_of_node_fails_loudly(walk: Callable[[], object]) -> None:
    with pytest.raises(UnknownNodeError, match="Interval"):
        walk()
