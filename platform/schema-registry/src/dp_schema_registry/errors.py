"""The schema registry's error family, each error carrying its Confluent HTTP status and error code.

Confluent clients read the HTTP status and the body ``{"error_code": N, "message": "..."}``; the codes and the
message formats follow Confluent's ``Errors.java`` so that tools which match on them keep working. The catalogue is
a table, :data:`MESSAGES` (code -> message); an error class declares its code (``code=SUBJECT_NOT_FOUND``) and its
fields, which are its constructor's arguments, its attributes and what its message is filled with. The one
translator from errors to HTTP responses is :func:`error_payload`, used by the API's exception handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

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
UNSUPPORTED_MEDIA_TYPE = 415
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_MODE = 42204
INVALID_SUBJECT = 42208
UNPROCESSABLE_REQUEST = 422
STORE_ERROR = 50001

#: The message of each code, ``str.format``-ed with the fields of the error.
MESSAGES = {
    SUBJECT_NOT_FOUND: "Subject '{subject}' not found.",
    VERSION_NOT_FOUND: "Version {version} not found.",
    SCHEMA_NOT_FOUND: "Schema {schema_id} not found",
    SUBJECT_SOFT_DELETED: "Subject '{subject}' was soft deleted.Set permanent=true to delete permanently",
    SUBJECT_NOT_SOFT_DELETED: "Subject '{subject}' was not deleted first before being permanently deleted",
    VERSION_SOFT_DELETED: (
        "Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
    ),
    VERSION_NOT_SOFT_DELETED: (
        "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
    ),
    SUBJECT_COMPATIBILITY_NOT_CONFIGURED: "Subject '{subject}' does not have subject-level compatibility configured",
    INCOMPATIBLE_SCHEMA: (
        'Schema being registered is incompatible with an earlier schema for subject "{subject}" '
        "(compatibility {mode}), details: [{details}]"
    ),
    UNSUPPORTED_MEDIA_TYPE: "HTTP 415 Unsupported Media Type: {content_type}",
    INVALID_SCHEMA: "Invalid schema: {reason}",
    INVALID_VERSION: (
        "The specified version '{value}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    ),
    INVALID_COMPATIBILITY_LEVEL: (
        "Invalid compatibility level {value!r}. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive"
    ),
    INVALID_MODE: "Invalid mode {value!r}: this registry only supports READWRITE",
    # repr: the name shown with its control characters and surrogates escaped
    INVALID_SUBJECT: "The specified subject {subject!r} is not valid: {reason}",
    UNPROCESSABLE_REQUEST: "Unprocessable request body: {reason}",
    STORE_ERROR: "Error in the backend datastore while {operation}: {detail}",
}


class RegistryError(PlatformError):
    """Root of the schema registry's errors.

    A subclass names its code among its bases (``class X(RegistryError, code=SUBJECT_NOT_FOUND)``) and is a
    dataclass (compared by identity, shown as an exception): its fields are its constructor's arguments and fill
    its message, ``MESSAGES[code]``. Errors that share their fields share a base (:class:`SubjectError`...).
    :class:`StartupError` alone takes its message as it is.

    Attributes:
        http_status: the HTTP status the API answers with (the first three digits of the code).
        error_code: the Confluent error code of the JSON body.
    """

    http_status: ClassVar[int] = 500
    error_code: ClassVar[int] = STORE_ERROR

    def __init_subclass__(cls, *, code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.error_code, cls.http_status = code, int(str(code)[:3])

    def __post_init__(self) -> None:
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message: the code's, filled with the fields."""
        return MESSAGES[self.error_code].format_map(vars(self))


@dataclass(eq=False, repr=False)
class SubjectError(RegistryError, TerminalError):
    """Something about a subject as a whole."""

    subject: str


class SubjectNotFoundError(SubjectError, code=SUBJECT_NOT_FOUND):
    """The subject has no version (or none that is visible with the given ``deleted`` flag)."""


class SubjectSoftDeletedError(SubjectError, code=SUBJECT_SOFT_DELETED):
    """A soft delete of a subject whose versions are all soft-deleted already."""


class SubjectNotSoftDeletedError(SubjectError, code=SUBJECT_NOT_SOFT_DELETED):
    """A permanent delete of a subject that still has live versions (Confluent wants a soft delete first)."""


