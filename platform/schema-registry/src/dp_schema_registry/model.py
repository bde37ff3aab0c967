"""The registry's records and the pure rules of its protocol: version ids, flags, compatibility levels.

Nothing here does I/O: the store and the API call these functions, and the unit tests check them directly.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TypeVar

from dp_contracts.compat import CompatibilityMode
from dp_schema_registry.errors import InvalidCompatibilityLevelError, InvalidSubjectError, InvalidVersionError

#: The only schema type this registry serves.
AVRO = "AVRO"
#: The only mode this registry runs in.
READWRITE = "READWRITE"
#: ``latest`` as an integer, as Confluent's ``VersionId`` has it.
LATEST = -1
MAX_VERSION = 2**31 - 1

T = TypeVar("T")


@dataclass(frozen=True)
class SubjectVersion:
    """One version of a subject: which global schema id it holds and whether it is soft-deleted."""

    subject: str
    version: int
    schema_id: int
    deleted: bool = False


@dataclass(frozen=True)
class StoredSchema:
    """A schema as stored: its global id, its text (as first submitted, compact) and fingerprint."""

    schema_id: int
    text: str
    fingerprint: str


@dataclass(frozen=True)
class Registration:
    """The outcome of a registration: the global id and the subject version that holds it."""

    schema_id: int
    version: int
    created: bool


def parse_version(raw: str | int) -> int:
    """A version id from a path: a positive 32-bit integer, or ``latest`` / ``-1`` as :data:`LATEST`.

    Raises:
        InvalidVersionError: for anything else (``0``, ``-2``, ``abc``, ``2147483648``), error code 42202.
    """
    text = str(raw).strip()
    if text.lower() == "latest":
        return LATEST
    try:
        version = int(text)
    except ValueError:
        raise InvalidVersionError(str(raw)) from None
    if version == LATEST or 1 <= version <= MAX_VERSION:
        return version
    raise InvalidVersionError(str(raw))


def text_problem(text: str) -> str | None:
    """Why ``text`` is not valid Unicode text (so has no UTF-8 form PostgreSQL could store), or None when it is.

    The one way a Python string fails is a lone UTF-16 surrogate (``"\\ud800"`` in JSON): not a Unicode scalar value.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"it contains a lone UTF-16 surrogate (U+{ord(text[exc.start]):04X}), which is not valid Unicode text"
    return None


def subject_problem(subject: str) -> str | None:
    """Why ``subject`` is not a valid subject name, or None when it is.

    As Confluent's registry does, any ISO control character (U+0000-U+001F, U+007F-U+009F) is refused; NUL also
    because PostgreSQL text cannot hold it.
    """
    if "\x00" in subject:
        return "it contains a NUL character (U+0000), which cannot be stored"
    control = next((c for c in subject if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        return f"it contains the control character U+{ord(control):04X}"
    return text_problem(subject)


def parse_subject(raw: str) -> str:
    """A subject name from a path, unchanged when valid.

    Raises:
        InvalidSubjectError: it contains a control character (NUL included) or a lone surrogate, error code 42208.
    """
    problem = subject_problem(raw)
    if problem is not None:
        raise InvalidSubjectError(raw, problem)
    return raw


def parse_flag(raw: str | None) -> bool:
    """A boolean query parameter as JAX-RS reads it: ``true`` in any case is true, anything else false.

    The Python client sends ``True``/``False`` (Python's spelling), other clients ``true``/``false``.
    """
    return raw is not None and raw.strip().lower() == "true"


def parse_compatibility(raw: object) -> CompatibilityMode:
    """A compatibility level from a request body, case-insensitive (``backward`` or ``BACKWARD``).

    Raises:
        InvalidCompatibilityLevelError: for anything but the seven Confluent levels, error code 42203.
    """
    if isinstance(raw, str):
        try:
            return CompatibilityMode(raw.strip().upper())
        except ValueError:
            pass
    raise InvalidCompatibilityLevelError(raw)


def effective_compatibility(subject_level: str | None, global_level: str | None, default: str) -> CompatibilityMode:
    """The mode a subject's registrations are checked under: its own, else the global one, else the default."""
    return CompatibilityMode(subject_level or global_level or default)


def resolve_version(versions: list[SubjectVersion], version: int, include_deleted: bool) -> SubjectVersion | None:
    """The version ``version`` (or the latest for :data:`LATEST`) among ``versions``, or None.

    Soft-deleted versions count only with ``include_deleted``.
    """
    visible = [v for v in versions if include_deleted or not v.deleted]
    if version == LATEST:
        return max(visible, key=lambda v: v.version, default=None)
    return next((v for v in visible if v.version == version), None)


def next_version(versions: list[SubjectVersion]) -> int:
    """The version a new registration gets: one more than any version the subject has, soft-deleted included.

    Confluent never reuses a soft-deleted version number; after a permanent delete the numbers start again.
    """
    return max((v.version for v in versions), default=0) + 1


def page(items: list[T], offset: int, limit: int) -> list[T]:
    """``items[offset:offset+limit]``; a negative ``limit`` means all (Confluent's pagination parameters)."""
    start = max(offset, 0)
    return items[start:] if limit < 0 else items[start : start + limit]
