"""The producer core's converters are compiled by a walk of the contract's type tree: a kind of node it does not
know fails loudly when the converter is compiled, not when the first event arrives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dp_contracts.errors import UnknownNodeError
from dp_contracts.ir import FieldT, MapT, RecordT
from dp_ingest.convert import compile_converter, compile_type


@dataclass(frozen=True)
class Geo:
    """Not a kind of node of dp_contracts.ir."""

    srid: int


def test_an_unknown_kind_of_node_fails_when_compiled() -> None:
    geo: Any = Geo(4326)
    with pytest.raises(UnknownNodeError, match="Geo is not a kind"):
        compile_type(geo)
    nested = RecordT("Place", (FieldT("shapes", MapT(geo, False, None, None), True),))
    with pytest.raises(UnknownNodeError, match="Geo is not a kind"):
        compile_converter(nested)