class SubjectCompatibilityNotConfiguredError(SubjectError, code=SUBJECT_COMPATIBILITY_NOT_CONFIGURED):
    """``GET /config/{subject}`` without ``defaultToGlobal`` for a subject with no compatibility of its own."""


@dataclass(eq=False, repr=False)
class VersionError(RegistryError, TerminalError):
    """Something about one version of a subject."""

    subject: str
    version: int


class VersionNotFoundError(VersionError, code=VERSION_NOT_FOUND):
    """The subject exists but has no such version."""


class VersionSoftDeletedError(VersionError, code=VERSION_SOFT_DELETED):
    """A soft delete of a version that is soft-deleted already."""


class VersionNotSoftDeletedError(VersionError, code=VERSION_NOT_SOFT_DELETED):
    """A permanent delete of a live version (Confluent wants a soft delete first)."""


@dataclass(eq=False, repr=False)
class SchemaNotFoundError(RegistryError, TerminalError, code=SCHEMA_NOT_FOUND):
    """No schema has this id, or the schema is not registered under the subject looked in."""

    schema_id: int | str | None = None

    def describe(self) -> str:
        return "Schema not found" if self.schema_id is None else super().describe()


@dataclass(eq=False, repr=False)
class IncompatibleSchemaError(RegistryError, TerminalError, code=INCOMPATIBLE_SCHEMA):
    """The schema breaks the subject's compatibility mode; ``reasons`` name each incompatibility."""

    subject: str
    mode: str
    reasons: tuple[str, ...]

    def describe(self) -> str:
        return MESSAGES[self.error_code].format(subject=self.subject, mode=self.mode, details="; ".join(self.reasons))


@dataclass(eq=False, repr=False)
class ReasonError(RegistryError, TerminalError):
    """A request the registry cannot take, for the reason given."""

    reason: str


class InvalidSchemaError(ReasonError, code=INVALID_SCHEMA):
    """The schema is not valid Avro, has an invalid default, or uses a feature this registry does not serve."""


class MalformedRequestError(ReasonError, code=UNPROCESSABLE_REQUEST):
    """The request body is not JSON, not an object, or lacks a required field (HTTP 422, error code 422)."""


@dataclass(eq=False, repr=False)
class InvalidSubjectError(RegistryError, TerminalError, code=INVALID_SUBJECT):
    """A subject name with a control character (NUL included) or a lone surrogate: no store can hold it."""

    subject: str
    reason: str


@dataclass(eq=False, repr=False)
class RefusedValueError(RegistryError, TerminalError):
    """A value of the request (a version in the path, a level or a mode in the body) that the registry refuses."""

    value: object


class InvalidVersionError(RefusedValueError, code=INVALID_VERSION):
    """A version that is neither a positive 32-bit integer nor ``latest``."""


class InvalidCompatibilityLevelError(RefusedValueError, code=INVALID_COMPATIBILITY_LEVEL):
    """A compatibility level that is not one of the seven Confluent modes."""


class InvalidModeError(RefusedValueError, code=INVALID_MODE):
    """A mode other than READWRITE: this registry is always read-write."""


@dataclass(eq=False, repr=False)
class UnsupportedMediaTypeError(RegistryError, TerminalError, code=UNSUPPORTED_MEDIA_TYPE):
    """The request body has a content type the registry does not read."""

    content_type: str


@dataclass(eq=False, repr=False)
class StoreError(RegistryError, TransientError, code=STORE_ERROR):
    """The backing store (PostgreSQL) failed or is unreachable; the same request may succeed later."""

    operation: str
    detail: str


class StartupError(RegistryError, TerminalError):
    """The service cannot start: the store is unreachable after retrying, or the port is taken."""

    exit_code = 1


def error_payload(exc: BaseException) -> tuple[int, dict[str, object]]:
    """The HTTP status and Confluent JSON body for an exception (anything unexpected is a 500/50001)."""
    if isinstance(exc, RegistryError):
        return exc.http_status, {"error_code": exc.error_code, "message": str(exc)}
    return 500, {"error_code": STORE_ERROR, "message": f"Internal server error: {type(exc).__name__}"}
