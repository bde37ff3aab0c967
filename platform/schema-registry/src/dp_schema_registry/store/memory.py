"""An in-memory store: the local implementation the unit tests drive the registry and its API with.

One lock serialises every transaction (so both of the store's locks hold trivially); a transaction that raises
is rolled back by restoring a copy of the state taken when it began.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dp_schema_registry.canonical import CanonicalSchema
from dp_schema_registry.model import StoredSchema, SubjectVersion


@dataclass
class _State:
    schemas: dict[int, StoredSchema] = field(default_factory=dict)
    by_fingerprint: dict[str, int] = field(default_factory=dict)
    versions: dict[str, dict[int, SubjectVersion]] = field(default_factory=dict)
    compatibility: dict[str | None, str] = field(default_factory=dict)
    next_id: int = 1


class MemoryTransaction:
    """A transaction on a :class:`MemoryStore` (see :class:`~dp_schema_registry.store.base.Transaction`)."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def lock_subject(self, subject: str) -> None:
        """Nothing to do: the store's lock is held for the whole transaction."""

    def versions(self, subject: str) -> list[SubjectVersion]:
        return sorted(self._state.versions.get(subject, {}).values(), key=lambda v: v.version)

    def subject_names(self, include_deleted: bool) -> list[str]:
        return sorted(
            s
            for s, vs in self._state.versions.items()
            if vs and (include_deleted or any(not v.deleted for v in vs.values()))
        )

    def schema(self, schema_id: int) -> StoredSchema | None:
        return self._state.schemas.get(schema_id)

    def schema_id_for(self, fingerprint: str) -> int | None:
        return self._state.by_fingerprint.get(fingerprint)

    def ensure_schema(self, schema: CanonicalSchema) -> int:
        found = self._state.by_fingerprint.get(schema.fingerprint)
        if found is not None:
            return found
        schema_id = self._state.next_id
        self._state.next_id += 1
        self._state.schemas[schema_id] = StoredSchema(schema_id, schema.text, schema.fingerprint)
        self._state.by_fingerprint[schema.fingerprint] = schema_id
        return schema_id

    def versions_of_schema(self, schema_id: int) -> list[SubjectVersion]:
        return sorted(
            (v for vs in self._state.versions.values() for v in vs.values() if v.schema_id == schema_id),
            key=lambda v: (v.subject, v.version),
        )

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        subject_versions = self._state.versions.setdefault(subject, {})
        if version in subject_versions:
            raise AssertionError(f"version {version} of {subject!r} exists already")  # the service never does this
        subject_versions[version] = SubjectVersion(subject, version, schema_id)

    def mark_deleted(self, subject: str, versions: list[int]) -> None:
        subject_versions = self._state.versions.get(subject, {})
        for version in versions:
            old = subject_versions[version]
            subject_versions[version] = SubjectVersion(old.subject, old.version, old.schema_id, deleted=True)

    def remove_versions(self, subject: str, versions: list[int]) -> None:
        subject_versions = self._state.versions.get(subject, {})
        for version in versions:
            subject_versions.pop(version, None)
        if not subject_versions:
            self._state.versions.pop(subject, None)

    def compatibility(self, subject: str | None) -> str | None:
        return self._state.compatibility.get(subject)

    def set_compatibility(self, subject: str | None, level: str) -> None:
        self._state.compatibility[subject] = level

    def delete_compatibility(self, subject: str | None) -> None:
        self._state.compatibility.pop(subject, None)


class MemoryStore:
    """A :class:`~dp_schema_registry.store.base.Store` in a Python dict, for tests and experiments."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State()
        #: Set to an exception to make every transaction fail with it (simulates an unreachable store).
        self.fail_with: Exception | None = None

    @contextmanager
    def transaction(self, operation: str) -> Iterator[MemoryTransaction]:
        if self.fail_with is not None:
            raise self.fail_with
        with self._lock:
            saved = copy.deepcopy(self._state)
            try:
                yield MemoryTransaction(self._state)
            except BaseException:
                self._state = saved
                raise

    def ping(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        """Nothing to release."""
