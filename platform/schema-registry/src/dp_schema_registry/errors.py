"""The schema registry's error family, each error carrying its Confluent HTTP status and error code.

Confluent clients read the HTTP status and the body ``{"error_code": N, "message": "..."}``; the codes and the
message formats follow Confluent's ``Errors.java`` so that tools which match on them keep working. The one
translator from errors to HTTP responses is :func:`error_payload`, used by the API's exception handler.
"""

from __future__ import annotations

from dp_core.errors import PlatformError, TerminalError, TransientError

# Confluent's error codes: the first three digits are the HTTP status.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
VERSION_SOFT_DELETED = 40406
VERSION_NOT_SOFT_DELETED = 40407
SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
INCOMPATIBLE_SCHEMA = 409
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_MODE = 42204
INVALID_SUBJECT = 42208
UNPROCESSABLE_REQUEST = 422
STORE_ERROR = 50001


class RegistryError(PlatformError):
    """Root of the schema registry's errors.

    Attributes:
        http_status: the HTTP status the API answers with.
        error_code: the Confluent error code of the JSON body.
    """

    http_status: int = 500
    error_code: int = STORE_ERROR


class SubjectNotFoundError(RegistryError, TerminalError):
    """The subject has no version (or none that is visible with the given ``deleted`` flag)."""

    http_status, error_code = 404, SUBJECT_NOT_FOUND

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFoundError(RegistryError, TerminalError):
    """The subject exists but has no such version."""

    http_status, error_code = 404, VERSION_NOT_FOUND

    def __init__(self, subject: str, version: int) -> None:
        self.subject, self.version = subject, version
        super().__init__(f"Version {version} not found.")


class SchemaNotFoundError(RegistryError, TerminalError):
    """No schema has this id, or the schema is not registered under the subject looked in."""

    http_status, error_code = 404, SCHEMA_NOT_FOUND

    def __init__(self, schema_id: int | str | None = None) -> None:
        self.schema_id = schema_id
        super().__init__("Schema not found" if schema_id is None else f"Schema {schema_id} not found")


class SubjectSoftDeletedError(RegistryError, TerminalError):
    """A soft delete of a subject whose versions are all soft-deleted already."""

    http_status, error_code = 404, SUBJECT_SOFT_DELETED

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently")


class SubjectNotSoftDeletedError(RegistryError, TerminalError):
    """A permanent delete of a subject that still has live versions (Confluent wants a soft delete first)."""

    http_status, error_code = 404, SUBJECT_NOT_SOFT_DELETED

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"Subject '{subject}' was not deleted first before being permanently deleted")


class VersionSoftDeletedError(RegistryError, TerminalError):
    """A soft delete of a version that is soft-deleted already."""

    http_status, error_code = 404, VERSION_SOFT_DELETED

    def __init__(self, subject: str, version: int) -> None:
        self.subject, self.version = subject, version
        super().__init__(
            f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
        )


class VersionNotSoftDeletedError(RegistryError, TerminalError):
    """A permanent delete of a live version (Confluent wants a soft delete first)."""

    http_status, error_code = 404, VERSION_NOT_SOFT_DELETED

    def __init__(self, subject: str, version: int) -> None:
        self.subject, self.version = subject, version
        super().__init__(
            f"Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
        )


class SubjectCompatibilityNotConfiguredError(RegistryError, TerminalError):
    """``GET /config/{subject}`` without ``defaultToGlobal`` for a subject with no compatibility of its own."""

    http_status, error_code = 404, SUBJECT_COMPATIBILITY_NOT_CONFIGURED

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"Subject '{subject}' does not have subject-level compatibility configured")


class IncompatibleSchemaError(RegistryError, TerminalError):
    """The schema breaks the subject's compatibility mode; ``reasons`` name each incompatibility."""

    http_status, error_code = 409, INCOMPATIBLE_SCHEMA

    def __init__(self, subject: str, mode: str, reasons: tuple[str, ...]) -> None:
        self.subject, self.mode, self.reasons = subject, mode, reasons
        details = "; ".join(reasons)
        super().__init__(
            f'Schema being registered is incompatible with an earlier schema for subject "{subject}" '
            f"(compatibility {mode}), details: [{details}]"
        )


class InvalidSchemaError(RegistryError, TerminalError):
    """The schema is not valid Avro, has an invalid default, or uses a feature this registry does not serve."""

    http_status, error_code = 422, INVALID_SCHEMA

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Invalid schema: {reason}")


class InvalidVersionError(RegistryError, TerminalError):
    """A version that is neither a positive 32-bit integer nor ``latest``."""

    http_status, error_code = 422, INVALID_VERSION

    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevelError(RegistryError, TerminalError):
    """A compatibility level that is not one of the seven Confluent modes."""

    http_status, error_code = 422, INVALID_COMPATIBILITY_LEVEL

    def __init__(self, level: object) -> None:
        self.level = level
        super().__init__(
            f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        )


class InvalidModeError(RegistryError, TerminalError):
    """A mode other than READWRITE: this registry is always read-write."""

    http_status, error_code = 422, INVALID_MODE

    def __init__(self, mode: object) -> None:
        self.mode = mode
        super().__init__(f"Invalid mode {mode!r}: this registry only supports READWRITE")


class InvalidSubjectError(RegistryError, TerminalError):
    """A subject name with a control character (NUL included) or a lone surrogate: no store can hold it."""

    http_status, error_code = 422, INVALID_SUBJECT

    def __init__(self, subject: str, reason: str) -> None:
        self.subject, self.reason = subject, reason
        # repr: the name shown with its control characters and surrogates escaped
        super().__init__(f"The specified subject {subject!r} is not valid: {reason}")


class MalformedRequestError(RegistryError, TerminalError):
    """The request body is not JSON, not an object, or lacks a required field (HTTP 422, error code 422)."""

    http_status, error_code = 422, UNPROCESSABLE_REQUEST

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Unprocessable request body: {reason}")


class UnsupportedMediaTypeError(RegistryError, TerminalError):
    """The request body has a content type the registry does not read."""

    http_status, error_code = 415, 415

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        super().__init__(f"HTTP 415 Unsupported Media Type: {content_type}")


class StoreError(RegistryError, TransientError):
    """The backing store (PostgreSQL) failed or is unreachable; the same request may succeed later."""

    http_status, error_code = 500, STORE_ERROR

    def __init__(self, operation: str, detail: str) -> None:
        self.operation, self.detail = operation, detail
        super().__init__(f"Error in the backend datastore while {operation}: {detail}")


class StartupError(RegistryError, TerminalError):
    """The service cannot start: the store is unreachable after retrying, or the port is taken."""

    exit_code = 1


def error_payload(exc: BaseException) -> tuple[int, dict[str, object]]:
    """The HTTP status and Confluent JSON body for an exception (anything unexpected is a 500/50001)."""
    if isinstance(exc, RegistryError):
        return exc.http_status, {"error_code": exc.error_code, "message": str(exc)}
    return 500, {"error_code": STORE_ERROR, "message": f"Internal server error: {type(exc).__name__}"}
