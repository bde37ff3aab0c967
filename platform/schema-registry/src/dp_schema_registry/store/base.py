"""The store interface: a few primitive reads and writes, always inside a transaction.

The registry's rules live in :mod:`dp_schema_registry.service`, written once against this interface; a store
only has to make each transaction atomic and honour the two locks:

* :meth:`Transaction.lock_subject` serialises every write to one subject (and the registration's read of its
  versions and compatibility), so versions are assigned without gaps or duplicates;
* :meth:`Transaction.ensure_schema` gets or creates the global id of a schema atomically, so concurrent
  registrations of one schema -- under one subject or many -- yield exactly one id.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from dp_schema_registry.canonical import CanonicalSchema
from dp_schema_registry.model import StoredSchema, SubjectVersion


class Transaction(Protocol):
    """One atomic unit of work; a store commits it when the block ends and rolls it back on an exception."""

    def lock_subject(self, subject: str) -> None:
        """Hold the subject's write lock until the transaction ends."""

    def versions(self, subject: str) -> list[SubjectVersion]:
        """Every version of the subject, soft-deleted ones included, in ascending order."""

    def subject_names(self, include_deleted: bool) -> list[str]:
        """Subjects with a live version (or, with ``include_deleted``, with any version), sorted."""

    def schema(self, schema_id: int) -> StoredSchema | None:
        """The stored schema with this global id."""

    def schema_id_for(self, fingerprint: str) -> int | None:
        """The global id of the schema with this fingerprint, if it was ever registered."""

    def ensure_schema(self, schema: CanonicalSchema) -> int:
        """The global id of ``schema``, created if new; concurrency-safe (exactly one id per fingerprint)."""

    def versions_of_schema(self, schema_id: int) -> list[SubjectVersion]:
        """Every subject version that holds this schema id, soft-deleted ones included."""

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        """Record a new live version."""

    def mark_deleted(self, subject: str, versions: list[int]) -> None:
        """Soft-delete these versions."""

    def remove_versions(self, subject: str, versions: list[int]) -> None:
        """Permanently delete these versions."""

    def compatibility(self, subject: str | None) -> str | None:
        """The compatibility level set for the subject (``None``: the global one), if any."""

    def set_compatibility(self, subject: str | None, level: str) -> None:
        """Set the subject's (``None``: the global) compatibility level."""

    def delete_compatibility(self, subject: str | None) -> None:
        """Remove the subject's (``None``: the global) compatibility level."""


class Store(Protocol):
    """A transactional home for schemas, subject versions and compatibility levels."""

    def transaction(self, operation: str) -> AbstractContextManager[Transaction]:
        """A transaction; ``operation`` ("registering a schema under 'orders-value'") names it in errors.

        Raises:
            StoreError: the store failed or cannot be reached (error code 50001).
        """

    def ping(self) -> None:
        """Check the store answers; raise :class:`~dp_schema_registry.errors.StoreError` when it does not."""

    def close(self) -> None:
        """Release connections."""
