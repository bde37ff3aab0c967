"""Verdicts name the subject's real version numbers and compare with the versions the mode asks for."""

from __future__ import annotations

import json
from collections.abc import Mapping

import avro.schema

from dp_contracts.compat import CompatibilityMode
from dp_schema_registry.canonical import canonicalize
from dp_schema_registry.compatibility import compatibility_problems


def record(*fields: Mapping[str, object]) -> avro.schema.Schema:
    return canonicalize(json.dumps({"type": "record", "name": "R", "fields": list(fields)})).parsed


A = {"name": "a", "type": "int"}
B_DEFAULT = {"name": "b", "type": "string", "default": ""}
B_REQUIRED = {"name": "b", "type": "string"}


def test_backward_compares_with_the_latest_version_only() -> None:
    history = [(1, record(A)), (3, record(A, B_DEFAULT))]
    assert compatibility_problems(record(B_REQUIRED), history, CompatibilityMode.BACKWARD) == []


def test_transitive_compares_with_every_version_and_names_the_real_number() -> None:
    history = [(1, record(A)), (3, record(A, B_DEFAULT))]
    problems = compatibility_problems(record(B_REQUIRED), history, CompatibilityMode.BACKWARD_TRANSITIVE)
    assert problems == [
        "new schema cannot read data written with version 1: reader_field_missing_default_value: b (at /fields/0)"
    ]


def test_forward_reads_new_data_with_the_old_schema() -> None:
    history = [(2, record(A, B_REQUIRED))]
    problems = compatibility_problems(record(A), history, CompatibilityMode.FORWARD)
    assert problems == [
        "version 2 cannot read data written with the new schema: reader_field_missing_default_value: b (at /fields/1)"
    ]
    assert compatibility_problems(record(A), history, CompatibilityMode.BACKWARD) == []


def test_full_checks_both_directions() -> None:
    history = [(1, record(A))]
    problems = compatibility_problems(record(B_REQUIRED), history, CompatibilityMode.FULL)
    assert len(problems) == 2
    assert problems[0].startswith("new schema cannot read data written with version 1: ")
    assert problems[1].startswith("version 1 cannot read data written with the new schema: ")


def test_none_and_an_empty_history_accept_anything() -> None:
    assert compatibility_problems(record(B_REQUIRED), [(1, record(A))], CompatibilityMode.NONE) == []
    assert compatibility_problems(record(B_REQUIRED), [], CompatibilityMode.FULL_TRANSITIVE) == []
