"""Compatibility verdicts that name the subject's real version numbers.

The rules are dp-contracts' (Avro's reader/writer resolution under the Confluent modes); this module only picks
the versions a mode compares with -- the latest, or every one for the ``_TRANSITIVE`` modes -- and words each
problem with the version it concerns, so a client sees "version 3" even when version 2 was deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

import avro.schema

from dp_contracts.compat import CompatibilityMode, reader_writer_problems
from dp_schema_registry.canonical import TOO_DEEP
from dp_schema_registry.errors import InvalidSchemaError


def compatibility_problems(
    candidate: avro.schema.Schema,
    previous: Sequence[tuple[int, avro.schema.Schema]],
    mode: CompatibilityMode,
) -> list[str]:
    """Why ``candidate`` may not follow the ``(version, schema)`` pairs (oldest first) under ``mode``.

    Empty when it may.

    Raises:
        InvalidSchemaError: a schema is too deep to compare (42201); a safety net, as parsing limits the depth.
    """
    try:
        return _problems(candidate, previous, mode)
    except RecursionError:
        raise InvalidSchemaError(TOO_DEEP) from None


def _problems(
    candidate: avro.schema.Schema,
    previous: Sequence[tuple[int, avro.schema.Schema]],
    mode: CompatibilityMode,
) -> list[str]:
    if mode is CompatibilityMode.NONE or not previous:
        return []
    targets = previous if mode.transitive else previous[-1:]
    problems: list[str] = []
    for version, old in targets:
        if mode.checks_backward:
            problems += [
                f"new schema cannot read data written with version {version}: {p}"
                for p in reader_writer_problems(candidate, old)
            ]
        if mode.checks_forward:
            problems += [
                f"version {version} cannot read data written with the new schema: {p}"
                for p in reader_writer_problems(old, candidate)
            ]
    return problems
