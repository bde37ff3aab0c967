"""The pure rules of the protocol: version ids, flags, compatibility levels, version resolution, error bodies."""

from __future__ import annotations

import pytest

from dp_contracts.compat import CompatibilityMode
from dp_schema_registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidSubjectError,
    InvalidVersionError,
    SchemaNotFoundError,
    StoreError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    error_payload,
)
from dp_schema_registry.model import (
    LATEST,
    SubjectVersion,
    effective_compatibility,
    next_version,
    page,
    parse_compatibility,
    parse_flag,
    parse_subject,
    parse_version,
    resolve_version,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), (" 7 ", 7), ("latest", LATEST), ("LATEST", LATEST), ("-1", LATEST), (2**31 - 1, 2**31 - 1)],
)
def test_valid_versions(raw: str | int, expected: int) -> None:
    assert parse_version(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-2", "abc", "1.5", "", str(2**31)])
def test_invalid_versions_are_42202(raw: str) -> None:
    with pytest.raises(InvalidVersionError) as caught:
        parse_version(raw)
    assert str(caught.value) == (
        f"The specified version '{raw}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )
    assert error_payload(caught.value) == (422, {"error_code": 42202, "message": str(caught.value)})


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)]
)
def test_flags_read_like_jax_rs(raw: str, expected: bool) -> None:
    assert parse_flag(raw) is expected


@pytest.mark.parametrize("raw", [None, "", "1", "yes"])
def test_anything_but_true_is_false(raw: str | None) -> None:
    assert parse_flag(raw) is False


def test_compatibility_levels_are_case_insensitive() -> None:
    assert parse_compatibility("full_transitive") is CompatibilityMode.FULL_TRANSITIVE
    assert parse_compatibility(" None ") is CompatibilityMode.NONE


@pytest.mark.parametrize("raw", ["bogus", "", None, 3, ["BACKWARD"]])
def test_unknown_compatibility_levels_are_42203(raw: object) -> None:
    with pytest.raises(InvalidCompatibilityLevelError) as caught:
        parse_compatibility(raw)
    assert error_payload(caught.value)[0] == 422
    assert error_payload(caught.value)[1]["error_code"] == 42203


def test_effective_compatibility_prefers_the_subject_then_the_global_level() -> None:
    assert effective_compatibility("FULL", "NONE", "BACKWARD") is CompatibilityMode.FULL
    assert effective_compatibility(None, "NONE", "BACKWARD") is CompatibilityMode.NONE
    assert effective_compatibility(None, None, "BACKWARD") is CompatibilityMode.BACKWARD


VERSIONS = [
    SubjectVersion("s", 1, 10),
    SubjectVersion("s", 2, 11, deleted=True),
    SubjectVersion("s", 3, 12),
    SubjectVersion("s", 4, 13, deleted=True),
]


def test_latest_is_the_highest_visible_version() -> None:
    assert resolve_version(VERSIONS, LATEST, include_deleted=False) == VERSIONS[2]
    assert resolve_version(VERSIONS, LATEST, include_deleted=True) == VERSIONS[3]
    assert resolve_version([], LATEST, include_deleted=True) is None


def test_soft_deleted_versions_are_found_only_when_asked_for() -> None:
    assert resolve_version(VERSIONS, 2, include_deleted=False) is None
    assert resolve_version(VERSIONS, 2, include_deleted=True) == VERSIONS[1]
    assert resolve_version(VERSIONS, 5, include_deleted=True) is None


def test_new_versions_never_reuse_a_soft_deleted_number() -> None:
    assert next_version(VERSIONS) == 5
    assert next_version([]) == 1


def test_page_follows_offset_and_limit() -> None:
    items = [1, 2, 3, 4, 5]
    assert page(items, 0, -1) == [1, 2, 3, 4, 5]
    assert page(items, 1, 2) == [2, 3]
    assert page(items, 4, 10) == [5]
    assert page(items, -3, 1) == [1]


@pytest.mark.parametrize(
    ("error", "status", "code", "message"),
    [
        (SubjectNotFoundError("orders-value"), 404, 40401, "Subject 'orders-value' not found."),
        (VersionNotFoundError("orders-value", 7), 404, 40402, "Version 7 not found."),
        (SchemaNotFoundError(99), 404, 40403, "Schema 99 not found"),
        (SchemaNotFoundError(), 404, 40403, "Schema not found"),
        (
            SubjectSoftDeletedError("s"),
            404,
            40404,
            "Subject 's' was soft deleted.Set permanent=true to delete permanently",
        ),
        (
            SubjectNotSoftDeletedError("s"),
            404,
            40405,
            "Subject 's' was not deleted first before being permanently deleted",
        ),
        (
            IncompatibleSchemaError("s", "BACKWARD", ("a", "b")),
            409,
            409,
            'Schema being registered is incompatible with an earlier schema for subject "s" (compatibility BACKWARD), '
            "details: [a; b]",
        ),
        (
            StoreError("reading schema 1", "OperationalError: connection refused"),
            500,
            50001,
            "Error in the backend datastore while reading schema 1: OperationalError: connection refused",
        ),
        (RuntimeError("boom"), 500, 50001, "Internal server error: RuntimeError"),
    ],
)
def test_error_payloads_are_confluents(error: Exception, status: int, code: int, message: str) -> None:
    assert error_payload(error) == (status, {"error_code": code, "message": message})


@pytest.mark.parametrize("subject", ["orders-value", "a b", "ünïcode ✓", ":.ctx:orders", "x" * 1000])
def test_valid_subjects_are_kept_as_they_are(subject: str) -> None:
    assert parse_subject(subject) == subject


#: a subject that cannot be stored -> the reason it is refused
INVALID_SUBJECTS = {
    "a\x00b": "it contains a NUL character (U+0000), which cannot be stored",
    "a\nb": "it contains the control character U+000A",
    "a\x85b": "it contains the control character U+0085",
    "a\ud800b": "it contains a lone UTF-16 surrogate (U+D800), which is not valid Unicode text",
}


@pytest.mark.parametrize(("subject", "reason"), INVALID_SUBJECTS.items())
def test_invalid_subjects_are_42208_with_the_reason(subject: str, reason: str) -> None:
    with pytest.raises(InvalidSubjectError) as caught:
        parse_subject(subject)
    assert (caught.value.http_status, caught.value.error_code, caught.value.reason) == (422, 42208, reason)
